"""detrecall/_kernels.c's mask_iou against its twin, pycocotools' `mask.iou` (block by block, as
masks.mask_iou_blocks calls it without the kernel), whole arrays equal bit for bit, on random
masks of random sizes (empty, full, single pixels, noisy ones of many runs), crowd flags, str and
bytes counts, blocks of 0 detections or 0 ground truths, rows named by several blocks, for 1, 2
and 3 threads; hand-worked IoUs; and its refusals: a malformed RLE or a size mismatch answers
None (pycocotools then answers), a bad index or type raises, never reads out of bounds
(.ci/sanitize runs this file under ASan/UBSan)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from detrecall import evaluate
from detrecall._compiled import kernels
from detrecall.geometry import masks as M
from detrecall.types import RleMasks

from ..oracle import mask_rles, random_coco, random_mask

needs_kernels = pytest.mark.skipif(kernels is None, reason="detrecall._kernels is not built here")

INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
PAIR_COST, WORK_PER_THREAD = 32, 32768  # _kernels.c: a block's cost, and the least a thread gets


def _random_case(seed: int, big: bool = False) -> tuple[Any, ...]:
    """Masks of one random size in groups, blocks over shuffled rows as the plan makes them
    (consecutive detections against a run of ground truths), some empty on either side."""
    rng = np.random.default_rng(seed)
    h, w = (
        (int(rng.integers(40, 90)), int(rng.integers(40, 90)))
        if big
        else (int(rng.integers(1, 40)), int(rng.integers(1, 40)))
    )
    n_dt, n_gt = (
        (int(rng.integers(200, 400)), int(rng.integers(40, 80)))
        if big
        else (
            int(rng.integers(1, 60)),
            int(rng.integers(1, 20)),
        )
    )
    dt = mask_rles([random_mask(rng, h, w) for _ in range(n_dt)], as_str=bool(seed % 2))
    gt = mask_rles([random_mask(rng, h, w) for _ in range(n_gt)], as_str=bool(seed % 3 == 0))
    crowd = (rng.random(n_gt) < 0.3).astype(np.uint8)
    dt_rows, gt_rows = rng.permutation(n_dt), rng.permutation(n_gt)
    blocks, d0 = [], 0
    while d0 < n_dt:
        nd = int(min(rng.integers(0, 12 if not big else 30), n_dt - d0))
        g0 = int(rng.integers(n_gt))
        ng = int(rng.integers(0, n_gt - g0 + 1))
        blocks.append([d0, nd, g0, ng])
        d0 += nd
    if seed % 4 == 0:  # a row named again, by a later block
        blocks.append([0, min(3, n_dt), 0, min(2, n_gt)])
    return tuple(dt), tuple(gt), dt_rows, gt_rows, np.array(blocks, np.int64).reshape(-1, 4), crowd


def _pycocotools(dt, gt, dt_rows, gt_rows, blocks, crowd) -> np.ndarray:
    want = [np.zeros(0)]
    for d0, nd, g0, ng in blocks.tolist():
        if nd == 0 or ng == 0:
            continue
        g = gt_rows[g0 : g0 + ng]
        iou = mask_utils.iou([dt[r] for r in dt_rows[d0 : d0 + nd]], [gt[r] for r in g], crowd[g])
        want.append(np.asarray(iou, np.float64).reshape(nd, ng).ravel())
    return np.concatenate(want)


def _kernel(*args: Any, threads: int = 1) -> np.ndarray | None:
    got = kernels.mask_iou(*args, threads)
    return None if got is None else np.frombuffer(got)


@needs_kernels
@pytest.mark.parametrize("seed", range(30))
def test_equals_pycocotools(seed):
    args = _random_case(seed)
    assert (args[4][:, 1] == 0).any() or (args[4][:, 3] == 0).any() or seed  # empty blocks occur
    want = _pycocotools(*args)
    for threads in (1, 2, 3):
        got = _kernel(*args, threads=threads)
        assert got is not None and got.dtype == np.float64
        assert np.array_equal(got, want), threads


@needs_kernels
@pytest.mark.parametrize("seed", range(4))
def test_equals_pycocotools_when_the_threads_split_the_blocks(seed):
    """Enough work that 2 and 3 threads each get blocks (every thread past WORK_PER_THREAD)."""
    args = _random_case(100 + seed, big=True)
    dt, gt, dt_rows, gt_rows, blocks, _ = args
    work = PAIR_COST * int((blocks[:, 1] * blocks[:, 3]).sum())
    for d0, nd, g0, ng in blocks.tolist():
        work += sum(len(dt[r]["counts"]) for r in dt_rows[d0 : d0 + nd])
        work += sum(len(gt[r]["counts"]) for r in gt_rows[g0 : g0 + ng])
    assert work > 3 * WORK_PER_THREAD
    want = _pycocotools(*args)
    for threads in (1, 2, 3, 7):
        got = _kernel(*args, threads=threads)
        assert got is not None and np.array_equal(got, want), threads


@needs_kernels
def test_hand_worked_ious():
    """3x2 masks, pixels 0..5 column-major (counts: run lengths from a background run):

        dt A "06": all six pixels    gt X "114": pixel 1    gt Y "033": pixels 0-2 (column 0)
        dt B "33": pixels 3-5        gt Z "6": empty, crowd    gt Y again as a crowd (row 3)

    A-X 1/6, A-Y 3/6, A-Z 0, B-X B-Y B-Z 0; B against crowd Y 0, A against crowd Y 3/6 (its own
    area: the same as the IoU here, as Y lies within A).
    """
    full = {"size": [3, 2], "counts": b"06"}
    right = {"size": [3, 2], "counts": b"33"}
    pixel1 = {"size": [3, 2], "counts": b"114"}
    left = {"size": [3, 2], "counts": b"033"}
    empty = {"size": [3, 2], "counts": b"6"}
    dt, gt = (full, right), (pixel1, left, empty, left)
    crowd = np.array([0, 0, 1, 1], np.uint8)
    rows = np.arange(4, dtype=np.int64)
    blocks = np.array([[0, 2, 0, 3], [0, 0, 0, 4], [1, 1, 3, 1], [0, 1, 3, 1]], np.int64)
    want = [1 / 6, 3 / 6, 0.0, 0.0, 0.0, 0.0] + [0.0] + [3 / 6]  # the second block has no pairs
    for threads in (1, 2):
        assert _kernel(dt, gt, rows[:2], rows, blocks, crowd, threads=threads).tolist() == want
    assert np.array_equal(_pycocotools(dt, gt, rows[:2], rows, blocks, crowd), want)
    # a crowd ground truth: intersection over the detection's own area (the IoU would be 1/6)
    one = np.array([[0, 1, 0, 1]], np.int64)
    assert _kernel((pixel1,), (full,), rows[:1], rows[:1], one, b"\1").tolist() == [1.0]
    assert _kernel((pixel1,), (full,), rows[:1], rows[:1], one, b"\0").tolist() == [1 / 6]
    # no blocks, and blocks of no pairs: an empty result
    assert _kernel(dt, gt, rows[:2], rows, np.zeros((0, 4), np.int64), crowd).tolist() == []
    assert (
        _kernel(dt, gt, rows[:2], rows, np.array([[0, 0, 0, 4], [0, 2, 0, 0]], np.int64), crowd).tolist()
        == []
    )


def _one_pair(dt: Any, gt: Any) -> tuple[Any, ...]:
    rows = np.zeros(1, np.int64)
    return (dt,), (gt,), rows, rows, np.array([[0, 1, 0, 1]], np.int64), np.zeros(1, np.uint8)


@needs_kernels
@pytest.mark.parametrize(
    "dt",
    [
        {"size": [4, 5], "counts": b"0;"},  # runs sum to 11, not 20
        {"size": [4, 5], "counts": b"0b0"},  # to more than 20
        {"size": [4, 5], "counts": b"0~"},  # a character pycocotools does not write
        {"size": [4, 5], "counts": "0\u00e9"},  # not ASCII
        {"size": [4, 5], "counts": b"0?"},  # cut short (0x20: a count goes on)
        {"size": [4, 5], "counts": b"0104"},  # a run of 0 after the first
        {"size": [4, 5], "counts": b"10c0"},  # the second run 0 (runs 1, 0, 19)
        {"size": [4, 5], "counts": b"01" + b"X" * 7 + b"0"},  # a count of more than 6 characters
        {"size": [5, 4], "counts": b"0d0"},  # another size than its ground truth's
        {"size": [4, 6], "counts": b"0h0"},  # another width (24 pixels)
        {"size": [2, 10], "counts": b"0d0"},  # the same pixel count
        {"size": [4], "counts": b"0d0"},
        {"size": [4.0, 5], "counts": b"0d0"},
        {"size": "45", "counts": b"0d0"},
        {"size": [4, 5], "counts": [0, 20]},  # uncompressed
        {"counts": b"0d0"},
        {"size": [4, 5]},
        {"size": [2**15, 2**14], "counts": b"0d0"},  # h*w >= 2**29
        {"size": [-4, -5], "counts": b"0d0"},
        [4, 5],
        None,
    ],
)
def test_a_mask_not_well_formed_answers_none(dt):
    good = {"size": [4, 5], "counts": b"0d0"}  # all 20 pixels
    assert _kernel(*_one_pair(good, good)).tolist() == [1.0]
    for threads in (1, 2):
        assert _kernel(*_one_pair(dt, good), threads=threads) is None
        assert _kernel(*_one_pair(good, dt), threads=threads) is None


@needs_kernels
@pytest.mark.parametrize("seed", range(12))
def test_none_exactly_when_a_block_names_a_broken_mask(seed):
    """One mask broken among many (its string cut by a character: runs short of h*w), in any
    block, also a block of no pairs (its masks are read all the same), or in none (then every
    IoU is pycocotools'), on enough work for the threads to split."""
    dt, gt, dt_rows, gt_rows, blocks, crowd = _random_case(200 + seed, big=seed % 2 == 0)
    rng = np.random.default_rng(seed)
    dt, gt = list(dt), list(gt)
    side = dt if seed % 3 else gt
    victim = int(rng.integers(len(side)))
    bad = dict(side[victim])
    bad["counts"] = (bad["counts"] if isinstance(bad["counts"], bytes) else bad["counts"].encode())[:-1]
    side[victim] = bad
    args = (tuple(dt), tuple(gt), dt_rows, gt_rows, blocks, crowd)
    rows, at = (dt_rows, 0) if side is dt else (gt_rows, 2)
    named = any(victim in rows[b[at] : b[at] + b[at + 1]].tolist() for b in blocks.tolist())
    for threads in (1, 3):
        got = _kernel(*args, threads=threads)
        assert (got is None) == named, threads
        if not named:
            assert np.array_equal(got, _pycocotools(*args))


@needs_kernels
@pytest.mark.parametrize(
    "block",
    [
        [INT64_MAX, 1, 0, 1],  # d0 + nd overflows
        [INT64_MAX, 2, 0, 1],
        [1, INT64_MAX, 0, 1],
        [INT64_MAX, INT64_MAX, 0, 1],
        [0, 1, INT64_MAX, 1],  # g0 + ng overflows
        [0, 1, 2, INT64_MAX],
        [0, 1, INT64_MAX, INT64_MAX],
        [INT64_MIN, 1, 0, 1],
        [0, INT64_MIN, 0, 1],
        [0, 1, -1, 1],
        [0, 1, 0, INT64_MIN],
        [0, 3, 0, 1],  # plain out of range
        [1, 2, 0, 1],
        [0, 1, 2, 1],
    ],
)
def test_refuses_blocks_outside_the_rows(block):
    rle = {"size": [3, 2], "counts": b"06"}
    rows = np.zeros(2, np.int64)
    blocks = np.array([[0, 2, 0, 2], block], np.int64)
    with pytest.raises(IndexError, match="outside the rows"):
        kernels.mask_iou((rle,), (rle,), rows, rows, blocks, np.zeros(1, np.uint8), 2)


@needs_kernels
@pytest.mark.parametrize("dt_row, gt_row", [(1, 0), (-1, 0), (0, 1), (0, -1), (INT64_MAX, 0), (0, INT64_MIN)])
def test_refuses_rows_outside_the_masks(dt_row, gt_row):
    rle = {"size": [3, 2], "counts": b"06"}
    rows_d, rows_g = np.array([dt_row], np.int64), np.array([gt_row], np.int64)
    with pytest.raises(IndexError, match="outside the masks"):
        kernels.mask_iou((rle,), (rle,), rows_d, rows_g, np.array([[0, 1, 0, 1]], np.int64), b"\0", 1)
    # every row is checked before any mask is read: a malformed mask in an earlier block does
    # not hide a row out of range in a later one
    broken = {"size": [3, 2], "counts": b"0"}
    out_of_two = [r if r != 1 else 2 for r in (dt_row, gt_row)]  # rows 0 and 1 are masks now
    rows_d, rows_g = (np.array([0, r if r else 1], np.int64) for r in out_of_two)
    blocks = np.array([[0, 1, 0, 1], [1, 1, 1, 1]], np.int64)
    with pytest.raises(IndexError, match="outside the masks"):
        kernels.mask_iou((broken, rle), (broken, rle), rows_d, rows_g, blocks, b"\0\0", 2)


@needs_kernels
def test_refuses_wrong_types_and_shapes():
    rle = {"size": [3, 2], "counts": b"06"}
    rows, blocks, crowd = np.zeros(1, np.int64), np.array([[0, 1, 0, 1]], np.int64), np.zeros(1, np.uint8)
    good = ((rle,), (rle,), rows, rows, blocks, crowd, 1)
    assert np.frombuffer(kernels.mask_iou(*good)).tolist() == [1.0]
    for at, value, error, match in [
        (0, [rle], TypeError, "tuples"),
        (1, [rle], TypeError, "tuples"),
        (2, rows.astype(np.int32), TypeError, "dt_rows"),
        (3, rows.astype(np.float64), TypeError, "gt_rows"),
        (4, blocks.astype(np.uint64), TypeError, "blocks"),
        (2, [0], TypeError, None),
        (4, blocks[:, :3].copy(), ValueError, "rows of 4"),
        (4, np.zeros(5, np.int64), ValueError, "rows of 4"),
        (4, np.asfortranarray(np.zeros((2, 4), np.int64)), ValueError, "C-contiguous"),
        (5, np.zeros(1, np.int64), TypeError, "1-byte"),
        (5, np.zeros(0, np.uint8), ValueError, "one byte per"),
        (5, None, TypeError, None),
        (6, 1.5, TypeError, None),
        (6, "2", TypeError, None),
    ]:
        args = list(good)
        args[at] = value
        with pytest.raises(error, match=match):
            kernels.mask_iou(*args)
    with pytest.raises(TypeError):
        kernels.mask_iou(*good[:6])
    assert np.frombuffer(kernels.mask_iou(*good[:6], -3)).tolist() == [1.0]  # any count of threads
    assert np.frombuffer(kernels.mask_iou(*good[:6], 10**6)).tolist() == [1.0]
    bools = crowd.astype(bool)
    assert np.frombuffer(kernels.mask_iou(*good[:5], bools, 2)).tolist() == [1.0]


@needs_kernels
@pytest.mark.skipif(
    sys.maxsize < 2**62 or sys.platform == "win32", reason="maps a sparse 16 GiB file (64-bit, sparse files)"
)
def test_refuses_more_pairs_than_a_buffer_holds(tmp_path):
    """nd * ng (or the sum over blocks) past what a bytearray of doubles can hold: a ValueError
    before any row is read. The rows are a sparse 16 GiB file of zeros, mapped."""
    n = 2**31
    path = tmp_path / "rows"
    with open(path, "wb") as f:
        f.truncate(8 * n)
    rows = np.memmap(path, np.int64, mode="r", shape=(n,))
    rle = {"size": [3, 2], "counts": b"06"}
    half = 2**30
    for blocks in (
        [[0, half, 0, half]],
        [[0, n, 0, n]],
        [[0, half, 0, half // 2], [0, half, 0, half // 2]],
        [[0, 1, 0, 1]] * 3 + [[0, n, 0, n]],
    ):
        with pytest.raises(ValueError, match="more pairs"):
            kernels.mask_iou((rle,), (rle,), rows, rows, np.array(blocks, np.int64), np.zeros(1, np.uint8), 2)
    del rows


@pytest.mark.parametrize("seed", range(6))
def test_mask_iou_blocks_is_the_same_every_way(seed, monkeypatch):
    """The wrapper: compiled on threads, and pycocotools block by block."""
    args = _random_case(300 + seed)
    want = _pycocotools(*args)
    assert np.array_equal(M.mask_iou_blocks(*args), want)
    assert np.array_equal(M.mask_iou_blocks(*args, threads=3), want)
    monkeypatch.setattr(M, "kernels", None)
    assert np.array_equal(M.mask_iou_blocks(*args, threads=3), want)


def test_mask_iou_blocks_leaves_a_size_mismatch_to_pycocotools():
    good = {"size": [4, 5], "counts": b"0d0"}
    other = {"size": [5, 4], "counts": b"0d0"}
    rows = np.zeros(1, np.int64)
    for threads in (1, 2):
        iou = M.mask_iou_blocks((other,), (good,), rows, rows, np.array([[0, 1, 0, 1]]), np.zeros(1), threads)
        assert iou.tolist() == [-1.0]  # pycocotools' answer


@pytest.mark.parametrize("seed", range(4))
def test_segm_evaluation_is_the_same_for_any_thread_count(seed, monkeypatch):
    gt, dt = random_coco(seed, segm=True)
    flat = [evaluate(gt, dt, iou_type="segm", threads=n).flat() for n in (1, 2, 3)]
    monkeypatch.setattr(M, "kernels", None)
    flat.append(evaluate(gt, dt, iou_type="segm", threads=2).flat())
    assert all(f == flat[0] for f in flat[1:])


@needs_kernels
@pytest.mark.parametrize("broken_at", [None, 0, 31, 32, 40, 69])
@pytest.mark.parametrize("broken", ["size", "runs"])  # found with the GIL, and by the threads
def test_the_strings_held_are_all_let_go(broken_at, broken):
    """The call holds each string it reads while the GIL is out, and lets every one go (and
    nothing else), also when a mask of a later batch (32 a batch) is not well-formed."""
    rng = np.random.default_rng(7)
    masks = [dict(r) for r in mask_rles([random_mask(rng, 9, 7) for _ in range(70)], as_str=True)]
    if broken_at is not None and broken == "size":
        masks[broken_at]["size"] = [9]
    elif broken_at is not None:
        masks[broken_at]["counts"] = masks[broken_at]["counts"] + "0"  # a run of 0 at the end
    before = [(sys.getrefcount(m), sys.getrefcount(m["counts"])) for m in masks]
    rows = np.arange(70, dtype=np.int64)
    blocks = np.array([[0, 35, 0, 1], [35, 35, 1, 1]], np.int64)
    for threads in (1, 2):
        got = kernels.mask_iou(
            tuple(masks), tuple(masks), rows, rows, blocks, np.zeros(70, np.uint8), threads
        )
        assert (got is None) == (broken_at is not None)
    assert [(sys.getrefcount(m), sys.getrefcount(m["counts"])) for m in masks] == before


@needs_kernels
def test_zero_runs_are_left_to_pycocotools():
    """A run of 0 after the first (pycocotools never writes one): its rleIou can stop early at
    one, so the kernel must not answer; the wrapper then gives pycocotools' value."""
    dt = {"size": [3, 2], "counts": b"0104"}  # runs 0 1 0 5: every pixel
    gt = {"size": [3, 2], "counts": b"10014"}  # runs 1 0 0 1 4: pixel 1
    args = _one_pair(dt, gt)
    assert _kernel(*args) is None
    assert M.mask_iou_blocks(*args).tolist() == np.asarray(mask_utils.iou([dt], [gt], [0])).ravel().tolist()
    # the same masks without the zero runs: computed, and pycocotools agrees
    dt, gt = {"size": [3, 2], "counts": b"06"}, {"size": [3, 2], "counts": b"114"}
    assert _kernel(*_one_pair(dt, gt)).tolist() == [1 / 6]
    assert np.asarray(mask_utils.iou([dt], [gt], [0])).ravel().tolist() == [1 / 6]


@needs_kernels
def test_blocks_come_in_rows_of_4():
    rle = {"size": [3, 2], "counts": b"06"}
    rows = np.zeros(1, np.int64)
    for blocks in (np.array([0, 1, 0], np.int64), np.array([0, 1, 0, 1, 0], np.int64)):
        with pytest.raises(ValueError):
            kernels.mask_iou((rle,), (rle,), rows, rows, blocks, np.zeros(1, np.uint8), 1)
    # the block layout itself (a flat array of 4 or a (k, 4) one): the same IoUs
    flat = kernels.mask_iou((rle,), (rle,), rows, rows, np.array([0, 1, 0, 1], np.int64), b"\0", 2)
    assert np.frombuffer(flat).tolist() == [1.0]


def _columns(masks: tuple[Any, ...], rng: np.random.Generator) -> RleMasks:
    """The masks as RleMasks whose strings are not in row order and have characters between
    them (a gather's result over a larger set): the kernel reads them by their starts and ends."""
    order = rng.permutation(len(masks))
    pad = {"size": [1, 1], "counts": "1"}
    spread = [m for i in order.tolist() for m in (masks[i], pad)]
    whole = RleMasks.from_rles(spread)
    back = np.empty(len(masks), np.int64)
    back[order] = np.arange(len(masks))
    return whole.take(2 * back)


@needs_kernels
@pytest.mark.parametrize("seed", range(16))
def test_columns_equal_the_dicts(seed):
    """RleMasks on either side or both: the IoUs of the same masks as tuples of dicts."""
    dt, gt, *rest = _random_case(seed, big=seed % 4 == 3)
    rng = np.random.default_rng(seed)
    dt_cols, gt_cols = _columns(dt, rng), _columns(gt, rng)
    assert list(dt_cols) == [{"size": list(m["size"]), "counts": _text(m["counts"])} for m in dt]
    want = _pycocotools(dt, gt, *rest)
    for d, g in ((dt_cols, gt), (dt, gt_cols), (dt_cols, gt_cols)):
        for threads in (1, 3):
            got = _kernel(d, g, *rest, threads=threads)
            assert got is not None and np.array_equal(got, want), threads


def _text(counts: str | bytes) -> str:
    return counts if isinstance(counts, str) else counts.decode()


@needs_kernels
def test_columns_of_a_broken_or_too_large_mask_answer_none():
    good = RleMasks.from_rles([{"size": [4, 5], "counts": b"0d0"}])
    rows, blocks, crowd = np.zeros(1, np.int64), np.array([[0, 1, 0, 1]], np.int64), np.zeros(1, np.uint8)
    assert _kernel(good, good, rows, rows, blocks, crowd).tolist() == [1.0]
    for bad in ({"size": [4, 5], "counts": b"0d"}, {"size": [2**15, 2**14], "counts": b"0"}):
        cols = RleMasks.from_rles([bad])
        assert _kernel(cols, good, rows, rows, blocks, crowd) is None
        assert _kernel(good, cols, rows, rows, blocks, crowd) is None


@needs_kernels
def test_columns_are_checked_before_a_string_is_read():
    """Strings outside the characters, columns of other lengths or types, or no columns at all
    raise; a row outside the masks raises IndexError as for tuples."""
    good = RleMasks.from_rles([{"size": [3, 2], "counts": b"06"}])
    rows, blocks, crowd = np.zeros(1, np.int64), np.array([[0, 1, 0, 1]], np.int64), np.zeros(1, np.uint8)
    chars, one = good.chars, np.ones(1, np.int64)
    for cols, error, match in [
        (RleMasks(chars, one * 0, one * 3, good.sizes), ValueError, "outside the characters"),
        (RleMasks(chars, one * 2, one * 1, good.sizes), ValueError, "outside the characters"),
        (RleMasks(chars, one * -1, one * 1, good.sizes), ValueError, "outside the characters"),
        (RleMasks(chars, np.zeros(2, np.int64), one * 2, good.sizes), ValueError, "one entry"),
        (RleMasks(chars, one * 0, one * 2, np.zeros((2, 2), np.int64)), ValueError, "one entry"),
        (RleMasks(chars, one * 0, one * 2, good.sizes.astype(np.int32)), TypeError, "sizes"),
        (RleMasks(chars.astype(np.int64), one * 0, one * 2, good.sizes), TypeError, "chars"),
        (object(), TypeError, "tuples or RleMasks"),
    ]:
        for args in ((cols, good), (good, cols)):
            with pytest.raises(error, match=match):
                kernels.mask_iou(*args, rows, rows, blocks, crowd, 1)
    with pytest.raises(IndexError, match="outside the masks"):
        kernels.mask_iou(good, good, one, rows, blocks, crowd, 1)


@needs_kernels
def test_mask_iou_blocks_reads_rle_masks_as_their_dicts(monkeypatch):
    """geometry.masks.mask_iou_blocks on RleMasks: the kernel's IoUs, and pycocotools' (from the
    dicts they read as) without it."""
    dt, gt, dt_rows, gt_rows, blocks, crowd = _random_case(7)
    cols = RleMasks.from_rles(dt), RleMasks.from_rles(gt)
    want = _pycocotools(dt, gt, dt_rows, gt_rows, blocks, crowd)
    assert np.array_equal(M.mask_iou_blocks(*cols, dt_rows, gt_rows, blocks, crowd.astype(bool)), want)
    monkeypatch.setattr(M, "kernels", None)
    assert np.array_equal(M.mask_iou_blocks(*cols, dt_rows, gt_rows, blocks, crowd.astype(bool)), want)
