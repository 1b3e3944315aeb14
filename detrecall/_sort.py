"""Stable argsort of int64 or float64 keys: the compiled radix sort where built, else numpy's."""

from __future__ import annotations

import numpy as np

from ._compiled import kernels, native

_NATIVE_FROM = 512  # below this, numpy's call costs less than the radix sort's fixed set-up


def argsort_stable(keys: np.ndarray, descending: bool = False) -> np.ndarray:
    """np.argsort(-keys if descending else keys, kind="stable"): ties keep their input order
    (also when descending), -0.0 equals 0.0. A few linear radix passes instead of a timsort:
    ~6x faster on scores, which every evaluation sorts several times."""
    keys = np.asarray(keys)
    if (
        native is not None
        and keys.ndim == 1
        and len(keys) >= _NATIVE_FROM
        and keys.dtype in (np.int64, np.float64)
        and not (keys.dtype == np.float64 and np.isnan(keys).any())  # numpy puts NaN last, either way
    ):
        return np.frombuffer(native.argsort(np.ascontiguousarray(keys), descending), np.int64)
    return np.argsort(-keys if descending else keys, kind="stable")


def run_order(group: np.ndarray, score: np.ndarray, threads: int = 1) -> np.ndarray:
    """np.lexsort((-score, group)) for rows stored in runs of `group` (non-decreasing), scores
    without NaN: each run sorted by score descending on its own (ties keep input order, -0.0
    equals 0.0), runs split over `threads`, in detrecall/_kernels.c when it is built; the
    lexsort is its twin. A sort inside runs of a few rows each, not of every row."""
    if kernels is not None and len(group) >= _NATIVE_FROM and group.dtype == np.int64:
        raw = kernels.run_order(np.ascontiguousarray(group), np.ascontiguousarray(score, np.float64), threads)
        return np.frombuffer(raw, np.int64)
    return np.lexsort((-np.asarray(score, np.float64), group))


def kept_order(order: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The entries of `order` (an order of 0..n-1) whose `kept` flag is set, renumbered as
    their index among the kept (order[kept[order]] through cumsum(kept) - 1), in order's dtype:
    one compiled pass where built; the numpy path below is its twin."""
    order = np.asarray(order)
    if kernels is not None and len(order) >= _NATIVE_FROM and order.dtype in (np.int32, np.int64):
        raw = kernels.kept_order(
            np.ascontiguousarray(order), np.ascontiguousarray(kept, np.bool_).view(np.uint8)
        )
        return np.frombuffer(raw, order.dtype)
    new_index = np.cumsum(kept, dtype=order.dtype if order.dtype.kind == "i" else np.int64) - 1
    return new_index[order[np.asarray(kept, bool)[order]]]


def take_rows(order: np.ndarray, columns: tuple[np.ndarray, ...], threads: int = 1) -> tuple[np.ndarray, ...]:
    """(column[order] for each column): the rows of several columns in `order` in one compiled
    call over `threads` (detrecall/_kernels.c) where built; numpy's fancy indexing is its twin."""
    order = np.asarray(order)
    if (
        kernels is None
        or any(np.asarray(c).dtype.hasobject for c in columns)  # bytes are copied: no references
        or len(order) < _NATIVE_FROM
        or order.dtype not in (np.int64, np.int32)
        or len(columns) > 8
    ):
        return tuple(c[order] for c in columns)
    cols = tuple(np.ascontiguousarray(c) for c in columns)
    raw = kernels.take_rows(np.ascontiguousarray(order), cols, threads)
    return tuple(np.frombuffer(b, c.dtype).reshape((len(order), *c.shape[1:])) for b, c in zip(raw, cols))


def regroup(first: np.ndarray, key: np.ndarray, n_keys: int) -> np.ndarray:
    """`first` (an order of 0..n-1) stably regrouped by key[first] ascending, keys in
    [0, n_keys): first[np.argsort(key[first], kind="stable")], as one counting sort in
    detrecall/_kernels.c when it is built (two linear passes, no comparison sort)."""
    if kernels is not None and len(first) >= _NATIVE_FROM:
        raw = kernels.regroup(
            np.ascontiguousarray(first, np.int64), np.ascontiguousarray(key, np.int64), n_keys
        )
        return np.frombuffer(raw, np.int64)
    sub = key[first]
    if len(sub) and sub.max() < 2**15:
        sub = sub.astype(np.int16)  # numpy's stable sort is a radix sort on 16 bits
    return first[np.argsort(sub, kind="stable")]


def positions(values: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each value in the sorted, distinct int array `known`, whether it is there).
    Ids are usually dense (COCO's run 1..N): then a lookup table, one gather instead of a
    binary search per value; else np.searchsorted. One compiled pass where built (int64)."""
    values = np.asarray(values)
    n = len(values)
    if native is not None and n >= _NATIVE_FROM and values.dtype == np.int64 and known.dtype == np.int64:
        pos, found = native.positions(np.ascontiguousarray(values), np.ascontiguousarray(known))
        return np.frombuffer(pos, np.int64), np.frombuffer(found, bool)
    return positions_numpy(values, known)


def positions_numpy(values: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """positions' numpy path (its twin, and where the compiled module is not built)."""
    values = np.asarray(values)
    n = len(values)
    if len(known) == 0:
        return np.zeros(n, np.int64), np.zeros(n, bool)
    lo, span = int(known[0]), int(known[-1]) - int(known[0]) + 1
    if values.dtype == np.int64 and known.dtype == np.int64 and span <= 4 * (n + len(known)) + 1024:
        table = np.full(span + 1, -1, np.int64)  # the last slot answers every value out of range
        table[known - lo] = np.arange(len(known))
        idx = values - lo
        idx[(idx < 0) | (idx >= span)] = span
        pos = table[idx]
        found = pos >= 0
        pos[~found] = 0
        return pos, found
    pos = np.searchsorted(known, values).clip(0, len(known) - 1).astype(np.int64)
    return pos, known[pos] == values


def unique_ints(values: np.ndarray) -> np.ndarray:
    """np.unique of an int64 array (sorted, distinct), as is when it already is: without
    np.unique, whose first plain call imports numpy.ma (14 ms of an evaluation's start)."""
    values = np.asarray(values, np.int64)
    if len(values) < 2 or bool((values[1:] > values[:-1]).all()):
        return values
    out = np.sort(values)
    return out[np.concatenate(([True], out[1:] != out[:-1]))]
