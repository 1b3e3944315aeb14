"""What reading one input found wrong: errors collected and raised together, and data warnings.

Readers of YOLO, VOC, CSV and arrays check every record once, `add` each problem they find (up
to LIMIT are kept, the rest counted) and call `check()` before building anything from the data,
so one run shows every broken line at once. Suspicious but legal data gets one DataWarning per
kind, with a count and the first place it occurs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .._compiled import kernels
from .._sort import argsort_stable
from ..errors import DataWarning, InputError

LIMIT = 20


class Problems:
    """Errors found in one input, raised together as one InputError by `check()`."""

    def __init__(self, source: str, limit: int = LIMIT) -> None:
        self.source = source
        self.limit = limit
        self.found: list[InputError] = []
        self.count = 0

    def add(
        self, message: str, *, record: str | None = None, field: str | None = None, source: str | None = None
    ) -> None:
        self.count += 1
        if len(self.found) < self.limit:
            self.found.append(InputError(message, source=source or self.source, record=record, field=field))

    def __bool__(self) -> bool:
        return self.count > 0

    def check(self, hints: Sequence[str] = ()) -> None:
        """Raise every problem found so far as one InputError (one line each), then a line for
        each of `hints` (what the problems suggest)."""
        if self.found:
            raise with_hints(
                InputError.collected(self.found, self.count - len(self.found)), hints, self.source
            )


def with_hints(err: InputError, hints: Sequence[str], source: str | None = None) -> InputError:
    """`err` with a last line `SOURCE: hint: ...` for each hint (`source`: the input, by default
    the error's own file); the same error without any."""
    if not hints:
        return err
    out = InputError(err.message, source=err.source, record=err.record, field=err.field)
    out.problems = err.problems
    where = source or err.source
    prefix = f"{where}: " if where else ""
    out.args = ("\n".join([str(err), *(f"{prefix}hint: {h}" for h in hints)]),)
    return out


def warn_data(source: str, count: int, what: str, first: str, *, stacklevel: int = 3) -> None:
    warnings.warn(f"{source}: {count} {what} (first: {first})", DataWarning, stacklevel=stacklevel)


# the hint of an error naming predictions on images that the ground truth does not have
ONLY_GT_IMAGES = (
    "to evaluate the ground truth's images only, leaving those predictions out, use "
    "only_gt_images=True (--only-gt-images)"
)


def warn_left_out(source: str, what: str, count: int, images: int, first: str) -> None:
    """The DataWarning of only_gt_images: `count` predictions (`what`) on `images` images that
    the ground truth does not have were left out."""
    warn_data(
        source,
        count,
        f"{what} on {images} image(s) that the ground truth does not have left out (only_gt_images)",
        first,
    )


def repeated_rows(*columns: np.ndarray) -> tuple[int, int]:
    """(how many rows repeat an earlier one exactly, the first of them in row order; -1 if none)
    of the rows made of `columns` side by side (each (n,) or (n, k), any real dtype, compared
    as float64), with np.unique(rows, axis=0)'s equality: -0.0 equals 0.0, a row holding NaN
    repeats nothing. Where _kernels is built, its repeated_rows reads the columns where they
    are (float64 or int64; one hash table, each row compared exactly: no stacked copy),
    else `repeated_rows_numpy`."""
    if kernels is not None and columns and all(c.ndim in (1, 2) for c in columns):
        plain = tuple(
            np.ascontiguousarray(c if c.dtype in _KERNEL_DTYPES else c.astype(np.float64)) for c in columns
        )
        if all(c.ndim == 1 or c.shape[1] for c in plain):
            count, first = kernels.repeated_rows(plain)
            return int(count), int(first)
    return repeated_rows_numpy(*columns)


_KERNEL_DTYPES = (np.dtype(np.float64), np.dtype(np.int64))


def repeated_rows_numpy(*columns: np.ndarray) -> tuple[int, int]:
    """repeated_rows without the compiled kernel (its twin). Rows are grouped by a 64-bit hash
    of their bits (a radix sort, not unique's lexicographic one: 1.7 s on 469k rows of 7) and
    every group is checked exactly; on a hash collision the lexicographic path decides."""
    rows = np.column_stack([c.astype(np.float64, copy=False) for c in columns])
    keep = np.flatnonzero(~np.isnan(rows).any(axis=1))
    bits = np.ascontiguousarray(rows[keep] + 0.0).view(np.uint64)  # + 0.0: -0.0 becomes 0.0
    h = np.full(len(keep), 0x9E3779B97F4A7C15, np.uint64)
    for column in bits.T:  # splitmix64-style mixing, one column at a time
        h ^= column
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    order = argsort_stable(h.view(np.int64))
    sorted_h = h[order]
    pair = np.flatnonzero(sorted_h[1:] == sorted_h[:-1])  # sorted neighbours of one hash
    if not len(pair):
        return 0, -1
    if not (bits[order[pair]] == bits[order[pair + 1]]).all():
        _, first, counts = np.unique(rows[keep], axis=0, return_index=True, return_counts=True)
        seen = np.zeros(len(keep), bool)
        seen[first] = True
        repeat = np.flatnonzero(~seen)
        return int((counts - 1).sum()), int(keep[repeat[0]]) if len(repeat) else -1
    at = keep[order[pair + 1]]  # stable: a group's first row is its earliest, the rest repeat it
    return len(at), int(at.min())


def warn_odd_scores(
    source: str, where: Callable[[int], str], score: np.ndarray, count: int, first: int
) -> None:
    """The warning of `count` scores outside [0, 1], the first at row `first` (none when 0)."""
    if count:
        warn_data(source, count, "score(s) outside [0, 1]", f"{where(first)}: {score[first]}", stacklevel=4)


def warn_repeats(source: str, where: Callable[[int], str], count: int, first: int) -> None:
    """The warning of `count` detections repeating an earlier one exactly, the first at row
    `first` (none when 0)."""
    if count:
        what = "duplicate detection(s) (same image, class, box and score)"
        warn_data(source, count, what, where(first), stacklevel=4)


def warn_suspicious(
    source: str,
    where: Callable[[int], str],
    *,
    image_id: np.ndarray,
    category_id: np.ndarray,
    box: np.ndarray,
    width: np.ndarray | None,
    height: np.ndarray | None,
    score: np.ndarray | None = None,
    gt_category_ids: np.ndarray | None = None,
) -> None:
    """One DataWarning per kind of suspicious row (rows in source order; `where(i)` names row i):
    a box reaching outside its image (where the size is known, > 0; `width`, `height` None: no
    row's is; 1e-6 px slack for rounding), a score outside [0, 1], a detection repeated exactly
    (image, class, box, score), a class predicted that has no ground truth (`gt_category_ids`:
    the classes that have some)."""
    if width is not None and height is not None:
        x, y, w, h = box.T if len(box) else np.zeros((4, 0))
        known = (width > 0) & (height > 0)
        tol = 1e-6
        outside = known & ((x < -tol) | (y < -tol) | (x + w > width + tol) | (y + h > height + tol))
        if outside.any():
            warn_data(
                source,
                int(outside.sum()),
                "box(es) reach outside their image",
                where(int(np.flatnonzero(outside)[0])),
            )
    if score is None:
        return
    odd = ~((score >= 0) & (score <= 1))
    if odd.any():
        warn_odd_scores(source, where, score, int(odd.sum()), int(np.flatnonzero(odd)[0]))
    if len(score) > 1:
        warn_repeats(source, where, *repeated_rows(image_id, category_id, box, score))
    if gt_category_ids is not None and len(category_id):
        absent = ~np.isin(category_id, gt_category_ids)
        if absent.any():
            classes = np.unique(category_id[absent])
            i = int(np.flatnonzero(absent)[0])
            warn_data(
                source,
                int(absent.sum()),
                f"detection(s) of {len(classes)} class(es) without any ground truth "
                f"({', '.join(map(str, classes[:5].tolist()))}{', ...' if len(classes) > 5 else ''}"
                "): AP leaves such classes out; at the operating point they are false positives",
                where(i),
            )
