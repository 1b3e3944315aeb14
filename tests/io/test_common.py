"""io._common.sort_rows: the one row order every reader stores, against a lexsort."""

from __future__ import annotations

import numpy as np
import pytest

from detrecall.io._common import sort_rows


@pytest.mark.parametrize("seed", range(8))
def test_sort_rows_is_image_then_category_then_file_order(seed):
    """Few (image, category) keys take the counting sort, many the radix sort of one key."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000)) if seed < 6 else 200_000
    for dtype in (np.int64, np.int32):
        image = rng.integers(-50, 10**6 if seed % 2 else 40, n).astype(dtype)
        category = rng.integers(-3, 90, n).astype(dtype)
        want = np.lexsort((np.arange(n), category, image))
        assert np.array_equal(sort_rows(image, category), want)
    huge = np.array([2**62, -(2**62), 0, 2**62], np.int64)  # no single key fits: the lexsort
    assert sort_rows(huge, np.array([1, 0, 5, 0])).tolist() == [1, 2, 3, 0]
