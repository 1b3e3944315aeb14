"""Plain label vectors (one label per sample) for `detrecall classify`: .npy, .json, .csv/.txt.

Labels are all integers or all strings; anything else is refused with the place named.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..errors import InputError
from ._common import is_int_text
from ._records import (
    INT64_MAX,
    INT64_MIN,
    INT64_RANGE,
    _describe,
    _is_int,
    _is_int64,
    open_regular,
    read_file,
    read_json,
)


def read_labels(path: Path, column: str | None = None) -> np.ndarray:
    """Labels from .npy (a 1-D array), .json (a list) or .csv/.txt (one per line, or the named
    column of a CSV with a header); numeric text becomes integers."""
    name = str(path)
    if path.suffix == ".npy":
        try:
            with open_regular(path) as f:
                labels: np.ndarray = np.load(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise InputError(f"not a readable .npy array of labels ({e})", source=name) from None
        if labels.ndim != 1 or labels.dtype.kind not in "iubU":
            raise InputError(
                f"holds a {labels.ndim}-D {labels.dtype} array (expected 1-D integers or strings)",
                source=name,
            )
    elif path.suffix == ".json":
        data, _ = read_json(path)
        if not isinstance(data, list):
            raise InputError(f"is a JSON {type(data).__name__}, expected a list of labels", source=name)
        labels = _checked(data, name)
    else:
        labels = _text_labels(_text_values(path, name, column))
    if len(labels) == 0:
        raise InputError("has no labels", source=name)
    return labels


def _text_values(path: Path, name: str, column: str | None) -> list[str]:
    try:
        text = read_file(path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"is not UTF-8 text (byte {e.start})", source=name) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [r for r in reader if r]
    except csv.Error as e:  # a field over csv's limit (128 KB), a NUL byte, ...
        raise InputError(f"not valid CSV ({e})", source=name, record=f"line {reader.line_num}") from None
    if column is None:
        wide = next((i for i, r in enumerate(rows) if len(r) > 1), None)
        if wide is not None:
            header = ", ".join(rows[0][:6]) + (", ..." if len(rows[0]) > 6 else "")
            raise InputError(
                f"has {len(rows[wide])} columns ({header}): name the one to read "
                "(detrecall classify --column, or --true-column / --pred-column)",
                source=name,
                record=f"line {wide + 1}",
            )
        return [r[0] for r in rows]
    if not rows or column not in rows[0]:
        raise InputError(f"no column {column!r} in the header", source=name)
    i = rows[0].index(column)
    for line, r in enumerate(rows[1:], start=2):
        if len(r) <= i:
            raise InputError(f"has {len(r)} fields, no {column!r}", source=name, record=f"line {line}")
    return [r[i] for r in rows[1:]]


def _text_labels(values: list[str]) -> np.ndarray:
    """Integers when every text is one (ASCII digits within int64: not `1_0` or other scripts'
    digits, which Python's int() takes), else the texts stripped, as a numpy array."""
    stripped = [v.strip() for v in values]
    if all(is_int_text(v) and INT64_MIN <= int(v) <= INT64_MAX for v in stripped):
        return np.asarray([int(v) for v in stripped], np.int64).reshape(-1)
    return np.asarray(stripped)


def _checked(values: list[object], name: str) -> np.ndarray:
    """All integers (within int64) or all strings, as a numpy array."""
    if all(_is_int(v) for v in values):
        i = next((i for i, v in enumerate(values) if not _is_int64(v)), None)
        if i is not None:
            raise InputError(f"is {values[i]} (expected {INT64_RANGE})", source=name, record=f"label {i}")
        return np.asarray(values, np.int64)
    if all(isinstance(v, str) for v in values):
        return np.asarray(values)
    kind = _is_int if _is_int(values[0]) else (lambda v: isinstance(v, str))
    i = next(i for i, v in enumerate(values) if not kind(v))
    raise InputError(
        f"is {_describe(values[i])} (expected labels that are all integers or all strings)",
        source=name,
        record=f"label {i}",
    )
