"""Paired comparison of two models: deltas, intervals, p-values, the regression gate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import detrecall
from detrecall import bootstrap
from detrecall.analysis.bootstrap import METRICS
from detrecall.analysis.compare import compare, compare_saved, p_values
from detrecall.errors import DetrecallError, InputError
from tests.oracle import random_coco

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def weaker(dt: list[dict], seed: int, keep: float = 0.7) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [d for d in dt if rng.random() < keep]


@pytest.mark.parametrize("seed", range(6))
def test_a_model_compared_with_itself_is_never_flagged(seed: int) -> None:
    gt, dt = random_coco(seed)
    r = detrecall.evaluate(gt, dt)
    c = compare(r, r, n=50)
    defined = ~np.isnan(c.baseline)
    assert_array_equal(c.candidate[defined] - c.baseline[defined], 0.0)
    assert_array_equal(c.low[defined], 0.0)
    assert_array_equal(c.high[defined], 0.0)
    assert_array_equal(c.p_value[~np.isnan(c.p_value)], 1.0)
    assert not any(d.significant for d in c.overall)
    assert c.gate({m: 0.0 for m in METRICS}) == ()
    assert c.gate({m: 0.0 for m in METRICS}, significant_only=True) == ()


@pytest.mark.parametrize("seed", range(6))
def test_deltas_are_paired_replicates(seed: int) -> None:
    """The delta of each replicate is candidate - baseline on the same image draws: equal to
    two bootstraps with the same seed."""
    gt, dt = random_coco(seed)
    base, cand = detrecall.evaluate(gt, dt), detrecall.evaluate(gt, weaker(dt, seed))
    c = compare(base, cand, n=40, seed=3)
    b, k = bootstrap(base, n=40, seed=3), bootstrap(cand, n=40, seed=3)
    assert_array_equal(c.delta_samples, k.samples - b.samples)
    assert_array_equal(c.baseline, b.estimate)
    assert_array_equal(c.candidate, k.estimate)
    assert_array_equal(c.class_baseline, b.class_estimate)
    d = c.get("AP")
    assert d.delta == k.estimate[0] - b.estimate[0] and d.drop == -d.delta
    defined = ~np.isnan(c.delta_samples)
    if defined[:, 0].any():
        assert_allclose(d.low, np.quantile(c.delta_samples[defined[:, 0], 0], 0.025), atol=1e-15)


def test_p_value_definition_hand_worked() -> None:
    # 9 replicates: 2 <= 0 (one of them 0), 8 >= 0 -> p = min(1, 2 * (1 + 2) / 10) = 0.6
    delta = np.array([-0.1, 0.0, 0.2, 0.3, 0.1, 0.4, 0.5, 0.2, 0.1])[:, None]
    assert_allclose(p_values(delta), [0.6])
    assert_allclose(p_values(np.full((9, 1), 0.5)), [0.2])  # all above: 2 * 1 / 10
    assert_allclose(p_values(np.zeros((9, 1))), [1.0])
    assert np.isnan(p_values(np.full((4, 1), np.nan))[0])
    with_nan = np.array([0.1, np.nan, 0.2])[:, None]  # m = 2 defined
    assert_allclose(p_values(with_nan), [2 * 1 / 3])


def test_a_clear_regression_is_significant_and_fails_the_gate() -> None:
    gt = json.loads((FIXTURES / "gt.json").read_text())
    dt = json.loads((FIXTURES / "dt_bbox.json").read_text())
    base, cand = detrecall.evaluate(gt, dt), detrecall.evaluate(gt, weaker(dt, 0, keep=0.5))
    c = compare(base, cand, n=200)
    d = c.get("recall")
    assert d.drop > 0.1 and d.significant and d.p_value <= 2 / 201 + 1e-12
    assert [f.metric for f in c.gate({"recall": 0.01})] == ["recall"]
    assert [f.metric for f in c.gate({"recall": 0.01}, significant_only=True)] == ["recall"]
    assert c.gate({"recall": 0.9}) == ()


def test_a_small_drop_that_is_not_significant_passes_only_with_significant_only() -> None:
    """The detections of one image removed: replicates that do not draw it (about 37%) have
    delta 0, so the drop is not significant (p >= 2 * 0.37), but it exceeds a tight allowance."""
    gt = json.loads((FIXTURES / "gt.json").read_text())
    dt = json.loads((FIXTURES / "dt_bbox.json").read_text())
    base = detrecall.evaluate(gt, dt)
    pm = base.point_matches
    image = int(pm.det_image[pm.hit_det[~pm.hit_ignored][0]])  # an image with a true positive
    c = compare(base, detrecall.evaluate(gt, [d for d in dt if d["image_id"] != image]), n=300)
    d = c.get("recall")
    assert d.drop > 0 and not d.significant and d.p_value > 0.5
    assert [f.metric for f in c.gate({"recall": d.drop / 2})] == ["recall"]
    assert c.gate({"recall": d.drop / 2}, significant_only=True) == ()


def test_saved_results_give_the_same_deltas_without_intervals() -> None:
    gt, dt = random_coco(7)
    base, cand = detrecall.evaluate(gt, dt), detrecall.evaluate(gt, weaker(dt, 7))
    saved = compare(base.to_dict(), cand.to_dict())
    boot = compare(base, cand, n=10)
    assert saved.n == 0 and not saved.has_intervals
    for m in ("AP", "AP50", "AP75", "AR100"):  # precision etc. differ where 0/0 (zero_division)
        a, b = saved.get(m), boot.get(m)
        assert (a.baseline, a.candidate) == (b.baseline, b.candidate) or math.isnan(a.baseline)
        assert math.isnan(a.low) and math.isnan(a.p_value) and not a.significant
    assert [d.metric for d in saved.overall] == list(METRICS)
    with pytest.raises(DetrecallError, match="significant_only needs a bootstrap"):
        saved.gate({"AP": 0.01}, significant_only=True)


def test_saved_results_must_match() -> None:
    gt, dt = random_coco(7)
    base = detrecall.evaluate(gt, dt).to_dict()
    other_iou = detrecall.evaluate(gt, dt, iou_threshold=0.7).to_dict()
    with pytest.raises(InputError, match="other parameters"):
        compare_saved(base, other_iou)
    first = next(i for i, a in enumerate(gt["annotations"]) if not a["iscrowd"])
    fewer = gt["annotations"][:first] + gt["annotations"][first + 1 :]
    other_gt = detrecall.evaluate({**gt, "annotations": fewer}, dt).to_dict()
    with pytest.raises(InputError, match="same ground truth"):
        compare_saved(base, other_gt)
    with pytest.raises(InputError, match="not a saved detrecall result"):
        compare_saved(base, {"coco": {}})


def test_evaluations_must_share_ground_truth_and_parameters() -> None:
    gt, dt = random_coco(9)
    base = detrecall.evaluate(gt, dt)
    with pytest.raises(DetrecallError, match="same ground truth"):
        compare(base, detrecall.evaluate({**gt, "annotations": gt["annotations"][1:]}, dt), n=5)
    with pytest.raises(DetrecallError, match="different parameters"):
        compare(base, detrecall.evaluate(gt, dt, iou_threshold=0.6), n=5)
    with pytest.raises(DetrecallError, match="two EvaluationResults"):
        compare(base, base.to_dict())
    assert detrecall.compare is compare


def test_gate_names_and_amounts_are_checked() -> None:
    gt, dt = random_coco(9)
    r = detrecall.evaluate(gt, dt)
    c = compare(r, r, n=5)
    assert c.gate({"ap50": 0.0, "F1": 0.1}) == ()  # case-insensitive
    with pytest.raises(DetrecallError, match="unknown metric 'mAP'"):
        c.gate({"mAP": 0.01})
    with pytest.raises(DetrecallError, match="must be a number >= 0"):
        c.gate({"AP": -0.1})
    d = c.to_dict()
    assert set(d["overall"]) == set(METRICS) and d["overall"]["AP"]["p_value"] in (1.0, None)


def test_a_streamed_evaluation_compares_equal_to_one_evaluation() -> None:
    gt, dt = random_coco(8)
    ids = [im["id"] for im in gt["images"]]
    ev = detrecall.Evaluator("bbox")
    for part in (ids[len(ids) // 2 :], ids[: len(ids) // 2]):  # batches not in id order
        keep = set(part)
        ev.update(
            {
                **gt,
                "images": [im for im in gt["images"] if im["id"] in keep],
                "annotations": [a for a in gt["annotations"] if a["image_id"] in keep],
            },
            [d for d in dt if d["image_id"] in keep],
        )
    c = compare(ev.compute(), detrecall.evaluate(gt, dt), n=30)
    defined = ~np.isnan(c.baseline)
    assert_array_equal(c.candidate[defined] - c.baseline[defined], 0.0)
    assert not any(d.significant for d in c.overall)


def test_ultralytics_metric_names_are_aliases() -> None:
    from detrecall.analysis.bootstrap import metric_index
    from detrecall.analysis.compare import parse_max_drop

    assert parse_max_drop({"mAP50-95": 0.01, "mAP50": 0.02, "map75": 0.03}) == {
        "AP": 0.01, "AP50": 0.02, "AP75": 0.03,
    }  # fmt: skip
    assert metric_index("mAP50") == METRICS.index("AP50")
    with pytest.raises(DetrecallError, match="unknown metric 'mAP'"):
        metric_index("mAP")
