"""detrecall/_kernels.c against its numpy twins: the same Matches from `match` and the same
precision/recall/scores arrays from `accumulate`, element for element, on random data with
crowds, ignored rows, score and IoU ties, every area range and several detection caps, for 1,
2 and 3 threads; and the kernels' refusals of malformed calls (they raise, never read out of
bounds: .ci/sanitize runs this file under ASan/UBSan). The hand-worked matching rules are in
tests/test_matching.py and the pycocotools oracle in tests/test_evaluate_oracle.py, both on
the compiled path."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall import read_coco_gt, read_coco_results
from detrecall._compiled import kernels
from detrecall.aggregate import accumulate
from detrecall.evaluate import make_config
from detrecall.matching import candidates, iou_floor, match, plan, score_order
from detrecall.types import Matches

from .oracle import random_coco

needs_kernels = pytest.mark.skipif(kernels is None, reason="detrecall._kernels is not built here")


def test_the_kernels_are_built():
    if os.environ.get("DETRECALL_NO_NATIVE", "") not in ("", "0"):
        pytest.skip("DETRECALL_NO_NATIVE is set: the pure-Python paths are under test")
    assert kernels is not None, "detrecall._kernels was not built (is there a C compiler?)"


def dense_coco(seed: int, n_img: int = 900) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Many images of overlapping boxes (enough candidate pairs for the threads to split):
    crowds, `ignore` rows, coarse scores (ties), boxes of every size range."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "width": 640, "height": 480} for i in range(n_img)]
    anns: list[dict[str, Any]] = []
    dts: list[dict[str, Any]] = []
    for im in images:
        n_gt = int(rng.integers(0, 25))
        mine: list[dict[str, Any]] = []
        for _ in range(n_gt):
            w, h = rng.choice([12.0, 50.0, 150.0]) * rng.uniform(0.5, 1.5, 2)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": im["id"],
                    "category_id": int(rng.integers(1, 4)),
                    "bbox": [round(x, 1), round(y, 1), round(w, 1), round(h, 1)],
                    "area": round(w * h * rng.choice([1.0, 0.6]), 1),
                    "iscrowd": int(rng.random() < 0.08),
                    **({"ignore": 1} if rng.random() < 0.05 else {}),
                }
            )
            mine.append(anns[-1])
        for _ in range(int(rng.integers(0, 60))):
            if mine and rng.random() < 0.8:
                g = mine[int(rng.integers(len(mine)))]
                x, y, w, h = g["bbox"]
                j = rng.normal(0, 0.12, 4) * np.array([w, h, w, h])
                box = [max(0.0, x + j[0]), max(0.0, y + j[1]), max(1.0, w + j[2]), max(1.0, h + j[3])]
                cat = g["category_id"] if rng.random() < 0.9 else int(rng.integers(1, 4))
            else:
                box = [*rng.uniform(0, 400, 2), *rng.uniform(4, 200, 2)]
                cat = int(rng.integers(1, 4))
            dts.append(
                {
                    "image_id": im["id"],
                    "category_id": cat,
                    "bbox": [round(float(v), 1) for v in box],
                    "score": round(float(rng.random()), 1),
                }
            )
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    return {"images": images, "annotations": anns, "categories": cats}, dts


CASES = [("random", s) for s in range(40)] + [("dense", s) for s in range(2)]


@functools.lru_cache(maxsize=4)
def _inputs(kind: str, seed: int) -> tuple[Any, ...]:
    gt_json, dt_json = random_coco(seed) if kind == "random" else dense_coco(seed)
    gt = read_coco_gt(gt_json)
    dt = read_coco_results(dt_json, gt)
    config = make_config("bbox")
    params = config.params
    p = plan(gt, dt, params)
    pairs = candidates("bbox", p, gt, dt, iou_floor(params.iou_thresholds))
    return gt, dt, params, p, pairs


def _assert_same_matches(a: Matches, b: Matches) -> None:
    for name in Matches.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(x, y), name


@needs_kernels
@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_match_and_accumulate_equal_their_twins(kind: str, seed: int):
    gt, dt, params, p, pairs = _inputs(kind, seed)
    for max_det in (params.max_dets[-1], 3, 1):
        kw: dict[str, Any] = {
            "iou_thresholds": params.iou_thresholds,
            "area_ranges": params.area_ranges,
            "max_det": max_det,
        }
        twin = match(p, pairs, gt, dt, use_kernels=False, **kw)
        order = score_order(p, max_det)
        twin_acc = accumulate(twin, params, order, use_kernels=False)
        for threads in (1, 2, 3):
            compiled = match(p, pairs, gt, dt, threads=threads, **kw)
            assert compiled.hit_thr.dtype == np.int16 and twin.hit_thr.dtype == np.int64  # two paths
            _assert_same_matches(compiled, twin)
            acc = accumulate(compiled, params, order, threads=threads)
            for name in ("precision", "recall", "scores"):
                assert np.array_equal(getattr(acc, name), getattr(twin_acc, name)), (name, threads)
    if kind == "dense":  # the threads had whole groups to split between them
        assert len(pairs.iou) > 3 * 4096


@needs_kernels
def test_accumulate_fills_what_pycocotools_leaves_undefined_alike():
    # a class with ground truth only in one size range: -1 elsewhere, in both paths
    gt, dt, params, p, pairs = _inputs("dense", 1)
    m = match(p, pairs, gt, dt, iou_thresholds=params.iou_thresholds, area_ranges=params.area_ranges)
    acc = accumulate(m, params, score_order(p, params.max_dets[-1]))
    twin = accumulate(m, params, score_order(p, params.max_dets[-1]), use_kernels=False)
    undefined = m.npos == 0  # (K, A)
    assert undefined.any() or (acc.recall >= 0).all()
    assert np.array_equal(acc.recall < 0, twin.recall < 0)
    assert np.array_equal(acc.recall[:, undefined], np.full_like(acc.recall[:, undefined], -1.0))


def _match_args(n_c: int = 3) -> list[Any]:
    c_dt = np.array([0, 0, 1][:n_c], np.int64)
    c_gt = np.array([0, 1, 1][:n_c], np.int64)
    c_iou = np.array([0.9, 0.6, 0.7][:n_c])
    group = np.zeros(2, np.int64)
    thr = np.array([0.5, 0.75])
    nonign = np.array([[1], [0]], np.uint8)  # g1 is ignored
    crowd = np.zeros(2, np.uint8)
    gt_rows = np.array([7, 3], np.int64)
    return [c_dt, c_gt, c_iou, group, thr, nonign, crowd, gt_rows, 1, 1]


@needs_kernels
def test_the_match_kernel_by_hand():
    # d0 takes g0 (IoU 0.9, not ignored, over g1's 0.6) at both thresholds; d1 then takes g1
    # (ignored) at 0.5 only (IoU 0.7); hits name Dataset rows (g0 is row 7, g1 row 3)
    assert kernels is not None
    raw = kernels.match(*_match_args())
    area, thr, det, row, ignored = (np.frombuffer(b, t) for b, t in zip(raw, ("i2", "i2", "i4", "i4", "u1")))
    assert area.tolist() == [0, 0, 0]
    assert thr.tolist() == [0, 0, 1]  # by (area, threshold, detection)
    assert det.tolist() == [0, 1, 0]
    assert row.tolist() == [7, 3, 7]
    assert ignored.tolist() == [0, 1, 0]


@needs_kernels
@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({0: np.array([1, 0, 1], np.int64)}, ValueError),  # detections out of order
        ({1: np.array([0, 1, 2], np.int64)}, ValueError),  # a ground truth past the end
        ({0: np.array([0, 0, 2], np.int64)}, ValueError),  # a detection past the end
        ({2: np.array([0.9, 0.6])}, ValueError),  # lengths differ
        ({5: np.ones((2, 2), np.uint8)}, ValueError),  # nonign is not (G, n_area)
        ({7: np.array([7, -1], np.int64)}, ValueError),  # a negative Dataset row
        ({7: np.array([7, 2**31], np.int64)}, ValueError),  # a row past int32
        ({7: np.array([7], np.int64)}, ValueError),  # a row short
        ({0: np.array([0, 0, 1], np.int32)}, TypeError),
        ({2: np.array([0.9, 0.6, 0.7], np.float32)}, TypeError),
        ({0: np.array([0, 9, 0, 9, 1, 9], np.int64)[::2]}, ValueError),  # not contiguous
    ],
)
def test_the_match_kernel_refuses_malformed_calls(change: dict[int, Any], error: type[Exception]):
    assert kernels is not None
    args = _match_args()
    for i, value in change.items():
        args[i] = value
    with pytest.raises(error):
        kernels.match(*args)


def _accumulate_args() -> list[Any]:
    n_d, t, r, k, a, m = 3, 2, 3, 1, 1, 1
    return [
        np.array([0, 1, 2], np.int64),  # by score
        np.zeros(n_d, np.int64),  # rank
        np.zeros(n_d, np.int64),  # class
        np.array([0.9, 0.8, 0.7]),
        np.zeros((a, n_d), np.uint8),
        np.array([0, 0], np.int16),  # hits: area
        np.array([0, 1], np.int16),  # threshold
        np.array([0, 2], np.int32),  # detection
        np.zeros(2, np.uint8),
        np.array([[2]], np.int64),  # npos
        np.array([0.0, 0.5, 1.0]),
        np.array([100], np.int64),
        np.full((t, r, k, a, m), -1.0),
        np.full((t, k, a, m), -1.0),
        np.full((t, r, k, a, m), -1.0),
        1,
    ]


@needs_kernels
def test_the_accumulate_kernel_by_hand():
    # threshold 0: TP, FP, FP over 2 ground truths -> recall 0.5, precision 1 up to recall 0.5;
    # threshold 1: FP, FP, TP -> recall 0.5, precision 1/3 (the envelope) up to recall 0.5
    assert kernels is not None
    args = _accumulate_args()
    kernels.accumulate(*args)
    precision, recall, scores = args[12], args[13], args[14]
    eps = np.spacing(1)
    assert recall.ravel().tolist() == [0.5, 0.5]
    assert precision[0, :, 0, 0, 0].tolist() == [1 / (1 + eps), 1 / (1 + eps), 0.0]
    assert precision[1, :, 0, 0, 0].tolist() == [1 / (3 + eps), 1 / (3 + eps), 0.0]
    assert scores[0, :, 0, 0, 0].tolist() == [0.9, 0.9, 0.0]
    assert scores[1, :, 0, 0, 0].tolist() == [0.9, 0.7, 0.0]  # recall 0: the first position


@needs_kernels
@pytest.mark.parametrize("narrow", [(0,), (1,), (2,), (0, 1, 2)])
def test_the_accumulate_kernel_takes_int32_detection_indices(narrow: tuple[int, ...]):
    """by_score, rank and class as int32 (the plan's width when it fits) or int64: the same
    arrays, on data where every figure depends on them."""
    assert kernels is not None
    gt_json, dt_json = dense_coco(3, n_img=60)
    params = make_config("bbox").params
    gt = read_coco_gt(gt_json)
    dt = read_coco_results(dt_json, gt)
    p = plan(gt, dt, params)
    pairs = candidates("bbox", p, gt, dt, iou_floor(params.iou_thresholds, 0.5))
    m = match(
        p, pairs, gt, dt, iou_thresholds=params.iou_thresholds, area_ranges=params.area_ranges, max_det=100
    )
    assert m.det_class.dtype == m.det_rank.dtype == np.int32  # the plan's width here
    n_t, n_r, n_k, n_a, n_m = 10, len(params.recall_thresholds), len(m.class_ids), 4, len(params.max_dets)
    out = []
    for width in ((), narrow):
        indices = [score_order(p, 100), m.det_rank, m.det_class]
        indices = [a.astype(np.int32 if i in width else np.int64) for i, a in enumerate(indices)]
        precision, scores = np.full((n_t, n_r, n_k, n_a, n_m), -1.0), np.full((n_t, n_r, n_k, n_a, n_m), -1.0)
        recall = np.full((n_t, n_k, n_a, n_m), -1.0)
        kernels.accumulate(
            *indices,
            m.det_score,
            np.ascontiguousarray(m.det_out_of_range, np.uint8),
            m.hit_area,
            m.hit_thr,
            m.hit_det,
            np.ascontiguousarray(m.hit_ignored, np.uint8),
            m.npos,
            params.recall_thresholds,
            np.asarray(params.max_dets, np.int64),
            precision,
            recall,
            scores,
            1,
        )
        out.append((precision, recall, scores))
    assert (out[0][0] > 0).any() and (out[0][1] > 0).any()
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    ref = accumulate(m, params, use_kernels=False)  # and the twin
    np.testing.assert_array_equal(out[1][0], ref.precision)
    np.testing.assert_array_equal(out[1][2], ref.scores)


@needs_kernels
@pytest.mark.parametrize(
    ("index", "value"),
    [
        (7, np.array([0, 3], np.int32)),  # a hit's detection past the end
        (6, np.array([0, 2], np.int16)),  # a hit's threshold past the end
        (5, np.array([1, 0], np.int16)),  # a hit's area range past the end
        (0, np.array([0, 1, 3], np.int64)),  # by_score past the end
        (0, np.array([0, 2, 2], np.int64)),  # by_score repeats a detection
        (2, np.array([0, 1, 0], np.int64)),  # class 1 is past the one class
        (12, np.full((2, 2, 1, 1, 1), -1.0)),  # precision of the wrong size
        (7, np.array([0, 2], np.int64)),  # hits' detections must be int32
    ],
)
def test_the_accumulate_kernel_refuses_malformed_calls(index: int, value: Any):
    assert kernels is not None
    args = _accumulate_args()
    args[index] = value
    with pytest.raises((ValueError, TypeError)):
        kernels.accumulate(*args)


@needs_kernels
@pytest.mark.parametrize("seed", range(8))
def test_regroup_equals_a_stable_sort_by_key(seed: int):
    assert kernels is not None
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    key = rng.integers(0, int(rng.integers(1, 40)), n)
    first = rng.permutation(n)
    got = np.frombuffer(kernels.regroup(first, key, int(key.max()) + 1), np.int64)
    assert np.array_equal(got, first[np.argsort(key[first], kind="stable")])


@needs_kernels
@pytest.mark.parametrize(
    ("first", "key", "n_keys"),
    [
        ([0, 0, 2], [0, 1, 1], 2),  # first repeats an index: a bucket would overflow
        ([0, 1, 3], [0, 1, 1], 2),  # first past the end
        ([0, 1, 2], [0, 2, 1], 2),  # a key past n_keys
        ([0, 1, 2], [0, -1, 1], 2),
        ([0, 1], [0, 1, 1], 2),  # lengths differ
    ],
)
def test_regroup_refuses_malformed_calls(first: list[int], key: list[int], n_keys: int):
    assert kernels is not None
    with pytest.raises(ValueError):
        kernels.regroup(np.array(first, np.int64), np.array(key, np.int64), n_keys)


@needs_kernels
@pytest.mark.parametrize(("kind", "seed"), CASES[:12] + CASES[-2:])
def test_box_candidates_equal_their_twin(kind: str, seed: int):
    gt, dt, _, p, _ = _inputs(kind, seed)
    for inclusive in (False, True):
        for floor in (0.5, 0.05, 0.0):  # 0: every pair kept, the zero IoUs too
            twin = candidates("bbox", p, gt, dt, floor, pixel_inclusive=inclusive, use_kernels=False)
            for threads in (1, 2, 3):
                got = candidates("bbox", p, gt, dt, floor, pixel_inclusive=inclusive, threads=threads)
                assert np.array_equal(got.pair_dt, twin.pair_dt), (inclusive, floor, threads)
                assert np.array_equal(got.pair_gt, twin.pair_gt), (inclusive, floor, threads)
                assert np.array_equal(got.iou.view(np.int64), twin.iou.view(np.int64))  # to the bit
            if floor == 0.0:
                assert len(twin.iou) == int(p.dt_gt_count.sum())
    if kind == "dense":  # enough pairs for the threads to split
        assert int(p.dt_gt_count.sum()) > 3 * 16384


def _box_args() -> list[Any]:
    return [
        np.array([[0.0, 0.0, 10.0, 10.0], [100.0, 100.0, 5.0, 5.0]]),  # detection boxes
        np.array([[5.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0]]),  # ground truth: the 2nd a crowd
        np.array([0, 1], np.uint8),
        np.array([0, 1], np.int64),  # plan detection -> its row
        np.array([0, 1], np.int64),  # plan ground truth -> its row
        np.array([0, 0], np.int64),  # the pairs of each detection start at
        np.array([2, 2], np.int64),  # and number
        0.0,
        False,
        1,
    ]


@needs_kernels
def test_the_box_candidates_kernel_by_hand():
    assert kernels is not None
    args = _box_args()
    pair_dt, pair_gt, iou = (
        np.frombuffer(b, t) for b, t in zip(kernels.box_candidates(*args), (np.int64, np.int64, np.float64))
    )
    # [0,0,10,10] and [5,0,10,10]: 50 / (100 + 100 - 50); against the crowd 50 / 100
    assert pair_dt.tolist() == [0, 0, 1, 1] and pair_gt.tolist() == [0, 1, 0, 1]
    assert iou.tolist() == [50 / 150, 0.5, 0.0, 0.0]
    args[7], args[8] = 0.4, True  # pixel-inclusive: 6 x 11 = 66 over 121 + 121 - 66, and 66 / 121
    pair_dt, pair_gt, iou = (
        np.frombuffer(b, t) for b, t in zip(kernels.box_candidates(*args), (np.int64, np.int64, np.float64))
    )
    assert pair_dt.tolist() == [0] and pair_gt.tolist() == [1] and iou.tolist() == [66 / 121]
    for i in (3, 4, 5, 6):  # the plan's indices in int32 (where they fit) read alike
        args[i] = args[i].astype(np.int32)
        again = kernels.box_candidates(*args)
        assert np.frombuffer(again[2]).tolist() == [66 / 121] and np.frombuffer(
            again[1], np.int64
        ).tolist() == [1]


@needs_kernels
@pytest.mark.parametrize(
    ("index", "value", "error"),
    [
        (3, np.array([0, 2], np.int64), ValueError),  # a detection row past the boxes
        (4, np.array([0, -1], np.int64), ValueError),  # a negative ground-truth row
        (5, np.array([0, 1], np.int64), ValueError),  # pairs past the selected ground truth
        (6, np.array([2, -1], np.int64), ValueError),  # a negative count
        (6, np.array([2], np.int64), ValueError),  # a count short
        (0, np.zeros((2, 3)), ValueError),  # not boxes of 4
        (2, np.array([0, 1], np.int64), TypeError),
        (3, np.array([0, 1], np.int16), TypeError),
        (4, np.array([0, 1], np.uint32), TypeError),
        (1, np.zeros((2, 4), np.float32), TypeError),
    ],
)
def test_the_box_candidates_kernel_refuses_malformed_calls(index: int, value: Any, error: type[Exception]):
    assert kernels is not None
    args = _box_args()
    args[index] = value
    with pytest.raises(error):
        kernels.box_candidates(*args)


@needs_kernels
@pytest.mark.parametrize("seed", range(40))
def test_the_grouped_plan_order_equals_the_sorted_path(seed: int):
    """_by_group_then_score on grouped rows (runs sorted on their own by _sort.run_order: short by
    insertion, long by merging, on 1 or 3 threads) gives np.lexsort((-score, group)) and the
    twin's order; the score order it leaves out is a stable sort of its order's scores, the
    twin's mapped to plan positions."""
    from detrecall.matching import _by_group_then_score, _by_group_then_score_sorted

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    runs = int(rng.integers(1, 40 if seed % 2 else 2000))
    group = np.sort(rng.integers(0, runs, n)) * 3  # grouped, keys with gaps
    score = rng.integers(0, 5 if seed % 3 else 1000, n) / 4.0  # ties
    score[rng.random(n) < 0.1] = -0.0
    twin_order, twin_by_score = _by_group_then_score_sorted(group, score)
    assert_array_equal(twin_order, np.lexsort((-score, group)))
    for threads in (1, 3):
        order, none = _by_group_then_score(group, score, threads)
        assert none is None or n < 64
        assert_array_equal(order, twin_order)
    position = np.empty(n, np.int64)
    position[order] = np.arange(n)
    assert_array_equal(np.argsort(-score[order], kind="stable"), position[twin_by_score])


@needs_kernels
def test_ungrouped_rows_and_nan_scores_take_the_sorted_path():
    from detrecall.matching import _by_group_then_score

    group, score = np.repeat([0, 1, 0], 30), np.linspace(0, 1, 90)
    order, by_score = _by_group_then_score(group, score)
    assert by_score is not None and np.array_equal(order, np.lexsort((-score, group)))
    group, score = np.repeat([0, 1, 2], 30), np.linspace(0, 1, 90)
    score[5] = np.nan  # numpy sorts NaN last: the twin's global sort decides
    order, by_score = _by_group_then_score(group, score)
    assert by_score is not None and np.array_equal(order, np.lexsort((-score, group)))


@needs_kernels
@pytest.mark.parametrize("seed", range(4))
def test_accumulate_with_many_thresholds_equals_its_twin(seed: int):
    """33 thresholds x 4 area ranges: the kernel's hit codes ((area * T + threshold) * 2 +
    ignored) pass 256 and take 16 bits instead of 8."""
    from dataclasses import replace

    gt, dt, params, p, pairs = _inputs("random", seed)
    thresholds = np.round(np.linspace(0.5, 0.98, 33), 4)  # the candidates reach down to 0.5
    params = replace(params, iou_thresholds=thresholds)
    kw: dict[str, Any] = {"iou_thresholds": thresholds, "area_ranges": params.area_ranges}
    twin = match(p, pairs, gt, dt, use_kernels=False, **kw)
    order = score_order(p)
    want = accumulate(twin, params, order, use_kernels=False)
    for threads in (1, 2):
        got = accumulate(match(p, pairs, gt, dt, threads=threads, **kw), params, order, threads=threads)
        for name in ("precision", "recall", "scores"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), (name, threads)
    assert len(thresholds) * len(params.area_ranges) * 2 > 256
