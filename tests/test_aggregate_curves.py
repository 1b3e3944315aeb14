"""aggregate.curves and curves_in_order against a plain per-segment walk."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall.aggregate import by_score, curves, curves_in_order


def _walk(score, is_tp, segment, support):
    """Per segment, by score descending: TP and FP counts after each run of equal scores."""
    out = []
    for k in range(len(support)):
        s, t = score[segment == k], is_tp[segment == k]
        o = np.argsort(-s, kind="stable")
        s, t = s[o], t[o]
        last = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, bool)
        tp = np.cumsum(t)[last]
        out.append((s[last], tp, (np.flatnonzero(last) + 1) - tp))
    return out


def _data(seed: int, n: int, n_seg: int):
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 12, n) / 11.0  # few distinct scores: many ties
    segment = rng.integers(0, n_seg, n)
    segment[segment == 1] = 2  # segment 1 empty
    is_tp = rng.random(n) < 0.4
    support = np.bincount(segment[is_tp], minlength=n_seg) + rng.integers(0, 3, n_seg)
    return score, is_tp, segment, support


@pytest.mark.parametrize("seed", range(8))
def test_curves_equal_a_walk_per_segment(seed):
    score, is_tp, segment, support = _data(seed, 300 + 97 * seed, 5)
    got = curves(score, is_tp, segment, support)
    assert len(got) == len(support)
    for c, (thresholds, tp, fp), n_pos in zip(got, _walk(score, is_tp, segment, support), support):
        assert_array_equal(c.thresholds, thresholds)
        assert_array_equal(c.tp, tp)
        assert_array_equal(c.fp, fp)
        assert c.tp.dtype == np.int64 and c.fp.dtype == np.int64
        with np.errstate(invalid="ignore", divide="ignore"):
            assert_array_equal(c.recall, tp / n_pos if n_pos else np.zeros(len(tp)))


@pytest.mark.parametrize("seed", range(4))
def test_curves_in_order_of_a_subset_equal_curves_of_the_subset(seed):
    score, is_tp, segment, support = _data(seed, 500, 4)
    keep = np.random.default_rng(seed + 100).random(len(score)) < 0.7
    expected = curves(score[keep], is_tp[keep], segment[keep], support)
    order = by_score(score)
    order = order[keep[order]]
    order = order[np.argsort(segment[order], kind="stable")]  # by segment, by score in each
    got = curves_in_order(score, is_tp, order, np.bincount(segment[keep], minlength=len(support)), support)
    for c, e in zip(got, expected, strict=True):
        for name in ("thresholds", "tp", "fp", "precision", "recall", "f1"):
            assert_array_equal(getattr(c, name), getattr(e, name))


def test_empty_curves():
    [c] = curves(np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int64), np.array([3]))
    assert len(c.thresholds) == len(c.tp) == 0


@pytest.mark.parametrize("seed", range(10))
def test_curve_points_kernel_equals_its_numpy_twin(seed):
    """`_kernels.curve_points` against `_curve_points` (use_kernels=False): ties, NaN scores
    (each its own run, as numpy's not_equal has it), empty segments, int32 orders, a subset."""
    from detrecall._compiled import kernels

    if kernels is None:
        pytest.skip("the compiled kernels are not built")
    score, is_tp, segment, support = _data(seed, 50 + 3000 * seed, 3 + seed)
    if seed % 3 == 0:
        score[np.random.default_rng(seed).random(len(score)) < 0.05] = np.nan
    keep = np.random.default_rng(seed + 7).random(len(score)) < 0.8
    order = by_score(score)
    order = order[keep[order]]
    order = order[np.argsort(segment[order], kind="stable")]
    seg_count = np.bincount(segment[keep], minlength=len(support))
    for index in (order, order.astype(np.int32)):
        want = curves_in_order(score, is_tp, index, seg_count, support, use_kernels=False)
        got = curves_in_order(score, is_tp, index, seg_count, support)
        for c, e in zip(got, want, strict=True):
            for name in ("thresholds", "tp", "fp", "precision", "recall", "f1"):
                a, b = getattr(c, name), getattr(e, name)
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name


def test_curve_points_refuses_what_it_cannot_take():
    from detrecall._compiled import kernels

    if kernels is None:
        pytest.skip("the compiled kernels are not built")
    ok = (np.zeros(3), np.zeros(3, np.uint8), np.arange(3), np.array([3]))
    assert [len(b) for b in kernels.curve_points(*ok)] == [8, 8, 8, 8]  # one run of equal scores
    with pytest.raises(ValueError, match="out of range"):
        kernels.curve_points(ok[0], ok[1], np.array([0, 1, 3]), ok[3])
    with pytest.raises(ValueError, match="do not sum"):
        kernels.curve_points(*ok[:3], np.array([2]))
    with pytest.raises(ValueError, match="differ in length"):
        kernels.curve_points(ok[0], np.zeros(2, np.uint8), *ok[2:])
