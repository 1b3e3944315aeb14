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
        warnings.simplefilter("error", DataWarning)  # per batch: none (the others have ground truth)
        for start in range(0, len(targets), 3):
            ev.update(targets[start : start + 3], preds[start : start + 3])  # ids continue: 0, 1, 2, ...
    with warnings.catch_warnings(record=True) as streamed:
        warnings.simplefilter("always", DataWarning)
        assert_array_equal(ev.compute().coco.stats, whole.coco.stats)
    with warnings.catch_warnings(record=True) as one_read:
        warnings.simplefilter("always", DataWarning)
        evaluate(targets, preds, box_format=box_format, categories=names)
    assert [str(w.message) for w in streamed] == [
        str(w.message).replace("(first: ", "(first: update 1: ") for w in one_read
    ]  # classes predicted without any ground truth: warned of once, at compute
    assert "without any ground truth" in str(streamed[0].message)
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


def _varied_batch(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Images in every form the batch-wide reader takes: labels as int32, int64 or whole
    floats, boxes as lists, float32 or ints, flags as bools or 0/1 or left out, areas on some
    images, empty images (with empty fields or none), image ids given on some (ints, numpy
    ints, 0-d arrays) and repeated in preds."""
    rng = np.random.default_rng(seed)
    targets: list[dict[str, Any]] = []
    preds: list[dict[str, Any]] = []
    label_type = rng.choice([np.int32, np.int64, np.float64])
    for i in range(int(rng.integers(1, 12))):
        n, m = int(rng.integers(0, 6)) * (rng.random() > 0.2), int(rng.integers(0, 9)) * (rng.random() > 0.2)
        xy = rng.uniform(0, 50, (n + m, 2)).round(2)
        wh = rng.uniform(1, 30, (n + m, 2)).round(2)
        box = np.hstack([xy, xy + wh])  # xyxy
        t: dict[str, Any] = {"labels": rng.integers(0, 4, n).astype(label_type)}
        p: dict[str, Any] = {"labels": rng.integers(0, 4, m).astype(label_type)}
        if n or rng.random() < 0.5:
            form = rng.integers(3)
            t["boxes"] = [box[:n].tolist(), box[:n].astype(np.float32), box[:n].round()][form]
        if m or rng.random() < 0.5:
            p["boxes"] = box[n:].astype(np.float32) if rng.random() < 0.3 else box[n:]
            p["scores"] = rng.choice([0.25, 0.5, 0.75, 1.0], m)
        if rng.random() < 0.6:
            crowd = rng.random(n) < 0.2
            t["iscrowd"] = crowd if rng.random() < 0.5 else crowd.astype(np.int64)
        if rng.random() < 0.4:
            t["ignore"] = (rng.random(n) < 0.2).astype(np.uint8)
        if rng.random() < 0.5:
            t["area"] = rng.uniform(0, 900, n).round(1)
        if rng.random() < 0.5:
            image_id = 1000 * seed + 7 * i
            t["image_id"] = [image_id, np.int64(image_id), np.array(image_id)][i % 3]
            if rng.random() < 0.5:
                p["image_id"] = image_id
        targets.append(t)
        preds.append(p)
    return targets, preds


def _tables_equal(a: Any, b: Any) -> None:
    for name, value in vars(a).items():
        other = getattr(b, name)
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype and np.array_equal(value, other), name
        elif name in ("images", "categories"):
            _tables_equal(value, other)
        else:
            assert value == other, name


@pytest.mark.parametrize("box_format", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("seed", range(15))
def test_the_batch_wide_reader_equals_the_image_by_image_one(seed: int, box_format: str) -> None:
    """The fast path (each check once on the batch's concatenated arrays) reads what the
    image-by-image reader reads, dtype for dtype, and is the one taken for such input."""
    from detrecall.io import arrays

    targets, preds = _varied_batch(seed)
    names = ["a", "b", "c", "d"]
    assert arrays._batch_columns(targets, preds, box_format, names, 5) is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        got = arrays.read_arrays(targets, preds, box_format=box_format, categories=names, first_image_id=5)
        want = arrays.build_arrays(
            [arrays.ArrayBatch(*arrays._image_columns(targets, preds, box_format, names, 5, False))]
        )
    for g, w in zip(got, want):
        _tables_equal(g, w)


BATCH_PROBLEMS = {  # a problem in the third image of a batch: named as the image-by-image reader names it
    "NaN score": ("preds", "scores", [0.5, np.nan], "preds[2]: scores: row 1 is not finite (1 row(s)"),
    "inverted box": ("targets", "boxes", [[5, 5, 1, 9], [0, 0, 1, 1]], "targets[2]: boxes: row 0 is [5.0"),
    "unknown label": ("preds", "labels", [1, 7], "preds[2]: labels: has label 7, not in categories (0, 1)"),
    "crowd flag 2": ("targets", "iscrowd", [0, 2], "targets[2]: iscrowd: has values other than 0 and 1"),
    "negative area": ("targets", "area", [3.0, -1.0], "targets[2]: area: has negative values"),
    "fractional label": ("targets", "labels", [0.0, 0.5], "targets[2]: labels: has non-integer values"),
    "huge label": ("targets", "labels", np.array([2**63, 1], np.uint64), "targets[2]: labels: has values of"),
    "image id repeated": ("targets", "image_id", 0, "targets[2]: image_id: 0 is also the id of targets[0]"),
    "pred id differs": ("preds", "image_id", 9, "preds[2]: image_id: is 9 but targets[2] has image_id 2"),
    "empty boxes": ("targets", "boxes", np.zeros((0, 4)), "targets[2]: boxes: has 0 rows but labels has 2"),
    "NaN box": ("preds", "boxes", [[0, 0, 4, 4], [0, np.nan, 1, 1]], "preds[2]: boxes: row 1 is not finite"),
    "infinite box": ("preds", "boxes", [[0, 0, 4, np.inf], [0, 0, 1, 1]], "preds[2]: boxes: row 0 is not"),
    "width overflows": (
        "targets",
        "boxes",
        [[0, 0, 1, 1], [-1e308, 0, 1e308, 1]],
        "targets[2]: boxes: row 1 is",
    ),
    "area overflows": (
        "preds",
        "boxes",
        [[0, 0, 1e200, 1e200], [0, 0, 1, 1]],
        "preds[2]: boxes: row 0 is [0.0, 0.0, 1e+200, 1e+200]: as [x, y, w, h] it is",
    ),
}


@pytest.mark.parametrize("name", list(BATCH_PROBLEMS))
def test_a_problem_in_a_batch_is_named_by_image_and_field(name: str) -> None:
    from detrecall.errors import InputError
    from detrecall.io.arrays import read_arrays

    side, field, value, expected = BATCH_PROBLEMS[name]
    box = [[0, 0, 4, 4], [2, 2, 6, 6]]
    targets = [{"boxes": box, "labels": [0, 1], "area": [16.0, 16.0]} for _ in range(4)]
    preds = [{"boxes": box, "labels": [0, 1], "scores": [0.5, 0.25]} for _ in range(4)]
    (targets if side == "targets" else preds)[2][field] = value
    with pytest.raises(InputError) as info:
        read_arrays(targets, preds, categories=["a", "b"])
    assert expected in str(info.value)


MORE_PROBLEMS = {  # what the batch-wide reader passes on to the image-by-image one, which names it
    "ragged labels": ("targets", "labels", [[0], [0, 1]], "targets[2]: labels: cannot be read as an array"),
    "None area": ("targets", "area", None, "targets[2]: area: has shape () (expected (N,))"),
    "2-d scores": ("preds", "scores", [[0.5, 0.25]], "preds[2]: scores: has shape (1, 2) (expected (N,))"),
    "bool boxes": ("preds", "boxes", np.ones((2, 4), bool), "preds[2]: boxes: has dtype bool"),
    "labels as 2-d": ("preds", "labels", [[0], [1]], "preds[2]: labels: has shape (2, 1) (expected (N,))"),
}


@pytest.mark.parametrize("name", list(MORE_PROBLEMS))
def test_input_the_batch_wide_reader_does_not_take_is_named_image_by_image(name: str) -> None:
    from detrecall.errors import InputError
    from detrecall.io import arrays

    side, field, value, expected = MORE_PROBLEMS[name]
    box = [[0, 0, 4, 4], [2, 2, 6, 6]]
    targets = [{"boxes": box, "labels": [0, 1]} for _ in range(4)]
    preds = [{"boxes": box, "labels": [0, 1], "scores": [0.5, 0.25]} for _ in range(4)]
    (targets if side == "targets" else preds)[2][field] = value
    assert arrays._batch_columns(targets, preds, "xyxy", ["a", "b"], 0) is None
    with pytest.raises(InputError) as info:
        arrays.read_arrays(targets, preds, categories=["a", "b"])
    assert expected in str(info.value)


@pytest.mark.parametrize(
    "categories", [["a", "b", "c"], {1: "a", 5: "b", 90: "c"}, {-3: "a", 0: "b", 2**40: "c"}]
)
def test_the_batch_wide_reader_takes_far_coordinates_and_any_label_span(categories: Any) -> None:
    """Coordinates of 1e200 whose corners and area stay finite (checked exactly past the
    quick bound), labels by a table or by a binary search (ids spanning 2**40): the same
    tables as the image-by-image reader, and a label not among the ids (between them) is refused."""
    from detrecall.errors import InputError
    from detrecall.io import arrays

    ids = sorted(categories) if isinstance(categories, dict) else [0, 1, 2]
    boxes = [[1e200, 0, 1e200, 1], [0, 0, 2, 2], [1, 1, 3, 3]]
    targets = [{"boxes": boxes, "labels": ids}, {"labels": []}]
    preds = [
        {"boxes": [[0, -1e200, 1, -1e200]], "labels": [ids[1]], "scores": [0.5]},
        {"boxes": np.zeros((2, 4)), "labels": [ids[2], ids[0]], "scores": [0.25, 1.0]},
    ]
    assert arrays._batch_columns(targets, preds, "xyxy", categories, 0) is not None
    got = arrays.read_arrays(targets, preds, categories=categories)
    want = arrays.build_arrays(
        [arrays.ArrayBatch(*arrays._image_columns(targets, preds, "xyxy", categories, 0, False))]
    )
    for g, w in zip(got, want):
        _tables_equal(g, w)
    preds[1]["labels"] = [ids[2], ids[1] + 1 if isinstance(categories, dict) else 3]
    with pytest.raises(InputError, match=r"preds\[1\]: labels: has label"):
        arrays.read_arrays(targets, preds, categories=categories)
