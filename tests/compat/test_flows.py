"""compat.COCOeval in the flows real clients use, equal to pycocotools: torchvision's reference
CocoEvaluator on model outputs (a COCOeval per process, evalImgs merged, then accumulate), for
bbox, segm and keypoints, through the installed torchvision's box_convert; params edited after
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
    run,
)
from tests.compat.test_keypoints import keypoint_case
from tests.oracle import random_coco


def _inputs(seed: int, segm: bool = False) -> tuple[Any, Any]:
    gt, dt = random_coco(seed, segm=segm)
    return (lambda: coco_of(gt)), (lambda coco: quiet(lambda: coco.loadRes(copy.deepcopy(dt)))[0])


# torchvision's reference evaluation (references/detection/coco_eval.py, CocoEvaluator; not in
# the torchvision package, so its flow is driven here step by step): every process keeps one
# COCOeval made without results; each batch of model outputs becomes COCO results (boxes back
# to xywh, masks thresholded at 0.5 and RLE-encoded, keypoints flattened), loaded with loadRes
# (an empty COCO() when there are none), assigned to cocoDt and evaluated on the batch's images;
# the evalImgs of all batches and processes are then laid side by side on the image axis, one
# column kept per image id (a distributed sampler repeats images to even out the processes),
# set on one evaluator with params.imgIds and _paramsEval, accumulated and summarized.


def _model_outputs(iou_type: str, seed: int) -> tuple[COCO, dict[Any, dict[str, Any]]]:
    """The ground truth and, per image, what a torchvision detection model returns: xyxy boxes,
    scores and labels as tensors, masks as (N, 1, H, W) probabilities, keypoints (N, K, 3);
    some images with no output at all."""
    import torch
    from torchvision.ops import box_convert

    if iou_type == "keypoints":
        gt, results, _ = keypoint_case(4 * seed)  # COCO's 17 sigmas
    else:
        gt, results = random_coco(600 + seed)
    coco_gt = coco_of(gt)
    rng = np.random.default_rng(seed)
    outputs: dict[Any, dict[str, Any]] = {}
    for img in gt["images"]:
        if iou_type == "segm":
            outputs[img["id"]] = _mask_outputs(coco_gt, img, rng)
            continue
        mine = [r for r in results if r["image_id"] == img["id"] and hash(r["image_id"]) % 4]
        out = {
            "scores": torch.tensor([r["score"] for r in mine], dtype=torch.float32),
            "labels": torch.tensor([r["category_id"] for r in mine], dtype=torch.int64),
        }
        if iou_type == "keypoints":
            kpts = torch.tensor([r["keypoints"] for r in mine], dtype=torch.float32)
            out["keypoints"] = kpts.reshape(len(mine), len(gt["categories"][0]["keypoints"]), 3)
        else:
            xywh = torch.tensor([r["bbox"] for r in mine], dtype=torch.float32).reshape(-1, 4)
            out["boxes"] = box_convert(xywh, "xywh", "xyxy")
        outputs[img["id"]] = out
    return coco_gt, outputs


def _mask_outputs(coco_gt: COCO, img: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Mask outputs for one image: most ground-truth masks shifted by a pixel or two (a few
    with another label), and a rectangle or two anywhere; scores on a coarse grid (ties)."""
    import torch

    h, w = img["height"], img["width"]
    masks, labels = [], []
    for a in coco_gt.imgToAnns[img["id"]]:
        if rng.uniform() < 0.8:
            shift = rng.integers(-2, 3, 2)
            masks.append(np.roll(coco_gt.annToMask(a), tuple(shift), axis=(0, 1)))
            labels.append(a["category_id"] if rng.uniform() < 0.9 else int(rng.choice(coco_gt.getCatIds())))
    for _ in range(int(rng.integers(0, 3))):
        m = np.zeros((h, w), np.uint8)
        x, y = rng.integers(0, w - 1), rng.integers(0, h - 1)
        m[y : y + int(rng.integers(2, 60)), x : x + int(rng.integers(2, 60))] = 1
        masks.append(m)
        labels.append(int(rng.choice(coco_gt.getCatIds())))
    probabilities = np.array(masks, np.float32).reshape(len(masks), 1, h, w) * 0.9
    return {
        "masks": torch.from_numpy(probabilities),
        "scores": torch.tensor(np.round(rng.uniform(size=len(masks)), 1), dtype=torch.float32),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }


def _coco_results(outputs: dict[Any, dict[str, Any]], iou_type: str) -> list[dict[str, Any]]:
    """A batch of model outputs as COCO results, converted the way the reference evaluator does."""
    from pycocotools import mask as mask_utils
    from torchvision.ops import box_convert

    results = []
    for image_id, out in outputs.items():
        if iou_type == "bbox":
            values = box_convert(out["boxes"], "xyxy", "xywh").tolist()
        elif iou_type == "segm":
            binary = (out["masks"] > 0.5).numpy().astype(np.uint8)
            values = [mask_utils.encode(np.asfortranarray(m[0])) for m in binary]
            for rle in values:
                rle["counts"] = rle["counts"].decode("utf-8")
        else:
            values = out["keypoints"].flatten(start_dim=1).tolist()
        field = {"bbox": "bbox", "segm": "segmentation", "keypoints": "keypoints"}[iou_type]
        for value, label, score in zip(values, out["labels"].tolist(), out["scores"].tolist()):
            results.append({"image_id": image_id, "category_id": label, field: value, "score": score})
    return results


def _process(
    cls: type, coco_gt: COCO, outputs: dict[Any, dict[str, Any]], batches: list[list[Any]], iou_type: str
) -> tuple[Any, list[Any], np.ndarray]:
    """One process: its evaluator, the image ids it evaluated, and their evalImgs as an object
    array (category, area range, image)."""
    ev = cls(copy.deepcopy(coco_gt), iouType=iou_type)
    ids: list[Any] = []
    tables = []
    for batch in batches:
        results = _coco_results({i: outputs[i] for i in batch}, iou_type)
        ev.cocoDt = quiet(lambda r=results: COCO.loadRes(ev.cocoGt, r))[0] if results else quiet(COCO)[0]
        ev.params.imgIds = sorted(set(batch))
        quiet(ev.evaluate)
        ids += list(ev.params.imgIds)
        tables.append(np.asarray(ev.evalImgs).reshape(-1, len(ev.params.areaRng), len(ev.params.imgIds)))
    return ev, ids, np.concatenate(tables, axis=2)


def _reference_flow(
    cls: type, coco_gt: COCO, outputs: dict[Any, dict[str, Any]], iou_type: str, processes: int = 2
) -> tuple[Any, str]:
    """The whole flow over `processes` processes with batches of two images; the first
    process's evaluator, after accumulate(), and what its summarize() printed."""
    ids = list(outputs)
    per_process = -(-len(ids) // processes)
    padded = ids + ids[: per_process * processes - len(ids)]  # the sampler's repeated images
    shards = [padded[k::processes] for k in range(processes)]
    done = [
        _process(cls, coco_gt, outputs, [s[b : b + 2] for b in range(0, len(s), 2)], iou_type) for s in shards
    ]
    ev = done[0][0]
    all_ids = np.concatenate([np.asarray(d[1]) for d in done])
    table = np.concatenate([d[2] for d in done], axis=2)
    unique_ids, first = np.unique(all_ids, return_index=True)
    ev.evalImgs = list(table[:, :, first].ravel())
    ev.params.imgIds = list(unique_ids)
    ev._paramsEval = copy.deepcopy(ev.params)
    quiet(ev.accumulate)
    _, printed = quiet(ev.summarize)
    return ev, printed


@pytest.mark.parametrize("seed", range(3, 8))  # 1 to 8 images (1: repeated on the second process)
@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_torchvision_reference_evaluation_equals_pycocotools(seed: int, iou_type: str) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    coco_gt, outputs = _model_outputs(iou_type, seed)
    ref, ref_printed = _reference_flow(ReferenceCOCOeval, coco_gt, outputs, iou_type)
    ours, our_printed = _reference_flow(COCOeval, coco_gt, outputs, iou_type)
    assert our_printed == ref_printed
    assert_same_eval(ours, ref)
    assert_same_eval_imgs(ours.evalImgs, ref.evalImgs)
    # and pycocotools' numbers for one evaluation of all results at once
    results = _coco_results(outputs, iou_type)
    whole, _ = run(
        ReferenceCOCOeval, lambda: coco_gt, lambda c: quiet(lambda: c.loadRes(results))[0], iou_type
    )
    np.testing.assert_allclose(ours.stats, whole.stats, atol=1e-12, rtol=0)
    assert len(ours.params.imgIds) == len(outputs) and 0 < whole.stats[0] < 1


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
