"""Per-image figures: TP / FP / FN, precision, recall and F1 at the operating point, and AP50.

Counts come from the matches at the operating point (`result.point_matches`, COCO rules: a
detection matched to a crowd is neither TP nor FP) and its score threshold, so they add up to
the per-class totals of `result.point.counts`. AP50 is COCO's AP at IoU 0.5 of the image alone
(area "all", max_dets[-1]: the mean over the image's classes with ground truth of the
101-point interpolated precision), from the result's own matches: what
`evaluate(gt, dt, image_ids=[i]).coco.AP50` gives; NaN for an image without ground truth.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..aggregate import EPS, prf
from ..errors import DetrecallError
from ..matching import detection_status
from ..options import ZeroDivision
from ..result import EvaluationResult
from ..tables import Kind, Table, import_pandas, json_number
from ..types import Matches, Status
from ._ranked import sampled_precision

COLUMNS = ("image_id", "tp", "fp", "fn", "precision", "recall", "f1", "AP50")
WORST_BY = ("errors", "fp", "fn", "f1", "AP50")


@dataclass(frozen=True)
class PerImage:
    """One row per evaluated image (ids ascending, or in the order `worst` ranks them).

    `f1` is the F-beta of the operating point (beta = `beta`, 1 by default); precision,
    recall and f1 take `zero_division` where undefined; AP50 is NaN without ground truth.
    """

    image_id: np.ndarray  # (I,) int64
    tp: np.ndarray  # (I,) int64
    fp: np.ndarray
    fn: np.ndarray
    precision: np.ndarray  # (I,) float64
    recall: np.ndarray
    f1: np.ndarray
    AP50: np.ndarray
    iou_threshold: float
    score_threshold: float
    beta: float = 1.0

    def __post_init__(self) -> None:
        for name in COLUMNS:
            getattr(self, name).flags.writeable = False

    def __len__(self) -> int:
        return len(self.image_id)

    @property
    def errors(self) -> np.ndarray:
        """(I,) false positives plus false negatives."""
        return self.fp + self.fn

    def take(self, rows: np.ndarray) -> PerImage:
        """These rows, in this order."""
        return replace(self, **{name: getattr(self, name)[rows] for name in COLUMNS})

    def worst(self, n: int = 10, by: str = "errors") -> PerImage:
        """The n worst images: most errors (FP + FN), most FP, most FN, or lowest f1 / AP50
        (images where AP50 is undefined last); ties by image id."""
        if by not in WORST_BY:
            raise DetrecallError(f"by must be one of {', '.join(WORST_BY)}; got {by!r}")
        if by in ("errors", "fp", "fn"):
            key = -(self.errors if by == "errors" else getattr(self, by)).astype(np.float64)
        else:
            key = np.where(np.isnan(getattr(self, by)), np.inf, getattr(self, by))
        order = np.lexsort((self.image_id, key))
        return self.take(order[: max(int(n), 0)])

    def rows(self) -> list[tuple[Any, ...]]:
        """(image_id, tp, fp, fn, precision, recall, f1, AP50) per image, as Python numbers."""
        columns = [getattr(self, name).tolist() for name in COLUMNS]
        return list(zip(*columns))

    def table(self, title: str = "Per image") -> Table:
        return Table(
            f"{title} (IoU >= {self.iou_threshold:g}, score >= {self.score_threshold:g})",
            COLUMNS,
            (Kind.LABEL, Kind.COUNT, Kind.COUNT, Kind.COUNT, Kind.RATE, Kind.RATE, Kind.RATE, Kind.RATE),
            tuple(self.rows()),
        )

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready records (null where undefined)."""
        return [{k: json_number(v) for k, v in zip(COLUMNS, row)} for row in self.rows()]

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """CSV with the columns image_id, tp, fp, fn, precision, recall, f1, AP50 (empty where
        undefined); written to `path` when given; the text is returned either way."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows():
            writer.writerow(["" if isinstance(v, float) and math.isnan(v) else repr(v) for v in row])
        text = out.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return text

    def to_pandas(self) -> Any:  # pandas.DataFrame (pandas is optional, without stubs here)
        """A DataFrame with the columns of `to_csv` (pandas must be installed: an ImportError says so)."""
        pandas = import_pandas()
        return pandas.DataFrame({name: getattr(self, name) for name in COLUMNS})


def per_image(result: EvaluationResult, *, zero_division: ZeroDivision = 0) -> PerImage:
    """Per-image counts and rates at the result's operating point, and AP50 (module docstring;
    NaN throughout when IoU 0.5 is not among the result's iou_thresholds).
    `zero_division`: what an undefined precision / recall / F takes (no warning)."""
    m = result.point_matches
    if m is None:
        raise DetrecallError("this result has no matches at the operating point (point_matches)")
    point = result.point
    ids = result.image_ids
    if ids is None:
        ids = np.unique(np.r_[m.det_image, m.gt_image, result.matches.gt_image])
    n_img = len(ids)
    status = detection_status(m)
    above = m.det_score >= point.score_threshold
    at = np.searchsorted(ids, m.det_image)
    tp = np.bincount(at[above & (status == Status.TP)], minlength=n_img)[:n_img]
    fp = np.bincount(at[above & (status == Status.FP)], minlength=n_img)[:n_img]
    support = np.bincount(np.searchsorted(ids, m.gt_image[~m.gt_ignored[0]]), minlength=n_img)[:n_img]
    fn = support - tp
    precision, recall, f1 = prf(tp, fp, fn, point.beta, zero_division, warn_for=())
    return PerImage(
        image_id=np.asarray(ids, np.int64).copy(),
        tp=tp.astype(np.int64),
        fp=fp.astype(np.int64),
        fn=fn.astype(np.int64),
        precision=precision,
        recall=recall,
        f1=f1,
        AP50=image_ap(result, ids) if _has_ap50(result) else np.full(n_img, math.nan),
        iou_threshold=point.iou_threshold,
        score_threshold=point.score_threshold,
        beta=point.beta,
    )


def _has_ap50(result: EvaluationResult) -> bool:
    return bool((result.matches.iou_thresholds == 0.5).any()) and "all" in result.params.area_labels


def image_ap(result: EvaluationResult, image_ids: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """(I,) COCO AP at `iou_threshold` of each image alone (area "all", the result's largest
    max_dets), NaN without ground truth. Needs that threshold among the result's."""
    m, params = result.matches, result.params
    t = np.flatnonzero(m.iou_thresholds == iou_threshold)
    if not len(t) or "all" not in params.area_labels:
        raise DetrecallError(
            f"per-image AP{iou_threshold * 100:g} needs IoU {iou_threshold:g} among the iou_thresholds "
            f"and an area range 'all'; got {m.iou_thresholds.tolist()} and {list(params.area_labels)}"
        )
    return _image_ap(m, image_ids, int(t[0]), params.area_labels.index("all"), params.recall_thresholds)


def _image_ap(m: Matches, ids: np.ndarray, t: int, a: int, recall_thresholds: np.ndarray) -> np.ndarray:
    n_img, n_k = len(ids), max(len(m.class_ids), 1)
    counted_gt = ~m.gt_ignored[a]
    gt_key = np.searchsorted(ids, m.gt_image[counted_gt]) * n_k + m.gt_class[counted_gt]
    groups, npos = np.unique(gt_key, return_counts=True)  # (image, class) with positives
    h = np.flatnonzero((m.hit_area == a) & (m.hit_thr == t))
    status = np.where(m.det_out_of_range[a], Status.IGNORED, Status.FP).astype(np.int8)
    status[m.hit_det[h]] = np.where(m.hit_ignored[h], Status.IGNORED, Status.TP)
    # detections come in (image, class, rank) order: a group's are consecutive and ranked
    det_key = np.searchsorted(ids, m.det_image) * n_k + m.det_class
    g = np.searchsorted(groups, det_key)
    keep = (status != Status.IGNORED) & (g < len(groups))
    keep[keep] = groups[g[keep]] == det_key[keep]
    sampled = sampled_precision(g[keep], status[keep] == Status.TP, npos, recall_thresholds, EPS)
    image_of_group = groups // n_k
    total = np.bincount(image_of_group, weights=sampled.sum(axis=1), minlength=n_img)[:n_img]
    n_groups = np.bincount(image_of_group, minlength=n_img)[:n_img]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_groups > 0, total / (n_groups * len(recall_thresholds)), math.nan)
