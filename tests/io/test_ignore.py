"""The Dataset's `ignore` column (VOC's difficult, a COCO `ignore: 1`): matched like COCO's
ignored ground truth. Oracle: pycocotools with its `gt['ignore']` flag honoured (stock
pycocotools overwrites it with iscrowd, so the flag rides in another key here)."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detrecall import evaluate
from detrecall.compat import COCOeval as CompatCOCOeval
from detrecall.io import coco
from tests.oracle import random_coco, reference


class _HonouringIgnore(COCOeval):
    def _prepare(self) -> None:
        super()._prepare()
        for gts in self._gts.values():
            for g in gts:
                g["ignore"] = int(bool(g["ignore"]) or bool(g.get("flag_ignore", 0)))


def _reference(gt: dict, dt: list, iou_type: str = "bbox") -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        for a in coco_gt.dataset["annotations"]:
            a["flag_ignore"] = a.pop("ignore", 0)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt))
        ev = _HonouringIgnore(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _flag_some(gt: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed + 1000)
    out = copy.deepcopy(gt)
    for a in out["annotations"]:
        if rng.random() < 0.3:
            a["ignore"] = 1
    return out


@pytest.mark.parametrize("seed", [*range(23), 24, 25])  # seed 23 draws no detection
def test_ignore_equals_pycocotools_honouring_the_flag(seed: int) -> None:
    gt, dt = random_coco(seed)
    assert dt
    gt = _flag_some(gt, seed)
    ref = _reference(gt, dt)
    r = evaluate(gt, dt)
    assert_allclose(r.coco.stats, ref.stats, atol=1e-12, rtol=0)
    assert_allclose(r.accumulated.precision, ref.eval["precision"], atol=1e-12, rtol=0)


@pytest.mark.parametrize("seed", range(4))
def test_ignore_in_segm_equals_pycocotools_honouring_the_flag(seed: int) -> None:
    gt, dt = random_coco(seed, segm=True)
    if not dt:
        pytest.skip("no detections")
    gt = _flag_some(gt, seed)
    assert_allclose(evaluate(gt, dt, "segm").coco.stats, _reference(gt, dt, "segm").stats, atol=1e-12)


def test_pycocotools_own_reading_is_kept_by_read_ignore_false_and_compat() -> None:
    gt, dt = random_coco(3)
    gt = _flag_some(gt, 3)
    plain = reference(gt, dt)  # stock pycocotools: the flag has no effect
    ds = coco.read_ground_truth(gt, read_ignore=False)
    assert not ds.ignore.any()
    assert_allclose(evaluate(ds, dt).coco.stats, plain.stats, atol=1e-12)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = CompatCOCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(dt)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert_allclose(ev.stats, plain.stats, atol=1e-12)


def test_ignored_ground_truth_at_the_operating_point_by_hand() -> None:
    # g0 normal, g1 ignored. d0 on g1 (ignored: neither TP nor FP), d1 on g0 (TP), d2 nowhere (FP).
    # Unlike a crowd, an ignored object takes one detection: d3, a second one on g1, is an FP.
    gt = {
        "images": [{"id": 1, "width": 200, "height": 200}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 100, "ignore": 1},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": b, "score": s}
        for b, s in (
            ([50, 50, 10, 10], 0.9),
            ([0, 0, 10, 10], 0.8),
            ([100, 100, 5, 5], 0.7),
            ([51, 50, 10, 10], 0.6),
        )
    ]
    c = evaluate(gt, dt).point.per_class[0]
    assert (c.tp, c.fp, c.fn, c.support) == (1, 2, 0, 1)
    crowd = copy.deepcopy(gt)
    crowd["annotations"][1] = {**crowd["annotations"][1], "iscrowd": 1}
    del crowd["annotations"][1]["ignore"]
    c = evaluate(crowd, dt).point.per_class[0]
    assert (c.tp, c.fp, c.fn) == (1, 1, 0)  # the crowd absorbs both detections on it


def test_ignored_ground_truth_is_difficult_for_the_voc_protocol() -> None:
    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 100, "ignore": 1},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.8},
    ]
    c = evaluate(gt, dt, protocol="voc").voc.classes[0]
    assert (c.npos, c.tp, c.fp, c.ap) == (1, (1,), (0,), (1.0,))
