"""What `match` and the operating point allocate: the plan's arrays shared when nothing is cut,
cut and uncut matching agreeing, and peak memory per detection bounded (tracemalloc traces
numpy's allocations)."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall.aggregate import by_score
from detrecall.analysis.point import operating_point
from detrecall.matching import candidates, index_dtype, match, plan, score_order
from detrecall.options import IouType, PointOptions
from detrecall.protocols.coco import COCO_AREA_RANGES, COCO_IOU_THRESHOLDS, make_params
from detrecall.types import Categories, Dataset, Detections, Images, narrow_ints

AREAS = np.array(list(COCO_AREA_RANGES.values()))


def _boxes(rng, n, images, classes):
    image = np.sort(rng.integers(1, images + 1, n))
    cls = rng.integers(1, classes + 1, n)
    o = np.lexsort((cls, image))
    xy = rng.uniform(0, 60, (n, 2)).round(1)
    wh = rng.uniform(2, 40, (n, 2)).round(1)
    return image[o], cls[o], np.concatenate([xy, wh], axis=1)


def _data(seed: int, n_gt: int, n_dt: int, images: int = 50, classes: int = 3):
    rng = np.random.default_rng(seed)
    ids = np.arange(1, images + 1)
    cats = Categories(np.arange(1, classes + 1), tuple(f"c{i}" for i in range(classes)))
    gi, gc, gb = _boxes(rng, n_gt, images, classes)
    gt = Dataset(
        image_id=gi,
        category_id=gc,
        box=gb,
        area=gb[:, 2] * gb[:, 3],
        iscrowd=rng.random(n_gt) < 0.05,
        ann_id=np.arange(1, n_gt + 1),
        images=Images(ids, np.full(images, 100), np.full(images, 100)),
        categories=cats,
    )
    di, dc, db = _boxes(rng, n_dt, images, classes)
    score = rng.integers(0, 1000, n_dt) / 1000.0  # ties
    dt = Detections(image_id=di, category_id=dc, box=db, area=db[:, 2] * db[:, 3], score=score)
    return gt, dt


def _matched(gt, dt, max_det, use_kernels=True):
    params = make_params()
    p = plan(gt, dt, params)
    pairs = candidates(IouType.BBOX, p, gt, dt, 0.5)
    m = match(
        p,
        pairs,
        gt,
        dt,
        iou_thresholds=COCO_IOU_THRESHOLDS,
        area_ranges=AREAS,
        max_det=max_det,
        use_kernels=use_kernels,
    )
    return p, m


@pytest.mark.parametrize("max_det", [None, 10**6])
def test_uncut_matches_share_the_plans_arrays(max_det):
    gt, dt = _data(0, 400, 3000)
    p, m = _matched(gt, dt, max_det)
    assert m.det_class is p.dt_class and m.det_rank is p.dt_rank and m.det_row is p.dt_rows
    assert score_order(p, max_det) is p.by_score


@pytest.mark.parametrize("use_kernels", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_a_cut_keeps_the_matches_of_the_detections_it_keeps(seed, use_kernels):
    """Detections take ground truth in rank order: dropping the lower ranks changes nothing above."""
    gt, dt = _data(seed, 600, 6000, images=20)
    p, whole = _matched(gt, dt, None, use_kernels)
    _, cut = _matched(gt, dt, 20, use_kernels)
    kept = np.flatnonzero(whole.det_rank < 20)
    assert_array_equal(cut.det_row, whole.det_row[kept])
    assert_array_equal(cut.det_out_of_range, whole.det_out_of_range[:, kept])
    new_index = np.full(len(whole.det_row), -1)
    new_index[kept] = np.arange(len(kept))
    h = np.flatnonzero(new_index[whole.hit_det] >= 0)
    for name in ("hit_area", "hit_thr", "hit_gt", "hit_ignored"):
        assert_array_equal(getattr(cut, name), getattr(whole, name)[h])
    assert_array_equal(cut.hit_det, new_index[whole.hit_det[h]])
    assert_array_equal(score_order(p, 20), by_score(cut.det_score))


def test_the_plans_indices_are_int32_when_they_fit():
    assert index_dtype(10, 3) is np.int32 and index_dtype(2**31 - 2) is np.int32
    assert index_dtype(2**31 - 1) is np.int64 and index_dtype(5, 2**31) is np.int64
    gt, dt = _data(2, 300, 2000)
    p, m = _matched(gt, dt, 10)
    for a in (p.dt_rows, p.dt_class, p.dt_rank, p.by_score, p.gt_rows, p.gt_class):
        assert a.dtype == np.int32
    assert p.dt_group.dtype == np.int64  # keys: image index x classes + class
    for a in (m.det_row, m.det_class, m.det_rank, m.det_image, m.gt_row, m.gt_image):
        assert a.dtype == np.int32
    # the values are the int64 computation's: rows gather the same detections
    assert_array_equal(dt.image_id[m.det_row], m.det_image)
    assert_array_equal(dt.score[m.det_row], m.det_score)


def test_image_ids_past_int32_stay_int64_and_match_alike():
    """Ids that do not fit in int32 are kept as int64; the matches are those of the same data
    with small ids (an id only names an image)."""
    assert narrow_ints(np.array([1, 2**31 - 1])).dtype == np.int32
    assert narrow_ints(np.array([-(2**31), 5])).dtype == np.int32
    assert narrow_ints(np.array([1, 2**31])).dtype == np.int64
    assert narrow_ints(np.array([-(2**31) - 1])).dtype == np.int64
    gt, dt = _data(4, 400, 3000)
    shift = 2**40
    images = Images(gt.images.ids + shift, gt.images.width, gt.images.height)
    big_gt = replace(gt, image_id=gt.image_id + shift, images=images)
    big_dt = replace(dt, image_id=dt.image_id + shift)
    _, small = _matched(gt, dt, 10)
    _, big = _matched(big_gt, big_dt, 10)
    assert big.det_image.dtype == big.gt_image.dtype == np.int64
    assert_array_equal(big.det_image, small.det_image.astype(np.int64) + shift)
    same = ("det_row", "det_rank", "det_class", "hit_det", "hit_gt", "hit_thr", "hit_area", "hit_ignored")
    for name in same:
        assert_array_equal(getattr(big, name), getattr(small, name))


def test_what_the_matches_keep_per_detection():
    """The per-detection columns the result keeps: int32 class, rank, row and image and the
    float64 score, 24 bytes a detection (40 with int64 indices), besides one flag per range."""
    gt, dt = _data(5, 500, 20_000)
    _, m = _matched(gt, dt, None)
    kept = sum(getattr(m, f).nbytes for f in ("det_class", "det_image", "det_rank", "det_score", "det_row"))
    assert kept == 24 * len(m.det_row)


def _peak_per_detection(f, n):
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        kept = f()
        return (tracemalloc.get_traced_memory()[1] - start) / n, kept
    finally:
        tracemalloc.stop()


def test_peak_memory_per_detection():
    """Uncut matching allocates its per-detection columns (image, score, out-of-range flags) and
    little else; the operating point its curves' few orders. Measured 17 and 29 bytes a
    detection (59 and 85 before the memory work of issue 22)."""
    gt, dt = _data(1, 2000, 200_000, images=200, classes=4)
    params = make_params()
    p = plan(gt, dt, params)
    pairs = candidates(IouType.BBOX, p, gt, dt, 0.5)

    def matched():
        return match(
            p, pairs, gt, dt, iou_thresholds=params.iou_thresholds[:1], area_ranges=AREAS[:1], max_det=None
        )

    per_match, m = _peak_per_detection(matched, len(dt))
    assert per_match < 30
    names = ["a", "b", "c", "d"]
    per_point, _ = _peak_per_detection(lambda: operating_point(m, names, PointOptions()), len(dt))
    assert per_point < 48
