"""Array idioms used by several stages, written once."""

from __future__ import annotations

import math

import numpy as np


def run_starts(keys: np.ndarray) -> np.ndarray:
    """For each position of a nondecreasing key array, the index where its run begins."""
    n = len(keys)
    first = np.ones(n, bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, np.int64)


def mean_where(x: np.ndarray, defined: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """Mean over `axis` of the entries where `defined`, NaN where there are none (no warning)."""
    count = defined.sum(axis=axis)
    total = np.where(defined, x, 0.0).sum(axis=axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def mean_of_defined(s: np.ndarray) -> float:
    """pycocotools' `_summarize` reduction: np.mean of the entries > -1, -1 when none."""
    defined = s[s > -1]
    return -1.0 if len(defined) == 0 else float(np.mean(defined))


def nan_if_undefined(v: float) -> float:
    """pycocotools' -1 (undefined) as NaN."""
    return math.nan if v == -1 else v
