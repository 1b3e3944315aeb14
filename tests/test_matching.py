"""Hand-worked matcher cases: each rule of COCO matching, drawn small.

Boxes are xywh; 'A/B' name ground truths in file order, d1.. detections by score.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detrecall import evaluate

# pycocotools divides by tp + fp + eps: a perfect AP is the mean of 101 values 1 / (1 + eps)
PERFECT = float(np.mean(np.full(101, 1 / (1 + np.spacing(1)))))


def _gt(boxes, crowd=None, areas=None, cats=None):
    anns = []
    for i, b in enumerate(boxes):
        anns.append(
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": (cats or [1] * len(boxes))[i],
                "bbox": b,
                "area": (areas[i] if areas else b[2] * b[3]),
                "iscrowd": (crowd or [0] * len(boxes))[i],
            }
        )
    return {
        "images": [{"id": 1, "width": 100, "height": 100}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }


def _dt(boxes, scores, cats=None):
    return [
        {"image_id": 1, "category_id": (cats or [1] * len(boxes))[i], "bbox": b, "score": s}
        for i, (b, s) in enumerate(zip(boxes, scores))
    ]


def _matched(result, threshold=0.5, area=0):
    """Ground-truth annotation id matched by each detection (file order), 0 if none."""
    m = result.matches
    t = int(np.flatnonzero(result.params.iou_thresholds == threshold)[0])
    gt_ids = {}
    for d, row in enumerate(m.det_row.tolist()):
        g = m.matched_gt[area, t, d]
        gt_ids[row] = int(g) + 1 if g >= 0 else 0  # rows are in file order here
    return [gt_ids.get(i, 0) for i in range(len(gt_ids))]


def test_equal_iou_goes_to_the_later_ground_truth():
    # A and B are the same box; d1 overlaps both equally -> takes B (the later), d2 takes A
    r = evaluate(
        _gt([[0, 0, 10, 10], [0, 0, 10, 10]]),
        _dt([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8]),
        iou_thresholds=[0.5],
    )
    assert _matched(r) == [2, 1]


def test_higher_scoring_detection_matches_first():
    # d_low (file order first) has IoU 1; d_high has IoU 0.81: d_high, scored higher, takes A
    r = evaluate(_gt([[0, 0, 10, 10]]), _dt([[0, 0, 10, 10], [0, 0, 9, 9]], [0.3, 0.9]), iou_thresholds=[0.5])
    assert _matched(r) == [0, 1]


def test_non_ignored_ground_truth_beats_a_better_ignored_one():
    # A is a crowd (ignored) with IoU 1; B is normal with IoU 0.64 -> d1 takes B (a TP)
    r = evaluate(
        _gt([[0, 0, 10, 10], [0, 0, 8, 8]], crowd=[1, 0]), _dt([[0, 0, 10, 10]], [0.9]), iou_thresholds=[0.5]
    )
    assert _matched(r) == [2]
    assert r.coco.AP50 == PERFECT


def test_crowd_absorbs_many_detections_without_false_positives():
    # one crowd region, three detections inside it: all matched to it, all ignored -> no FP
    r = evaluate(
        _gt([[0, 0, 50, 50], [60, 60, 10, 10]], crowd=[1, 0]),
        _dt([[0, 0, 10, 10], [10, 10, 10, 10], [20, 20, 10, 10], [60, 60, 10, 10]], [0.9, 0.8, 0.7, 0.1]),
        iou_thresholds=[0.5],
    )
    assert _matched(r) == [1, 1, 1, 2]
    assert r.coco.AP50 == PERFECT  # the only counted detection is the TP


def test_score_ties_keep_file_order_and_max_dets_cuts_before_matching():
    # three equal scores: the first two in file order are kept with max_dets=2; the third,
    # a perfect match, is dropped before matching, so A stays unmatched by it
    r = evaluate(
        _gt([[0, 0, 10, 10]]),
        _dt([[50, 50, 5, 5], [60, 60, 5, 5], [0, 0, 10, 10]], [0.5, 0.5, 0.5]),
        max_dets=[1, 2, 2],
        iou_thresholds=[0.5],
    )
    assert r.coco.AR100 == 0.0
    assert sorted(r.matches.det_row.tolist()) == [0, 1]


def test_unmatched_detection_outside_the_area_range_is_ignored():
    # "small" range: A (area 100) is small; d2 (area 2500, unmatched) is outside -> ignored
    r = evaluate(
        _gt([[0, 0, 10, 10]]), _dt([[0, 0, 10, 10], [40, 40, 50, 50]], [0.5, 0.9]), iou_thresholds=[0.5]
    )
    small = r.params.area_labels.index("small")
    ign = r.matches.ignored[small, 0]
    rows = r.matches.det_row.tolist()
    assert ign[rows.index(1)] and not ign[rows.index(0)]
    assert r.coco.APs == PERFECT and r.coco.AP50 == 0.5


def test_the_plans_pairs_per_run_equal_a_search_per_detection():
    """plan() finds each (image, class) run's ground truth once; per detection, that is the
    binary search of its group key, its rank its place in the run, and the blocks the runs
    with ground truth (empty inputs and class-agnostic plans too)."""
    from detrecall import read_coco_gt, read_coco_results
    from detrecall._arrays import run_starts
    from detrecall.evaluate import make_config
    from detrecall.matching import plan

    from .oracle import random_coco

    for seed in range(12):
        gt_json, dt_json = random_coco(seed)
        if seed == 0:
            dt_json = []
        gt = read_coco_gt(gt_json)
        dt = read_coco_results(dt_json, gt)
        for keywords in ({}, {"class_agnostic": True}):
            p = plan(gt, dt, make_config("bbox", **keywords).params)
            lo = np.searchsorted(p.gt_group, p.dt_group, side="left")
            hi = np.searchsorted(p.gt_group, p.dt_group, side="right")
            assert np.array_equal(p.dt_gt_start, lo) and np.array_equal(p.dt_gt_count, hi - lo)
            assert np.array_equal(p.dt_rank, np.arange(len(p.dt_group)) - run_starts(p.dt_group))
            heads = np.flatnonzero((hi > lo) & (p.dt_rank == 0))
            counts = np.array([int((p.dt_group == p.dt_group[h]).sum()) for h in heads], np.int64)
            want = np.stack([heads, counts, lo[heads], (hi - lo)[heads]], axis=1).reshape(-1, 4)
            assert np.array_equal(p.blocks, want)


def _concat_by_lexsort(parts):
    """concat_matches as three-key lexsorts of the concatenation (the reference)."""
    from detrecall.types import Matches

    gt_off = np.cumsum([0] + [int(m.gt_row[-1]) + 1 if len(m.gt_row) else 0 for m in parts[:-1]])
    dt_off = np.cumsum([0] + [int(m.det_row.max()) + 1 if len(m.det_row) else 0 for m in parts[:-1]])
    n_det = np.cumsum([0] + [len(m.det_row) for m in parts[:-1]])

    def cat(name, axis=0):
        return np.concatenate([getattr(m, name) for m in parts], axis=axis)

    image, cls, rank = cat("det_image"), cat("det_class"), cat("det_rank")
    order = np.lexsort((rank, cls, image))
    new_pos = np.empty_like(order)
    new_pos[order] = np.arange(len(order))
    hit_det = new_pos[np.concatenate([m.hit_det + o for m, o in zip(parts, n_det)])]
    hit_gt = np.concatenate([m.hit_gt + o for m, o in zip(parts, gt_off)])
    hit_area, hit_thr = cat("hit_area"), cat("hit_thr")
    hits = np.lexsort((hit_det, hit_thr, hit_area))
    return Matches(
        class_ids=parts[0].class_ids,
        iou_thresholds=parts[0].iou_thresholds,
        det_class=cls[order],
        det_image=image[order],
        det_rank=rank[order],
        det_score=cat("det_score")[order],
        det_row=np.concatenate([m.det_row + o for m, o in zip(parts, dt_off)])[order],
        det_out_of_range=cat("det_out_of_range", axis=1)[:, order],
        hit_area=hit_area[hits],
        hit_thr=hit_thr[hits],
        hit_det=hit_det[hits],
        hit_gt=hit_gt[hits],
        hit_ignored=cat("hit_ignored")[hits],
        npos=np.sum([m.npos for m in parts], axis=0),
        gt_row=np.concatenate([m.gt_row + o for m, o in zip(parts, gt_off)]),
        gt_class=cat("gt_class"),
        gt_image=cat("gt_image"),
        gt_ignored=cat("gt_ignored", axis=1),
    )


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("one_iou", [False, True])
def test_concat_matches_equals_lexsorts(seed, interleaved, one_iou):
    """Parts of increasing images (concatenated as they are) and of interleaved ones (sorted):
    the Matches of three-key lexsorts of the concatenation, field by field and dtype."""
    from detrecall.evaluate import make_config, match_batch
    from detrecall.io.coco import read_coco_gt, read_coco_results
    from detrecall.matching import concat_matches
    from detrecall.types import Matches, take
    from tests.oracle import random_coco

    gt_json, dt_json = random_coco(30 + seed)
    gt, dt = read_coco_gt(gt_json), read_coco_results(dt_json, read_coco_gt(gt_json))
    options = (
        {"iou_thresholds": [0.5], "area_ranges": {"all": [0, 1e10]}, "max_dets": [100]} if one_iou else {}
    )
    config = make_config("bbox", **options)
    ids = gt.images.ids
    owner = (
        np.random.default_rng(seed).integers(0, 3, len(ids))
        if interleaved
        else np.arange(len(ids)) * 3 // len(ids)
    )
    parts = []
    for k in range(3):
        mine = ids[owner == k]
        sub_gt = take(gt, np.flatnonzero(np.isin(gt.image_id, mine)))
        sub_gt = dataclasses.replace(
            sub_gt,
            images=dataclasses.replace(
                gt.images, ids=mine, width=gt.images.width[owner == k], height=gt.images.height[owner == k]
            ),
        )
        sub_dt = take(dt, np.flatnonzero(np.isin(dt.image_id, mine)))
        parts.append(match_batch(sub_gt, sub_dt, config).coco)
    got, want = concat_matches(parts), _concat_by_lexsort(parts)
    for name in Matches.__dataclass_fields__:
        x, y = getattr(got, name), getattr(want, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_a_plan_on_threads_equals_one_on_one_thread():
    """150k detections: the plan's score sort runs on a thread of its own beside the rest (and the
    runs' sort over threads); the same plan, field for field, as on one thread and as made lazily."""
    from detrecall import read_coco_gt, read_coco_results
    from detrecall.evaluate import make_config
    from detrecall.matching import _BESIDE_FROM, plan

    rng = np.random.default_rng(3)
    n_img, n = 2000, 150_000
    images = [{"id": i + 1, "width": 640, "height": 480} for i in range(n_img)]
    cats = [{"id": c, "name": f"c{c}"} for c in range(1, 11)]
    anns = [
        {
            "id": k + 1,
            "image_id": int(i),
            "category_id": int(c),
            "bbox": [10.0, 10.0, 50.0, 40.0],
            "area": 2000.0,
        }
        for k, (i, c) in enumerate(zip(rng.integers(1, n_img + 1, 4000), rng.integers(1, 11, 4000)))
    ]
    gt = read_coco_gt({"images": images, "annotations": anns, "categories": cats})
    boxes = rng.uniform(0, 300, (n, 4)).round(1)
    dt = read_coco_results(
        [
            {"image_id": int(i), "category_id": int(c), "bbox": b.tolist(), "score": float(s)}
            for i, c, b, s in zip(
                rng.integers(1, n_img + 1, n), rng.integers(1, 11, n), boxes, rng.integers(0, 50, n) / 49
            )
        ],
        gt,
    )
    assert len(dt) >= _BESIDE_FROM
    params = make_config("bbox").params
    one, two, lazy = (
        plan(gt, dt, params, 1),
        plan(gt, dt, params, 2),
        plan(gt, dt, params, 2, score_order=False),
    )
    assert lazy.known_by_score is None and two.known_by_score is not None
    for f in dataclasses.fields(one):
        a, b = getattr(one, f.name), getattr(two, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), f.name
    assert np.array_equal(lazy.by_score, one.by_score)
    assert np.array_equal(one.by_score, np.argsort(-dt.score[one.dt_rows], kind="stable"))
