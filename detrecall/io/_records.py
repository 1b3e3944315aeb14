"""Reading and writing JSON, and turning lists of records into validated numpy columns.

Each column is built on a fast path (one list comprehension, one numpy conversion); only when
that fails or the result has the wrong type do we walk the records to name the bad one.
"""

from __future__ import annotations

import io
import itertools
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .._compiled import native
from .._sort import positions
from ..errors import InputError
from ._problems import Problems


def _load_orjson() -> ModuleType | None:
    """orjson parses large result files ~2x faster; plain json is the tested fallback."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a declared dependency
        return None
    return orjson


_orjson = _load_orjson()


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular(path: str | os.PathLike[str]) -> io.BufferedReader:
    """A regular file opened for reading; a located InputError for anything else (a missing
    file, a dangling symbolic link, a directory, a FIFO, a device, a socket). The file is opened
    without blocking, so a FIFO is refused instead of waiting for a writer forever."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(
                f"is a symbolic link to {os.readlink(path)!r}, which does not exist (expected a file)",
                source=name,
            ) from None
        raise InputError("file not found", source=name) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", source=name) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as e:  # pragma: no cover - fstat of an open descriptor
        os.close(fd)
        raise InputError(f"cannot read: {e.strerror}", source=name) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((what for test, what in _FILE_KINDS if test(mode)), "not a regular file")
        raise InputError(f"is {kind}, expected a file", source=name)
    if flags & getattr(os, "O_NONBLOCK", 0):  # reads of a regular file never block anyway
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file (see `open_regular`), read into memory: a file that another
    process shortens while it is read gives fewer bytes (a truncated file), never a fault."""
    with open_regular(path) as f:
        try:
            return f.read()
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", source=str(path)) from None


def read_file_buffer(path: str | os.PathLike[str]) -> bytearray:
    """`read_file` into a bytearray (which the results reader splits in place, see
    coco._decode_in_chunks), without a second copy."""
    with open_regular(path) as f:
        try:
            buf = bytearray(os.fstat(f.fileno()).st_size)
            view, n = memoryview(buf), 0
            while n < len(buf):
                got = f.readinto(view[n:])
                if not got:  # the file was shortened meanwhile: what is there
                    break
                n += got
            view.release()
            del buf[n:]
            buf += f.read()  # or lengthened
            return buf
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", source=str(path)) from None


def parse_json(raw: bytes | bytearray | memoryview, name: str, *, use_orjson: bool = True) -> Any:
    """Parsed JSON of `raw` (a file's bytes); a located InputError when it is not JSON."""
    try:
        if use_orjson and _orjson is not None:
            return _orjson.loads(raw)
        import json  # the fallback only: not loaded while orjson parses

        return json.loads(bytes(raw))
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply)", source=name) from None
    except ValueError as e:
        raise InputError(f"not valid JSON ({e})", source=name) from None


def read_json(source: Any, *, use_orjson: bool = True) -> tuple[Any, str]:
    """Parsed JSON and a name for messages: from a path (str/Path) or already-parsed data."""
    if not isinstance(source, (str, os.PathLike)):
        return source, "<in-memory>"
    name = str(source)
    return parse_json(read_file(source), name, use_orjson=use_orjson), name


def write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """`data` as a JSON file (orjson where installed, else the standard library)."""
    if _orjson is not None:
        Path(path).write_bytes(_orjson.dumps(data))
    else:  # pragma: no cover
        import json

        Path(path).write_text(json.dumps(data))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT64_RANGE = "an integer from -2**63 to 2**63 - 1"


def _is_int64(v: Any) -> bool:
    """An integer that int64 holds (a bigger one would wrap around)."""
    return _is_int(v) and INT64_MIN <= v <= INT64_MAX


def _is_float64(v: Any) -> bool:
    """A number that float64 holds (a Python int beyond ~1.8e308 does not)."""
    if not _is_number(v):
        return False
    try:
        float(v)
    except OverflowError:
        return False
    return True


def _has_bool(values: list[Any]) -> bool:
    """numpy turns [1, True] into integers: bools must be looked for before conversion."""
    return bool in set(map(type, values))


def _describe(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _array(values: list[Any], empty: type) -> np.ndarray | None:
    """np.asarray(values), or None when numpy cannot make one array of them (a list where
    the other records have a number, an integer too large for any numpy type, ...)."""
    if not values:
        return np.zeros(0, empty)
    try:
        return np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        return None


class Columns:
    """Extracts typed columns from a list of dict records, with located errors."""

    def __init__(
        self,
        records: Sequence[Any],
        source: str,
        what: str,
        offset: int = 0,
        numbers: np.ndarray | None = None,
    ) -> None:
        self.records = records
        self.source = source
        self.what = what  # how one record is called in messages: "annotation", "result", ...
        self.offset = offset  # the file's number of records[0] (records read in pieces)
        self.numbers = numbers  # the file's number of each record, when some were left out

    def where(self, index: int) -> str:
        """How record `index` is named in messages: `result 812`."""
        number = index if self.numbers is None else int(self.numbers[index])
        return f"{self.what} {number + self.offset}"

    def error(self, index: int, field: str | None, message: str) -> InputError:
        return InputError(message, source=self.source, record=self.where(index), field=field)

    def check_objects(self) -> None:
        for i, r in enumerate(self.records):
            if not isinstance(r, dict):
                raise self.error(i, None, f"is {type(r).__name__} {_describe(r)}, expected an object")

    def _locate(self, field: str, ok: Callable[[Any], bool], expected: str, default: Any) -> None:
        """Raise every record whose `field` is missing or not `ok` as one InputError (one line
        each, up to `_problems.LIMIT`, then a count)."""
        problems = Problems(self.source)
        for i, r in enumerate(self.records):
            if not isinstance(r, dict):
                raise self.error(i, None, f"is {type(r).__name__}, expected an object")
            if field not in r:
                if default is None:
                    problems.add(f"missing (expected {expected})", record=self.where(i), field=field)
                continue
            if not ok(r[field]):
                problems.add(
                    f"is {_describe(r[field])} (expected {expected})", record=self.where(i), field=field
                )
        problems.check()

    def _values(self, field: str, default: Any) -> list[Any] | None:
        try:
            if default is None:
                return [r[field] for r in self.records]
            return [r.get(field, default) for r in self.records]
        except (KeyError, TypeError, AttributeError):
            return None

    def ints(self, field: str, default: int | None = None) -> np.ndarray:
        """An int64 column; bools, floats, strings and integers beyond int64 are refused (ids
        must be integers; one of 2**63 or more would wrap around to a negative id)."""
        values = self._values(field, default)
        if values is not None and not _has_bool(values):
            arr = _array(values, np.int64)
            if arr is not None and arr.dtype.kind == "i" and arr.ndim == 1:  # "u": some >= 2**63
                return arr.astype(np.int64, copy=False)
        self._locate(field, _is_int, "an integer", default)
        self._locate(field, _is_int64, INT64_RANGE, default)
        raise self.error(0, field, "could not be read as integers")  # pragma: no cover

    def floats(self, field: str, default: float | None = None, finite: bool = True) -> np.ndarray:
        """A float64 column of numbers (not bools or strings), finite unless told otherwise."""
        values = self._values(field, default)
        arr = None
        if values is not None and not _has_bool(values):
            arr = _array(values, np.float64)
            if arr is not None and (arr.dtype.kind not in "iuf" or arr.ndim != 1):
                arr = None
        if arr is None:
            self._locate(field, _is_number, "a number", default)
            self._locate(field, _is_float64, "a finite number", default)
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
            good = good and not _has_bool(list(itertools.chain.from_iterable(values)))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            good = False
        if not good:
            for i in idx:
                r = self.records[i]
                if not isinstance(r, dict):
                    raise self.error(i, None, f"is {type(r).__name__}, expected an object")
                if field not in r:
                    raise self.error(i, field, "missing (expected [x, y, w, h])")
                v = r[field]
                if isinstance(v, np.ndarray) and v.ndim == 1:
                    v = v.tolist()  # parsed results built with numpy: read as the list it holds
                if not (isinstance(v, (list, tuple)) and len(v) == 4 and all(map(_is_float64, v))):
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


def box_overflows(box: np.ndarray) -> np.ndarray:
    """(N,) bool: the xywh box is finite but x + w, y + h or w * h is not (float64 overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        x, y, w, h = box.T
        total = (x + w) + (y + h) + w * h  # not finite when any of its terms is not
        if np.isfinite(total).all():
            return np.zeros(len(box), bool)
        derived = np.isfinite(x + w) & np.isfinite(y + h) & np.isfinite(w * h)
    out: np.ndarray = np.isfinite(box).all(axis=1) & ~derived
    return out


OVERFLOW = "x + w, y + h or the area w * h overflows float64 (expected coordinates below ~1e154)"


def check_boxes(cols: Columns, field: str, arr: np.ndarray, rows: np.ndarray | None = None) -> None:
    """Finite [x, y, w, h] with w, h >= 0 whose corners and area are finite too; else name the
    first record that is not (a compiled pass first: the array passes only when it doubts)."""
    if native is not None and arr.dtype == np.float64 and arr.ndim == 2 and arr.shape[1] == 4:
        if native.box_check(np.ascontiguousarray(arr)) < 0:
            return
    for bad, why in (
        (~np.isfinite(arr).all(axis=1), None),
        (arr[:, 2] < 0, 2),
        (arr[:, 3] < 0, 3),
        (box_overflows(arr), 4),
    ):
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            i = j if rows is None else int(rows[j])
            if why is None:
                raise cols.error(i, field, f"is {arr[j].tolist()} (expected finite [x, y, w, h])")
            if why == 4:
                raise cols.error(i, field, f"is {arr[j].tolist()}: {OVERFLOW}")
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
