"""A drop-in for pycocotools' COCOeval, running on detrecall's engine.

    from pycocotools.coco import COCO
    from detrecall.compat import COCOeval      # instead of pycocotools.cocoeval
    E = COCOeval(coco_gt, coco_gt.loadRes("dt.json"), "bbox")
    E.evaluate(); E.accumulate(); E.summarize(); E.stats, E.eval["precision"]

or `detrecall.compat.install()` once, and existing `from pycocotools.cocoeval import COCOeval`
lines get this class. Same Params, same `eval` arrays and printed summary. Differences: the
id-0 quirk is not copied (see README), `evalImgs` is not built, keypoints are not supported.
"""

from __future__ import annotations

import datetime
import sys
import time
from typing import Any

import numpy as np

from .errors import DetrecallError
from .evaluate import Config, class_names, finish, match_batch
from .io._common import sort_rows
from .io.coco import read_coco_gt
from .options import IouType
from .protocols.coco import Coco, coco_metrics, make_params, metric_value
from .result import EvaluationResult
from .types import Accumulated, Detections, EvalParams


class Params:
    """pycocotools' detection Params, attribute for attribute."""

    def __init__(self, iouType: str = "segm") -> None:  # noqa: N803 (pycocotools' names)
        if iouType not in ("segm", "bbox"):
            raise DetrecallError(f"iouType {iouType!r} is not supported (bbox or segm)")
        self.imgIds: list[int] = []
        self.catIds: list[int] = []
        self.iouThrs = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
        self.recThrs = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
        self.maxDets = [1, 10, 100]
        self.areaRng: list[list[float]] = [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]]
        self.areaRngLbl = ["all", "small", "medium", "large"]
        self.useCats = 1
        self.iouType = iouType
        self.useSegm = None


def _loaded_detections(coco_dt: Any, masks: bool) -> Detections:
    """Detections from a pycocotools results object as loadRes left it (its areas and boxes)."""
    anns = coco_dt.dataset["annotations"]
    image_id = np.array([a["image_id"] for a in anns], np.int64)
    category_id = np.array([a["category_id"] for a in anns], np.int64)
    order = sort_rows(image_id, category_id)
    box = np.array([np.asarray(a["bbox"], np.float64) for a in anns]).reshape(-1, 4)
    rles = [coco_dt.annToRLE(anns[i]) for i in order.tolist()] if masks else None
    return Detections(
        image_id=image_id[order],
        category_id=category_id[order],
        box=box[order],
        area=np.array([a["area"] for a in anns], np.float64)[order],
        score=np.array([a["score"] for a in anns], np.float64)[order],
        masks=None if rles is None else tuple(rles),
        source="<loadRes results>",
    )


class COCOeval:
    """pycocotools.cocoeval.COCOeval's interface over detrecall (bbox and segm)."""

    def __init__(self, cocoGt: Any = None, cocoDt: Any = None, iouType: str = "segm") -> None:  # noqa: N803
        self.cocoGt, self.cocoDt = cocoGt, cocoDt
        self.params = Params(iouType=iouType)
        self.eval: dict[str, Any] = {}
        self.evalImgs: list[Any] = []
        self.stats: np.ndarray = np.zeros(0)
        self.result: EvaluationResult | None = None
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    def evaluate(self) -> None:
        tic = time.time()
        p = self.params
        print("Running per image evaluation...")
        print(f"Evaluate annotation type *{p.iouType}*")
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        params = make_params(
            iou_thresholds=p.iouThrs,
            recall_thresholds=p.recThrs,
            max_dets=p.maxDets,
            area_ranges={lbl: tuple(r) for lbl, r in zip(p.areaRngLbl, p.areaRng)},
            image_ids=p.imgIds,
            category_ids=p.catIds,
            class_agnostic=not p.useCats,
        )
        config = Config(iou_type=IouType.of(p.iouType), params=params, protocol=Coco())
        masks = p.iouType == "segm"
        gt = read_coco_gt(self.cocoGt.dataset, masks=masks, read_ignore=False)  # as pycocotools
        batch = match_batch(gt, _loaded_detections(self.cocoDt, masks), config)
        names = class_names(gt.categories, batch.coco.class_ids, params.class_agnostic)
        assert params.image_ids is not None  # always given: pycocotools' imgIds
        self.result = finish(config, batch, names, params.image_ids)
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def accumulate(self, p: Params | None = None) -> None:
        print("Accumulating evaluation results...")
        tic = time.time()
        if self.result is None:
            print("Please run evaluate() first")
            return
        acc = self.result.accumulated
        assert acc is not None  # COCO accumulates
        self.eval = {
            "params": self.params if p is None else p,
            "counts": list(acc.precision.shape),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": np.array(acc.precision),
            "recall": np.array(acc.recall),
            "scores": np.array(acc.scores),
        }
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def summarize(self) -> None:
        """The 12 numbers and lines of pycocotools' summarize(), for the params as they are now."""
        if not self.eval:
            raise Exception("Please run accumulate() first")
        p = self.params
        p.maxDets[2]  # noqa: B018  (pycocotools indexes maxDets[2]: an IndexError with fewer)
        params = EvalParams(
            iou_thresholds=np.asarray(p.iouThrs, np.float64),
            recall_thresholds=np.asarray(p.recThrs, np.float64),
            area_ranges=np.asarray(p.areaRng, np.float64).reshape(-1, 2),
            area_labels=tuple(p.areaRngLbl),
            max_dets=tuple(p.maxDets),
        )
        acc = Accumulated(
            precision=np.array(self.eval["precision"]),
            recall=np.array(self.eval["recall"]),
            scores=np.array(self.eval["scores"]),
        )
        stats = []
        for d in coco_metrics(params):
            value = metric_value(d, acc, params)
            print(f" {d.label()} = {value:0.3f}")
            stats.append(value)
        self.stats = np.array(stats)

    def __str__(self) -> str:
        self.summarize()
        return ""


def install() -> None:
    """Make `pycocotools.cocoeval.COCOeval` (and Params) resolve to detrecall's, from now on."""
    import pycocotools
    import pycocotools.cocoeval as original

    module = sys.modules[__name__]
    original.COCOeval = COCOeval  # for modules that imported it already
    original.Params = Params
    sys.modules["pycocotools.cocoeval"] = module
    pycocotools.cocoeval = module
