"""Whitespace-separated text rows (YOLO labels, VOC devkit result files) into checked columns,
every bad line reported with its file and line number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ._common import read_text
from ._problems import Problems


@dataclass
class Rows:
    """The rows read from some files: their text fields and where each row came from."""

    files: list[Path]
    fields: list[list[str]]  # one list of fields per row
    file_index: np.ndarray  # (R,) index into files
    line: np.ndarray  # (R,) 1-based line number

    def where(self, i: int) -> tuple[str, str]:
        return str(self.files[int(self.file_index[i])]), f"line {int(self.line[i])}"

    def where_text(self, i: int) -> str:
        return ": ".join(self.where(i))

    def column(self, j: int) -> list[str]:
        return [r[j] for r in self.fields]

    def floats(self, columns: Sequence[int], names: Sequence[str], problems: Problems) -> np.ndarray:
        """(R, len(columns)) float64 of those fields; a problem for each non-number or non-finite
        value (its row is then NaN)."""
        out = np.full((len(self.fields), len(columns)), np.nan)
        if not self.fields:
            return out
        text = np.array([[r[j] for j in columns] for r in self.fields])
        failed = np.zeros(out.shape, bool)
        try:
            out = text.astype(np.float64)
        except ValueError:
            for i, row in enumerate(text.tolist()):
                for k, v in enumerate(row):
                    try:
                        out[i, k] = float(v)
                    except ValueError:
                        failed[i, k] = True
                        source, record = self.where(i)
                        problems.add(f"{v!r} is not a number", source=source, record=record,
                                     field=names[k])
        bad = ~np.isfinite(out) & ~failed
        for i, k in zip(*np.nonzero(bad)):
            source, record = self.where(int(i))
            problems.add(f"is {text[i, k]} (expected a finite number)", source=source, record=record,
                         field=names[int(k)])
        out[bad] = np.nan
        return out


def read_rows(files: Sequence[Path], counts: Sequence[int], problems: Problems, expected: str) -> Rows:
    """Non-empty lines of each file split on whitespace; a line whose number of fields is not
    one of `counts` is a problem (`expected` describes the row)."""
    fields: list[list[str]] = []
    file_index: list[int] = []
    lines: list[int] = []
    for f, path in enumerate(files):
        try:
            text = read_text(path)
        except InputError as e:
            problems.add(e.message, source=e.source, record=e.record)
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in counts:
                problems.add(f"has {len(parts)} values (expected {expected})", source=str(path),
                             record=f"line {n}")
                continue
            fields.append(parts)
            file_index.append(f)
            lines.append(n)
    return Rows(list(files), fields, np.array(file_index, np.int64), np.array(lines, np.int64))
