"""The COCO protocol: default parameters, the 12-number summary and per-class figures."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ..errors import DetrecallError
from ..types import Accumulated, EvalParams

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
COCO_AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
COCO_MAX_DETS = (1, 10, 100)

# how pycocotools' summarize() prints each of the 12 numbers
SUMMARY_LABELS = {
    "AP": "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
    "AP50": "Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
    "AP75": "Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
    "APs": "Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
    "APm": "Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
    "APl": "Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    "AR1": "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
    "AR10": "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
    "AR100": "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
    "ARs": "Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
    "ARm": "Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
    "ARl": "Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
}


def make_params(
    *,
    iou_thresholds: Iterable[float] | None = None,
    max_dets: Iterable[int] | None = None,
    area_ranges: Mapping[str, Sequence[float]] | None = None,
    image_ids: Iterable[int] | None = None,
    category_ids: Iterable[int] | None = None,
    class_agnostic: bool = False,
    recall_thresholds: Iterable[float] | None = None,
) -> EvalParams:
    """COCO parameters, pycocotools' defaults for whatever is not given; checked."""
    iou = COCO_IOU_THRESHOLDS if iou_thresholds is None else np.asarray(list(iou_thresholds), float)
    if iou.ndim != 1 or len(iou) == 0 or not np.all((iou > 0) & (iou <= 1)):
        raise DetrecallError(f"iou_thresholds must be values in (0, 1], got {iou.tolist()}")
    rec = COCO_RECALL_THRESHOLDS if recall_thresholds is None else np.asarray(list(recall_thresholds), float)
    if rec.ndim != 1 or len(rec) == 0 or np.any(np.diff(rec) < 0) or not np.all((rec >= 0) & (rec <= 1)):
        raise DetrecallError("recall_thresholds must be ascending values in [0, 1]")
    dets = tuple(sorted(int(d) for d in (COCO_MAX_DETS if max_dets is None else max_dets)))
    if not dets or dets[0] < 1:
        raise DetrecallError(f"max_dets must be positive integers, got {list(dets)}")
    ranges = COCO_AREA_RANGES if area_ranges is None else dict(area_ranges)
    if not ranges:
        raise DetrecallError("area_ranges must name at least one range")
    bounds = np.asarray([tuple(map(float, r)) for r in ranges.values()], float).reshape(-1, 2)
    if np.isnan(bounds).any() or np.any(bounds[:, 0] > bounds[:, 1]):
        raise DetrecallError(f"area_ranges must be (low, high) with low <= high, got {ranges}")

    def ids(values: Iterable[int] | None) -> np.ndarray | None:
        return None if values is None else np.unique(np.asarray(list(values), np.int64))

    return EvalParams(
        iou_thresholds=iou,
        recall_thresholds=rec,
        area_ranges=bounds,
        area_labels=tuple(str(k) for k in ranges),
        max_dets=dets,
        class_agnostic=bool(class_agnostic),
        image_ids=ids(image_ids),
        category_ids=ids(category_ids),
    )


def mean_defined(s: np.ndarray) -> float:
    defined = s[s > -1]
    return -1.0 if len(defined) == 0 else float(np.mean(defined))


def _stat(
    acc: Accumulated,
    p: EvalParams,
    ap: bool,
    iou: float | None = None,
    area: str = "all",
    max_dets: int = 100,
) -> float:
    """pycocotools' _summarize: mean of the defined entries of one slice, -1 if none."""
    a = [i for i, lbl in enumerate(p.area_labels) if lbl == area]
    m = [i for i, d in enumerate(p.max_dets) if d == max_dets]
    s = acc.precision if ap else acc.recall
    if iou is not None:
        s = s[np.where(iou == p.iou_thresholds)[0]]
    s = s[:, :, :, a, m] if ap else s[:, :, a, m]
    return mean_defined(s)


def nan_if_undefined(v: float) -> float:
    return math.nan if v == -1 else v


@dataclass(frozen=True)
class CocoSummary:
    """pycocotools' 12 summary numbers, by name; NaN where pycocotools prints -1 (undefined)."""

    AP: float
    AP50: float
    AP75: float
    APs: float
    APm: float
    APl: float
    AR1: float
    AR10: float
    AR100: float
    ARs: float
    ARm: float
    ARl: float

    @property
    def stats(self) -> np.ndarray:
        """The 12 numbers as pycocotools' `COCOeval.stats`, -1 for undefined."""
        return np.array([-1.0 if math.isnan(v) else v for v in self.as_tuple()])

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, float | None]:
        return {f.name: (None if math.isnan(v) else v) for f, v in zip(fields(self), self.as_tuple())}


def summarize(acc: Accumulated, p: EvalParams) -> CocoSummary:
    """The 12 numbers exactly as pycocotools' summarize() computes them (its stats[0] uses
    maxDets=100 whatever max_dets says; the others use max_dets[2], as pycocotools does)."""
    md = p.max_dets
    big = md[2] if len(md) > 2 else md[-1]
    values = [
        _stat(acc, p, True),
        _stat(acc, p, True, iou=0.5, max_dets=big),
        _stat(acc, p, True, iou=0.75, max_dets=big),
        _stat(acc, p, True, area="small", max_dets=big),
        _stat(acc, p, True, area="medium", max_dets=big),
        _stat(acc, p, True, area="large", max_dets=big),
        _stat(acc, p, False, max_dets=md[0]),
        _stat(acc, p, False, max_dets=md[1] if len(md) > 1 else -1),
        _stat(acc, p, False, max_dets=big),
        _stat(acc, p, False, area="small", max_dets=big),
        _stat(acc, p, False, area="medium", max_dets=big),
        _stat(acc, p, False, area="large", max_dets=big),
    ]
    return CocoSummary(*map(nan_if_undefined, values))


@dataclass(frozen=True)
class ClassMetrics:
    """COCO figures of one category (area all, the largest max_dets); NaN where undefined.

    `AR100` is the average recall at the largest max_dets (`max_dets`: 100 by default, 300 for
    LVIS); `to_dict` names it for what it is: "AR100", "AR300", "AR5", ...
    """

    category_id: int
    name: str
    AP: float
    AP50: float
    AP75: float
    AR100: float
    max_dets: int = 100

    def to_dict(self) -> dict[str, float | int | str | None]:
        def plain(v: float | int | str) -> float | int | str | None:
            return None if isinstance(v, float) and math.isnan(v) else v

        return {
            "category_id": self.category_id,
            "name": self.name,
            "AP": plain(self.AP),
            "AP50": plain(self.AP50),
            "AP75": plain(self.AP75),
            f"AR{self.max_dets}": plain(self.AR100),
        }


def _mean_defined_per_class(s: np.ndarray) -> np.ndarray:
    """(K,) mean of the defined (> -1) entries of s[..., k] per class, NaN where none."""
    flat = s.reshape(int(np.prod(s.shape[:-1])), s.shape[-1])  # -1 cannot stand for it when K = 0
    defined = flat > -1
    count = defined.sum(axis=0)
    total = np.where(defined, flat, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def per_class(
    acc: Accumulated, p: EvalParams, class_ids: np.ndarray, names: Sequence[str]
) -> tuple[ClassMetrics, ...]:
    """AP, AP50, AP75 and AR at the largest max_dets for each evaluated category, area 'all'
    (means of the defined entries, as _summarize takes them, all classes at once)."""
    a = p.area_labels.index("all") if "all" in p.area_labels else 0
    m = len(p.max_dets) - 1
    prec = acc.precision[:, :, :, a, m]  # (T, R, K)

    def at(iou: float) -> np.ndarray:
        t = np.flatnonzero(p.iou_thresholds == iou)
        return _mean_defined_per_class(prec[t]) if len(t) else np.full(prec.shape[-1], np.nan)

    columns = (
        _mean_defined_per_class(prec),
        at(0.5),
        at(0.75),
        _mean_defined_per_class(acc.recall[:, :, a, m]),
    )
    return tuple(
        ClassMetrics(int(cid), str(name), *(float(c[k]) for c in columns), max_dets=p.max_dets[-1])
        for k, (cid, name) in enumerate(zip(class_ids.tolist(), names))
    )
