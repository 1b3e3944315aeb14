"""Dense images: the matcher's memory grows with the pairs that overlap, not with detections x
ground truths; the windowed pairing of dense groups finds exactly the pairs listing all would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate, matching
from detrecall.evaluate import make_config, read_inputs
from detrecall.matching import as_candidates, candidates, pair_ious, plan
from tests.oracle import reference

ROOT = Path(__file__).resolve().parents[1]


def dense_image(n_gt: int, n_dt: int, seed: int, classes: int = 1, side: int = 2000) -> tuple[dict, list]:
    """One image crowded with small boxes; detections jittered copies of some of them."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, side - 60, (n_gt, 2))
    wh = rng.choice([0.0, 1.0, 3.0, 20.0, 60.0], (n_gt, 2), p=[0.02, 0.08, 0.3, 0.4, 0.2])
    cats = rng.integers(1, classes + 1, n_gt)
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": int(cats[i]), "bbox": [*xy[i], *wh[i]],
         "area": float(wh[i, 0] * wh[i, 1]), "iscrowd": int(rng.uniform() < 0.05)}
        for i in range(n_gt)
    ]  # fmt: skip
    pick = rng.choice(n_gt, n_dt)
    jitter = rng.normal(0, 2, (n_dt, 4))
    dt = [
        {"image_id": 1, "category_id": int(cats[j]), "bbox": [*(xy[j] + jitter[k, :2]),
         *np.maximum(wh[j] + jitter[k, 2:], 0.5)], "score": float(rng.choice([0.2, 0.5, rng.uniform()]))}
        for k, j in enumerate(pick)
    ]  # fmt: skip
    categories = [{"id": c, "name": f"c{c}"} for c in range(1, classes + 1)]
    return {
        "images": [{"id": 1, "width": side, "height": side}],
        "annotations": anns,
        "categories": categories,
    }, dt


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pixel_inclusive", [False, True])
def test_windowed_pairs_equal_every_pair_filtered(seed: int, pixel_inclusive: bool, monkeypatch) -> None:
    gt, dt = dense_image(600, 400, seed, classes=2)
    config = make_config("bbox")
    gt_set, dt_set = read_inputs(gt, dt, config)
    p = plan(gt_set, dt_set, config.params)
    floor = [0.5, 0.1, 1e-9][seed % 3]
    every = as_candidates(p, pair_ious("bbox", p, gt_set, dt_set, pixel_inclusive=pixel_inclusive), floor)
    monkeypatch.setattr(matching, "_DENSE_GROUP", 0)  # every group through the window
    windowed = candidates("bbox", p, gt_set, dt_set, floor, pixel_inclusive=pixel_inclusive, piece=5000)
    assert len(windowed.iou) > 100
    for field in ("pair_dt", "pair_gt", "iou"):
        np.testing.assert_array_equal(getattr(windowed, field), getattr(every, field), err_msg=field)


def test_a_dense_image_equals_pycocotools(monkeypatch) -> None:
    gt, dt = dense_image(700, 500, 11)
    monkeypatch.setattr(matching, "_DENSE_GROUP", 0)
    assert_allclose(evaluate(gt, dt).coco.stats, reference(gt, dt).stats, atol=1e-12, rtol=0)


def test_one_image_of_100k_ground_truths_and_10k_detections_within_4_gb() -> None:
    """1e9 (detection, ground truth) pairs in one group: listed, 15.7 GB; windowed, ~0.2 GB."""
    code = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from tests.test_dense import dense_image
        import detrecall
        gt, dt = dense_image(100_000, 10_000, 3, side=20_000)
        r = detrecall.evaluate(gt, dt)
        print(r.point.counts.tp.sum(), r.point.counts.fp.sum(), r.coco.AR100)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    tp, fp, _ = out.stdout.split()
    assert int(tp) + int(fp) > 9_000  # most of the 10k detections counted (some on crowds)
