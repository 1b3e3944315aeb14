"""`evaluate`: read, compute IoUs, match, accumulate, summarize — the whole flow in one call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .aggregate import accumulate
from .errors import DetrecallError
from .geometry.boxes import box_iou_pairs
from .geometry.masks import mask_iou
from .io.coco import read_coco_gt, read_coco_results
from .matching import Plan, match, plan
from .protocols.coco import ClassMetrics, CocoSummary, make_params, per_class, summarize
from .types import Accumulated, Dataset, Detections, EvalParams, Matches

IouType = Literal["bbox", "segm"]


@dataclass(frozen=True)
class EvaluationResult:
    """Everything one evaluation produced.

    `coco`: the 12 summary numbers; `per_class`: AP, AP50, AP75, AR100 per category;
    `accumulated`: pycocotools' precision/recall/scores arrays; `matches`: the matcher output.
    """

    iou_type: str
    params: EvalParams
    coco: CocoSummary
    per_class: tuple[ClassMetrics, ...]
    accumulated: Accumulated
    matches: Matches

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `coco` maps the 12 names to numbers (None where undefined)."""
        return {
            "iou_type": self.iou_type,
            "coco": self.coco.to_dict(),
            "per_class": [c.to_dict() for c in self.per_class],
            "params": {
                "iou_thresholds": self.params.iou_thresholds.tolist(),
                "max_dets": list(self.params.max_dets),
                "area_ranges": {
                    lbl: self.params.area_ranges[i].tolist()
                    for i, lbl in enumerate(self.params.area_labels)
                },
                "class_agnostic": self.params.class_agnostic,
            },
        }


def pair_ious(iou_type: str, p: Plan, gt: Dataset, dt: Detections) -> np.ndarray:
    """IoU of every planned (detection, ground truth) pair, in plan order."""
    if iou_type == "bbox":
        g = p.gt_rows[p.pair_gt]
        return box_iou_pairs(dt.box[p.dt_rows[p.pair_dt]], gt.box[g], gt.iscrowd[g])
    assert gt.masks is not None and dt.masks is not None
    out = np.empty(len(p.pair_dt))
    at = 0
    for d0, nd, g0, ng in p.blocks.tolist():
        gt_rows = p.gt_rows[g0 : g0 + ng]
        iou = mask_iou(
            [dt.masks[r] for r in p.dt_rows[d0 : d0 + nd].tolist()],
            [gt.masks[r] for r in gt_rows.tolist()],
            gt.iscrowd[gt_rows],
        )
        out[at : at + nd * ng] = iou.ravel()
        at += nd * ng
    return out


def evaluate(
    gt: str | Any | Dataset,
    dt: str | Any | Detections,
    iou_type: IouType = "bbox",
    *,
    iou_thresholds: Iterable[float] | None = None,
    max_dets: Iterable[int] | None = None,
    area_ranges: Mapping[str, Sequence[float]] | None = None,
    image_ids: Iterable[int] | None = None,
    category_ids: Iterable[int] | None = None,
    class_agnostic: bool = False,
) -> EvaluationResult:
    """Evaluate detections against ground truth with COCO semantics (pycocotools' numbers).

    gt: a COCO instances file (path), its parsed dict, or a Dataset.
    dt: a COCO results file (path), its parsed list, or Detections.
    iou_type: "bbox" (boxes) or "segm" (masks).
    iou_thresholds, max_dets, area_ranges ({label: (low, high)}), image_ids, category_ids:
    pycocotools' Params, its defaults when not given. class_agnostic: pycocotools' useCats=0.
    """
    if iou_type not in ("bbox", "segm"):
        raise DetrecallError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    masks = iou_type == "segm"
    if not isinstance(gt, Dataset):
        gt = read_coco_gt(gt, masks=masks)
    if not isinstance(dt, Detections):
        dt = read_coco_results(dt, gt, masks=masks)
    if masks and (gt.masks is None or dt.masks is None):
        raise DetrecallError("iou_type='segm' needs masks in both ground truth and detections")
    params = make_params(
        iou_thresholds=iou_thresholds, max_dets=max_dets, area_ranges=area_ranges,
        image_ids=image_ids, category_ids=category_ids, class_agnostic=class_agnostic,
    )
    p = plan(gt, dt, params)
    matches = match(
        p, pair_ious(iou_type, p, gt, dt), gt, dt, iou_thresholds=params.iou_thresholds,
        area_ranges=params.area_ranges, max_det=params.max_dets[-1],
    )
    acc = accumulate(matches, params)
    if params.class_agnostic:
        names: Sequence[str] = ("all",)
    else:
        names = [gt.categories.name_of(int(c)) for c in matches.class_ids]
    return EvaluationResult(
        iou_type=iou_type, params=params, coco=summarize(acc, params),
        per_class=per_class(acc, params, matches.class_ids, names),
        accumulated=acc, matches=matches,
    )

