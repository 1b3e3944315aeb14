"""Per-image arrays (torchmetrics' form): the same data as arrays and as COCO JSON give identical
results for each box format, bbox and segm, in one call and streamed."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pycocotools import mask as mask_utils

from detrecall import DetrecallError, Evaluator, evaluate
from detrecall.errors import DataWarning
from tests.oracle import random_coco, reference


class Tensor:
    """Stands for a torch tensor: nothing but __array__ (torch is no dependency)."""

    def __init__(self, values: Any) -> None:
        self.values = np.asarray(values)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)


def _quarter(gt: dict, dt: list) -> tuple[dict, list]:
    """Boxes on a 1/4-pixel grid: xyxy, xywh and cxcywh then convert exactly in float64."""
    gt, dt = copy.deepcopy(gt), copy.deepcopy(dt)
    for r in gt["annotations"] + dt:
        if "bbox" in r:
            r["bbox"] = [round(v * 4) / 4 for v in r["bbox"]]
    return gt, dt


def _in_format(box: np.ndarray, box_format: str) -> np.ndarray:
    x, y, w, h = box.reshape(-1, 4).T
    if box_format == "xyxy":
        return np.stack([x, y, x + w, y + h], 1)
    if box_format == "cxcywh":
        return np.stack([x + w / 2, y + h / 2, w, h], 1)
    return box.reshape(-1, 4)


def _arrays(
    gt: dict, dt: list, box_format: str, *, masks: bool = False, ids: bool = True
) -> tuple[list, list]:
    targets, preds = [], []
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    for image in sorted(sizes):
        anns = [a for a in gt["annotations"] if a["image_id"] == image]
        res = [d for d in dt if d["image_id"] == image]
        t = {
            "boxes": Tensor(_in_format(np.array([a["bbox"] for a in anns], float), box_format)),
            "labels": Tensor(np.array([a["category_id"] for a in anns], np.int64)),
            "iscrowd": Tensor([a["iscrowd"] for a in anns]),
            "area": Tensor([a["area"] for a in anns]),
        }
        p = {"scores": Tensor([d["score"] for d in res]), "labels": Tensor([d["category_id"] for d in res])}
        if ids:
            t["image_id"] = Tensor(image)
        if masks:
            h, w = sizes[image]
            rles = [mask_utils.frPyObjects(a["segmentation"], h, w) for a in anns]
            rles = [mask_utils.merge(r) if isinstance(r, list) else r for r in rles]
            t["masks"] = Tensor(np.array([mask_utils.decode(r) for r in rles], bool).reshape(-1, h, w))
            p["masks"] = [d["segmentation"] for d in res]
        else:
            p["boxes"] = Tensor(_in_format(np.array([d["bbox"] for d in res], float), box_format))
        targets.append(t)
        preds.append(p)
    return targets, preds


def _names(gt: dict) -> dict[int, str]:
    return {c["id"]: c["name"] for c in gt["categories"]}


def _quiet(*args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # random data: classes without ground truth
        return evaluate(*args, **kwargs)


@pytest.mark.parametrize("box_format", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("seed", range(10))
def test_arrays_equal_coco_json(seed: int, box_format: str) -> None:
    gt, dt = _quarter(*random_coco(seed))
    targets, preds = _arrays(gt, dt, box_format)
    got = _quiet(targets, preds, box_format=box_format, categories=_names(gt), confusion=True)
    want = evaluate(gt, dt, confusion=True)
    assert_array_equal(got.coco.stats, want.coco.stats)
    assert_array_equal(got.accumulated.precision, want.accumulated.precision)
    assert_array_equal(got.point.confusion, want.point.confusion)
    assert [c.name for c in got.per_class] == [c.name for c in want.per_class]
    if dt:
        assert_allclose(got.coco.stats, reference(gt, dt).stats, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_mask_arrays_equal_coco_json(seed: int) -> None:
    gt, dt = random_coco(seed, segm=True)
    targets, preds = _arrays(gt, dt, "xywh", masks=True)
    got = _quiet(targets, preds, "segm", box_format="xywh", categories=_names(gt))
    assert_array_equal(got.coco.stats, evaluate(gt, dt, "segm").coco.stats)


def test_areas_follow_the_coco_rules() -> None:
    m = np.zeros((1, 20, 20), bool)
    m[0, 2:5, 2:6] = True  # 12 pixels; box 10x10
    t = [{"boxes": [[0, 0, 10, 10]], "labels": [1], "masks": m}]
    p = [{"boxes": [[0, 0, 5, 4]], "labels": [1], "scores": [0.5], "masks": m}]
    from detrecall.io.arrays import read_arrays

    gt, dt = read_arrays(t, p, iou_type="bbox")
    assert gt.area.tolist() == [100.0] and dt.area.tolist() == [20.0]  # w*h
    gt, dt = read_arrays(t, p, iou_type="segm")
    assert gt.area.tolist() == [12.0] and dt.area.tolist() == [20.0]  # mask area; results keep w*h
    assert gt.images.height.tolist() == [20] and gt.masks is not None
    gt, dt = read_arrays(
        [{**t[0], "area": [7.0]}], [{"labels": [1], "scores": [0.5], "masks": m}], iou_type="segm"
    )
    assert gt.area.tolist() == [7.0]  # given
    assert dt.area.tolist() == [12.0] and dt.box.tolist() == [[2, 2, 4, 3]]  # masks alone: from the mask


def test_categories_by_list_or_dict_or_from_the_labels() -> None:
    t = [{"boxes": np.array([[0, 0, 2, 2]]), "labels": np.array([1])}]
    p = [
        {
            "boxes": np.array([[0, 0, 2, 2], [5, 5, 6, 6]]),
            "labels": np.array([1, 2]),
            "scores": np.array([0.9, 0.8]),
        }
    ]
    r = _quiet(t, p, categories=["bg", "cat", "dog"])
    assert [c.name for c in r.per_class] == ["bg", "cat", "dog"]
    assert [c.name for c in _quiet(t, p, categories={1: "cat", 2: "dog"}).per_class] == ["cat", "dog"]
    with pytest.warns(DataWarning, match=r"preds: 1 detection\(s\) of 1 class\(es\) without any ground"):
        r = evaluate(t, p)
    assert [c.category_id for c in r.per_class] == [1, 2]
    assert r.point.per_class[1].fp == 1


def test_empty_images_and_image_ids() -> None:
    t = [
        {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int64)},
        {"boxes": [[0, 0, 4, 4]], "labels": [0], "image_id": 42},
    ]
    p = [
        {"boxes": [], "labels": [], "scores": []},
        {"boxes": [[0, 0, 4, 4]], "labels": [0], "scores": [1.0], "image_id": 42},
    ]
    r = evaluate(t, p, categories=["a"])
    assert r.coco.AP == pytest.approx(1.0, abs=1e-15)
    assert r.matches.det_image.tolist() == [42]
    from detrecall.io.arrays import read_arrays

    gt, _ = read_arrays(t, p)
    assert gt.images.ids.tolist() == [0, 42]  # image 0: its position


@pytest.mark.parametrize("box_format", ["xyxy", "cxcywh"])
def test_streaming_arrays_equal_one_pass(box_format: str) -> None:
    gt, dt = _quarter(*random_coco(5))
    targets, preds = _arrays(gt, dt, box_format, ids=False)
    names = _names(gt)
    whole = _quiet(targets, preds, box_format=box_format, categories=names)
    ev = Evaluator(box_format=box_format, categories=names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for start in range(0, len(targets), 3):
            ev.update(targets[start : start + 3], preds[start : start + 3])  # ids continue: 0, 1, 2, ...
    assert_array_equal(ev.compute().coco.stats, whole.coco.stats)
    with pytest.raises(DetrecallError, match="categories="):
        Evaluator().update(targets, preds)


def test_bool_flags_are_read_like_0_1() -> None:
    # torch users pass bool tensors for iscrowd / ignore
    t = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], "labels": [0, 0, 0]}]
    p = [
        {
            "boxes": [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]],
            "labels": [0, 0, 0],
            "scores": [0.9, 0.8, 0.7],
        }
    ]
    as_ints = evaluate([{**t[0], "iscrowd": [0, 1, 0], "ignore": [0, 0, 1]}], p, iou_thresholds=[0.5])
    as_bools = evaluate(
        [{**t[0], "iscrowd": Tensor([False, True, False]), "ignore": Tensor(np.array([False, False, True]))}],
        p,
        iou_thresholds=[0.5],
    )
    assert_array_equal(as_bools.coco.stats, as_ints.coco.stats)
    c = as_bools.point.per_class[0]
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)  # the crowd and the ignored box are neither TP nor FN


@pytest.mark.parametrize("categories", [{"a": "cat"}, {1.5: "cat"}, {"--3": "cat"}, {1: "cat", "1": "dog"}])
def test_category_keys_that_are_not_labels_are_input_errors(categories: Any) -> None:
    from detrecall.errors import InputError

    t = [{"boxes": [[0, 0, 2, 2]], "labels": [1]}]
    p = [{"boxes": [[0, 0, 2, 2]], "labels": [1], "scores": [0.5]}]
    with pytest.raises(InputError, match=r"^categories: "):
        evaluate(t, p, categories=categories)
