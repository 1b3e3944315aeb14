"""Distances between a baseline's predictions and a run's: KS, PSI and chi-square.

- `ks_statistic`: the two-sample Kolmogorov-Smirnov statistic, sup |F_a - F_b| over every
  observed value (scipy.stats.ks_2samp's `statistic`).
- `psi`: the population stability index over bins cut at the baseline's quantiles,
  sum((a - e) * ln(a / e)) of the bin shares, each share floored at PSI_FLOOR so that an empty
  bin costs a lot but not infinity. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large.
- `category_psi`, `chi_square`: the same for class counts. The chi-square is a goodness of fit
  of the run's counts to the baseline's shares, with half a count added to every baseline class
  (a class new in production then has a small, not a zero, expected count);
  its p-value is exact for the chi-square distribution (`chi2_sf`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

PSI_FLOOR = 1e-4


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """sup over x of |F_a(x) - F_b(x)|, the empirical CDFs of two samples; NaN if one is empty."""
    a = np.sort(np.asarray(a, dtype=np.float64))
    b = np.sort(np.asarray(b, dtype=np.float64))
    if not len(a) or not len(b):
        return float("nan")
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / len(a)
    fb = np.searchsorted(b, x, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def _psi_of_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected, PSI_FLOOR)
    a = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI of `actual` against `expected` over `bins` baseline-quantile bins (fewer when the
    baseline has ties); NaN if one sample is empty."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if not len(expected) or not len(actual):
        return float("nan")
    inner = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=len(inner) + 1)
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=len(inner) + 1)
    return _psi_of_shares(e / len(expected), a / len(actual))


def _aligned(expected: Mapping[str, int], actual: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(set(expected) | set(actual))
    return (
        np.array([expected.get(k, 0) for k in keys], dtype=np.float64),
        np.array([actual.get(k, 0) for k in keys], dtype=np.float64),
    )


def category_psi(expected: Mapping[str, int], actual: Mapping[str, int]) -> float:
    """PSI of the class shares (classes of either side; a missing class has share 0)."""
    e, a = _aligned(expected, actual)
    if not e.sum() or not a.sum():
        return float("nan")
    return _psi_of_shares(e / e.sum(), a / a.sum())


@dataclass(frozen=True)
class ChiSquare:
    """A chi-square goodness-of-fit test: the statistic, its degrees of freedom and p-value."""

    statistic: float
    dof: int
    p_value: float


def chi_square(expected: Mapping[str, int], actual: Mapping[str, int]) -> ChiSquare:
    """Fit of the run's class counts to the baseline's class shares (half a count added to each
    baseline class): sum((obs - exp)^2 / exp), classes - 1 degrees of freedom."""
    e, a = _aligned(expected, actual)
    if not a.sum() or len(e) < 2:
        return ChiSquare(float("nan") if not a.sum() else 0.0, max(len(e) - 1, 0), 1.0)
    e = e + 0.5
    f_exp = e / e.sum() * a.sum()
    stat = float(np.sum((a - f_exp) ** 2 / f_exp))
    dof = len(e) - 1
    return ChiSquare(stat, dof, chi2_sf(stat, dof))


def chi2_sf(x: float, dof: int) -> float:
    """P(X > x) for X ~ chi-square(dof): the regularized upper incomplete gamma Q(dof/2, x/2),
    in closed form for integer dof (a finite sum; erfc for the half-integer part)."""
    if x <= 0:
        return 1.0
    h = x / 2.0
    if dof % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, dof // 2):
            term *= h / i
            total += term
        return min(1.0, math.exp(-h) * total)
    total = math.erfc(math.sqrt(h))
    term = math.sqrt(h) / math.gamma(1.5)  # h^(1/2) / Γ(3/2)
    for i in range(1, (dof + 1) // 2):
        total += math.exp(-h) * term
        term *= h / (i + 0.5)
    return min(1.0, total)
