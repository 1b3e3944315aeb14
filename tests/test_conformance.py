"""Real data from public projects (../shared/conformance/), with the numbers they publish.

Every COCO-protocol case must reproduce pycocotools' numbers within 1e-9, except where a case
depends on a pycocotools quirk detrecall does not copy; that case then asserts our number and
that pycocotools agrees with it once the quirk's trigger is removed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from tests.oracle import conformance_cases


def _kwargs(params: dict) -> dict:
    kw: dict = {}
    if "useCats" in params:
        kw["class_agnostic"] = not params["useCats"]
    if "areaRng" in params:
        kw["area_ranges"] = dict(zip(params["areaRngLbl"], map(tuple, params["areaRng"])))
    if "iouThrs" in params:
        kw["iou_thresholds"] = params["iouThrs"]
    return kw


def _mean(s: np.ndarray) -> float:
    return float(np.mean(s[s > -1])) if (s > -1).any() else -1.0


def _custom_range_stats(result) -> list[float]:
    """The 16 numbers of faster_coco_eval's test_ranges: AP all/50/75 and per range at 100
    detections, AR at 1/10/100 and per range at 100 (as the case's stats_keys list them)."""
    p, acc = result.params, result.accumulated
    prec, rec = acc.precision, acc.recall
    m = len(p.max_dets) - 1
    t50, t75 = (int(np.flatnonzero(p.iou_thresholds == v)[0]) for v in (0.5, 0.75))
    out = [_mean(prec[:, :, :, 0, m]), _mean(prec[t50, :, :, 0, m]), _mean(prec[t75, :, :, 0, m])]
    out += [_mean(prec[:, :, :, a, m]) for a in range(1, len(p.area_labels))]
    out += [_mean(rec[:, :, 0, i]) for i in range(len(p.max_dets))]
    out += [_mean(rec[:, :, a, m]) for a in range(1, len(p.area_labels))]
    return out


KNOWN_QUIRK = {
    # the GT has an annotation with id 0: pycocotools counts its matches as false positives
    "rafaelpadilla_review_object_detection_metrics/toyexample_coco_bbox",
}


@pytest.mark.parametrize(("folder", "name", "case"), conformance_cases(voc=False))
def test_conformance_case(folder: Path, name: str, case: dict) -> None:
    gt_path, dt_path = folder / case["gt"], folder / case["dt"]
    result = evaluate(gt_path, dt_path, case["iou_type"], **_kwargs(case.get("params", {})))
    key = f"{folder.name}/{name}"
    if key in KNOWN_QUIRK:
        from tests.oracle import reference

        gt = json.loads(gt_path.read_text())
        for a in gt["annotations"]:
            a["id"] += 1
        dt = json.loads(dt_path.read_text())
        dt = dt["annotations"] if isinstance(dt, dict) else dt
        fixed = reference(gt, dt, case["iou_type"]).stats
        assert_allclose(result.coco.stats, fixed, atol=1e-9, rtol=0)
        assert np.abs(result.coco.stats - np.asarray(case["stats"])).max() > 0.05
        return
    if "areaRng" in case.get("params", {}):
        assert_allclose(_custom_range_stats(result), case["stats"], atol=1e-9, rtol=0)
        return
    assert_allclose(result.coco.stats, case["stats"], atol=1e-9, rtol=0)
    acc = result.accumulated
    names = {"AR@.5|all|100": 0, "AR@.75|all|100": 5}
    for k, v in case.get("extra", {}).items():
        if k in names:
            assert_allclose(_mean(acc.recall[names[k], :, 0, -1]), v, atol=1e-9, rtol=0)
    for cid, figures in case.get("per_class", {}).items():
        ours = next(c for c in result.per_class if c.category_id == int(cid))
        for field, attr in (("AP@[.5:.95]", "AP"), ("AP@.5", "AP50"), ("AR@[.5:.95]|100", "AR100")):
            if field in figures:
                got = getattr(ours, attr)
                assert_allclose(-1.0 if np.isnan(got) else got, figures[field], atol=1e-9, rtol=0)
