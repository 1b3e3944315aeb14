"""What a run is before it is stored: its task, result JSON, flat metrics and prediction statistics.

Flat metrics are what rules and history read: `overall` maps a metric name to a number, and
`per_class` maps a class (as text) to its own names. Detection: the protocol summary's names
(COCO: AP, AP50, ..., AR100) and the operating point's micro precision, recall and F1; per
class AP, AP50, AP75, AR100 and the point's precision, recall, F1. Classification: accuracy,
weighted precision, recall and F1, MCC, kappa, ROC-AUC (with scores); per class precision,
recall, F1.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from .. import metrics as label_metrics
from ..errors import InputError
from ..result import EvaluationResult
from .stats import PredictionStats, stats_of_labels, stats_of_result


class Task(Enum):
    """What was evaluated."""

    DETECTION = "detection"
    CLASSIFICATION = "classification"


@dataclass(frozen=True)
class RunData:
    """One run to check or record. Without labels, `metrics` is empty and only drift is checked."""

    task: Task
    result: dict[str, Any]
    metrics: dict[str, Any]  # {"overall": {name: value}, "per_class": {class: {name: value}}}
    stats: PredictionStats | None = None
    params: dict[str, Any] = field(default_factory=dict)
    evaluation: EvaluationResult | None = None  # kept in memory for the paired bootstrap

    @property
    def labelled(self) -> bool:
        return bool(self.metrics.get("overall"))


def _number(v: Any) -> float | None:
    return None if v is None else float(v)


def detection_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """Flat metrics of an evaluation's JSON (`EvaluationResult.to_dict()` or `evaluate --output`)."""
    protocol = result.get("protocol", "coco")
    summary = result.get(protocol) or {}
    overall: dict[str, float | None] = {
        k: _number(v) for k, v in summary.items() if isinstance(v, int | float) or v is None
    }
    point = result.get("point") or {}
    micro = point.get("micro") or {}
    for ours, theirs in (("precision", "precision"), ("recall", "recall"), ("F1", "f1")):
        if theirs in micro:
            overall[ours] = _number(micro[theirs])
    per_class: dict[str, dict[str, float | None]] = {}
    for c in result.get("per_class") or []:
        per_class[str(c["category_id"])] = {
            k: _number(c[k]) for k in ("AP", "AP50", "AP75", "AR100") if k in c
        }
    for c in point.get("per_class") or []:
        row = per_class.setdefault(str(c["category_id"]), {})
        row.update(
            {"precision": _number(c["precision"]), "recall": _number(c["recall"]), "F1": _number(c["f1"])}
        )
    return {"overall": overall, "per_class": per_class}


def detection_run(
    result: EvaluationResult, stats: PredictionStats | None = None, params: Mapping[str, Any] | None = None
) -> RunData:
    """A run of an evaluation; statistics from its matched detections unless given."""
    data = result.to_dict()
    return RunData(
        Task.DETECTION,
        data,
        detection_metrics(data),
        stats if stats is not None else stats_of_result(result),
        {**data.get("params", {}), **(params or {})},
        result,
    )


def saved_detection_run(data: Mapping[str, Any], source: str = "<saved>") -> RunData:
    """A run of a saved evaluation JSON (`detrecall evaluate --output FILE`); no prediction statistics."""
    if not isinstance(data, Mapping) or "point" not in data or "protocol" not in data:
        raise InputError("not a detrecall evaluation JSON (expected evaluate --output)", source=source)
    body = {k: v for k, v in data.items() if k != "schema_version"}
    return RunData(Task.DETECTION, body, detection_metrics(body), None, dict(body.get("params", {})))


def unlabelled_run(stats: PredictionStats, task: Task = Task.DETECTION) -> RunData:
    """A run of predictions without labels: drift only."""
    return RunData(task, {}, {"overall": {}, "per_class": {}}, stats)


def classification_run(
    y_true: np.ndarray | None, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> RunData:
    """A run of a classifier: its report and flat metrics (none without `y_true`) and the
    statistics of its predictions. `y_score`: (n,) scores of the positive class (binary) or
    (n, K) probabilities, columns in sorted label order."""
    y_pred = np.asarray(y_pred)
    stats = stats_of_labels(y_pred, y_score)
    if y_true is None:
        return unlabelled_run(stats, Task.CLASSIFICATION)
    y_true = np.asarray(y_true)
    if len(y_true) != len(y_pred):
        raise InputError(f"{len(y_true)} true labels but {len(y_pred)} predicted")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined ratios are stored as their zero_division value
        report = label_metrics.classification_report(y_true, y_pred, output_dict=True, zero_division=0.0)
        weighted = report["weighted avg"]
        overall: dict[str, float | None] = {
            "accuracy": float(report["accuracy"]),
            "precision": float(weighted["precision"]),
            "recall": float(weighted["recall"]),
            "F1": float(weighted["f1-score"]),
            "MCC": float(label_metrics.matthews_corrcoef(y_true, y_pred)),
            "kappa": float(label_metrics.cohen_kappa_score(y_true, y_pred)),
        }
        if y_score is not None:
            score = np.asarray(y_score, dtype=np.float64)
            multi = score.ndim == 2 and score.shape[1] > 2
            overall["ROC_AUC"] = float(
                label_metrics.roc_auc_score(y_true, score, multi_class="ovr", average="weighted")
                if multi
                else label_metrics.roc_auc_score(y_true, score[:, 1] if score.ndim == 2 else score)
            )
    per_class = {
        str(k): {"precision": float(v["precision"]), "recall": float(v["recall"]), "F1": float(v["f1-score"])}
        for k, v in report.items()
        if isinstance(v, dict) and k not in ("macro avg", "weighted avg", "micro avg")
    }
    from .classify import diagnostics  # the helpers' module imports nothing of runs

    probability = None if y_score is None else np.asarray(y_score, dtype=np.float64)
    if probability is not None and probability.ndim == 2 and probability.shape[1] == 2:
        probability = probability[:, 1]
    found = diagnostics(y_true, y_pred, probability)
    return RunData(
        Task.CLASSIFICATION,
        {"report": report, "diagnostics": found.to_dict()},
        {"overall": overall, "per_class": per_class},
        stats,
        {},
    )
