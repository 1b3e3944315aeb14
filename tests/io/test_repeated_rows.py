"""io._problems.repeated_rows (the duplicate-detection warning's check) against np.unique's
notion of a repeated row, by hand and on random rows with ties, -0.0 and NaN: the compiled
kernel (_kernels.repeated_rows) and its numpy twin alike."""

from __future__ import annotations

import numpy as np
import pytest

from detrecall._compiled import kernels
from detrecall.io._problems import repeated_rows, repeated_rows_numpy

_WAYS = [pytest.param(repeated_rows_numpy, id="numpy")]
if kernels is not None:
    _WAYS.append(pytest.param(repeated_rows, id="compiled"))


@pytest.fixture(params=_WAYS)
def way(request):
    return request.param


def _unique_reference(rows: np.ndarray) -> tuple[int, int]:
    _, first, counts = np.unique(rows, axis=0, return_index=True, return_counts=True)
    seen = np.zeros(len(rows), bool)
    seen[first] = True
    repeats = np.flatnonzero(~seen)
    return int((counts - 1).sum()), int(repeats[0]) if len(repeats) else -1


def test_by_hand(way):
    rows = np.array(
        [[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [-0.0, 5.0], [0.0, 5.0], [np.nan, 1.0], [np.nan, 1.0]]
    )
    # row 2 repeats row 0, row 4 repeats row 3 (-0.0 == 0.0); rows holding NaN repeat nothing
    assert way(rows) == (2, 2)
    assert way(rows[:2]) == (0, -1)
    assert way(rows[3:]) == (1, 1)


@pytest.mark.parametrize("seed", range(60))
def test_equals_np_unique_on_random_rows(seed, way):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 3, (int(rng.integers(2, 80)), int(rng.integers(1, 8)))).astype(np.float64)
    rows[rng.random(rows.shape) < 0.1] = -0.0
    if seed % 3 == 0:
        rows[rng.random(rows.shape) < 0.05] = np.nan
    assert way(rows) == _unique_reference(rows)


def test_many_distinct_rows_with_two_repeats(way):
    rng = np.random.default_rng(1)
    rows = rng.random((20_000, 7))
    rows[9_000] = rows[17]
    rows[4_000] = rows[3_999]
    assert way(rows) == (2, 4_000)


@pytest.mark.skipif(kernels is None, reason="_kernels not built")
@pytest.mark.parametrize("seed", range(40))
def test_kernel_equals_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(0, 3000)), int(rng.integers(1, 9))
    rows = rng.integers(0, 4 if seed % 2 else 40, (n, k)).astype(np.float64)
    rows[rng.random(rows.shape) < 0.05] = -0.0
    rows[rng.random(rows.shape) < 0.01] = np.nan
    assert repeated_rows(rows) == repeated_rows_numpy(rows)
    assert repeated_rows(rows[::-1]) == repeated_rows_numpy(rows[::-1])  # not contiguous


def test_no_rows(way):
    assert way(np.zeros((0, 7))) == (0, -1)


@pytest.mark.parametrize("seed", range(30))
def test_columns_equal_their_stacked_rows(seed, way):
    """Rows given as columns (int64 and float64, 1-d and 2-d, other dtypes cast) count as the
    rows of their column_stack in float64."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    image = rng.integers(0, 3, n)
    cls = rng.integers(0, 2, n).astype(np.int32 if seed % 2 else np.int64)
    box = rng.integers(0, 2, (n, 4)).astype(np.float64)
    box[rng.random(box.shape) < 0.1] = -0.0
    score = rng.integers(0, 2, n).astype(np.float32 if seed % 3 == 0 else np.float64)
    if seed % 4 == 0:
        score[rng.random(n) < 0.05] = np.nan
    stacked = np.column_stack([image.astype(float), cls.astype(float), box, score.astype(float)])
    assert way(image, cls, box, score) == _unique_reference(stacked)
    assert way(image, cls, box[::-1], score) == way(np.column_stack([image, cls, box[::-1], score]))


def test_ids_beyond_2_53_compare_as_float64(way):
    """int64 ids are compared as float64 (the column_stack's values): 2**53 and 2**53 + 1 are one."""
    ids = np.array([2**53, 2**53 + 1], np.int64)
    assert way(ids, np.zeros(2)) == (1, 1)


@pytest.mark.skipif(kernels is None, reason="_kernels not built")
def test_kernel_refuses_columns_of_other_lengths():
    with pytest.raises(TypeError, match="one number of rows"):
        kernels.repeated_rows((np.zeros(3), np.zeros(4)))
    with pytest.raises(TypeError):
        kernels.repeated_rows((np.zeros(3, np.int32),))
    with pytest.raises(ValueError):
        kernels.repeated_rows(())


@pytest.mark.parametrize("seed", range(30))
def test_rows_sorted_by_their_first_value_alike(seed, way):
    """Rows whose first value never decreases (a table per run of it in the kernel), with
    repeats inside runs, -0.0 against 0.0 in the first column, and runs of one row."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 500))
    first = np.sort(rng.integers(0, int(rng.integers(1, 60)), n)).astype(np.float64)
    first[first == 0] = np.where(rng.random(int((first == 0).sum())) < 0.5, -0.0, 0.0)
    rest = rng.integers(0, 2, (n, 3)).astype(np.float64)
    stacked = np.column_stack([first, rest])
    assert way(first, rest) == _unique_reference(stacked)
    assert way(first, rest) == repeated_rows_numpy(stacked)
