"""compat.COCOeval(iouType="boundary") against faster-coco-eval's COCOeval_faster boundary:
ious, eval's precision and recall, the 12 stats, on random mask cases (polygons, RLEs, crowds)."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np
import pytest
from faster_coco_eval import COCO as FasterCOCO
from faster_coco_eval import COCOeval_faster
from numpy.testing import assert_allclose

from detrecall.compat import COCOeval
from tests.compat._reference import coco_of
from tests.oracle import random_coco


def faster_coco_eval(gt: dict, dt: list, ratio: float) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = FasterCOCO(copy.deepcopy(gt))
        ev = COCOeval_faster(
            coco_gt, coco_gt.loadRes(copy.deepcopy(dt)), "boundary", boundary_dilation_ratio=ratio
        )
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def compat(gt: dict, dt: list, ratio: float) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_of(gt)
        ev = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(dt)), "boundary", boundary_dilation_ratio=ratio)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize(("seed", "ratio"), [(0, 0.02), (1, 0.02), (2, 0.02), (4, 0.05), (6, 0.01)])
def test_boundary_equals_faster_coco_eval(seed: int, ratio: float) -> None:
    gt, dt = random_coco(seed, segm=True)
    ours, ref = compat(gt, dt, ratio), faster_coco_eval(gt, dt, ratio)
    assert_allclose(ours.stats, np.asarray(ref.stats[:12]), atol=1e-9, rtol=0)
    assert_allclose(ours.eval["precision"], ref.eval["precision"], atol=1e-9, rtol=0)
    assert_allclose(ours.eval["recall"], ref.eval["recall"], atol=1e-9, rtol=0)
    compared = 0
    for key, theirs in ref.ious.items():
        mine = np.asarray(ours.ious[key])
        if len(theirs) == 0:  # no detection or no ground truth there
            assert mine.size == 0
            continue
        assert_allclose(mine, theirs, atol=1e-12, rtol=0)
        compared += 1
    assert compared > 0


def test_boundary_is_not_segm() -> None:
    gt, dt = random_coco(0, segm=True)
    boundary = compat(gt, dt, 0.02)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_of(gt)
        segm = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(dt)), "segm")
        segm.evaluate()
    assert any(
        len(segm.ious[k]) and np.any(np.asarray(boundary.ious[k]) < np.asarray(segm.ious[k]))
        for k in segm.ious
    )
