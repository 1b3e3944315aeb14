"""The Pascal VOC protocol: per-class AP at one or more IoU thresholds, mAP over classes.

Matching is the devkit's (`matching.match_voc`: a detection only looks at its best-overlapping
ground truth; duplicates are false positives; difficult ground truth is neither TP nor FN, and a
detection on it neither TP nor FP). Precision and recall are taken after each counted detection
of a class, all images together, by score descending (ties: image id, then rank in the image);
AP integrates them with `aggregate.interpolated_ap`, all-point (VOC2010+) or 11-point (VOC2007).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..aggregate import ApMethod, by_class_then_score, interpolated_ap
from ..errors import DetrecallError
from ..matching import Candidates, Plan, match_voc
from ..options import CocoParams, IouType, PointOptions
from ..result import VocClass, VocResult
from ..types import Dataset, Detections, EvalParams, Matches, Status
from .base import BatchMatches, Prepared, Protocol, Summarized
from .coco import coco_params

VOC_IOU_THRESHOLDS = (0.5,)


def voc_result(m: Matches, names: Sequence[str], ap_method: ApMethod, pixel_inclusive: bool) -> VocResult:
    """VOC per-class AP from `match_voc`'s output (one area range, T thresholds)."""
    n_k, n_t = len(m.class_ids), len(m.iou_thresholds)
    order = by_class_then_score(m.det_class, m.det_score)
    cls_sorted = m.det_class[order]
    bounds = np.searchsorted(cls_sorted, np.arange(n_k + 1))
    npos = m.npos[:, 0]
    per: list[list[tuple[float, int, int, np.ndarray, np.ndarray]]] = [[] for _ in range(n_k)]
    for t in range(n_t):
        h = m.hit_thr == t
        status = np.full(len(m.det_row), Status.FP, np.int8)
        status[m.hit_det[h]] = np.where(m.hit_ignored[h], Status.IGNORED, Status.TP)
        s = status[order]
        for k in range(n_k):
            seg = s[bounds[k] : bounds[k + 1]]
            seg = seg[seg != Status.IGNORED]
            tp = np.cumsum(seg == Status.TP)
            fp = np.cumsum(seg == Status.FP)
            precision = tp / np.maximum(tp + fp, 1)
            recall = tp / npos[k] if npos[k] else np.full(len(seg), np.nan)
            ap = interpolated_ap(precision, recall, ap_method) if npos[k] else math.nan
            per[k].append(
                (ap, int(tp[-1]) if len(tp) else 0, int(fp[-1]) if len(fp) else 0, precision, recall)
            )
    classes = tuple(
        VocClass(int(cid), str(name), int(npos[k]), *(tuple(v) for v in zip(*per[k])))
        for k, (cid, name) in enumerate(zip(m.class_ids.tolist(), names))
    )
    with_gt = npos > 0
    maps = tuple(
        float(np.mean([c.ap[t] for c, g in zip(classes, with_gt) if g])) if with_gt.any() else math.nan
        for t in range(n_t)
    )
    return VocResult(tuple(m.iou_thresholds.tolist()), ap_method.value, bool(pixel_inclusive), classes, maps)


class Voc(Protocol):
    """Pascal VOC: AP per class at `iou_thresholds` (default 0.5), by `ap_method` "allpoint"
    (VOC2010+) or "11point" (VOC2007); crowd ground truth is difficult (plain IoU, neither TP
    nor FN); `pixel_inclusive` boxes (+1 on widths and heights, as the devkit) on request."""

    name = "voc"
    options = ("ap_method", "pixel_inclusive")

    def __init__(self, ap_method: ApMethod | str = ApMethod.ALLPOINT, pixel_inclusive: bool = False) -> None:
        self.ap_method = ApMethod.of(ap_method)
        self._pixel_inclusive = bool(pixel_inclusive)

    @property
    def pixel_inclusive(self) -> bool:
        return self._pixel_inclusive

    def make_params(self, params: CocoParams, iou_type: IouType) -> EvalParams:
        if iou_type is IouType.KEYPOINTS:
            raise DetrecallError("protocol='voc' evaluates boxes, masks or shapes, not keypoints")
        if self._pixel_inclusive and iou_type is not IouType.BBOX:
            raise DetrecallError("pixel_inclusive applies to boxes only (iou_type='bbox')")
        if params.area_ranges is not None:
            raise DetrecallError("protocol='voc' has no area ranges")
        iou = VOC_IOU_THRESHOLDS if params.iou_thresholds is None else params.iou_thresholds
        return coco_params(replace(params, iou_thresholds=iou, area_ranges={"all": (-np.inf, np.inf)}))

    def prepare(self, gt: Dataset, dt: Detections, params: EvalParams, labels: object) -> Prepared:
        # VOC has no crowd IoU: crowds are difficult, with plain IoU
        difficult = gt.iscrowd | gt.ignore
        return Prepared(replace(gt, iscrowd=np.zeros(len(gt), bool)), dt, ignored=difficult)

    def match(
        self,
        p: Plan,
        iou: Candidates,
        prepared: Prepared,
        params: EvalParams,
        point: PointOptions,
        threads: int = 1,
    ) -> tuple[Matches, Matches]:
        gt, dt, difficult = prepared.gt, prepared.dt, prepared.ignored
        assert difficult is not None
        point_thr = np.array([point.iou_threshold], np.float64)
        return (
            match_voc(p, iou, gt, dt, iou_thresholds=params.iou_thresholds, ignored=difficult),
            match_voc(p, iou, gt, dt, iou_thresholds=point_thr, ignored=difficult),
        )

    def summarize(self, batch: BatchMatches, params: EvalParams, names: Sequence[str]) -> Summarized:
        return Summarized(voc_result(batch.coco, names, self.ap_method, self._pixel_inclusive), (), None)
