"""compat.COCOeval in the flows real clients use, equal to pycocotools: torchvision's reference
CocoEvaluator (a COCOeval per image shard, evalImgs merged, then accumulate), params edited after
construction and between evaluate() calls, accumulate(p) with other parameters, evalImgs read
before accumulate(), and Params values pycocotools accepts or refuses."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval as ReferenceCOCOeval

from detrecall.compat import COCOeval
from tests.compat._reference import (
    assert_same_eval,
    assert_same_eval_imgs,
    assert_same_run,
    coco_of,
    quiet,
)
from tests.oracle import random_coco


def _inputs(seed: int, segm: bool = False) -> tuple[Any, Any]:
    gt, dt = random_coco(seed, segm=segm)
    return (lambda: coco_of(gt)), (lambda coco: quiet(lambda: coco.loadRes(copy.deepcopy(dt)))[0])


# torchvision's references/detection/coco_eval.py, its functions as they are there
def _tv_evaluate(imgs: Any) -> tuple[list[Any], np.ndarray]:
    quiet(imgs.evaluate)
    return imgs.params.imgIds, np.asarray(imgs.evalImgs).reshape(
        -1, len(imgs.params.areaRng), len(imgs.params.imgIds)
    )


def _tv_merge(img_ids: list[Any], eval_imgs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    all_img_ids = [img_ids]  # all_gather on one process
    all_eval_imgs = [eval_imgs]
    merged_img_ids: list[Any] = []
    for p in all_img_ids:
        merged_img_ids.extend(p)
    merged_eval_imgs = []
    for p in all_eval_imgs:
        merged_eval_imgs.append(p)
    merged_ids = np.array(merged_img_ids)
    merged = np.concatenate(merged_eval_imgs, 2)
    merged_ids, idx = np.unique(merged_ids, return_index=True)
    return merged_ids, merged[..., idx]


def _tv_create_common_coco_eval(coco_eval: Any, img_ids: list[Any], eval_imgs: list[np.ndarray]) -> None:
    ids, merged = _tv_merge(img_ids, eval_imgs)
    coco_eval.evalImgs = list(merged.flatten())
    coco_eval.params.imgIds = list(ids)
    coco_eval._paramsEval = copy.deepcopy(coco_eval.params)


def _coco_evaluator(
    cls: type, coco_gt: COCO, results: list[dict[str, Any]], iou_type: str, shards: int
) -> Any:
    """CocoEvaluator: one COCOeval made without results, each shard's results loaded with
    loadRes (or an empty COCO()), its images evaluated; then synchronize, accumulate, summarize."""
    coco_gt = copy.deepcopy(coco_gt)
    coco_eval = cls(coco_gt, iouType=iou_type)
    all_ids: list[Any] = []
    eval_imgs = []
    ids = np.array(sorted(coco_gt.getImgIds()))
    for shard in np.array_split(ids, min(shards, len(ids))):  # every process has images
        img_ids = list(np.unique(shard.tolist()))
        all_ids.extend(img_ids)
        chosen = [copy.deepcopy(r) for r in results if r["image_id"] in set(shard.tolist())]
        coco_dt = quiet(lambda chosen=chosen: COCO.loadRes(coco_gt, chosen))[0] if chosen else quiet(COCO)[0]
        coco_eval.cocoDt = coco_dt
        coco_eval.params.imgIds = list(img_ids)
        _, e = _tv_evaluate(coco_eval)
        eval_imgs.append(e)
    eval_imgs_all = np.concatenate(eval_imgs, 2)
    _tv_create_common_coco_eval(coco_eval, all_ids, eval_imgs_all)
    quiet(coco_eval.accumulate)
    quiet(coco_eval.summarize)
    return coco_eval


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_torchvision_coco_evaluator_equals_pycocotools(seed: int, iou_type: str) -> None:
    gt, results = random_coco(500 + seed, segm=iou_type == "segm")
    # some images without any result: their shard gets an empty COCO()
    results = [r for r in results if hash(r["image_id"]) % 5]
    coco_gt = coco_of(gt)
    ref = _coco_evaluator(ReferenceCOCOeval, coco_gt, results, iou_type, shards=3)
    ours = _coco_evaluator(COCOeval, coco_gt, results, iou_type, shards=3)
    assert_same_eval(ours, ref)
    assert_same_eval_imgs(ours.evalImgs, ref.evalImgs)
    # and equal to one evaluation of everything
    whole = _coco_evaluator(ReferenceCOCOeval, coco_gt, results, iou_type, shards=1)
    np.testing.assert_allclose(ours.stats, whole.stats, atol=1e-12, rtol=0)


def _params(**values: Any) -> Any:
    def setup(p: Any) -> None:
        for k, v in values.items():
            setattr(p, k, copy.deepcopy(v))

    return setup


@pytest.mark.parametrize(
    "edit",
    [
        {"maxDets": [1, 5, 20]},
        {"maxDets": [100, 1, 10]},  # sorted by evaluate()
        {"iouThrs": np.array([0.1, 0.5, 0.9])},
        {"iouThrs": np.array([0.5, 1.0, 1.5])},  # capped at 1 - 1e-10 in both
        {"recThrs": np.linspace(0, 1, 11)},
        {"recThrs": np.array([0.9, 0.1, 0.5])},  # unsorted: pycocotools' fill stops at the first miss
        {"recThrs": []},
        {"areaRng": [[0, 1e10], [0, 500], [500, 1e10]], "areaRngLbl": ["all", "small", "large"]},
        {"areaRng": [[0, 1e10], [0, 1e10]], "areaRngLbl": ["all", "all"]},  # duplicate ranges
        {"areaRng": [], "areaRngLbl": []},
        {"useCats": 0},
        {"useCats": False, "catIds": []},
        {"useCats": 0, "catIds": "reversed"},  # concatenated in this order by pycocotools
        {"imgIds": "half"},
        {"catIds": "first"},
        {"imgIds": [123456789]},  # an image without annotations
        {"imgIds": []},
        {"maxDets": [1, 10, 100, 100]},
    ],
)
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_params_edited_after_construction(edit: dict[str, Any], iou_type: str) -> None:
    gt, dt = _inputs(42, segm=iou_type == "segm")

    def setup(p: Any) -> None:
        for k, v in edit.items():
            if isinstance(v, str) and v == "half":
                v = p.imgIds[::2]
            elif isinstance(v, str) and v == "first":
                v = p.catIds[:1]
            elif isinstance(v, str) and v == "reversed":
                v = p.catIds[::-1]
            setattr(p, k, copy.deepcopy(v))

    assert_same_run(gt, dt, iou_type, setup)


def _errors(setup: Any, iou_type: str = "bbox", steps: Any = None) -> tuple[BaseException, BaseException]:
    gt, dt = _inputs(43, segm=iou_type == "segm")
    caught = []
    for cls in (ReferenceCOCOeval, COCOeval):
        with pytest.raises(Exception) as info:  # noqa: PT011 (the type is compared below)
            quiet(lambda cls=cls: _evaluate_all(cls, gt, dt, iou_type, setup, steps))
        caught.append(info.value)
    return caught[0], caught[1]


def _evaluate_all(cls: type, gt: Any, dt: Any, iou_type: str, setup: Any, steps: Any) -> None:
    coco_gt = gt()
    ev = cls(coco_gt, dt(coco_gt), iou_type)
    setup(ev.params)
    if steps is not None:
        steps(ev)
        return
    ev.evaluate()
    ev.accumulate()
    ev.summarize()


@pytest.mark.parametrize(
    "edit",
    [
        {"iouThrs": []},
        {"iouThrs": np.array([])},
        {"maxDets": []},
        {"maxDets": [1, 10]},  # summarize() reads maxDets[2]
        {"areaRng": []},  # labels left: summarize() indexes a range that is not there
    ],
)
def test_params_pycocotools_refuses_raise_the_same_exception(edit: dict[str, Any]) -> None:
    ref, ours = _errors(_params(**edit))
    assert type(ours) is type(ref), (ours, ref)


def test_accumulate_and_summarize_before_evaluate_raise_as_pycocotools() -> None:
    for steps in (lambda ev: ev.accumulate(), lambda ev: ev.summarize()):
        ref, ours = _errors(lambda p: None, steps=steps)
        assert type(ours) is type(ref) and str(ours) == str(ref)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_params_edited_between_evaluate_calls(iou_type: str) -> None:
    """torchmetrics' per-class loop: one COCOeval, catIds changed, evaluate() again."""
    gt, dt = _inputs(44, segm=iou_type == "segm")

    def steps(ev: Any) -> None:
        stats = []
        cats = list(ev.params.catIds)
        for c in [*cats, cats[0]]:
            ev.params.catIds = [c]
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            stats.append(ev.stats)
        ev.params.catIds = cats
        ev.params.imgIds = ev.params.imgIds[1:]
        ev.params.maxDets = [2, 4, 8]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        ev.per_class_stats = stats

    ours, ref = assert_same_run(gt, dt, iou_type, steps=steps)
    np.testing.assert_allclose(ours.per_class_stats, ref.per_class_stats, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "edit",
    [
        {"recThrs": np.linspace(0, 1, 21)},
        {"maxDets": [1, 10]},
        {"maxDets": [10, 100, 1]},  # not sorted: pycocotools' m_list indexing as it is
        {"catIds": "first"},
        {"imgIds": "half"},
        {"areaRng": [[32**2, 96**2], [0, 1e10]], "areaRngLbl": ["medium", "all"]},
        {"useCats": 0},
    ],
)
def test_accumulate_with_other_params(edit: dict[str, Any]) -> None:
    """accumulate(p): pycocotools reads evalImgs at the indices p's values map to."""
    gt, dt = _inputs(45)

    def steps(ev: Any) -> None:
        ev.evaluate()
        p = copy.deepcopy(ev.params)
        for k, v in edit.items():
            if isinstance(v, str) and v == "half":
                v = p.imgIds[::2]
            elif isinstance(v, str) and v == "first":
                v = p.catIds[:1]
            setattr(p, k, copy.deepcopy(v))
        ev.accumulate(p)
        ev.eval_arrays = {k: ev.eval[k] for k in ("precision", "recall", "scores")}

    ours, ref = assert_same_run(gt, dt, "bbox", steps=steps, attributes=False)
    for k, v in ref.eval_arrays.items():
        np.testing.assert_allclose(ours.eval_arrays[k], v, atol=1e-12, rtol=0, err_msg=k)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_eval_imgs_read_or_edited_before_accumulate(iou_type: str) -> None:
    """Reading evalImgs, or editing them, before accumulate(): pycocotools' accumulation over them."""
    gt, dt = _inputs(46, segm=iou_type == "segm")

    def steps(ev: Any) -> None:
        ev.evaluate()
        e = ev.evalImgs
        first = next(i for i, x in enumerate(e) if x is not None and len(x["dtIds"]))
        e[first]["dtScores"] = [s * 0.5 for s in e[first]["dtScores"]]
        e[first]["dtIgnore"][:] = True
        ev.accumulate()
        ev.summarize()

    assert_same_run(gt, dt, iou_type, steps=steps)


def test_use_segm_deprecated_switch() -> None:
    gt, dt = _inputs(47, segm=True)
    assert_same_run(gt, dt, "bbox", _params(useSegm=1))


def test_accumulate_with_fewer_iou_thresholds_raises_as_pycocotools() -> None:
    def steps(ev: Any) -> None:
        ev.evaluate()
        p = copy.deepcopy(ev.params)
        p.iouThrs = np.array([0.5, 0.75])
        ev.accumulate(p)

    ref, ours = _errors(lambda p: None, steps=steps)
    assert type(ours) is type(ref) is IndexError
