"""Whitespace-separated text rows (YOLO labels, VOC devkit result files) into checked columns,
every bad line reported with its file and line number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from ._common import read_text
from ._problems import Problems


def _plain(text: str) -> bool:
    """Whether float() of this text reads it as the number its ASCII characters write: Python
    also takes `1_000` and digits of other scripts (`١٢`), which no other tool reads as numbers."""
    return text.isascii() and "_" not in text


def strict_float(text: str) -> float:
    """float() of a number written in ASCII without underscores; ValueError for anything else."""
    if not _plain(text):
        raise ValueError(f"{text!r} is not a number")
    return float(text)


@dataclass
class Rows:
    """The rows read from some files: their text fields and where each row came from."""

    files: list[Path]
    fields: list[list[str]]  # one list of fields per row
    file_index: np.ndarray  # (R,) index into files
    line: np.ndarray  # (R,) 1-based line number
    refused: dict[int, int] = field(default_factory=dict)  # lines left out: number of values -> lines

    def where(self, i: int) -> tuple[str, str]:
        return str(self.files[int(self.file_index[i])]), f"line {int(self.line[i])}"

    def where_text(self, i: int) -> str:
        return ": ".join(self.where(i))

    def column(self, j: int) -> list[str]:
        return [r[j] for r in self.fields]

    def subset(self, keep: np.ndarray) -> Rows:
        """The rows where `keep` (bool) is true, each still named by its file and line."""
        rows = np.flatnonzero(keep)
        return Rows(
            self.files, [self.fields[i] for i in rows.tolist()], self.file_index[rows], self.line[rows]
        )

    def floats(self, columns: Sequence[int], names: Sequence[str], problems: Problems) -> np.ndarray:
        """(R, len(columns)) float64 of those fields; a problem for each non-number or non-finite
        value (its row is then NaN)."""
        n, k = len(self.fields), len(columns)
        flat = [r[j] for r in self.fields for j in columns]
        out: npt.NDArray[np.float64]
        failed: npt.NDArray[np.bool_]
        try:
            if not _plain("".join(flat)):
                raise ValueError("not plain ASCII decimal numbers")
            out = np.fromiter(map(float, flat), np.float64, n * k).reshape(n, k)
            failed = np.zeros((n, k), bool)
        except ValueError:  # name every value that is not a number
            out = np.full(n * k, np.nan)
            failed = np.zeros(n * k, bool)
            for pos, v in enumerate(flat):
                try:
                    out[pos] = strict_float(v)
                except ValueError:
                    failed[pos] = True
                    source, record = self.where(pos // k)
                    problems.add(f"{v!r} is not a number", source=source, record=record, field=names[pos % k])
            out, failed = out.reshape(n, k), failed.reshape(n, k)
        bad = ~np.isfinite(out) & ~failed
        for i, j in zip(*np.nonzero(bad)):
            source, record = self.where(int(i))
            problems.add(
                f"is {flat[i * k + j]} (expected a finite number)",
                source=source,
                record=record,
                field=names[int(j)],
            )
        out[bad] = np.nan
        return out


def read_rows(files: Sequence[Path], counts: Sequence[int], problems: Problems, expected: str) -> Rows:
    """Non-empty lines of each file split on whitespace; a line whose number of fields is not
    one of `counts` is a problem (`expected` describes the row)."""
    fields: list[list[str]] = []
    file_index: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    refused: dict[int, int] = {}
    allowed = set(counts)
    for f, path in enumerate(files):
        try:
            text = read_text(path)
        except InputError as e:
            problems.add(e.message, source=e.source, record=e.record)
            continue
        parts = [line.split() for line in text.splitlines()]
        sizes = np.fromiter(map(len, parts), np.int64, len(parts))
        keep = np.isin(sizes, list(allowed))
        for n in np.flatnonzero(~keep & (sizes > 0)).tolist():
            problems.add(
                f"has {sizes[n]} values (expected {expected})", source=str(path), record=f"line {n + 1}"
            )
            refused[int(sizes[n])] = refused.get(int(sizes[n]), 0) + 1
        rows = np.flatnonzero(keep)
        fields += parts if len(rows) == len(parts) else [parts[n] for n in rows.tolist()]
        file_index.append(np.full(len(rows), f, np.int64))
        lines.append(rows + 1)
    return Rows(
        list(files),
        fields,
        np.concatenate([np.zeros(0, np.int64), *file_index]),
        np.concatenate([np.zeros(0, np.int64), *lines]),
        refused,
    )
