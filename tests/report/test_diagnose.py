"""Diagnostics on hand-worked cases: each finding's numbers, and ECE computed by hand."""

from __future__ import annotations

import copy

import pytest

from detrecall import DetrecallError, evaluate
from detrecall.report.diagnose import (
    INFO,
    WARNING,
    calibration,
    calibration_finding,
    diagnose,
    errors_per_image,
)
from tests.analysis.test_point import DT, GT

# tests.analysis.test_point's case at IoU 0.5, score >= 0:
#  image 1: d1 a .9 TP, d2 a .8 FP, d3 a .7 on the crowd (ignored), d4 a .6 FP, d5 b .3 FP;
#           ground truth A1 (taken by d1), A2, B1 -> FN A2, B1
#  image 2: d6 a .5 TP on A3
#  support a 3, b 1; counted predictions a 4, b 1


def by_kind(result, **kwargs):
    return {f.kind: f for f in diagnose(result, **kwargs).findings}


def test_class_imbalance_counts_and_ratio():
    f = by_kind(evaluate(GT, DT))["class_imbalance"]
    assert f.level == INFO
    assert f.data["total"] == 4 and f.data["ratio"] == 3.0
    assert f.data["most"] == {"name": "a", "count": 3} and f.data["least"] == {"name": "b", "count": 1}
    assert "most a 3 (75%), least b 1: ratio 3.0:1" in f.message
    assert by_kind(evaluate(GT, DT), imbalance_ratio=3.0)["class_imbalance"].level == WARNING


def test_class_without_ground_truth_is_named():
    gt = copy.deepcopy(GT)
    gt["categories"].append({"id": 7, "name": "zebra"})
    f = by_kind(evaluate(gt, DT))["class_imbalance"]
    assert f.level == WARNING and f.data["without_ground_truth"] == ["zebra"]
    assert f.message.endswith("no ground truth (AP undefined): zebra")


def test_one_class_is_not_imbalanced():
    f = by_kind(evaluate(GT, DT, class_agnostic=True))["class_imbalance"]
    assert f.level == INFO and f.message == "ground truth: 4 objects, all of one class (all)"


def test_never_predicted_at_the_score_threshold():
    assert "never_predicted" not in by_kind(evaluate(GT, DT))
    # score >= 0.55 drops d5, b's only prediction
    f = by_kind(evaluate(GT, DT, score_threshold=0.55))["never_predicted"]
    assert f.level == WARNING and f.data["classes"] == [{"name": "b", "support": 1}]
    assert f.message == "never predicted at score >= 0.55: 1 of 2 classes: b (1 ground truths)"


def test_over_predicted_relative_to_the_model_wide_ratio():
    # 5 predictions for 4 objects: 1.25x overall. a: 4 for 3 (1.33x), b: 1 for 1
    assert "over_predicted" not in by_kind(evaluate(GT, DT))  # limit 2 * 1.25 = 2.5x
    f = by_kind(evaluate(GT, DT), over_prediction=1.0)["over_predicted"]  # limit 1.25x
    assert f.data["limit"] == 1.25 and f.data["overall_ratio"] == 1.25
    assert f.data["classes"] == [{"name": "a", "predicted": 4, "support": 3}]
    assert "a: 4 predicted, 3 in ground truth (1.3x)" in f.message
    # a class predicted without any ground truth is always over-predicted
    gt, dt = copy.deepcopy(GT), [*DT, {"image_id": 2, "category_id": 7, "bbox": [50, 50, 5, 5], "score": 0.2}]
    gt["categories"].append({"id": 7, "name": "zebra"})
    f = by_kind(evaluate(gt, dt))["over_predicted"]
    assert f.data["classes"] == [{"name": "zebra", "predicted": 1, "support": 0}]


def test_images_with_most_errors():
    r = evaluate(GT, DT)
    ids, fp, fn = errors_per_image(r)
    assert ids.tolist() == [1, 2] and fp.tolist() == [3, 0] and fn.tolist() == [2, 0]
    f = by_kind(r)["most_errors"]
    assert f.data == {"images": [{"image_id": 1, "fp": 3, "fn": 2}], "total_errors": 5, "images_evaluated": 2}
    assert "1: 5 (3 FP, 2 FN); 5 of 5 errors (100%) in 1 of 2 images" in f.message
    # at score >= 0.55, d5 and d6 drop out: image 1 FP d2, d4 and FN A2, B1; image 2 FN A3
    ids, fp, fn = errors_per_image(evaluate(GT, DT, score_threshold=0.55))
    assert fp.tolist() == [2, 0] and fn.tolist() == [2, 1]


def test_suspiciously_perfect():
    perfect = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in GT["annotations"]
        if not a["iscrowd"]
    ]
    f = by_kind(evaluate(GT, perfect))["suspiciously_perfect"]
    assert f.level == WARNING and f.data == {"metric": "AP", "value": 1.0, "support": 4, "predicted": 4}
    assert f.message.startswith("suspiciously perfect: AP = 1.000 on 4 ground truths and 4 counted")
    # only class b perfect
    only_b = [d for d in DT if d["category_id"] == 1] + [
        {"image_id": 1, "category_id": 2, "bbox": [40, 0, 10, 10], "score": 0.95}
    ]
    f = by_kind(evaluate(GT, only_b))["suspiciously_perfect"]
    assert f.data == {"classes": [{"name": "b", "support": 1}]}
    assert "suspiciously_perfect" not in by_kind(evaluate(GT, DT))


def test_expected_calibration_error_by_hand():
    # counted detections (d3 on the crowd left out), score: TP?
    #   .9 T, .8 F, .6 F, .3 F, .5 T
    # 2 bins, [0, .5] and (.5, 1]: {.3 F, .5 T}: mean .4, TP .5; {.9 T, .8 F, .6 F}: mean 2.3/3, TP 1/3
    cal = calibration(evaluate(GT, DT), n_bins=2)
    assert cal.count.tolist() == [2, 3]
    assert cal.mean_score.tolist() == pytest.approx([0.4, 2.3 / 3], abs=1e-15)
    assert cal.fraction_tp.tolist() == pytest.approx([0.5, 1 / 3], abs=1e-15)
    ece = 2 / 5 * abs(0.5 - 0.4) + 3 / 5 * abs(1 / 3 - 2.3 / 3)
    assert cal.ece == pytest.approx(ece, abs=1e-15) and ece == pytest.approx(0.30)
    f = by_kind(evaluate(GT, DT), n_bins=2)["calibration"]
    assert f.level == WARNING and f.data["detections"] == 5
    assert f.data["mean_score"] == pytest.approx(3.1 / 5) and f.data["tp_rate"] == pytest.approx(2 / 5)
    assert "expected calibration error 0.300 over 5 detections in 2 bins" in f.message
    assert f.message.endswith("over-confident")


def test_calibration_at_the_operating_iou():
    # at IoU 0.9 d1 (IoU 1) and d6 (IoU 1) stay TP, the rest are FP: same statuses here
    assert calibration(evaluate(GT, DT, iou_threshold=0.9), n_bins=2).iou_threshold == 0.9


def test_scores_outside_0_1_are_not_calibrated():
    dt = [{**d, "score": d["score"] * 10} for d in DT]
    r = evaluate(GT, dt)
    assert calibration(r) is None
    f = by_kind(r)["calibration"]
    assert f.level == INFO and f.message == "calibration not assessed: scores are not in [0, 1]"
    assert diagnose(r).calibration is None


def test_lines_and_dict_are_json_ready():
    import json

    d = diagnose(evaluate(GT, DT))
    assert [line.split(":")[0] for line in d.lines()] == [f.level for f in d.findings]
    back = json.loads(json.dumps(d.to_dict()))
    assert [f["kind"] for f in back["findings"]] == [f.kind for f in d.findings]
    assert back["calibration"]["ece"] == d.calibration.ece


def test_a_result_without_point_matches_is_refused():
    from dataclasses import replace

    with pytest.raises(DetrecallError, match="no operating-point matches"):
        diagnose(replace(evaluate(GT, DT), point_matches=None))


def test_calibration_line_says_the_score_threshold_does_not_apply():
    """Issue 20 item 14: the line read as if at the operating point; it is over every detection."""
    at_0, at_half = (
        calibration_finding(r, calibration(r))
        for r in (evaluate(GT, DT), evaluate(GT, DT, score_threshold=0.55))
    )
    assert at_0.message == at_half.message and at_0.data == at_half.data
    assert "every detection: the score threshold does not apply" in at_0.message
