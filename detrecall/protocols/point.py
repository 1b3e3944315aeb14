"""Recall and precision at an operating point: one IoU threshold, one score threshold.

Built on the matcher's output at that IoU (COCO rules: a detection matched to a crowd is
neither TP nor FP; no area filter) and the shared formulas of `aggregate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..aggregate import (
    AVERAGES,
    Counts,
    Curve,
    Rates,
    ZeroDivision,
    average_rates,
    by_score,
    check_zero_division,
    curves,
    prf,
)
from ..errors import DetrecallError
from ..types import Matches

TP, FP, IGNORED = 1, 0, 2


def check_point_args(
    iou_threshold: float,
    score_threshold: float,
    beta: float,
    zero_division: ZeroDivision,
    targets: Sequence[float | None],
) -> None:
    """Refuse values that have no meaning, with what would be right."""
    if not (isinstance(iou_threshold, (int, float)) and 0 < iou_threshold <= 1):
        raise DetrecallError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")
    if not (isinstance(score_threshold, (int, float)) and score_threshold >= 0):
        raise DetrecallError(f"score_threshold must be a number >= 0, got {score_threshold!r}")
    if not (isinstance(beta, (int, float)) and beta >= 0):
        raise DetrecallError(f"beta must be a number >= 0, got {beta!r}")
    check_zero_division(zero_division)
    for t in targets:
        if t is not None and not (isinstance(t, (int, float)) and 0 <= t <= 1):
            raise DetrecallError(f"target_recall / target_precision must be in [0, 1], got {t!r}")


def detection_status(m: Matches) -> np.ndarray:
    """(D,) TP, FP or IGNORED of each detection at the single IoU threshold of `m` (and its
    first area range: an unmatched detection flagged out of it is ignored, e.g. LVIS's
    not-exhaustively-annotated classes)."""
    status = np.where(m.det_out_of_range[0], IGNORED, FP).astype(np.int8)
    status[m.hit_det] = np.where(m.hit_ignored, IGNORED, TP)
    return status


@dataclass(frozen=True)
class OperatingPoint:
    """A chosen score threshold and what it gives; all NaN when no threshold qualifies."""

    threshold: float
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if math.isnan(v) else v) for k, v in self.__dict__.items()}


NO_POINT = OperatingPoint(math.nan, math.nan, math.nan, math.nan)


def _pick(c: Curve, valid: np.ndarray, primary: np.ndarray) -> OperatingPoint:
    """The point maximizing `primary` among `valid` ones; ties go to the highest threshold."""
    ok = valid & ~np.isnan(primary)
    if not ok.any():
        return NO_POINT
    i = np.flatnonzero(ok)[np.argmax(primary[ok])]  # thresholds descend: first max = highest
    return OperatingPoint(float(c.thresholds[i]), float(c.precision[i]), float(c.recall[i]), float(c.f1[i]))


def best_f1(c: Curve) -> OperatingPoint:
    """The score threshold with the highest F-beta (the highest threshold among ties)."""
    return _pick(c, np.ones(len(c.thresholds), bool), c.f1)


def at_recall(c: Curve, target: float) -> OperatingPoint:
    """Highest precision among thresholds whose recall reaches `target`."""
    return _pick(c, c.recall >= target, c.precision)


def at_precision(c: Curve, target: float) -> OperatingPoint:
    """Highest recall among thresholds whose precision reaches `target`."""
    return _pick(c, c.precision >= target, c.recall)


@dataclass(frozen=True)
class ClassPoint:
    """One class at the operating point."""

    category_id: int
    name: str
    support: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    best_f1: OperatingPoint

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: v for k, v in self.__dict__.items() if k != "best_f1"}
        for k in ("precision", "recall", "f1"):
            out[k] = None if math.isnan(self.__dict__[k]) else self.__dict__[k]
        out["best_f1_threshold"] = None if math.isnan(self.best_f1.threshold) else self.best_f1.threshold
        return out


@dataclass(frozen=True)
class Cost:
    """Total cost at the operating point and per image (image ids ascending)."""

    total: float
    image_ids: np.ndarray
    per_image: np.ndarray


@dataclass(frozen=True)
class PointResult:
    """Per-class TP/FP/FN and rates at one IoU and score threshold, their averages, the curves
    behind them, chosen operating points, and optionally a confusion matrix and costs.

    Undefined rates (no prediction, or no ground truth) take `zero_division` (default 0, the
    value scikit-learn's "warn" returns). The averages run over the classes with at least one
    ground truth or one counted prediction.
    """

    iou_threshold: float
    score_threshold: float
    beta: float
    class_ids: np.ndarray
    names: tuple[str, ...]
    counts: Counts
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    micro: Rates
    macro: Rates
    weighted: Rates
    curves: tuple[Curve, ...]  # per class
    curve: Curve  # all classes pooled (micro)
    best_f1_per_class: tuple[OperatingPoint, ...]
    best_f1_overall: OperatingPoint
    at_recall: tuple[float, tuple[OperatingPoint, ...], OperatingPoint] | None = None
    at_precision: tuple[float, tuple[OperatingPoint, ...], OperatingPoint] | None = None
    confusion: np.ndarray | None = None  # (C+1, C+1): rows truth, columns prediction, last = background
    cost: Cost | None = None

    @property
    def per_class(self) -> tuple[ClassPoint, ...]:
        c = self.counts
        return tuple(
            ClassPoint(
                int(self.class_ids[k]),
                self.names[k],
                int(c.support[k]),
                int(c.tp[k]),
                int(c.fp[k]),
                int(c.fn[k]),
                float(self.precision[k]),
                float(self.recall[k]),
                float(self.f1[k]),
                self.best_f1_per_class[k],
            )
            for k in range(len(self.class_ids))
        )

    def average(self, kind: str) -> Rates:
        """ "micro", "macro" or "weighted"."""
        if kind not in AVERAGES:
            raise DetrecallError(f"average must be one of {', '.join(AVERAGES)}, got {kind!r}")
        return getattr(self, kind)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "iou_threshold": self.iou_threshold,
            "score_threshold": self.score_threshold,
            "beta": self.beta,
            "per_class": [c.to_dict() for c in self.per_class],
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
            "best_f1": self.best_f1_overall.to_dict(),
        }
        for key, target in (("at_recall", self.at_recall), ("at_precision", self.at_precision)):
            if target is not None:
                out[key] = {
                    "target": target[0],
                    "overall": target[2].to_dict(),
                    "per_class": [p.to_dict() for p in target[1]],
                }
        if self.confusion is not None:
            out["confusion"] = {"labels": [*self.names, "background"], "matrix": self.confusion.tolist()}
        if self.cost is not None:
            out["cost"] = {
                "total": self.cost.total,
                "per_image": dict(zip(map(int, self.cost.image_ids), self.cost.per_image.tolist())),
            }
        return out


def operating_point(
    m: Matches,
    names: Sequence[str],
    *,
    iou_threshold: float,
    score_threshold: float,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    target_recall: float | None = None,
    target_precision: float | None = None,
    confusion: np.ndarray | None = None,
    cost: Mapping[str, float] | None = None,
    image_ids: np.ndarray | None = None,
    score_order: np.ndarray | None = None,
) -> PointResult:
    """Everything at the operating point from matches made at `iou_threshold` (one area range).
    `score_order`: aggregate.by_score(m.det_score) when the caller has it."""
    n_k = len(m.class_ids)
    status = detection_status(m)
    above = m.det_score >= score_threshold
    support = m.npos[:, 0]
    tp = np.bincount(m.det_class[above & (status == TP)], minlength=n_k)
    fp = np.bincount(m.det_class[above & (status == FP)], minlength=n_k)
    counts = Counts(tp=tp, fp=fp, fn=support - tp)
    precision, recall, f1 = prf(counts.tp, counts.fp, counts.fn, beta, zero_division)
    labels = (support > 0) | (counts.predicted > 0)
    avg = {k: average_rates(counts, k, labels, beta, zero_division) for k in AVERAGES}
    counted = status != IGNORED
    score, is_tp, cls = m.det_score[counted], status[counted] == TP, m.det_class[counted]
    order = by_score(m.det_score) if score_order is None else score_order
    order = (np.cumsum(counted) - 1)[order[counted[order]]]  # the same order among the counted
    per_class_curves = curves(score, is_tp, cls, support, beta, zero_division, order)
    pooled = curves(score, is_tp, np.zeros_like(cls), np.array([support.sum()]), beta, zero_division, order)[
        0
    ]

    def targeted(target: float | None, pick) -> tuple | None:
        if target is None:
            return None
        return (float(target), tuple(pick(c, target) for c in per_class_curves), pick(pooled, target))

    result_cost = None
    if cost is not None:
        result_cost = _cost(m, status, above, cost, image_ids)
    return PointResult(
        iou_threshold=float(iou_threshold),
        score_threshold=float(score_threshold),
        beta=float(beta),
        class_ids=m.class_ids,
        names=tuple(names),
        counts=counts,
        precision=precision,
        recall=recall,
        f1=f1,
        micro=avg["micro"],
        macro=avg["macro"],
        weighted=avg["weighted"],
        curves=tuple(per_class_curves),
        curve=pooled,
        best_f1_per_class=tuple(best_f1(c) for c in per_class_curves),
        best_f1_overall=best_f1(pooled),
        at_recall=targeted(target_recall, at_recall),
        at_precision=targeted(target_precision, at_precision),
        confusion=confusion,
        cost=result_cost,
    )


def _cost(
    m: Matches, status: np.ndarray, above: np.ndarray, cost: Mapping[str, float], image_ids: np.ndarray | None
) -> Cost:
    unknown = set(cost) - {"tp", "fp", "fn"}
    if unknown:
        raise DetrecallError(f"cost keys must be 'tp', 'fp', 'fn'; got {sorted(unknown)}")
    weights = {k: float(cost.get(k, 0.0)) for k in ("tp", "fp", "fn")}
    ids = np.unique(np.r_[m.det_image, m.gt_image]) if image_ids is None else image_ids
    at = np.searchsorted(ids, m.det_image)
    tp = np.bincount(at[above & (status == TP)], minlength=len(ids))
    fp = np.bincount(at[above & (status == FP)], minlength=len(ids))
    pos = np.bincount(np.searchsorted(ids, m.gt_image[~m.gt_ignored[0]]), minlength=len(ids))
    per_image = weights["tp"] * tp + weights["fp"] * fp + weights["fn"] * (pos - tp)
    return Cost(total=float(per_image.sum()), image_ids=ids, per_image=per_image)


def confusion_matrix(
    n_classes: int,
    m: Matches,
    status: np.ndarray,
    above: np.ndarray,
    cross: Matches,
) -> np.ndarray:
    """(C+1, C+1) counts, rows = true class, columns = predicted class, index C = background.

    TP -> (c, c). A counted false positive that a class-agnostic greedy pass (score order,
    highest IoU >= the threshold) pairs with a still-unmatched ground truth of another class
    -> (true class, predicted class); other false positives -> (background, c); ground truth
    matched by nothing -> (c, background). Crowds and detections matched to them are left out.
    `cross` is that class-agnostic pass, made on the false positives and unmatched ground truth.
    """
    out = np.zeros((n_classes + 1, n_classes + 1), np.int64)
    bg = n_classes
    tp = above & (status == TP)
    np.add.at(out, (m.det_class[tp], m.det_class[tp]), 1)
    is_fp = above & (status == FP)
    order = np.argsort(m.det_row[is_fp])
    fp_rows, fp_class = m.det_row[is_fp][order], m.det_class[is_fp][order]
    taken = np.full(len(fp_rows), -1)
    if len(cross.hit_det):
        pos = np.searchsorted(fp_rows, cross.det_row[cross.hit_det])
        hit_ok = (pos < len(fp_rows)) & (
            fp_rows[np.minimum(pos, len(fp_rows) - 1)] == cross.det_row[cross.hit_det]
        )
        taken[pos[hit_ok]] = cross.hit_gt[hit_ok]
    counted = ~m.gt_ignored[0]
    gt_rows, gt_class = m.gt_row[counted], m.gt_class[counted]
    cross_true = np.full(len(fp_rows), bg)
    hit = taken >= 0
    cross_true[hit] = gt_class[np.searchsorted(gt_rows, taken[hit])]
    np.add.at(out, (cross_true, fp_class), 1)
    matched_gt = np.zeros(len(gt_rows), bool)
    tp_gt = m.hit_gt[tp[m.hit_det] & ~m.hit_ignored]
    matched_gt[np.searchsorted(gt_rows, tp_gt)] = True
    matched_gt[np.searchsorted(gt_rows, taken[hit])] = True
    np.add.at(out, (gt_class[~matched_gt], bg), 1)
    return out
