"""Diagnostics: short findings about the data and the model, each one line with its numbers.

Every finding comes from the result alone: the ground-truth counts, the counts at the operating
point (IoU and score threshold of `result.point`), the matcher's output at that point
(`result.point_matches`) and the AP figures. Thresholds that turn a finding into a warning are
arguments of `diagnose`, with the defaults documented there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DetrecallError
from ..matching import detection_status
from ..metrics import calibration_curve
from ..types import Matches, Status

if TYPE_CHECKING:
    from ..result import EvaluationResult

INFO, WARNING = "info", "warning"
PERFECT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Finding:
    """One diagnostic: what kind, how serious, a one-line message, and the numbers behind it."""

    kind: str
    level: str  # "info" or "warning"
    message: str
    data: dict[str, Any] = field(default_factory=dict)  # JSON-ready

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "level": self.level, "message": self.message, "data": self.data}


@dataclass(frozen=True)
class Calibration:
    """Scores read as the probability that a detection is a true positive at `iou_threshold`.

    Scores are cut into `n_bins` equal bins of [0, 1] (as scikit-learn's calibration_curve,
    upper edges inclusive); per non-empty bin: detections, their mean score, the fraction that
    are true positives. ECE = sum over bins of count/total * |fraction_tp - mean_score|.
    """

    iou_threshold: float
    n_bins: int
    count: np.ndarray  # (B,) int64, non-empty bins only
    mean_score: np.ndarray  # (B,) float64
    fraction_tp: np.ndarray  # (B,) float64
    ece: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_threshold": self.iou_threshold,
            "n_bins": self.n_bins,
            "count": self.count.tolist(),
            "mean_score": self.mean_score.tolist(),
            "fraction_tp": self.fraction_tp.tolist(),
            "ece": self.ece,
        }


@dataclass(frozen=True)
class Diagnosis:
    """The findings, in a fixed order, and the calibration behind the reliability diagram."""

    findings: tuple[Finding, ...]
    calibration: Calibration | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }

    def lines(self) -> list[str]:
        """One line per finding, `warning: ...` or `info: ...`."""
        return [f"{f.level}: {f.message}" for f in self.findings]


def _names(items: list[str], limit: int = 8) -> str:
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f", and {more} more" if more > 0 else "")


def class_imbalance(result: EvaluationResult, ratio: float = 10.0) -> Finding:
    """Ground truths per class: the most and least frequent class and their ratio; a warning
    when the ratio reaches `ratio` or a class has no ground truth at all."""
    p = result.point
    support = p.counts.support
    total = int(support.sum())
    if total == 0:
        return Finding(
            "class_imbalance", WARNING, "ground truth: no objects at all: nothing to recall", {"total": 0}
        )
    present = np.flatnonzero(support > 0)
    most = int(present[np.argmax(support[present])])
    least = int(present[np.argmin(support[present])])
    r = support[most] / support[least]
    empty = [p.names[k] for k in np.flatnonzero(support == 0)]
    if len(present) == 1:
        message = f"ground truth: {total} objects, all of one class ({p.names[most]})"
    else:
        message = (
            f"class imbalance in ground truth: {len(present)} classes, {total} objects; most "
            f"{p.names[most]} {support[most]} ({support[most] / total:.0%}), least "
            f"{p.names[least]} {support[least]}: ratio {r:.1f}:1"
        )
    if empty:
        message += f"; no ground truth (AP undefined): {_names(empty)}"
    data = {
        "total": total,
        "most": {"name": p.names[most], "count": int(support[most])},
        "least": {"name": p.names[least], "count": int(support[least])},
        "ratio": float(r),
        "without_ground_truth": empty,
    }
    return Finding("class_imbalance", WARNING if r >= ratio or empty else INFO, message, data)


def never_predicted(result: EvaluationResult) -> Finding | None:
    """Classes with ground truth but no counted prediction at the operating point."""
    p = result.point
    support, predicted = p.counts.support, p.counts.predicted
    never = np.flatnonzero((support > 0) & (predicted == 0))
    if not len(never):
        return None
    items = [f"{p.names[k]} ({support[k]} ground truths)" for k in never]
    return Finding(
        "never_predicted",
        WARNING,
        f"never predicted at score >= {p.score_threshold:g}: {len(never)} of "
        f"{int((support > 0).sum())} classes: {_names(items)}",
        {"classes": [{"name": p.names[k], "support": int(support[k])} for k in never]},
    )


def over_predicted(result: EvaluationResult, factor: float = 2.0) -> Finding | None:
    """Classes predicted at least `factor` times as often as they occur, and `factor` times the
    model-wide ratio (predictions / ground truths) when that is above 1 — so that a low score
    threshold, which inflates every class, flags only the classes inflated the most; and classes
    predicted without any ground truth."""
    p = result.point
    support, predicted = p.counts.support, p.counts.predicted
    overall = predicted.sum() / support.sum() if support.sum() else math.inf
    limit = factor * max(1.0, float(overall)) if math.isfinite(overall) else factor
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(support > 0, predicted / np.maximum(support, 1), np.inf)
    flagged = np.flatnonzero((predicted > 0) & (ratio >= limit))
    if not len(flagged):
        return None
    flagged = flagged[np.argsort(-ratio[flagged], kind="stable")]
    items = [
        f"{p.names[k]}: {predicted[k]} predicted, {support[k]} in ground truth"
        + (f" ({ratio[k]:.1f}x)" if support[k] else "")
        for k in flagged
    ]
    return Finding(
        "over_predicted",
        WARNING,
        f"over-predicted at score >= {p.score_threshold:g} (>= {limit:.1f}x the ground truth; "
        + (f"all classes {overall:.2f}x" if math.isfinite(overall) else "no ground truth at all")
        + f"): {_names(items)}",
        {
            "limit": limit,
            "overall_ratio": float(overall),
            "classes": [
                {"name": p.names[k], "predicted": int(predicted[k]), "support": int(support[k])}
                for k in flagged
            ],
        },
    )


def errors_per_image(result: EvaluationResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image ids, FP, FN) at the operating point, over the images with a detection or a
    (non-crowd) ground truth, ids ascending."""
    m = _point_matches(result)
    status = detection_status(m)
    above = m.det_score >= result.point.score_threshold
    counted_gt = ~m.gt_ignored[0]
    ids = np.unique(np.r_[m.det_image, m.gt_image[counted_gt]])
    at = np.searchsorted(ids, m.det_image)
    tp = np.bincount(at[above & (status == Status.TP)], minlength=len(ids))
    fp = np.bincount(at[above & (status == Status.FP)], minlength=len(ids))
    pos = np.bincount(np.searchsorted(ids, m.gt_image[counted_gt]), minlength=len(ids))
    return ids, fp, pos - tp


def most_errors(result: EvaluationResult, top: int = 5) -> Finding | None:
    """The `top` images with the most errors (FP + FN) at the operating point; ties by image id."""
    ids, fp, fn = errors_per_image(result)
    errors = fp + fn
    total = int(errors.sum())
    if total == 0:
        return None
    order = np.lexsort((ids, -errors))[:top]
    order = order[errors[order] > 0]
    worst = errors[order].sum()
    p = result.point
    items = [f"{ids[i]}: {errors[i]} ({fp[i]} FP, {fn[i]} FN)" for i in order]
    return Finding(
        "most_errors",
        INFO,
        f"images with most errors (FP+FN at IoU >= {p.iou_threshold:g}, score >= "
        f"{p.score_threshold:g}): {'; '.join(items)}; {worst} of {total} errors "
        f"({worst / total:.0%}) in {len(order)} of {len(ids)} images",
        {
            "images": [{"image_id": int(ids[i]), "fp": int(fp[i]), "fn": int(fn[i])} for i in order],
            "total_errors": total,
            "images_evaluated": len(ids),
        },
    )


def _overall_ap(result: EvaluationResult) -> tuple[str, float] | None:
    return result.protocol_summary.headline()


def _class_ap(result: EvaluationResult) -> list[tuple[str, float]]:
    names, ap, _ = result.protocol_summary.class_ap(result.per_class)
    return list(zip(names, ap.tolist()))


def suspiciously_perfect(result: EvaluationResult) -> Finding | None:
    """AP = 1 overall, or for some classes: possible leakage (detections made from the ground
    truth, or evaluation on training images). 'AP = 1' allows PERFECT_TOLERANCE: pycocotools'
    precision tp / (tp + fp + eps) is 1 - 2.2e-16 for a single true positive."""
    overall = _overall_ap(result)
    support = dict(zip(result.point.names, result.point.counts.support.tolist()))
    if overall is not None and overall[1] >= 1 - PERFECT_TOLERANCE:
        n_gt = int(result.point.counts.support.sum())
        n_dt = int(result.point.counts.predicted.sum())
        return Finding(
            "suspiciously_perfect",
            WARNING,
            f"suspiciously perfect: {overall[0]} = 1.000 on {n_gt} ground truths and {n_dt} "
            "counted detections: detections copied from the ground truth, or training images?",
            {"metric": overall[0], "value": overall[1], "support": n_gt, "predicted": n_dt},
        )
    perfect = [(name, support.get(name, 0)) for name, ap in _class_ap(result) if ap >= 1 - PERFECT_TOLERANCE]
    if not perfect:
        return None
    return Finding(
        "suspiciously_perfect",
        WARNING,
        f"AP = 1.000 for {len(perfect)} of {len(support)} classes (leakage?): "
        + _names([f"{n} ({s} ground truths)" for n, s in perfect]),
        {"classes": [{"name": n, "support": s} for n, s in perfect]},
    )


def calibration(result: EvaluationResult, n_bins: int = 10) -> Calibration | None:
    """Calibration of the scores of every counted detection (any score; crowd matches left out)
    against being a true positive at the operating point's IoU; None without detections or when
    scores leave [0, 1] (not probabilities)."""
    m = _point_matches(result)
    status = detection_status(m)
    counted = status != Status.IGNORED
    score, is_tp = m.det_score[counted], status[counted] == Status.TP
    if not len(score) or score.min() < 0 or score.max() > 1:
        return None
    fraction, mean = calibration_curve(is_tp.astype(np.int64), score, n_bins=n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    count = np.bincount(np.searchsorted(edges[1:-1], score), minlength=n_bins)  # calibration_curve's bins
    count = count[count > 0]
    ece = float(np.sum(count / count.sum() * np.abs(fraction - mean)))
    return Calibration(result.point.iou_threshold, n_bins, count, mean, fraction, ece)


def calibration_finding(result: EvaluationResult, cal: Calibration | None, warn_at: float = 0.1) -> Finding:
    """ECE in one line; a warning from `warn_at`."""
    if cal is None:
        m = _point_matches(result)
        why = "no detections" if not len(m.det_score) else "scores are not in [0, 1]"
        return Finding("calibration", INFO, f"calibration not assessed: {why}", {})
    n = int(cal.count.sum())
    mean_score = float(np.sum(cal.count * cal.mean_score) / n)
    tp_rate = float(np.sum(cal.count * cal.fraction_tp) / n)
    tone = (
        ("over-confident" if mean_score > tp_rate else "under-confident")
        if cal.ece >= warn_at
        else "well calibrated"
    )
    return Finding(
        "calibration",
        WARNING if cal.ece >= warn_at else INFO,
        f"calibration (score vs P(TP at IoU >= {cal.iou_threshold:g}), every detection: the score "
        f"threshold does not apply): expected calibration error {cal.ece:.3f} over {n} detections "
        f"in {cal.n_bins} bins; mean score {mean_score:.3f} vs "
        f"TP rate {tp_rate:.3f}: {tone}",
        {"ece": cal.ece, "detections": n, "mean_score": mean_score, "tp_rate": tp_rate},
    )


def _point_matches(result: EvaluationResult) -> Matches:
    if result.point_matches is None:
        raise DetrecallError("this result has no operating-point matches (made by an older detrecall?)")
    return result.point_matches


def diagnose(
    result: EvaluationResult,
    *,
    top_images: int = 5,
    n_bins: int = 10,
    imbalance_ratio: float = 10.0,
    over_prediction: float = 2.0,
    ece_warning: float = 0.1,
) -> Diagnosis:
    """All findings, in this order: class imbalance, classes never predicted, over-predicted,
    suspiciously perfect AP, images with the most errors, calibration (ECE over `n_bins` bins)."""
    cal = calibration(result, n_bins)
    found = [
        class_imbalance(result, imbalance_ratio),
        never_predicted(result),
        over_predicted(result, over_prediction),
        suspiciously_perfect(result),
        most_errors(result, top_images),
        calibration_finding(result, cal, ece_warning),
    ]
    return Diagnosis(tuple(f for f in found if f is not None), cal)
