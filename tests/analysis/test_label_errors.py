"""Label-error candidates, worked by hand."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from detrecall import DetrecallError, evaluate, read_detections, read_ground_truth
from detrecall.analysis.label_errors import LabelErrorKind, label_errors
from tests.oracle import random_coco

# classes: cat 1, dog 2, person 3
#  image 1: A cat [0,0,10,10], B dog [50,50,20,20], C person crowd [0,60,30,30]
#  image 2: no ground truth; image 3: not evaluated in the restricted case
GT = {
    "images": [{"id": i, "width": 100, "height": 100} for i in (1, 2, 3)],
    "annotations": [
        {"id": 11, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
        {"id": 12, "image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "area": 400, "iscrowd": 0},
        {"id": 13, "image_id": 1, "category_id": 3, "bbox": [0, 60, 30, 30], "area": 900, "iscrowd": 1},
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "person"}],
}
# d0 dog .95 on A (a cat), IoU 1, no dog there           -> wrong label (A)
# d1 cat .9 on nothing                                     -> missing annotation
# d2 cat .3 on nothing                                     -> not confident
# d3 dog .9 on B, IoU 1                                    -> agrees
# d4 person .8 inside the crowd (IoU 1 over its own area)  -> not missing: the crowd covers it
# d5 cat .85 on B (a dog), IoU 380/420, but d3 confirms B  -> not a wrong label
# d6 dog .7 on A at IoU .6 (< .7), overlapping A           -> neither
# d7 cat .6 in image 2 (no ground truth)                   -> missing annotation
# d8 dog .99 [0,0,10,10.5] on A (IoU 100/105) and ...      -> see the second case
DT = [
    {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 0.95},
    {"image_id": 1, "category_id": 1, "bbox": [80, 0, 10, 10], "score": 0.9},
    {"image_id": 1, "category_id": 1, "bbox": [80, 20, 10, 10], "score": 0.3},
    {"image_id": 1, "category_id": 2, "bbox": [50, 50, 20, 20], "score": 0.9},
    {"image_id": 1, "category_id": 3, "bbox": [5, 65, 10, 10], "score": 0.8},
    {"image_id": 1, "category_id": 1, "bbox": [51, 50, 20, 20], "score": 0.85},
    {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 6], "score": 0.7},
    {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.6},
]


def read(gt: dict, dt: list) -> tuple:
    g = read_ground_truth(copy.deepcopy(gt))
    return g, read_detections(copy.deepcopy(dt), g)


def test_by_hand() -> None:
    g, d = read(GT, DT)
    found = label_errors(g, d)
    got = [
        (r["kind"], r["image_id"], r["name"], r["score"], r.get("gt", {}).get("id")) for r in found.to_dict()
    ]
    assert got == [
        ("wrong_label", 1, "dog", 0.95, 11),
        ("missing_annotation", 1, "cat", 0.9, None),
        ("missing_annotation", 2, "cat", 0.6, None),
    ]
    assert found.to_dict()[0]["gt"] == {"id": 11, "category_id": 1, "name": "cat"}
    assert found.to_dict()[0]["iou"] == 1.0 and found.to_dict()[1]["iou"] == 0.0
    assert found.to_dict()[1]["bbox"] == [80.0, 0.0, 10.0, 10.0]
    assert len(found.missing()) == 2 and len(found.wrong_labels()) == 1
    assert found.wrong_labels().kind.tolist() == [LabelErrorKind.WRONG_LABEL]
    json.dumps(found.to_dict())
    assert found.table().rows[0][:3] == ("wrong_label", 1, "dog")


def test_thresholds_by_hand() -> None:
    g, d = read(GT, DT)
    # at score >= .7: image 2's .6 drops out
    assert [r["score"] for r in label_errors(g, d, min_score=0.7).to_dict()] == [0.95, 0.9]
    # label_iou .5: d6 (dog .7 on A at IoU .6) becomes a wrong label too
    kinds = [(r["kind"], r["score"]) for r in label_errors(g, d, label_iou=0.5).to_dict()]
    assert kinds == [
        ("wrong_label", 0.95),
        ("missing_annotation", 0.9),
        ("wrong_label", 0.7),
        ("missing_annotation", 0.6),
    ]
    # background_iou .65: d6 (dog on A at .6, on nothing else) counts as on nothing
    missing = label_errors(g, d, background_iou=0.65, label_iou=0.7).missing().to_dict()
    assert [(r["score"], r["iou"]) for r in missing] == [(0.9, 0.0), (0.7, 0.6), (0.6, 0.0)]
    with pytest.raises(DetrecallError, match="background_iou < label_iou"):
        label_errors(g, d, background_iou=0.8, label_iou=0.7)


def test_ties_rank_by_iou_and_the_result_selects() -> None:
    g, d = read(GT, [*DT, {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10.5], "score": 0.95}])
    found = label_errors(g, d).to_dict()
    # two dogs at .95 on A: the higher IoU (1 before 100/105) first
    assert [(r["score"], round(r["iou"], 4)) for r in found[:2]] == [(0.95, 1.0), (0.95, 0.9524)]
    # a result evaluated on image 2 alone: only d7 is there
    only = label_errors(g, d, evaluate(g, d, image_ids=[2]))
    assert only.image_id.tolist() == [2]
    # dogs alone: the dog on the cat A is still a wrong label (ground truth of every class counts)
    dogs = label_errors(g, d, evaluate(g, d, category_ids=[2])).to_dict()
    assert [(r["kind"], r["name"], r["score"]) for r in dogs] == [("wrong_label", "dog", 0.95)] * 2


def test_random_cases_hold_the_definitions() -> None:
    for seed in range(8):
        gt, dt = random_coco(seed)
        g, d = read(gt, dt)
        found = label_errors(g, d, min_score=0.3, label_iou=0.6)
        assert (found.score >= 0.3).all()
        assert np.all(np.diff(-found.score) >= 0)  # ranked by score
        wrong = found.wrong_labels()
        assert (wrong.iou >= 0.6).all() and (wrong.gt_category_id != wrong.category_id).all()
        assert (found.missing().iou <= 0.1).all()
        if len(found):
            frame = found.to_pandas() if _has_pandas() else None
            assert frame is None or len(frame) == len(found)


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True
