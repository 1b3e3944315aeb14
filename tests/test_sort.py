"""detrecall._sort: the ordering and lookup primitives, against numpy's own answers."""

from __future__ import annotations

import numpy as np
import pytest

from detrecall._sort import (
    argsort_stable,
    kept_order,
    positions,
    positions_numpy,
    run_order,
    take_rows,
    unique_ints,
)


@pytest.mark.parametrize("seed", range(10))
def test_positions_equal_a_binary_search(seed):
    rng = np.random.default_rng(seed)
    spread = int(rng.choice([10, 1000, 10**9]))  # dense ids take the table, sparse the search
    known = np.unique(rng.integers(-spread // 10, spread, int(rng.integers(0, 300))))
    values = np.concatenate(
        [
            rng.choice(known, 50) if len(known) else np.zeros(0, np.int64),
            rng.integers(-2 * spread, 2 * spread, 200),
            [np.iinfo(np.int64).max, np.iinfo(np.int64).min + 1],
        ]
    )
    values = values.astype(np.int64)
    pos, found = positions(values, known)
    want_found = np.isin(values, known)
    assert np.array_equal(found, want_found)
    assert np.array_equal(known[pos[found]], values[found])
    assert pos.dtype == np.int64 and (pos >= 0).all()


def test_argsort_stable_small_and_other_dtypes_take_numpy():
    keys = np.array([3, 1, 3, 2, 1], np.int32)
    assert argsort_stable(keys).tolist() == [1, 4, 3, 0, 2]
    assert argsort_stable(keys, descending=True).tolist() == [0, 2, 3, 1, 4]


@pytest.mark.parametrize("n", [10, 511, 512, 5000])
@pytest.mark.parametrize("descending", [False, True])
def test_nan_keys_sort_last_as_numpy_puts_them(n: int, descending: bool) -> None:
    """NaN scores (pycocotools' loadRes accepts them) rank last in both directions, as numpy's
    stable argsort of -score ranks them: the radix sort is not used on them."""
    rng = np.random.default_rng(n)
    keys = rng.choice([0.1, 0.5, np.nan, 0.9, -0.0, 0.0], n)
    want = np.argsort(-keys if descending else keys, kind="stable")
    np.testing.assert_array_equal(argsort_stable(keys, descending), want)


@pytest.mark.parametrize("seed", range(10))
def test_unique_ints_equal_numpys_unique(seed: int):
    rng = np.random.default_rng(seed)
    for n in (0, 1, 2, 7, 500):
        values = rng.integers(-5, 40, n)
        for given in (values, np.sort(values), np.unique(values), values.astype(np.int32)):
            got = unique_ints(given)
            assert got.dtype == np.int64 and np.array_equal(got, np.unique(given))


@pytest.mark.parametrize("seed", range(12))
def test_positions_compiled_equal_their_numpy_twin(seed: int):
    """Both branches (a table of a short span, a binary search of a long one), absent values,
    the int64 extremes (no overflow of value - lowest id)."""
    rng = np.random.default_rng(seed)
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    for kind in range(4):
        m = int(rng.integers(0, 60))
        known = [
            np.unique(rng.integers(1, 300, m)),
            np.unique(rng.integers(-(2**62), 2**62, m)),
            np.unique(np.r_[rng.integers(-5, 5, m), [small, big]]),
            np.arange(1, m + 1),
        ][kind].astype(np.int64)
        some = rng.choice(known, 700) if len(known) else rng.integers(0, 9, 700)
        values = np.r_[some, rng.integers(-400, 400, 700), [small, big, small + 1]].astype(np.int64)
        got, want = positions(values, known), positions_numpy(values, known)
        assert got[0].dtype == np.int64 and got[1].dtype == bool
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), kind


def test_the_positions_kernel_refuses_what_it_cannot_take():
    from detrecall._compiled import native

    if native is None:
        pytest.skip("detrecall._native is not built here")
    with pytest.raises(ValueError, match="sorted"):
        native.positions(np.arange(3), np.array([1, 1, 2]))
    for values, known in ((np.arange(3, dtype=np.int32), np.arange(3)), (np.arange(3), np.zeros(2))):
        with pytest.raises(TypeError):
            native.positions(values, known)


@pytest.mark.parametrize("seed", range(12))
def test_run_order_equals_a_lexsort(seed: int) -> None:
    """The compiled sort inside runs (insertion for short runs, a merge for long ones) against
    np.lexsort((-score, group)), its twin: score ties, -0.0 against 0.0, one long run, threads."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([600, 5000, 200_000]))
    runs = int(rng.choice([1, 7, n // 3, n]))
    group = np.sort(rng.integers(-5, runs, n)).astype(np.int64)
    score = rng.integers(0, int(rng.choice([3, 50, 10**6])), n) / 7.0
    score[rng.random(n) < 0.05] = -0.0
    score[rng.random(n) < 0.05] = 0.0
    want = np.lexsort((-score, group))
    for threads in (1, 2, 5):
        got = run_order(group, score, threads)
        assert got.dtype == np.int64 and np.array_equal(got, want), threads


def test_run_order_refuses_rows_not_in_runs() -> None:
    from detrecall._compiled import kernels

    if kernels is None:
        pytest.skip("the compiled kernels are not built")
    with pytest.raises(ValueError, match="not in runs"):
        kernels.run_order(np.array([0, 1, 0], np.int64), np.zeros(3), 1)
    with pytest.raises(ValueError, match="differ in length"):
        kernels.run_order(np.array([0, 1], np.int64), np.zeros(3), 1)


@pytest.mark.parametrize("n", [0, 100, 5000, 300_000])
def test_take_rows_equals_numpys_indexing(n: int) -> None:
    """Several columns of several dtypes and row widths, any order with repeats, 1-3 threads."""
    rng = np.random.default_rng(n)
    columns = (
        rng.integers(-(2**62), 2**62, n),
        rng.random((n, 4)),
        rng.random(n).astype(np.float32),
        rng.random(n) < 0.5,
        rng.integers(0, 9, (n, 3)).astype(np.int16),
    )
    order = rng.integers(0, max(n, 1), n).astype(np.int64) if n else np.zeros(0, np.int64)
    for index in (order, order.astype(np.int32)):  # the plan's int32 rows, the readers' int64
        for threads in (1, 2, 3):
            for got, column in zip(take_rows(index, columns, threads), columns):
                want = column[order]
                assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)


def test_take_rows_refuses_what_it_cannot_take() -> None:
    from detrecall._compiled import kernels

    if kernels is None:
        pytest.skip("the compiled kernels are not built")
    with pytest.raises(ValueError, match="out of range"):
        kernels.take_rows(np.array([0, 3], np.int64), (np.zeros(3),), 1)
    with pytest.raises(ValueError, match="differ in rows"):
        kernels.take_rows(np.array([0], np.int64), (np.zeros(3), np.zeros(4)), 1)


@pytest.mark.parametrize("n", [0, 7, 600, 100_000])
def test_kept_order_equals_its_numpy_twin(n: int) -> None:
    """The plan's score order cut to the detections a max-dets cut keeps, renumbered."""
    rng = np.random.default_rng(n)
    order = rng.permutation(n)
    kept = rng.random(n) < 0.7
    want = (np.cumsum(kept) - 1)[order[kept[order]]]
    for dtype in (np.int64, np.int32):
        got = kept_order(order.astype(dtype), kept)
        assert got.dtype == dtype and np.array_equal(got, want)
    assert kept_order(order, np.zeros(n, bool)).tolist() == []


def test_kept_order_refuses_what_it_cannot_take() -> None:
    from detrecall._compiled import kernels

    if kernels is None:
        pytest.skip("the compiled kernels are not built")
    with pytest.raises(ValueError, match="out of range"):
        kernels.kept_order(np.array([0, 5], np.int64), np.ones(2, np.uint8))
    with pytest.raises(ValueError, match="differ in length"):
        kernels.kept_order(np.array([0, 1], np.int64), np.ones(3, np.uint8))
