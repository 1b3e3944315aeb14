"""detrecall._sort: the ordering and lookup primitives, against numpy's own answers."""

from __future__ import annotations

import numpy as np
import pytest

from detrecall._sort import argsort_stable, positions, unique_ints


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
