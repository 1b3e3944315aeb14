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
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..aggregate import AP_METHODS, by_class_then_score, interpolated_ap
from ..errors import DetrecallError
from ..types import Matches

VOC_IOU_THRESHOLDS = (0.5,)


def check_voc_args(ap_method: str, pixel_inclusive: bool, iou_type: str) -> None:
    if ap_method not in AP_METHODS:
        raise DetrecallError(f"ap_method must be one of {AP_METHODS}, got {ap_method!r}")
    if pixel_inclusive and iou_type != "bbox":
        raise DetrecallError("pixel_inclusive applies to boxes only (iou_type='bbox')")


@dataclass(frozen=True)
class VocClass:
    """One class: its AP, counts, and the precision/recall after each counted detection, per
    IoU threshold (index t of the result's `iou_thresholds`). AP is NaN without ground truth."""

    category_id: int
    name: str
    npos: int
    ap: tuple[float, ...]
    tp: tuple[int, ...]
    fp: tuple[int, ...]
    precision: tuple[np.ndarray, ...]
    recall: tuple[np.ndarray, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category_id": self.category_id,
            "name": self.name,
            "npos": self.npos,
            "ap": [_none_if_nan(v) for v in self.ap],
            "tp": list(self.tp),
            "fp": list(self.fp),
            "precision": [p.tolist() for p in self.precision],
            "recall": [r.tolist() for r in self.recall] if self.npos else None,  # undefined
        }


@dataclass(frozen=True)
class VocResult:
    """Per-class VOC figures and their mean over the classes with ground truth (mAP)."""

    iou_thresholds: tuple[float, ...]
    ap_method: str
    pixel_inclusive: bool
    classes: tuple[VocClass, ...]
    mAP: tuple[float, ...]  # per IoU threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_thresholds": list(self.iou_thresholds),
            "ap_method": self.ap_method,
            "pixel_inclusive": self.pixel_inclusive,
            "mAP": [_none_if_nan(v) for v in self.mAP],
            "classes": [c.to_dict() for c in self.classes],
        }


def _none_if_nan(v: float) -> float | None:
    return None if math.isnan(v) else v


def voc_result(m: Matches, names: Sequence[str], ap_method: str, pixel_inclusive: bool) -> VocResult:
    """VOC per-class AP from `match_voc`'s output (one area range, T thresholds)."""
    n_k, n_t = len(m.class_ids), len(m.iou_thresholds)
    order = by_class_then_score(m.det_class, m.det_score)
    cls_sorted = m.det_class[order]
    bounds = np.searchsorted(cls_sorted, np.arange(n_k + 1))
    npos = m.npos[:, 0]
    per: list[list[tuple[float, int, int, np.ndarray, np.ndarray]]] = [[] for _ in range(n_k)]
    for t in range(n_t):
        h = m.hit_thr == t
        status = np.zeros(len(m.det_row), np.int8)  # 0 FP, 1 TP, 2 ignored
        status[m.hit_det[h]] = np.where(m.hit_ignored[h], 2, 1)
        s = status[order]
        for k in range(n_k):
            seg = s[bounds[k] : bounds[k + 1]]
            seg = seg[seg != 2]
            tp = np.cumsum(seg == 1)
            fp = np.cumsum(seg == 0)
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
    return VocResult(tuple(m.iou_thresholds.tolist()), ap_method, bool(pixel_inclusive), classes, maps)
