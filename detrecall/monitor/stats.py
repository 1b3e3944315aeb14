"""What a run's predictions look like, without labels: the statistics drift is measured on.

Kept per run: detections per image (one count per image, zero-detection images included when
the image list is known), the scores (all of them up to MAX_SCORES; beyond that, MAX_SCORES
evenly spaced order statistics, which keep the distribution's shape for KS and PSI), and the
count of predictions per class. For a classifier the "images" are samples with one prediction
each, the scores its confidence in the predicted class, the classes its predicted labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..result import EvaluationResult
from ..types import Detections

MAX_SCORES = 20_000


@dataclass(frozen=True)
class PredictionStats:
    """Label-free statistics of one run's predictions."""

    detections_per_image: np.ndarray  # (I,) int64, one count per image
    scores: np.ndarray  # (S,) float64 ascending, S <= MAX_SCORES
    class_counts: dict[str, int]  # predicted class (as text, JSON's key type) -> count
    n_predictions: int

    @property
    def mean_detections_per_image(self) -> float:
        d = self.detections_per_image
        return float(d.mean()) if len(d) else float("nan")

    @property
    def mean_score(self) -> float:
        return float(self.scores.mean()) if len(self.scores) else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "detections_per_image": self.detections_per_image.tolist(),
            "scores": self.scores.tolist(),
            "class_counts": dict(self.class_counts),
            "n_predictions": self.n_predictions,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionStats:
        return cls(
            np.asarray(data["detections_per_image"], dtype=np.int64),
            np.asarray(data["scores"], dtype=np.float64),
            {str(k): int(v) for k, v in data["class_counts"].items()},
            int(data["n_predictions"]),
        )


def _capped(scores: np.ndarray) -> np.ndarray:
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if len(s) <= MAX_SCORES:
        return s
    return s[np.linspace(0, len(s) - 1, MAX_SCORES).round().astype(np.int64)]


def prediction_stats(
    image_id: np.ndarray, category_id: np.ndarray, score: np.ndarray, image_ids: Iterable[int] | None = None
) -> PredictionStats:
    """Statistics of predictions given as columns; `image_ids`, when known, adds the images
    with no detection (a model that stops detecting shows as zeros, not as missing rows)."""
    image_id = np.asarray(image_id, dtype=np.int64)
    ids = np.unique(image_id) if image_ids is None else np.union1d(np.fromiter(image_ids, np.int64), image_id)
    per_image = np.bincount(np.searchsorted(ids, image_id), minlength=len(ids)).astype(np.int64)
    classes, counts = np.unique(np.asarray(category_id), return_counts=True)
    return PredictionStats(
        per_image,
        _capped(score),
        {str(c): int(n) for c, n in zip(classes.tolist(), counts.tolist())},
        len(image_id),
    )


def stats_of_records(
    records: Sequence[Mapping[str, Any]], image_ids: Iterable[int] | None = None, source: str = "<results>"
) -> PredictionStats:
    """Statistics of COCO results records (`image_id`, `category_id`, `score`), as parsed JSON:
    the label-free path, which needs no ground truth to read them."""
    if not isinstance(records, list):
        raise InputError("expected a JSON list of detections (COCO results)", source=source)
    try:
        image_id = np.fromiter((int(r["image_id"]) for r in records), np.int64, len(records))
        category_id = np.fromiter((int(r["category_id"]) for r in records), np.int64, len(records))
        score = np.fromiter((float(r["score"]) for r in records), np.float64, len(records))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(
            f"each detection needs image_id, category_id and score ({e})", source=source
        ) from None
    return prediction_stats(image_id, category_id, score, image_ids)


def stats_of_detections(detections: Detections, image_ids: Iterable[int] | None = None) -> PredictionStats:
    return prediction_stats(detections.image_id, detections.category_id, detections.score, image_ids)


def stats_of_result(result: EvaluationResult) -> PredictionStats:
    """Statistics of the detections an evaluation matched (after its max-dets cut), on its images."""
    m = result.matches
    category = np.asarray(m.class_ids)[m.det_class] if len(m.det_class) else np.zeros(0, np.int64)
    image_ids = None if result.image_ids is None else result.image_ids.tolist()
    return prediction_stats(m.det_image, category, m.det_score, image_ids)


def stats_of_labels(y_pred: np.ndarray, y_score: np.ndarray | None = None) -> PredictionStats:
    """Statistics of a classifier's predictions: one per sample; scores = the confidence given
    (the highest probability of each row of a (n, K) array, or a (n,) score), if any."""
    y_pred = np.asarray(y_pred)
    if y_score is None:
        scores = np.zeros(0)
    else:
        s = np.asarray(y_score, dtype=np.float64)
        scores = s.max(axis=1) if s.ndim == 2 else s
    classes, counts = np.unique(y_pred.astype(str), return_counts=True)
    return PredictionStats(
        np.ones(len(y_pred), np.int64),
        _capped(scores),
        {str(c): int(n) for c, n in zip(classes.tolist(), counts.tolist())},
        len(y_pred),
    )
