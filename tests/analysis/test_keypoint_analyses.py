"""The analyses on OKS: TIDE, per-image counts and label errors take the keypoint sigmas (they
asserted before), and agree with the evaluation's own keypoint numbers."""

from __future__ import annotations

import pytest

from detrecall import evaluate
from detrecall.analysis.per_image import per_image
from tests.protocols.test_keypoints import random_keypoints


@pytest.mark.parametrize("seed", range(4))
def test_errors_and_per_image_on_keypoints(seed: int) -> None:
    gt, dt = random_keypoints(seed, n_cat=2)
    r = evaluate(gt, dt, iou_type="keypoints", errors=True, label_errors=True, score_threshold=0.3)
    ap50 = r.coco.stats[r.coco.find(True, 0.5)]
    assert r.errors is not None and r.errors.AP == pytest.approx(ap50, abs=1e-12)
    assert all(v >= -1e-12 for v in r.errors.dAP)
    table, c = per_image(r), r.point.counts
    assert (int(table.tp.sum()), int(table.fp.sum()), int(table.fn.sum())) == (
        int(c.tp.sum()),
        int(c.fp.sum()),
        int(c.fn.sum()),
    )


def test_custom_sigmas_reach_the_analyses() -> None:
    gt, dt = random_keypoints(7, n_kpt=5)
    sigmas = [0.05, 0.07, 0.09, 0.11, 0.13]
    r = evaluate(gt, dt, iou_type="keypoints", kpt_oks_sigmas=sigmas, errors=True)
    assert r.errors is not None
    assert r.errors.AP == pytest.approx(r.coco.stats[r.coco.find(True, 0.5)], abs=1e-12)
