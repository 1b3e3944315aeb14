"""NaN scores, which pycocotools' loadRes accepts, give pycocotools' numbers through compat."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
from numpy.testing import assert_allclose
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detrecall.compat import COCOeval as CompatCOCOeval
from tests.oracle import random_coco


def _stats(cls: type, gt: dict, dt: list) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        e = cls(coco, coco.loadRes(copy.deepcopy(dt)), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return np.asarray(e.stats)


def test_nan_scores_from_512_detections_equal_pycocotools() -> None:
    gt, dt = random_coco(7)
    while len(dt) < 1200:  # past the radix sort's threshold
        dt = dt + [dict(d, score=d["score"] * 0.5) for d in dt]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(dt), len(dt) // 5, replace=False):
        dt[int(i)] = dict(dt[int(i)], score=float("nan"))
    assert_allclose(_stats(CompatCOCOeval, gt, dt), _stats(COCOeval, gt, dt), atol=1e-12, rtol=0)
