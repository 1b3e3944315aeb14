"""detrecall against pycocotools on random data: the 12 numbers, the full precision/recall/
scores arrays and per-class AP, within 1e-9 (in practice bit-identical)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from tests.oracle import random_coco, reference, to_reference_params


def _variant(seed: int) -> dict:
    """Evaluation parameters drawn per seed: defaults mostly, sometimes each knob."""
    rng = np.random.default_rng(10_000 + seed)
    kw: dict = {}
    if seed % 5 == 1:
        kw["max_dets"] = [1, 2, int(rng.integers(3, 6))]
    if seed % 7 == 2:
        kw["area_ranges"] = {
            "all": (0, 1e10),
            "small": (0, 500),
            "medium": (500, 5000),
            "large": (5000, 1e10),
            "tiny": (0, 50),
        }
    if seed % 6 == 3:
        kw["class_agnostic"] = True
    if seed % 8 == 5:
        kw["iou_thresholds"] = np.round(np.sort(rng.uniform(0.05, 1.0, 4)), 2).tolist() + [0.5]
    return kw


def _compare(gt: dict, dt: list, iou_type: str, kw: dict) -> None:
    ours = evaluate(gt, dt, iou_type, **kw)
    ref = reference(gt, dt, iou_type, **to_reference_params(**kw))
    assert_allclose(ours.coco.stats, ref.stats, atol=1e-9, rtol=0)
    assert_allclose(ours.accumulated.precision, ref.eval["precision"], atol=1e-9, rtol=0)
    assert_allclose(ours.accumulated.recall, ref.eval["recall"], atol=1e-9, rtol=0)
    assert_allclose(ours.accumulated.scores, ref.eval["scores"], atol=1e-9, rtol=0)
    if not kw.get("class_agnostic"):
        prec = ref.eval["precision"][:, :, :, 0, -1]
        for k, c in enumerate(ours.per_class):
            s = prec[:, :, k]
            expected = np.mean(s[s > -1]) if (s > -1).any() else np.nan
            assert_allclose(c.AP, expected, atol=1e-9, rtol=0)
            assert c.category_id == ref.params.catIds[k]


@pytest.mark.parametrize("seed", range(60))
def test_bbox_equals_pycocotools(seed: int) -> None:
    gt, dt = random_coco(seed)
    _compare(gt, dt, "bbox", _variant(seed))


@pytest.mark.parametrize("seed", range(30))
def test_segm_equals_pycocotools(seed: int) -> None:
    gt, dt = random_coco(seed, segm=True)
    _compare(gt, dt, "segm", _variant(seed))


@pytest.mark.parametrize("seed", range(5))
def test_image_and_category_subsets_equal_pycocotools(seed: int) -> None:
    gt, dt = random_coco(100 + seed)
    imgs = [im["id"] for im in gt["images"]][: max(1, len(gt["images"]) // 2)]
    cats = [c["id"] for c in gt["categories"]][:2]
    _compare(gt, dt, "bbox", {"image_ids": imgs, "category_ids": cats})


def test_no_detections_at_all() -> None:
    gt, _ = random_coco(3)
    ours = evaluate(gt, [])
    assert ours.coco.AP == 0.0 or np.isnan(ours.coco.AP)
    ref = reference(gt, [], "bbox")
    assert_allclose(ours.coco.stats, ref.stats, atol=1e-9)
