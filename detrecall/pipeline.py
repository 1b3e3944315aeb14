"""`evaluate`: read, compute IoUs, match, accumulate, summarize — the whole flow in one call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from .aggregate import ZeroDivision, accumulate
from .errors import DetrecallError
from .geometry.boxes import box_iou_pairs
from .geometry.masks import mask_iou
from .io.coco import read_coco_gt, read_coco_results
from .matching import Plan, match, plan
from .protocols.coco import ClassMetrics, CocoSummary, make_params, per_class, summarize
from .protocols.point import (
    FP,
    TP,
    PointResult,
    check_point_args,
    confusion_matrix,
    detection_status,
    operating_point,
)
from .types import Accumulated, Categories, Dataset, Detections, EvalParams, Matches

IouType = Literal["bbox", "segm"]


@dataclass(frozen=True)
class EvaluationResult:
    """Everything one evaluation produced.

    `coco`: the 12 summary numbers; `per_class`: AP, AP50, AP75, AR100 per category;
    `point`: TP/FP/FN, precision, recall, F1 at one IoU and score threshold;
    `accumulated`: pycocotools' precision/recall/scores arrays; `matches`: the matcher output;
    `point_matches`: the matcher output at the operating point's IoU; `image_ids`: the images
    evaluated (ascending), with or without annotations; both kept for the bootstrap.
    """

    iou_type: str
    params: EvalParams
    coco: CocoSummary
    per_class: tuple[ClassMetrics, ...]
    accumulated: Accumulated
    matches: Matches
    point: PointResult
    point_matches: Matches | None = None
    image_ids: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `coco` maps the 12 names to numbers (None where undefined)."""
        return {
            "iou_type": self.iou_type,
            "coco": self.coco.to_dict(),
            "per_class": [c.to_dict() for c in self.per_class],
            "point": self.point.to_dict(),
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


@dataclass(frozen=True)
class Config:
    """Everything an evaluation is asked for, validated: COCO params and the operating point."""

    iou_type: str
    params: EvalParams
    iou_threshold: float = 0.5
    score_threshold: float = 0.0
    beta: float = 1.0
    zero_division: ZeroDivision = 0
    target_recall: float | None = None
    target_precision: float | None = None
    confusion: bool = False
    cost: Mapping[str, float] | None = None
    point_max_det: int | None = None  # None: every detection counts at the operating point


def make_config(
    iou_type: IouType = "bbox",
    *,
    iou_thresholds: Iterable[float] | None = None,
    max_dets: Iterable[int] | None = None,
    area_ranges: Mapping[str, Sequence[float]] | None = None,
    image_ids: Iterable[int] | None = None,
    category_ids: Iterable[int] | None = None,
    class_agnostic: bool = False,
    iou_threshold: float = 0.5,
    score_threshold: float = 0.0,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    target_recall: float | None = None,
    target_precision: float | None = None,
    confusion: bool = False,
    cost: Mapping[str, float] | None = None,
) -> Config:
    """A checked Config from `evaluate`'s keyword arguments (see there)."""
    if iou_type not in ("bbox", "segm"):
        raise DetrecallError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    check_point_args(iou_threshold, score_threshold, beta, zero_division,
                     (target_recall, target_precision))
    params = make_params(
        iou_thresholds=iou_thresholds, max_dets=max_dets, area_ranges=area_ranges,
        image_ids=image_ids, category_ids=category_ids, class_agnostic=class_agnostic,
    )
    return Config(
        iou_type=iou_type, params=params, iou_threshold=float(iou_threshold),
        score_threshold=float(score_threshold), beta=float(beta), zero_division=zero_division,
        target_recall=target_recall, target_precision=target_precision, confusion=bool(confusion),
        cost=None if cost is None else dict(cost),
        point_max_det=None if max_dets is None else params.max_dets[-1],
    )


def read_inputs(gt: Any, dt: Any, iou_type: str) -> tuple[Dataset, Detections]:
    """Dataset and Detections from files, parsed JSON, or themselves."""
    masks = iou_type == "segm"
    if not isinstance(gt, Dataset):
        gt = read_coco_gt(gt, masks=masks)
    if not isinstance(dt, Detections):
        dt = read_coco_results(dt, gt, masks=masks)
    if masks and (gt.masks is None or dt.masks is None):
        raise DetrecallError("iou_type='segm' needs masks in both ground truth and detections")
    return gt, dt


@dataclass(frozen=True)
class BatchMatches:
    """The matcher's output for a set of whole images: all a later summary needs."""

    coco: Matches  # at the COCO thresholds and area ranges, max_dets[-1] per image and class
    point: Matches  # at the operating point's IoU, one unbounded area range
    confusion: np.ndarray | None


def match_batch(gt: Dataset, dt: Detections, config: Config) -> BatchMatches:
    """One plan and one IoU pass, matched for COCO and for the operating point."""
    params = config.params
    p = plan(gt, dt, params)
    iou = pair_ious(config.iou_type, p, gt, dt)
    coco = match(p, iou, gt, dt, iou_thresholds=params.iou_thresholds,
                 area_ranges=params.area_ranges, max_det=params.max_dets[-1])
    at_point = match(p, iou, gt, dt, iou_thresholds=np.array([config.iou_threshold], np.float64),
                     area_ranges=_EVERYWHERE, max_det=config.point_max_det)
    matrix = None
    if config.confusion:
        matrix = _confusion(gt, dt, params, at_point, config.iou_type, config.iou_threshold,
                            config.score_threshold)
    return BatchMatches(coco=coco, point=at_point, confusion=matrix)


def class_names(categories: Categories, class_ids: np.ndarray, class_agnostic: bool) -> list[str]:
    return ["all"] if class_agnostic else [categories.name_of(int(c)) for c in class_ids]


def finish(config: Config, batch: BatchMatches, names: Sequence[str],
           image_ids: np.ndarray) -> EvaluationResult:
    """Accumulate and summarize matched images into the result."""
    params = config.params
    acc = accumulate(batch.coco, params)
    point = operating_point(
        batch.point, names, iou_threshold=config.iou_threshold,
        score_threshold=config.score_threshold, beta=config.beta,
        zero_division=config.zero_division, target_recall=config.target_recall,
        target_precision=config.target_precision, confusion=batch.confusion, cost=config.cost,
        image_ids=image_ids,
    )
    return EvaluationResult(
        iou_type=config.iou_type, params=params, coco=summarize(acc, params),
        per_class=per_class(acc, params, batch.coco.class_ids, names),
        accumulated=acc, matches=batch.coco, point=point, point_matches=batch.point,
        image_ids=None if image_ids is None else np.unique(np.asarray(image_ids, np.int64)),
    )


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
    iou_threshold: float = 0.5,
    score_threshold: float = 0.0,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    target_recall: float | None = None,
    target_precision: float | None = None,
    confusion: bool = False,
    cost: Mapping[str, float] | None = None,
) -> EvaluationResult:
    """Evaluate detections against ground truth: COCO's numbers and an operating point.

    gt: a COCO instances file (path), its parsed dict, or a Dataset.
    dt: a COCO results file (path), its parsed list, or Detections.
    iou_type: "bbox" (boxes) or "segm" (masks).
    COCO (`.coco`, `.per_class`): iou_thresholds, max_dets, area_ranges ({label: (low, high)}),
    image_ids, category_ids, class_agnostic (useCats=0) are pycocotools' Params, with its defaults.
    Operating point (`.point`): detections matched at `iou_threshold` with COCO's rules, counted
    when score >= `score_threshold`, every detection unless `max_dets` is given (then its
    largest value caps each image and class). `beta` for F-beta; `zero_division` (0, 1, nan or
    "warn") is what an undefined precision/recall/F takes (default 0, scikit-learn's value).
    `target_recall` / `target_precision` add those operating points; `confusion=True` adds the
    detection confusion matrix; `cost={"tp": .., "fp": .., "fn": ..}` adds total/per-image cost.
    """
    config = make_config(
        iou_type, iou_thresholds=iou_thresholds, max_dets=max_dets, area_ranges=area_ranges,
        image_ids=image_ids, category_ids=category_ids, class_agnostic=class_agnostic,
        iou_threshold=iou_threshold, score_threshold=score_threshold, beta=beta,
        zero_division=zero_division, target_recall=target_recall,
        target_precision=target_precision, confusion=confusion, cost=cost,
    )
    gt, dt = read_inputs(gt, dt, iou_type)
    batch = match_batch(gt, dt, config)
    params = config.params
    names = class_names(gt.categories, batch.coco.class_ids, params.class_agnostic)
    return finish(config, batch, names, gt.images.ids if params.image_ids is None else params.image_ids)


_EVERYWHERE = np.array([[-np.inf, np.inf]])


def _confusion(gt: Dataset, dt: Detections, params: EvalParams, at_point: Matches, iou_type: str,
               iou_threshold: float, score_threshold: float) -> np.ndarray:
    """The confusion matrix: a class-agnostic greedy pass pairs the false positives with
    still-unmatched ground truth of other classes (see protocols.point.confusion_matrix)."""
    status = detection_status(at_point)
    above = at_point.det_score >= score_threshold
    is_fp = np.zeros(len(dt), bool)
    is_fp[at_point.det_row[above & (status == FP)]] = True
    free = ~gt.iscrowd.copy()
    free[at_point.hit_gt[above[at_point.hit_det] & (status[at_point.hit_det] == TP)]] = False
    agnostic = plan(gt, dt, replace(params, class_agnostic=True))
    d_rows, g_rows = agnostic.dt_rows[agnostic.pair_dt], agnostic.gt_rows[agnostic.pair_gt]
    valid = is_fp[d_rows] & free[g_rows] & (dt.category_id[d_rows] != gt.category_id[g_rows])
    iou = np.where(valid, pair_ious(iou_type, agnostic, gt, dt), -1.0)
    cross = match(agnostic, iou, gt, dt, iou_thresholds=np.array([iou_threshold], np.float64),
                  area_ranges=_EVERYWHERE)
    return confusion_matrix(len(at_point.class_ids), at_point, status, above, cross)
