"""The operating point: hand-worked counts, pycocotools' evaluateImg and scikit-learn as oracles."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import precision_recall_fscore_support

from detrecall import DetrecallError, evaluate
from detrecall.errors import UndefinedMetricWarning
from tests.oracle import random_coco, reference

# Two images, classes a (1) and b (2).
#  image 1: A1 a [0,0,10,10], A2 a [20,0,10,10], B1 b [40,0,10,10], crowd a [0,40,40,40]
#  image 2: A3 a [0,0,10,10]
GT = {
    "images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 0, 10, 10], "area": 100, "iscrowd": 0},
        {"id": 3, "image_id": 1, "category_id": 2, "bbox": [40, 0, 10, 10], "area": 100, "iscrowd": 0},
        {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 40, 40, 40], "area": 1600, "iscrowd": 1},
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
    ],
    "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
}
# d1 a 0.9 on A1 (IoU 1)            -> TP a
# d2 a 0.8 on A1 again (IoU 0.81)    -> FP a (A1 taken; A2 too far)
# d3 a 0.7 inside the crowd          -> ignored (neither TP nor FP)
# d4 a 0.6 on B1 (class b object)    -> FP a; confusion: (b, a)
# d5 b 0.3 on A2 (class a object)    -> FP b at threshold 0 ... (a, b) in the confusion matrix
# d6 a 0.5 on A3 in image 2          -> TP a
DT = [
    {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
    {"image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9], "score": 0.8},
    {"image_id": 1, "category_id": 1, "bbox": [5, 45, 10, 10], "score": 0.7},
    {"image_id": 1, "category_id": 1, "bbox": [40, 0, 10, 10], "score": 0.6},
    {"image_id": 1, "category_id": 2, "bbox": [20, 0, 10, 10], "score": 0.3},
    {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
]


def test_hand_worked_counts_at_two_score_thresholds():
    p = evaluate(GT, DT).point
    # a: TP d1, d6; FP d2, d4; FN A2 -> P 2/4, R 2/3. b: TP 0, FP d5, FN B1 -> P 0, R 0
    assert p.counts.tp.tolist() == [2, 0]
    assert p.counts.fp.tolist() == [2, 1]
    assert p.counts.fn.tolist() == [1, 1]
    assert p.counts.support.tolist() == [3, 1]
    assert p.precision.tolist() == [0.5, 0.0] and p.recall.tolist() == [2 / 3, 0.0]
    assert p.f1[0] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # micro over a and b: TP 2, FP 3, FN 2
    assert (p.micro.precision, p.micro.recall) == (2 / 5, 2 / 4)
    # score >= 0.55: a keeps d1, d2, d4 (TP 1, FP 2, FN 2); b keeps nothing (P undefined -> 0)
    q = evaluate(GT, DT, score_threshold=0.55).point
    assert q.counts.tp.tolist() == [1, 0] and q.counts.fp.tolist() == [2, 0]
    assert q.counts.fn.tolist() == [2, 1]
    assert q.precision.tolist() == [1 / 3, 0.0]
    nan = evaluate(GT, DT, score_threshold=0.55, zero_division=math.nan).point
    assert math.isnan(nan.precision[1]) and nan.recall[1] == 0.0


def test_hand_worked_confusion_matrix_and_cost():
    p = evaluate(GT, DT, confusion=True, cost={"tp": 50, "fp": -10, "fn": -1000}).point
    # rows truth a, b, background; columns predicted a, b, background
    # a: TP d1, d6 -> (a, a) 2; d5 (pred b) lies on A2 -> (a, b) 1; no a missed otherwise
    # b: d4 (pred a) lies on B1 -> (b, a) 1
    # background: d2 -> (bg, a) 1
    assert p.confusion.tolist() == [[2, 1, 0], [1, 0, 0], [1, 0, 0]]
    # image 1: TP 1 (d1), FP 3 (d2, d4, d5), FN 2 (A2, B1); image 2: TP 1
    assert p.cost.image_ids.tolist() == [1, 2]
    assert p.cost.per_image.tolist() == [50 - 30 - 2000, 50]
    assert p.cost.total == 50 - 30 - 2000 + 50


@pytest.mark.parametrize("seed", range(25))
def test_counts_equal_pycocotools_evaluate_img(seed):
    gt, dt = random_coco(seed)
    s = [0.0, 0.3, 0.5, 0.8][seed % 4]
    ours = evaluate(gt, dt, score_threshold=s, max_dets=[1, 10, 100]).point
    ref = reference(gt, dt, "bbox", iouThrs=np.array([0.5]), areaRng=[[0, 1e10]], areaRngLbl=["all"])
    n_k = len(ref.params.catIds)
    tp, fp, npos = np.zeros(n_k, int), np.zeros(n_k, int), np.zeros(n_k, int)
    for e in ref.evalImgs:
        if e is None:
            continue
        k = ref.params.catIds.index(e["category_id"])
        score = np.asarray(e["dtScores"])
        counted = ~e["dtIgnore"][0].astype(bool) & (score >= s)
        tp[k] += np.sum(counted & (e["dtMatches"][0] > 0))
        fp[k] += np.sum(counted & (e["dtMatches"][0] == 0))
        npos[k] += np.sum(~np.asarray(e["gtIgnore"], bool))
    assert ours.counts.tp.tolist() == tp.tolist()
    assert ours.counts.fp.tolist() == fp.tolist()
    assert ours.counts.fn.tolist() == (npos - tp).tolist()
    if s == 0.0:  # recall at threshold 0 = pycocotools' recall at IoU 0.5, area all, 100 dets
        rec = ref.eval["recall"][0, :, 0, -1]
        defined = rec > -1
        assert_allclose(ours.recall[defined], rec[defined], atol=1e-12)


def _label_vectors(tp, fp, fn):
    bg = -1
    y_true, y_pred = [], []
    for c, (t, f, n) in enumerate(zip(tp, fp, fn)):
        y_true += [c] * t + [bg] * f + [c] * n
        y_pred += [c] * t + [c] * f + [bg] * n
    return np.array(y_true), np.array(y_pred)


@pytest.mark.parametrize("seed", range(40))
def test_averages_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    gt, dt = random_coco(seed)
    beta = [1.0, 0.5, 2.0][seed % 3]
    zero_division = [0, 1, math.nan][seed % 3]
    s = float(rng.choice([0.0, 0.5, 0.9]))
    p = evaluate(gt, dt, score_threshold=s, beta=beta, zero_division=zero_division).point
    c = p.counts
    labels = [k for k in range(len(c.tp)) if c.tp[k] + c.fn[k] + c.fp[k] > 0]
    if not labels:
        pytest.skip("no class with ground truth or predictions in this draw")
    y_true, y_pred = _label_vectors(c.tp, c.fp, c.fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, beta=beta, zero_division=zero_division
        )
        for avg in ("micro", "macro", "weighted"):
            exp = precision_recall_fscore_support(
                y_true, y_pred, labels=labels, beta=beta, average=avg, zero_division=zero_division
            )
            got = p.average(avg)
            assert_allclose([got.precision, got.recall, got.f1], exp[:3], atol=1e-12, equal_nan=True)
    for i, k in enumerate(labels):
        assert_allclose(
            [p.precision[k], p.recall[k], p.f1[k]],
            [per[0][i], per[1][i], per[2][i]],
            atol=1e-12,
            equal_nan=True,
        )
        assert c.support[k] == per[3][i]


@pytest.mark.parametrize("seed", range(15))
def test_best_f1_and_targets_by_brute_force(seed):
    gt, dt = random_coco(seed)
    r = evaluate(gt, dt, target_recall=0.5, target_precision=0.6)
    for k in range(len(r.point.curves)):
        scores = sorted({d["score"] for d in dt if d["category_id"] == r.point.class_ids[k]}, reverse=True)
        best = (-1.0, None)
        by_recall, by_precision = (-1.0, None), (-1.0, None)
        for s in scores:
            q = evaluate(gt, dt, score_threshold=s).point
            if q.counts.tp[k] + q.counts.fp[k] == 0:
                continue  # only ignored detections at this threshold
            f1, p, rc = q.f1[k], q.precision[k], q.recall[k]
            if f1 > best[0]:
                best = (f1, s)
            if rc >= 0.5 and p > by_recall[0]:
                by_recall = (p, s)
            if p >= 0.6 and rc > by_precision[0]:
                by_precision = (rc, s)
        point = r.point.best_f1_per_class[k]
        if best[1] is None:
            assert math.isnan(point.threshold)
            continue
        assert point.f1 == pytest.approx(best[0], abs=1e-12) and point.threshold == best[1]
        for (value, s), got, attr in (
            (by_recall, r.point.at_recall[1][k], "precision"),
            (by_precision, r.point.at_precision[1][k], "recall"),
        ):
            if s is None:
                assert math.isnan(got.threshold)
            else:
                assert got.threshold == s and getattr(got, attr) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"iou_threshold": 0.0}, "iou_threshold must be in (0, 1]"),
        ({"iou_threshold": 1.5}, "iou_threshold must be in (0, 1]"),
        ({"score_threshold": -0.1}, "score_threshold must be a number >= 0"),
        ({"score_threshold": math.nan}, "score_threshold must be a number >= 0"),
        ({"zero_division": "sometimes"}, 'zero_division must be "warn", 0, 1 or nan'),
        ({"target_recall": 2}, "target_recall / target_precision must be in [0, 1]"),
        ({"cost": {"tp": 1, "tn": 2}}, "cost keys must be 'tp', 'fp', 'fn'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(DetrecallError) as info:
        evaluate(GT, DT, **kwargs)
    assert message in str(info.value)


def test_unknown_average_and_warn_policy():
    p = evaluate(GT, DT, score_threshold=0.55).point
    with pytest.raises(DetrecallError, match="average must be one of micro, macro, weighted"):
        p.average("samples")
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined"):
        evaluate(GT, DT, score_threshold=0.55, zero_division="warn")


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_dets": [1, 2, 3]},  # COCO's groups cut: the point matched apart, its order from the plan
        {"max_dets": [1, 2, 3], "point_max_dets": 2},  # and cut itself
        {"iou_threshold": 0.55},  # not a COCO threshold: matched apart, nothing cut
        {},  # the point cut out of COCO's matches: one order serves both
    ],
)
def test_point_from_the_plans_score_order_equals_a_fresh_sort(seed, kwargs):
    from detrecall.analysis.point import operating_point
    from detrecall.options import PointOptions

    r = evaluate(*random_coco(seed), **kwargs)
    p, m = r.point, r.point_matches
    assert m is not None
    options = PointOptions(iou_threshold=p.iou_threshold, score_threshold=p.score_threshold, beta=p.beta)
    fresh = operating_point(m, p.names, options, image_ids=r.image_ids)  # sorts by score itself
    for got, want in zip((r.point.curve, *r.point.curves), (fresh.curve, *fresh.curves)):
        for name in ("thresholds", "precision", "recall", "f1"):
            assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True), name
    assert r.point.best_f1_overall == fresh.best_f1_overall
