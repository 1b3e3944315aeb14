"""compat.COCOeval's ious, evalImgs, eval and stats equal pycocotools' element for element, on
cocoapi's and detectron2's conformance data and random cases, bbox and segm."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.compat._reference import assert_same_run, coco_of, quiet
from tests.oracle import random_coco

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def _random(seed: int, segm: bool) -> tuple[Any, Any]:
    gt, dt = random_coco(seed, segm=segm)
    return (lambda: coco_of(gt)), (lambda coco: quiet(lambda: coco.loadRes(copy.deepcopy(dt)))[0])


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_random_cases_equal_pycocotools(seed: int, iou_type: str) -> None:
    gt, dt = _random(300 + seed, iou_type == "segm")
    assert_same_run(gt, dt, iou_type)


@pytest.mark.parametrize("seed", range(6))
def test_class_agnostic_equals_pycocotools(seed: int) -> None:
    gt, dt = _random(400 + seed, False)

    def setup(p: Any) -> None:
        p.useCats = 0

    assert_same_run(gt, dt, "bbox", setup)


@pytest.mark.parametrize(
    ("source", "iou_type"),
    [("cocoapi", "bbox"), ("cocoapi", "segm"), ("detectron2", "bbox")],
)
def test_conformance_data_equals_pycocotools(source: str, iou_type: str) -> None:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"conformance data not found at {CONFORMANCE}")
    if source == "cocoapi":
        base = CONFORMANCE / "cocoapi"
        gt_path = base / "annotations/instances_val2014_100.json"
        dt_path = base / f"results/instances_val2014_fake{iou_type}100_results.json"
    else:
        base = CONFORMANCE / "detectron2/tests/data"
        gt_path = base / "test_coco_evaluation.gt_annotations.json"
        dt_path = base / "test_coco_evaluation.detections.json"
    from pycocotools.coco import COCO

    assert_same_run(
        lambda: quiet(lambda: COCO(str(gt_path)))[0],
        lambda coco: quiet(lambda: coco.loadRes(str(dt_path)))[0],
        iou_type,
    )
