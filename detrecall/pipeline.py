"""`evaluate`: read, compute IoUs, match, accumulate, summarize — the whole flow in one call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .aggregate import ZeroDivision, accumulate, by_score
from .errors import DetrecallError
from .geometry.boxes import box_iou_pairs
from .geometry.masks import mask_iou_blocks
from .io._records import read_json
from .io.arrays import is_arrays, read_arrays
from .io.coco import read_coco_gt, read_coco_results
from .matching import Plan, match, match_voc, plan, score_order
from .protocols.coco import ClassMetrics, CocoSummary, make_params, per_class, summarize
from .protocols.lvis import (
    LVIS_MAX_DETS,
    LvisMeta,
    LvisSummary,
    federate,
    ignore_not_exhaustive,
    read_lvis_meta,
    summarize_lvis,
)
from .protocols.point import (
    FP,
    TP,
    PointResult,
    check_point_args,
    confusion_matrix,
    detection_status,
    operating_point,
)
from .protocols.voc import VOC_IOU_THRESHOLDS, VocResult, check_voc_args, voc_result
from .types import Accumulated, Categories, Dataset, Detections, EvalParams, Matches, take

if TYPE_CHECKING:  # shapely is imported only when polygons or rotated boxes are evaluated
    from .geometry.polygons import AngleUnit

IouType = Literal["bbox", "segm", "polygon", "rotated"]
IOU_TYPES = ("bbox", "segm", "polygon", "rotated")
_SHAPE_TYPES = ("polygon", "rotated")  # shapely shapes: Dataset.shapes / Detections.shapes
Protocol = Literal["coco", "voc", "lvis"]
PROTOCOLS = ("coco", "voc", "lvis")


@dataclass(frozen=True)
class EvaluationResult:
    """Everything one evaluation produced.

    `coco`: the 12 summary numbers; `per_class`: AP, AP50, AP75, AR100 per category (AR at the
    largest max_dets: 300 for LVIS); `point`: TP/FP/FN, precision, recall, F1 at one IoU and
    score threshold; `accumulated`: pycocotools' precision/recall/scores arrays; `matches`: the
    matcher output; `point_matches`: the matcher output at the operating point's IoU;
    `image_ids`: the images evaluated (ascending), with or without annotations (both kept for
    the bootstrap). By `protocol`: "coco" fills `coco`; "lvis" fills `lvis` (and `per_class`,
    `accumulated`), `coco` is None; "voc" fills `voc`, `coco` and `accumulated` are None and
    `per_class` is empty (VOC's per-class figures are in `voc.classes`). `point_matches`: the
    matcher output at the operating point (its diagnostics: errors per image, calibration).
    """

    iou_type: str
    params: EvalParams
    coco: CocoSummary | None
    per_class: tuple[ClassMetrics, ...]
    accumulated: Accumulated | None
    matches: Matches
    point: PointResult
    point_matches: Matches | None = None
    image_ids: np.ndarray | None = None
    protocol: str = "coco"
    voc: VocResult | None = None
    lvis: LvisSummary | None = None
    point_matches: Matches | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `coco` maps the 12 names to numbers (None where undefined)."""
        out = {
            "iou_type": self.iou_type,
            "protocol": self.protocol,
            "coco": None if self.coco is None else self.coco.to_dict(),
            "per_class": [c.to_dict() for c in self.per_class],
            "point": self.point.to_dict(),
            "params": {
                "iou_thresholds": self.params.iou_thresholds.tolist(),
                "max_dets": list(self.params.max_dets),
                "area_ranges": {
                    lbl: self.params.area_ranges[i].tolist() for i, lbl in enumerate(self.params.area_labels)
                },
                "class_agnostic": self.params.class_agnostic,
            },
        }
        if self.voc is not None:
            out["voc"] = self.voc.to_dict()
        if self.lvis is not None:
            out["lvis"] = self.lvis.to_dict()
        return out


_PAIR_PIECE = 1 << 18


def pair_ious(
    iou_type: str, p: Plan, gt: Dataset, dt: Detections, *, pixel_inclusive: bool = False
) -> np.ndarray:
    """IoU of every planned (detection, ground truth) pair, in plan order."""
    if iou_type == "bbox":  # in pieces: the gathered boxes of millions of pairs are big
        out = np.empty(len(p.pair_dt))
        for lo in range(0, len(out), _PAIR_PIECE):
            piece = slice(lo, lo + _PAIR_PIECE)
            g = p.gt_rows[p.pair_gt[piece]]
            out[piece] = box_iou_pairs(
                dt.box[p.dt_rows[p.pair_dt[piece]]], gt.box[g], gt.iscrowd[g], pixel_inclusive=pixel_inclusive
            )
        return out
    if iou_type in _SHAPE_TYPES:
        from .geometry.polygons import polygon_iou_pairs

        assert gt.shapes is not None and dt.shapes is not None
        g = p.gt_rows[p.pair_gt]
        return polygon_iou_pairs(dt.shapes[p.dt_rows[p.pair_dt]], gt.shapes[g], gt.iscrowd[g])
    assert gt.masks is not None and dt.masks is not None
    return mask_iou_blocks(dt.masks, gt.masks, p.dt_rows, p.gt_rows, p.blocks, gt.iscrowd)


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
    protocol: str = "coco"
    ap_method: str = "allpoint"  # VOC
    pixel_inclusive: bool = False  # VOC
    angle_unit: AngleUnit = "radians"  # of rotated boxes (iou_type "rotated")


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
    protocol: Protocol = "coco",
    ap_method: str = "allpoint",
    pixel_inclusive: bool = False,
    angle_unit: AngleUnit = "radians",
) -> Config:
    """A checked Config from `evaluate`'s keyword arguments (see there)."""
    if iou_type not in IOU_TYPES:
        raise DetrecallError(f"iou_type must be one of {', '.join(IOU_TYPES)}; got {iou_type!r}")
    if angle_unit not in ("radians", "degrees"):
        raise DetrecallError(f"angle_unit must be 'radians' or 'degrees', got {angle_unit!r}")
    if protocol not in PROTOCOLS:
        raise DetrecallError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    check_point_args(iou_threshold, score_threshold, beta, zero_division, (target_recall, target_precision))
    if protocol == "voc":
        check_voc_args(ap_method, pixel_inclusive, iou_type)
        if area_ranges is not None:
            raise DetrecallError("protocol='voc' has no area ranges")
        iou_thresholds = VOC_IOU_THRESHOLDS if iou_thresholds is None else iou_thresholds
        area_ranges = {"all": (-np.inf, np.inf)}
    elif pixel_inclusive:
        raise DetrecallError("pixel_inclusive is a Pascal VOC convention: use it with protocol='voc'")
    if protocol == "lvis":
        if area_ranges is not None or class_agnostic:
            raise DetrecallError("protocol='lvis' has fixed area ranges and evaluates per class")
        max_dets = (LVIS_MAX_DETS,) if max_dets is None else tuple(max_dets)
        if len(max_dets) != 1:
            raise DetrecallError(f"protocol='lvis' takes one max_dets (per image), got {list(max_dets)}")
    params = make_params(
        iou_thresholds=iou_thresholds,
        max_dets=max_dets,
        area_ranges=area_ranges,
        image_ids=image_ids,
        category_ids=category_ids,
        class_agnostic=class_agnostic,
    )
    return Config(
        iou_type=iou_type,
        params=params,
        iou_threshold=float(iou_threshold),
        score_threshold=float(score_threshold),
        beta=float(beta),
        zero_division=zero_division,
        target_recall=target_recall,
        target_precision=target_precision,
        confusion=bool(confusion),
        cost=None if cost is None else dict(cost),
        point_max_det=None if max_dets is None or protocol != "coco" else params.max_dets[-1],
        protocol=protocol,
        ap_method=ap_method,
        pixel_inclusive=bool(pixel_inclusive),
        angle_unit=angle_unit,
    )


def _geometry_read(iou_type: str) -> tuple[bool, Any]:
    """What the COCO readers must read for `iou_type`: masks (segm), or shapes (their kind)."""
    return iou_type == "segm", (iou_type if iou_type in _SHAPE_TYPES else None)


def read_inputs(
    gt: Any,
    dt: Any,
    iou_type: str,
    angle_unit: AngleUnit = "radians",
    *,
    box_format: str = "xyxy",
    categories: Sequence[str] | Mapping[int, str] | None = None,
    first_image_id: int = 0,
) -> tuple[Dataset, Detections]:
    """Dataset and Detections from files, parsed JSON, per-image arrays (io/arrays.py: then
    `box_format`, `categories`, `first_image_id` apply), or themselves."""
    if is_arrays(gt):  # a COCO ground truth is a dict
        gt, dt = read_arrays(
            gt,
            dt,
            box_format=box_format,
            categories=categories,
            iou_type=iou_type,
            first_image_id=first_image_id,
        )
    if not isinstance(gt, Dataset):
        masks, shapes = _geometry_read(iou_type)
        gt = read_coco_gt(gt, masks=masks, shapes=shapes, angle_unit=angle_unit)
    return gt, _read_detections(dt, gt, iou_type, angle_unit)


def read_lvis_inputs(
    gt: Any, dt: Any, iou_type: str, angle_unit: AngleUnit = "radians"
) -> tuple[Dataset, Detections, LvisMeta]:
    """As read_inputs, plus the federated labels of a LVIS ground-truth file or dict."""
    if isinstance(gt, Dataset):
        raise DetrecallError(
            "protocol='lvis' needs the LVIS ground-truth file or dict (its images "
            "carry neg_category_ids and not_exhaustive_category_ids)"
        )
    data, name = read_json(gt)
    masks, shapes = _geometry_read(iou_type)
    gt_set = read_coco_gt(data, masks=masks, shapes=shapes, angle_unit=angle_unit, name=name)
    return gt_set, _read_detections(dt, gt_set, iou_type, angle_unit), read_lvis_meta(data, name, gt_set)


def _read_detections(dt: Any, gt: Dataset, iou_type: str, angle_unit: AngleUnit) -> Detections:
    """Detections from a results file, parsed JSON, or themselves; checked against the iou type."""
    masks, shapes = _geometry_read(iou_type)
    if not isinstance(dt, Detections):
        dt = read_coco_results(dt, gt, masks=masks, shapes=shapes, angle_unit=angle_unit)
    if masks and (gt.masks is None or dt.masks is None):
        raise DetrecallError("iou_type='segm' needs masks in both ground truth and detections")
    if shapes and (gt.shapes is None or dt.shapes is None):
        raise DetrecallError(f"iou_type={iou_type!r} needs shapes in both ground truth and detections")
    return dt


@dataclass(frozen=True)
class BatchMatches:
    """The matcher's output for a set of whole images: all a later summary needs."""

    coco: Matches  # at the protocol's thresholds and area ranges (COCO: max_dets[-1] per group)
    point: Matches  # at the operating point's IoU, one unbounded area range
    confusion: np.ndarray | None
    frequency: np.ndarray | None = None  # LVIS: frequency group of each evaluated class
    score_order: np.ndarray | None = None  # aggregate.by_score(coco.det_score), when known


def match_batch(gt: Dataset, dt: Detections, config: Config, meta: LvisMeta | None = None) -> BatchMatches:
    """One plan and one IoU pass, matched for the protocol and for the operating point."""
    params = config.params
    point_thr = np.array([config.iou_threshold], np.float64)
    frequency = not_exhaustive = None
    if config.protocol == "lvis":
        if meta is None:
            raise DetrecallError("protocol='lvis' needs the LVIS labels of the ground truth")
        gt, dt, not_exhaustive = federate(gt, dt, meta, params.max_dets[-1])
        class_ids = gt.categories.ids if params.category_ids is None else params.category_ids
        frequency = meta.frequency[np.searchsorted(meta.category_ids, class_ids)]
    if config.protocol == "voc":  # VOC has no crowd IoU: crowds are difficult, with plain IoU
        difficult = gt.iscrowd | gt.ignore
        gt = replace(gt, iscrowd=np.zeros(len(gt), bool))
    p = plan(gt, dt, params)
    iou = pair_ious(config.iou_type, p, gt, dt, pixel_inclusive=config.pixel_inclusive)
    if config.protocol == "voc":
        coco = match_voc(p, iou, gt, dt, iou_thresholds=params.iou_thresholds, ignored=difficult)
        at_point = match_voc(p, iou, gt, dt, iou_thresholds=point_thr, ignored=difficult)
    else:
        coco = match(
            p,
            iou,
            gt,
            dt,
            iou_thresholds=params.iou_thresholds,
            area_ranges=params.area_ranges,
            max_det=params.max_dets[-1],
        )
        at_point = _point_from(coco, p, gt, dt, config) or match(
            p, iou, gt, dt, iou_thresholds=point_thr, area_ranges=_EVERYWHERE, max_det=config.point_max_det
        )
    if not_exhaustive is not None:
        coco = ignore_not_exhaustive(coco, not_exhaustive)
        at_point = ignore_not_exhaustive(at_point, not_exhaustive)
    matrix = None
    if config.confusion:
        matrix = _confusion(gt, dt, at_point, config)
    order = None if config.protocol == "voc" else score_order(p, params.max_dets[-1])
    return BatchMatches(coco=coco, point=at_point, confusion=matrix, frequency=frequency, score_order=order)


def class_names(categories: Categories, class_ids: np.ndarray, class_agnostic: bool) -> list[str]:
    return ["all"] if class_agnostic else [categories.name_of(int(c)) for c in class_ids]


def finish(
    config: Config, batch: BatchMatches, names: Sequence[str], image_ids: np.ndarray
) -> EvaluationResult:
    """Accumulate and summarize matched images into the result."""
    params = config.params
    order = batch.score_order  # the accumulation's score order (VOC accumulates otherwise)
    if order is None and config.protocol != "voc":
        order = by_score(batch.coco.det_score)
    shared = batch.point.det_score is batch.coco.det_score  # one score sort serves both
    point = operating_point(
        batch.point,
        names,
        iou_threshold=config.iou_threshold,
        score_threshold=config.score_threshold,
        beta=config.beta,
        zero_division=config.zero_division,
        target_recall=config.target_recall,
        target_precision=config.target_precision,
        confusion=batch.confusion,
        cost=config.cost,
        image_ids=image_ids,
        score_order=order if shared else None,
    )
    common = dict(
        iou_type=config.iou_type,
        params=params,
        matches=batch.coco,
        point=point,
        protocol=config.protocol,
        point_matches=batch.point,
        image_ids=None if image_ids is None else np.unique(np.asarray(image_ids, np.int64)),
    )
    if config.protocol == "voc":
        voc = voc_result(batch.coco, names, config.ap_method, config.pixel_inclusive)
        return EvaluationResult(coco=None, per_class=(), accumulated=None, voc=voc, **common)
    acc = accumulate(batch.coco, params, order)
    classes = per_class(acc, params, batch.coco.class_ids, names)
    if config.protocol == "lvis":
        assert batch.frequency is not None
        return EvaluationResult(
            coco=None,
            per_class=classes,
            accumulated=acc,
            lvis=summarize_lvis(acc, params, batch.frequency),
            **common,
        )
    return EvaluationResult(coco=summarize(acc, params), per_class=classes, accumulated=acc, **common)


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
    protocol: Protocol = "coco",
    ap_method: str = "allpoint",
    pixel_inclusive: bool = False,
    angle_unit: AngleUnit = "radians",
    box_format: str = "xyxy",
    categories: Sequence[str] | Mapping[int, str] | None = None,
) -> EvaluationResult:
    """Evaluate detections against ground truth: COCO's numbers and an operating point.

    gt: a COCO instances file (path), its parsed dict, or a Dataset.
    dt: a COCO results file (path), its parsed list, or Detections.
    Or gt and dt as lists with one dict per image, torchmetrics' form (`targets`: boxes, labels,
    optional iscrowd, area, masks; `preds`: boxes, scores, labels, optional masks; numpy arrays
    or tensors), boxes in `box_format` ("xyxy", "xywh", "cxcywh"), classes the labels, named
    by `categories` (list indexed by label, or {label: name}); see io/arrays.py.
    iou_type: "bbox" (boxes), "segm" (masks), "polygon" (COCO polygon `segmentation`s as exact
    shapes) or "rotated" (`rbox: [cx, cy, w, h, angle]`, angle in `angle_unit`: "radians" or
    "degrees", positive = clockwise on screen, as mmrotate / Ultralytics / OpenCV).
    COCO (`.coco`, `.per_class`): iou_thresholds, max_dets, area_ranges ({label: (low, high)}),
    image_ids, category_ids, class_agnostic (useCats=0) are pycocotools' Params, with its defaults.
    Operating point (`.point`): detections matched at `iou_threshold` with COCO's rules, counted
    when score >= `score_threshold`, every detection unless `max_dets` is given (then its
    largest value caps each image and class). `beta` for F-beta; `zero_division` (0, 1, nan or
    "warn") is what an undefined precision/recall/F takes (default 0, scikit-learn's value).
    `target_recall` / `target_precision` add those operating points; `confusion=True` adds the
    detection confusion matrix; `cost={"tp": .., "fp": .., "fn": ..}` adds total/per-image cost.
    Protocols (same matcher and aggregator, other rules): "coco" (default); "voc": Pascal VOC
    AP per class at `iou_thresholds` (default 0.5) by `ap_method` "allpoint" (VOC2010+) or
    "11point" (VOC2007), crowd ground truth treated as difficult, `pixel_inclusive` boxes (+1 on
    widths and heights as the devkit) on request; "lvis": LVIS federated evaluation (needs the
    LVIS ground-truth file: neg_category_ids, not_exhaustive_category_ids, frequency), 300
    detections per image unless `max_dets=[n]`. See protocols/voc.py and protocols/lvis.py.
    """
    config = make_config(
        iou_type,
        iou_thresholds=iou_thresholds,
        max_dets=max_dets,
        area_ranges=area_ranges,
        image_ids=image_ids,
        category_ids=category_ids,
        class_agnostic=class_agnostic,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        beta=beta,
        zero_division=zero_division,
        target_recall=target_recall,
        target_precision=target_precision,
        confusion=confusion,
        cost=cost,
        protocol=protocol,
        ap_method=ap_method,
        pixel_inclusive=pixel_inclusive,
        angle_unit=angle_unit,
    )
    meta = None
    if protocol == "lvis":
        gt, dt, meta = read_lvis_inputs(gt, dt, iou_type, angle_unit)
    else:
        gt, dt = read_inputs(gt, dt, iou_type, angle_unit, box_format=box_format, categories=categories)
    batch = match_batch(gt, dt, config, meta)
    params = config.params
    names = class_names(gt.categories, batch.coco.class_ids, params.class_agnostic)
    return finish(config, batch, names, gt.images.ids if params.image_ids is None else params.image_ids)


_EVERYWHERE = np.array([[-np.inf, np.inf]])


def _point_from(coco: Matches, p: Plan, gt: Dataset, dt: Detections, config: Config) -> Matches | None:
    """The operating point's matches cut out of the COCO matches, when they are the same thing:
    its IoU is one of COCO's thresholds, an area range holds every ground truth and detection
    area, and no group was cut by max_dets (else None: match again)."""
    params = config.params
    t = np.flatnonzero(params.iou_thresholds == config.iou_threshold)
    cut = len(p.dt_rank) and p.dt_rank.max() >= params.max_dets[-1]
    if config.point_max_det is not None or not len(t) or cut:
        return None
    areas = np.concatenate([gt.area[p.gt_rows], dt.area[p.dt_rows]])
    low, high = (areas.min(), areas.max()) if len(areas) else (0.0, 0.0)
    inside = np.flatnonzero((params.area_ranges[:, 0] <= low) & (params.area_ranges[:, 1] >= high))
    if not len(inside):
        return None
    a, t = int(inside[0]), int(t[0])
    h = np.flatnonzero((coco.hit_area == a) & (coco.hit_thr == t))
    zeros = np.zeros(len(h), np.int64)
    return replace(
        coco,
        iou_thresholds=coco.iou_thresholds[t : t + 1],
        det_out_of_range=np.zeros((1, len(coco.det_row)), bool),
        hit_area=zeros,
        hit_thr=zeros,
        hit_det=coco.hit_det[h],
        hit_gt=coco.hit_gt[h],
        hit_ignored=coco.hit_ignored[h],
        npos=coco.npos[:, a : a + 1],
        gt_ignored=coco.gt_ignored[a : a + 1],
    )


def _confusion(gt: Dataset, dt: Detections, at_point: Matches, config: Config) -> np.ndarray:
    """The confusion matrix: a class-agnostic greedy pass pairs the false positives with
    still-unmatched ground truth of other classes (see protocols.point.confusion_matrix).
    Only those detections and ground truths enter the pass, so only their IoUs are computed."""
    status = detection_status(at_point)
    above = at_point.det_score >= config.score_threshold
    fp_rows = np.unique(at_point.det_row[above & (status == FP)])
    free = ~(gt.iscrowd | gt.ignore)
    free[at_point.hit_gt[above[at_point.hit_det] & (status[at_point.hit_det] == TP)]] = False
    free_rows = np.flatnonzero(free)
    sub_gt, sub_dt = take(gt, free_rows), take(dt, fp_rows)
    agnostic = plan(sub_gt, sub_dt, replace(config.params, class_agnostic=True))
    d_rows, g_rows = agnostic.dt_rows[agnostic.pair_dt], agnostic.gt_rows[agnostic.pair_gt]
    other_class = sub_dt.category_id[d_rows] != sub_gt.category_id[g_rows]
    iou = pair_ious(config.iou_type, agnostic, sub_gt, sub_dt, pixel_inclusive=config.pixel_inclusive)
    cross = match(
        agnostic,
        np.where(other_class, iou, -1.0),
        sub_gt,
        sub_dt,
        iou_thresholds=np.array([config.iou_threshold], np.float64),
        area_ranges=_EVERYWHERE,
    )
    cross = replace(cross, det_row=fp_rows[cross.det_row], hit_gt=free_rows[cross.hit_gt])
    return confusion_matrix(len(at_point.class_ids), at_point, status, above, cross)
