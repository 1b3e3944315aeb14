"""Reading and writing JSON, and turning lists of records into validated numpy columns.

Each column is built on a fast path (one list comprehension, one numpy conversion); only when
that fails or the result has the wrong type do we walk the records to name the bad one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .._sort import positions
from ..errors import InputError


def _load_orjson() -> ModuleType | None:
    """orjson parses large result files ~2x faster; plain json is the tested fallback."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a declared dependency
        return None
    return orjson


_orjson = _load_orjson()


def read_json(source: Any, *, use_orjson: bool = True) -> tuple[Any, str]:
    """Parsed JSON and a name for messages: from a path (str/Path) or already-parsed data."""
    if not isinstance(source, (str, os.PathLike)):
        return source, "<in-memory>"
    path = Path(source)
    name = str(source)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", source=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a JSON file", source=name) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", source=name) from None
    try:
        if use_orjson and _orjson is not None:
            return _orjson.loads(raw), name
        return json.loads(raw), name
    except ValueError as e:
        raise InputError(f"not valid JSON ({e})", source=name) from None


def write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """`data` as a JSON file (orjson where installed, else the standard library)."""
    if _orjson is not None:
        Path(path).write_bytes(_orjson.dumps(data))
    else:  # pragma: no cover
        Path(path).write_text(json.dumps(data))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _has_bool(values: list[Any]) -> bool:
    """numpy turns [1, True] into integers: bools must be looked for before conversion."""
    return bool in set(map(type, values))


def _describe(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


class Columns:
    """Extracts typed columns from a list of dict records, with located errors."""

    def __init__(self, records: Sequence[Any], source: str, what: str) -> None:
        self.records = records
        self.source = source
        self.what = what  # how one record is called in messages: "annotation", "result", ...

    def error(self, index: int, field: str | None, message: str) -> InputError:
        return InputError(message, source=self.source, record=f"{self.what} {index}", field=field)

    def check_objects(self) -> None:
        for i, r in enumerate(self.records):
            if not isinstance(r, dict):
                raise self.error(i, None, f"is {type(r).__name__} {_describe(r)}, expected an object")

    def _locate(self, field: str, ok: Callable[[Any], bool], expected: str, default: Any) -> None:
        for i, r in enumerate(self.records):
            if not isinstance(r, dict):
                raise self.error(i, None, f"is {type(r).__name__}, expected an object")
            if field not in r:
                if default is None:
                    raise self.error(i, field, f"missing (expected {expected})")
                continue
            if not ok(r[field]):
                raise self.error(i, field, f"is {_describe(r[field])} (expected {expected})")

    def _values(self, field: str, default: Any) -> list[Any] | None:
        try:
            if default is None:
                return [r[field] for r in self.records]
            return [r.get(field, default) for r in self.records]
        except (KeyError, TypeError, AttributeError):
            return None

    def ints(self, field: str, default: int | None = None) -> np.ndarray:
        """An int64 column; bools, floats and strings are refused (ids must be integers)."""
        values = self._values(field, default)
        if values is not None and not _has_bool(values):
            arr = np.asarray(values) if values else np.zeros(0, np.int64)
            if arr.dtype.kind in "iu" and arr.ndim == 1:
                return arr.astype(np.int64, copy=False)
        self._locate(field, _is_int, "an integer", default)
        raise self.error(0, field, "could not be read as integers")  # pragma: no cover

    def floats(self, field: str, default: float | None = None, finite: bool = True) -> np.ndarray:
        """A float64 column of numbers (not bools or strings), finite unless told otherwise."""
        values = self._values(field, default)
        arr = None
        if values is not None and not _has_bool(values):
            arr = np.asarray(values) if values else np.zeros(0, np.float64)
            if arr.dtype.kind not in "iuf" or arr.ndim != 1:
                arr = None
        if arr is None:
            self._locate(field, _is_number, "a number", default)
            raise self.error(0, field, "could not be read as numbers")  # pragma: no cover
        arr = arr.astype(np.float64, copy=False)
        if finite and not np.isfinite(arr).all():
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise self.error(i, field, f"is {float(arr[i])} (expected a finite number)")
        return arr

    def boxes(self, field: str = "bbox", rows: np.ndarray | None = None) -> np.ndarray:
        """An (N, 4) float64 column of [x, y, w, h] with finite values and w, h >= 0.

        `rows` restricts extraction to some records (the rest get zeros).
        """
        idx = range(len(self.records)) if rows is None else rows.tolist()
        try:
            values = [self.records[i][field] for i in idx]
            arr = np.asarray(values, dtype=None) if values else np.zeros((0, 4))
            good = arr.dtype.kind in "iuf" and arr.ndim == 2 and arr.shape[1] == 4
        except (KeyError, TypeError, ValueError, AttributeError):
            good = False
        if not good:
            for i in idx:
                r = self.records[i]
                if not isinstance(r, dict):
                    raise self.error(i, None, f"is {type(r).__name__}, expected an object")
                if field not in r:
                    raise self.error(i, field, "missing (expected [x, y, w, h])")
                v = r[field]
                if not (isinstance(v, (list, tuple)) and len(v) == 4 and all(map(_is_number, v))):
                    raise self.error(i, field, f"is {_describe(v)} (expected [x, y, w, h] numbers)")
            raise self.error(0, field, "could not be read as boxes")  # pragma: no cover
        arr = arr.astype(np.float64, copy=False)
        check_boxes(self, field, arr, rows)
        if rows is None:
            return arr
        full = np.zeros((len(self.records), 4))
        full[rows] = arr
        return full

    def has(self, field: str) -> np.ndarray:
        """(N,) bool: the record has `field` with a value other than None."""
        return np.fromiter(
            (r.get(field) is not None for r in self.records), dtype=bool, count=len(self.records)
        )


def check_boxes(cols: Columns, field: str, arr: np.ndarray, rows: np.ndarray | None = None) -> None:
    """Finite [x, y, w, h] with w, h >= 0; else name the first record that is not."""
    for bad, why in ((~np.isfinite(arr).all(axis=1), None), (arr[:, 2] < 0, 2), (arr[:, 3] < 0, 3)):
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            i = j if rows is None else int(rows[j])
            if why is None:
                raise cols.error(i, field, f"is {arr[j].tolist()} (expected finite [x, y, w, h])")
            word = "width" if why == 2 else "height"
            raise cols.error(
                i,
                field,
                f"has negative {word} {float(arr[j, why])} (expected [x, y, w, h] with w, h >= 0)",
            )


def check_ids_known(
    cols: Columns, field: str, values: np.ndarray, known: np.ndarray, known_where: str
) -> None:
    """Every value must be one of `known` (sorted); else name the first record that is not."""
    if len(values) == 0:
        return
    if len(known) == 0:
        raise cols.error(0, field, f"{int(values[0])} not found in {known_where} (it has none)")
    bad = ~positions(values, known)[1]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise cols.error(i, field, f"{int(values[i])} not found in {known_where}")
