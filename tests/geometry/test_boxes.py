"""Box IoU: bit-identical to pycocotools' bbIou, crowd rule, shapes of empty inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from detrecall.geometry.boxes import box_iou

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


@pytest.mark.parametrize("seed", range(10))
def test_box_iou_bit_identical_to_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dt = np.round(rng.uniform(0, 50, (40, 4)), int(rng.integers(0, 4)))
    gt = np.round(rng.uniform(0, 50, (30, 4)), int(rng.integers(0, 4)))
    gt[:5] = dt[:5]  # exact duplicates: IoU 1
    dt[5:8, 2:] = 0  # zero-size detections
    crowd = rng.random(30) < 0.3
    ours = box_iou(dt, gt, crowd)
    ref = np.asarray(mask_utils.iou(dt.tolist(), gt.tolist(), crowd.astype(np.uint8).tolist()))
    assert np.array_equal(ours, ref)


def test_crowd_is_intersection_over_detection_area() -> None:
    dt = np.array([[0.0, 0.0, 10.0, 10.0]])
    gt = np.array([[5.0, 0.0, 100.0, 100.0], [5.0, 0.0, 100.0, 100.0]])
    iou = box_iou(dt, gt, np.array([False, True]))
    # overlap 5x10 = 50; normal union 100 + 10000 - 50; crowd: over the detection's 100
    assert iou[0, 0] == 50 / (100 + 10000 - 50)
    assert iou[0, 1] == 0.5


def test_empty_shapes() -> None:
    assert box_iou(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)
    assert box_iou(np.ones((2, 4)), np.zeros((0, 4))).shape == (2, 0)


def test_iou_matrix_of_faster_coco_eval_image_2299() -> None:
    folder = CONFORMANCE / "faster_coco_eval"
    if not folder.is_dir():
        pytest.skip(f"conformance data not found at {folder}")
    gt = json.loads((folder / "derived/gt_ignore_test.int_ids.json").read_text())
    dt = json.loads((folder / "derived/dt_ignore_test.min_score_0.1.json").read_text())
    g = [a for a in gt["annotations"] if a["image_id"] == 2299 and a["category_id"] == 1]
    d = [r for r in dt if r["image_id"] == 2299 and r["category_id"] == 1]
    order = np.argsort([-r["score"] for r in d], kind="mergesort")[:100]
    ours = box_iou(
        np.array([d[i]["bbox"] for i in order]),
        np.array([a["bbox"] for a in g]),
        np.array([a.get("iscrowd", 0) for a in g], bool),
    )
    expected = np.load(folder / "tests/dataset/2299_1.npy")
    assert ours.shape == expected.shape
    assert np.array_equal(ours, expected)
