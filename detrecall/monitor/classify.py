"""Classification helpers the monitoring loop needs: the best decision threshold, the business
cost of a confusion matrix, and diagnostics (imbalance, a biased model, suspiciously perfect
scores, calibration error).

They live here rather than in `detrecall.metrics`, whose public names are scikit-learn's own;
the threshold search runs on the shared aggregator's score curves (`aggregate.curves`), and the
counts come from `metrics.confusion_matrix`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..aggregate import curves
from ..errors import DetrecallError
from ..metrics import accuracy_score, confusion_matrix


class Objective(Enum):
    """What the best threshold optimizes."""

    FBETA = "fbeta"  # the highest F-beta (beta=1: F1)
    PRECISION = "precision"  # the highest recall whose precision >= target
    RECALL = "recall"  # the highest precision whose recall >= target


@dataclass(frozen=True)
class Threshold:
    """A decision threshold (positive when score >= threshold) and the rates it gives."""

    threshold: float
    precision: float
    recall: float
    fbeta: float


def best_threshold(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    objective: Objective | str = Objective.FBETA,
    beta: float = 1.0,
    target: float | None = None,
    pos_label: Any = 1,
) -> Threshold | None:
    """The best threshold of a binary classifier among its distinct scores.

    FBETA: the highest F-beta (ties: the highest threshold). PRECISION: among thresholds with
    precision >= target, the one of highest recall (ties: the highest threshold). RECALL: among
    thresholds with recall >= target, the one of highest precision (ties: the highest
    threshold). None when no threshold meets the target or there is no positive."""
    objective = Objective(objective)
    if objective is not Objective.FBETA and (target is None or not 0 <= target <= 1):
        raise DetrecallError(f"objective {objective.value} needs a target in [0, 1], got {target}")
    yt = np.asarray(y_true)
    score = np.asarray(y_score, dtype=np.float64)
    if yt.ndim != 1 or score.shape != yt.shape:
        raise DetrecallError(f"y_true and y_score must be 1-D of one length, got {yt.shape}, {score.shape}")
    if not np.isfinite(score).all():
        raise DetrecallError("y_score contains NaN or infinity")
    is_pos = yt == pos_label
    if not is_pos.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # precision 0/0 cannot happen: every threshold keeps >= 1 sample
        [c] = curves(score, is_pos, np.zeros(len(score), np.int64), np.array([is_pos.sum()]), beta=beta)
    if objective is Objective.FBETA:
        i = int(np.argmax(c.f1))  # thresholds descending: argmax takes the highest of ties
    else:
        assert target is not None
        ok = (c.precision if objective is Objective.PRECISION else c.recall) >= target - 1e-12
        if not ok.any():
            return None
        key = c.recall if objective is Objective.PRECISION else c.precision
        i = int(np.flatnonzero(ok)[np.argmax(key[ok])])
    return Threshold(float(c.thresholds[i]), float(c.precision[i]), float(c.recall[i]), float(c.f1[i]))


def best_thresholds_ovr(
    y_true: ArrayLike,
    y_score: ArrayLike,
    labels: ArrayLike,
    *,
    objective: Objective | str = Objective.FBETA,
    beta: float = 1.0,
    target: float | None = None,
) -> dict[Any, Threshold | None]:
    """One-vs-rest: the best threshold of each label's column of `y_score` (n, K), columns in
    the order of `labels`."""
    score = np.asarray(y_score, dtype=np.float64)
    names = np.asarray(labels).tolist()
    if score.ndim != 2 or score.shape[1] != len(names):
        raise DetrecallError(f"y_score must be (n, {len(names)}) for {len(names)} labels, got {score.shape}")
    yt = np.asarray(y_true)
    return {
        k: best_threshold(yt == k, score[:, j], objective=objective, beta=beta, target=target, pos_label=True)
        for j, k in enumerate(names)
    }


@dataclass(frozen=True)
class Cost:
    """The cost of a classifier's errors (and successes) under a cost matrix."""

    total: float
    per_prediction: float
    confusion: np.ndarray  # (K, K) counts, rows true, columns predicted, in `labels` order
    labels: tuple[Any, ...]


def business_cost(
    y_true: ArrayLike, y_pred: ArrayLike, costs: ArrayLike, *, labels: ArrayLike | None = None
) -> Cost:
    """sum(confusion * costs): `costs[i][j]` is the cost of predicting label j for a sample of
    label i, labels sorted (or in `labels` order); binary: [[TN, FP], [FN, TP]] costs (a
    negative cost is a gain). `per_prediction` divides by the number of samples."""
    c = np.asarray(costs, dtype=np.float64)
    names = np.unique(np.r_[np.asarray(y_true), np.asarray(y_pred)]) if labels is None else np.asarray(labels)
    if c.shape != (len(names), len(names)) or not np.isfinite(c).all():
        raise DetrecallError(
            f"the cost matrix must be finite and {len(names)}x{len(names)}, got shape {c.shape}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matrix = np.asarray(confusion_matrix(y_true, y_pred, labels=names))
    total = float(np.sum(matrix * c))
    n = int(matrix.sum())
    return Cost(total, total / n if n else math.nan, matrix, tuple(names.tolist()))


def expected_calibration_error(
    y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int = 10, pos_label: Any = 1
) -> float:
    """ECE of binary probabilities: sum over uniform bins of (share of samples) x |fraction of
    positives - mean probability|, the bins of scikit-learn's calibration_curve."""
    prob = np.asarray(y_prob, dtype=np.float64)
    is_pos = np.asarray(y_true) == pos_label
    if not len(prob):
        return math.nan
    if prob.min() < 0 or prob.max() > 1:
        raise DetrecallError("y_prob has values outside [0, 1]")
    ids = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], prob)
    gap = np.abs(
        np.bincount(ids, weights=is_pos, minlength=n_bins) - np.bincount(ids, weights=prob, minlength=n_bins)
    )
    return float(gap.sum() / len(prob))


class Finding(Enum):
    """A diagnostic that deserves a look."""

    IMBALANCED = "imbalanced"  # the rarest true class is < 1/imbalance_ratio of the commonest
    BIASED = "biased"  # one class is predicted far more often than it occurs
    PERFECT = "suspiciously_perfect"  # accuracy or ROC-AUC of 1: a leak of the label into the inputs?
    MISCALIBRATED = "miscalibrated"  # expected calibration error above the limit


@dataclass(frozen=True)
class Diagnostics:
    """Facts about labels and predictions, and the findings they raise."""

    imbalance_ratio: float  # commonest / rarest true class count
    true_share: dict[str, float]
    predicted_share: dict[str, float]
    max_share_excess: float  # the largest predicted share - true share over the classes
    accuracy: float
    calibration_error: float | None  # ECE (binary probabilities; else of the top-class confidence)
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "imbalance_ratio": self.imbalance_ratio,
            "true_share": self.true_share,
            "predicted_share": self.predicted_share,
            "max_share_excess": self.max_share_excess,
            "accuracy": self.accuracy,
            "calibration_error": self.calibration_error,
            "findings": [f.value for f in self.findings],
        }


def diagnostics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    y_prob: ArrayLike | None = None,
    *,
    imbalance_limit: float = 10.0,
    bias_limit: float = 0.2,
    calibration_limit: float = 0.1,
    n_bins: int = 10,
) -> Diagnostics:
    """Diagnostics of a classifier's run. `y_prob`: (n,) positive-class probabilities (binary,
    positive = the larger label) or (n, K) probabilities in sorted label order."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.r_[yt, yp])
    true_n = np.array([(yt == k).sum() for k in labels], dtype=np.float64)
    pred_n = np.array([(yp == k).sum() for k in labels], dtype=np.float64)
    present = true_n[true_n > 0]
    ratio = float(present.max() / present.min()) if len(present) else math.nan
    true_share, pred_share = true_n / len(yt), pred_n / len(yp)
    excess = float(np.max(pred_share - true_share))
    accuracy = float(accuracy_score(yt, yp))
    ece: float | None = None
    perfect = accuracy == 1.0
    if y_prob is not None:
        prob = np.asarray(y_prob, dtype=np.float64)
        if prob.ndim == 1:
            ece = expected_calibration_error(yt, prob, n_bins=n_bins, pos_label=labels[-1])
            pos = yt == labels[-1]
            if pos.any() and (~pos).any():
                perfect = perfect or float(prob[pos].min()) > float(prob[~pos].max())  # ROC-AUC = 1
        else:
            top = prob.max(axis=1)
            ece = expected_calibration_error(
                labels[np.argmax(prob, axis=1)] == yt, top, n_bins=n_bins, pos_label=True
            )
    findings = [
        f
        for f, hit in (
            (Finding.IMBALANCED, ratio > imbalance_limit),
            (Finding.BIASED, excess > bias_limit),
            (Finding.PERFECT, perfect),
            (Finding.MISCALIBRATED, ece is not None and ece > calibration_limit),
        )
        if hit
    ]
    names = [str(k) for k in labels.tolist()]
    return Diagnostics(
        ratio,
        dict(zip(names, true_share.tolist())),
        dict(zip(names, pred_share.tolist())),
        excess,
        accuracy,
        ece,
        tuple(findings),
    )
