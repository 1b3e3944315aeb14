"""Input spellings pycocotools accepts, each evaluated by compat.COCOeval equal to pycocotools
(ious, evalImgs, eval, stats), or refused as pycocotools refuses them (an exception of the type
pycocotools raises). Every case builds its COCO objects the way a client does."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval as ReferenceCOCOeval

from detrecall.compat import COCOeval
from detrecall.errors import DataWarning, InputError
from tests.compat._reference import assert_same_eval, assert_same_eval_imgs, assert_same_ious, coco_of, quiet
from tests.oracle import random_coco

Build = Callable[[dict[str, Any], list[dict[str, Any]]], tuple[COCO, COCO]]


def load_res(gt: dict[str, Any], dt: Any) -> tuple[COCO, COCO]:
    coco = coco_of(gt)
    return coco, quiet(lambda: coco.loadRes(dt))[0]


def indexed_results(gt: dict[str, Any], dt: list[dict[str, Any]], *, masks: bool) -> tuple[COCO, COCO]:
    """A results COCO made as torchmetrics makes it: dataset assigned, then createIndex();
    ids from 1, area and iscrowd set, no bbox for segm."""
    anns = []
    for i, d in enumerate(dt):
        a = {k: v for k, v in d.items() if not (masks and k == "bbox")}
        a["id"] = i + 1
        a["iscrowd"] = 0
        a["area"] = float(mask_utils.area(d["segmentation"])) if masks else d["bbox"][2] * d["bbox"][3]
        anns.append(a)
    coco_gt = coco_of(gt)
    coco_dt = coco_of({"images": gt["images"], "categories": gt["categories"], "annotations": anns})
    return coco_gt, coco_dt


def each(anns: list[dict[str, Any]], fn: Callable[[dict[str, Any]], None]) -> None:
    for a in anns:
        fn(a)


def spelled(
    gt_edit: Callable[[dict[str, Any]], None] | None = None,
    dt_edit: Callable[[dict[str, Any]], None] | None = None,
    *,
    build: str = "loadRes",
) -> Build:
    def make(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
        gt, dt = copy.deepcopy(gt), copy.deepcopy(dt)
        if gt_edit is not None:
            each(gt["annotations"], gt_edit)
        if dt_edit is not None:
            each(dt, dt_edit)
        if build == "loadRes":
            return load_res(gt, dt)
        return indexed_results(gt, dt, masks=build == "indexed-segm")

    return make


def _set(key: str, fn: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def edit(a: dict[str, Any]) -> None:
        if key in a:
            a[key] = fn(a[key])

    return edit


def _rle(key: str, fn: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def edit(a: dict[str, Any]) -> None:
        seg = a.get("segmentation")
        if isinstance(seg, dict) and not isinstance(seg.get("counts"), list):
            seg[key] = fn(seg[key])

    return edit


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda a: a.pop(key, None)


def _ids_numpy(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    gt, dt = copy.deepcopy(gt), copy.deepcopy(dt)
    for rec in gt["images"] + gt["categories"]:
        rec["id"] = np.int64(rec["id"])
    for a in gt["annotations"] + dt:
        for k in ("id", "image_id", "category_id"):
            if k in a:
                a[k] = np.int64(a[k])
    return load_res(gt, dt)


def _numpy_nx7(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    rows = np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in dt], np.float64)
    return load_res(gt, rows)


def _dataset_edited(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    """Annotations dropped and a category changed after loading, then createIndex()."""
    coco_gt, coco_dt = load_res(gt, copy.deepcopy(dt))
    coco_gt.dataset["annotations"] = coco_gt.dataset["annotations"][::2]
    coco_gt.dataset["annotations"][0]["category_id"] = coco_gt.dataset["categories"][-1]["id"]
    coco_dt.dataset["annotations"] = coco_dt.dataset["annotations"][1:]
    quiet(coco_gt.createIndex)
    quiet(coco_dt.createIndex)
    return coco_gt, coco_dt


def _results_reassigned(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    """torchvision's evaluator: a COCOeval made once, cocoDt assigned later (here by the case)."""
    return load_res(gt, copy.deepcopy(dt))


def _empty_results(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    return coco_of(gt), quiet(COCO)[0]


def _no_annotations_indexed(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    return coco_of(gt), coco_of({"images": gt["images"], "categories": gt["categories"], "annotations": []})


def _duplicate_result_ids(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    """Two results with one id: pycocotools' index keeps the last for both."""
    coco_gt, coco_dt = indexed_results(gt, dt, masks=False)
    anns = coco_dt.dataset["annotations"]
    anns[1]["id"] = anns[0]["id"]
    quiet(coco_dt.createIndex)
    return coco_gt, coco_dt


def _unknown_results(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    """Results of a category the ground truth does not have (both drop them)."""
    dt = copy.deepcopy(dt)
    for d in dt[::3]:
        d["category_id"] = 999
    return load_res(gt, dt)


def _ignore_flag(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    """`ignore: 1` on ground truth: pycocotools overwrites it with iscrowd."""
    gt = copy.deepcopy(gt)
    for a in gt["annotations"][::2]:
        a["ignore"] = 1
    return load_res(gt, copy.deepcopy(dt))


def _results_without_area(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    coco_gt, coco_dt = indexed_results(gt, dt, masks=False)
    for a in coco_dt.dataset["annotations"]:
        del a["area"]
    return coco_gt, coco_dt


def _image_id_float(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[COCO, COCO]:
    dt = copy.deepcopy(dt)
    for d in dt:
        d["image_id"] = float(d["image_id"])
    return load_res(gt, dt)


SPELLINGS: dict[str, tuple[str, Build]] = {
    # ids, boxes, scores, areas, flags
    "ids as numpy ints": ("bbox", _ids_numpy),
    "ids as numpy ints, segm": ("segm", _ids_numpy),
    "gt bbox as numpy float64": ("bbox", spelled(_set("bbox", lambda b: np.array(b, np.float64)))),
    "dt bbox as numpy float32": (
        "bbox",
        spelled(None, _set("bbox", lambda b: np.array(b, np.float32)), build="indexed-bbox"),
    ),
    "dt bbox as list of numpy scalars": (
        "bbox",
        spelled(None, _set("bbox", lambda b: [np.float32(v) for v in b])),
    ),
    "gt bbox as tuple (refused)": ("bbox", spelled(_set("bbox", tuple))),
    "dt bbox of 5 numbers (refused)": ("bbox", spelled(None, _set("bbox", lambda b: [*b, 1.0]))),
    "scores as numpy float32": ("bbox", spelled(None, _set("score", np.float32))),
    "scores as 0-d arrays": ("bbox", spelled(None, _set("score", lambda s: np.array(s)))),
    "scores as str (refused)": ("bbox", spelled(None, _set("score", str), build="indexed-bbox")),
    "gt area as numpy float32": ("bbox", spelled(_set("area", np.float32))),
    "iscrowd as bool": ("bbox", spelled(_set("iscrowd", bool))),
    "iscrowd as numpy int": ("segm", spelled(_set("iscrowd", np.int64))),
    "gt without iscrowd (refused)": ("bbox", spelled(_drop("iscrowd"))),
    "gt without area (refused)": ("bbox", spelled(_drop("area"))),
    "results without score (refused)": ("bbox", spelled(None, _drop("score"), build="indexed-bbox")),
    "results without area (refused)": ("bbox", _results_without_area),
    "image ids as floats in results": ("bbox", _image_id_float),
    # how the results COCO is made
    "results as numpy Nx7 for loadRes": ("bbox", _numpy_nx7),
    "results COCO from createIndex, bbox": ("bbox", spelled(build="indexed-bbox")),
    "results COCO from createIndex, segm without bbox": ("segm", spelled(build="indexed-segm")),
    "dataset edited, then createIndex": ("bbox", _dataset_edited),
    "dataset edited, then createIndex, segm": ("segm", _dataset_edited),
    "results COCO assigned after construction": ("bbox", _results_reassigned),
    "empty COCO() as results": ("bbox", _empty_results),
    "results COCO with no annotations": ("segm", _no_annotations_indexed),
    "duplicate result ids": ("bbox", _duplicate_result_ids),
    "results of an unknown category": ("bbox", _unknown_results),
    "ground truth with ignore flags": ("bbox", _ignore_flag),
    # RLE spellings
    "dt RLE size as tuple": ("segm", spelled(None, _rle("size", tuple))),
    "gt RLE size as tuple": ("segm", spelled(_rle("size", tuple))),
    "dt RLE size as numpy array": ("segm", spelled(None, _rle("size", np.array))),
    "dt RLE counts as bytes": ("segm", spelled(None, _rle("counts", str.encode))),
    "gt RLE counts as bytes": (
        "segm",
        spelled(_rle("counts", lambda c: c.encode() if isinstance(c, str) else c)),
    ),
    "dt RLE size tuple, counts bytes, createIndex": (
        "segm",
        spelled(
            None, lambda a: (_rle("size", tuple)(a), _rle("counts", str.encode)(a)), build="indexed-segm"
        ),
    ),
    "gt polygons as numpy arrays": (
        "segm",
        spelled(_set("segmentation", lambda s: [np.array(p) for p in s] if isinstance(s, list) else s)),
    ),
    "dt segmentation missing (refused)": ("segm", spelled(None, _drop("segmentation"), build="indexed-bbox")),
}


def _outcome(
    cls: type, iou_type: str, build: Build, data: tuple[Any, Any]
) -> tuple[Any, BaseException | None]:
    def go() -> Any:
        coco_gt, coco_dt = build(*data)
        ev = cls(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return ev

    try:
        return quiet(go)[0], None
    except Exception as err:  # noqa: BLE001 (compared with pycocotools' below)
        return None, err


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_spelling_equals_pycocotools_or_is_refused_alike(name: str) -> None:
    iou_type, build = SPELLINGS[name]
    data = random_coco(7, segm=iou_type == "segm")
    assert len(data[1]) > 20 and len(data[0]["annotations"]) > 10
    ref, ref_err = _outcome(ReferenceCOCOeval, iou_type, build, data)
    ours, our_err = _outcome(COCOeval, iou_type, build, data)
    if ref_err is not None:
        assert "(refused)" in name, ref_err
        assert isinstance(our_err, type(ref_err)), (our_err, ref_err)
        return
    assert "(refused)" not in name
    assert our_err is None, our_err
    assert_same_eval(ours, ref)
    assert_same_ious(ours.ious, ref.ious)
    assert_same_eval_imgs(ours.evalImgs, ref.evalImgs)


def test_table_has_thirty_spellings() -> None:
    assert len(SPELLINGS) >= 30


def _mask_case(dt_size: tuple[int, int]) -> tuple[COCO, COCO]:
    """Masks drawn at 10x10 on 640x640 images (mmdetection's and faster_coco_eval's tests)."""
    m = np.zeros((10, 10), np.uint8, order="F")
    m[2:7, 3:8] = 1
    rle = mask_utils.encode(m)
    rle["counts"] = rle["counts"].decode()
    d = np.zeros(dt_size, np.uint8, order="F")
    d[2:7, 3:8] = 1
    drle = mask_utils.encode(d)
    gt = {
        "images": [{"id": 1, "width": 640, "height": 640}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": rle,
                "area": 25.0,
                "bbox": [3, 2, 5, 5],
                "iscrowd": 0,
            }
        ],
    }
    return load_res(gt, [{"image_id": 1, "category_id": 1, "segmentation": drle, "score": 0.9}])


def test_mask_sizes_other_than_the_image_are_evaluated_with_a_warning() -> None:
    ref, _ = quiet(lambda: _run(ReferenceCOCOeval, *_mask_case((10, 10))))
    with pytest.warns(DataWarning, match="RLE size other than their image"):
        ours, _ = quiet(lambda: _run(COCOeval, *_mask_case((10, 10))))
    assert_same_eval(ours, ref)
    assert ours.ious[1, 1].tolist() == ref.ious[1, 1].tolist() == [[1.0]]
    assert ours.stats[0] == ref.stats[0] > 0.999


def test_mask_sizes_that_disagree_between_gt_and_results_are_refused() -> None:
    """pycocotools scores such a pair -1 (no match); detrecall refuses it and says which."""
    ref, _ = quiet(lambda: _run(ReferenceCOCOeval, *_mask_case((12, 10))))
    assert ref.ious[1, 1].tolist() == [[-1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(InputError, match=r"RLE size \[12, 10\] but ground truth 1 .* has \[10, 10\]"):
            quiet(lambda: _run(COCOeval, *_mask_case((12, 10))))


def _run(cls: type, coco_gt: COCO, coco_dt: COCO) -> Any:
    ev = cls(coco_gt, coco_dt, "segm")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev
