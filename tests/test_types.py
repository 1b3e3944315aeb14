"""The frozen tables: what they store."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_array_equal

from detrecall.types import Detections, narrow_ints, take


def _detections(file_index: np.ndarray) -> Detections:
    n = len(file_index)
    return Detections(
        image_id=np.arange(n),
        category_id=np.ones(n, np.int64),
        box=np.ones((n, 4)),
        area=np.ones(n),
        score=np.linspace(1, 0, n),
        file_index=file_index,
    )


def test_file_positions_are_kept_as_int32_when_they_fit():
    dt = _detections(np.array([3, 0, 2, 1], np.int64))
    assert dt.file_index is not None and dt.file_index.dtype == np.int32
    assert dt.file_index.tolist() == [3, 0, 2, 1]
    cut = take(dt, np.array([1, 3]))  # a cut keeps the positions in the source
    assert cut.file_index is not None and cut.file_index.tolist() == [0, 1]
    big = _detections(np.array([5, 2**31], np.int64))  # past int32: left as they are
    assert big.file_index is not None and big.file_index.dtype == np.int64
    assert big.file_index.tolist() == [5, 2**31]


def test_narrow_ints():
    for values, width in (([0, 2**31 - 1], 4), ([-(2**31)], 4), ([2**31], 8), ([-(2**31) - 1], 8)):
        out = narrow_ints(np.array(values, np.int64))
        assert out.dtype.itemsize == width
        assert_array_equal(out, values)
    floats = np.array([1.0, 2.0])
    assert narrow_ints(floats) is floats  # not integers: untouched
    empty = np.zeros(0, np.int64)
    assert narrow_ints(empty) is empty
