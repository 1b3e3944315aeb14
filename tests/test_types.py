"""The frozen tables: what they store."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall.types import Detections, RleMasks, narrow_ints, take


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


RLES = [
    {"size": [2, 3], "counts": "06"},
    {"size": [4, 1], "counts": b"13"},
    {"size": [1, 1], "counts": ""},
    {"size": [5, 5], "counts": "0\\19"},
]


def test_rle_masks_read_as_their_dicts():
    """Columns in, {"size": [h, w], "counts": str} out (bytes counts read back as str), fresh
    dicts each time; a sequence in every other way: len, negative indices, slices, iteration."""
    masks = RleMasks.from_rles(RLES)
    want = [
        {"size": r["size"], "counts": r["counts"] if isinstance(r["counts"], str) else r["counts"].decode()}
        for r in RLES
    ]
    assert len(masks) == 4 and list(masks) == want and masks[-1] == want[3] and masks[1] == want[1]
    assert masks.sizes.dtype == np.int64 and masks.chars.tobytes() == b"06130\\19"
    assert masks[0] is not masks[0]
    masks[0]["counts"] = "x"  # a fresh dict: the columns are not changed through it
    assert masks[0] == want[0]
    assert (
        list(masks[1:3]) == want[1:3]
        and isinstance(masks[::-1], RleMasks)
        and list(masks[::-1]) == want[::-1]
    )
    for i in (4, -5):
        with pytest.raises(IndexError):
            masks[i]
    assert not masks.chars.flags.writeable and not masks.starts.flags.writeable
    with pytest.raises(TypeError, match="str or bytes"):
        RleMasks.from_rles([{"size": [2, 2], "counts": [0, 4]}])
    assert list(RleMasks.from_rles([])) == [] and len(RleMasks.from_rles([]).sizes) == 0


def test_rle_masks_take_gathers_rows_and_shares_the_characters():
    masks = RleMasks.from_rles(RLES)
    cut = masks.take(np.array([3, 0, 0]))
    assert cut.chars is masks.chars and list(cut) == [masks[3], masks[0], masks[0]]
    assert cut == RleMasks.from_rles([masks[3], masks[0], masks[0]])  # equal: same strings, sizes
    compact = cut.compact()
    assert compact.chars.tobytes() == b"0\\190606" and compact == cut and masks.compact() is masks
    assert cut != masks and cut != RleMasks.from_rles([masks[3], masks[0], masks[1]])
    assert masks == list(masks) and masks == tuple(masks) and masks != "06"


def test_rle_masks_concatenate_keep_only_their_strings():
    masks = RleMasks.from_rles(RLES)
    parts = [masks.take(np.array([3])), masks.take(np.array([1, 0])), masks.take(np.zeros(0, np.int64))]
    joined = RleMasks.concatenate(parts)
    assert list(joined) == [masks[3], masks[1], masks[0]]
    assert joined.chars.tobytes() == b"0\\191306"  # each part's strings only, in row order
    assert len(RleMasks.concatenate([])) == 0


def test_tables_hold_rle_dicts_as_rle_masks():
    """A Dataset or Detections given RLE dicts holds them as RleMasks; `take` cuts them."""
    dt = Detections(
        image_id=np.arange(4),
        category_id=np.ones(4, np.int64),
        box=np.ones((4, 4)),
        area=np.ones(4),
        score=np.ones(4),
        masks=tuple(RLES),  # type: ignore[arg-type]
    )
    assert isinstance(dt.masks, RleMasks) and list(dt.masks) == list(RleMasks.from_rles(RLES))
    cut = take(dt, np.array([2, 0]))
    assert cut.masks is not None and list(cut.masks) == [dt.masks[2], dt.masks[0]]
