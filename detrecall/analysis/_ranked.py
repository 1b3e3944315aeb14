"""Interpolated precision of ranked detections, segment by segment (a class, an image's class)."""

from __future__ import annotations

import numpy as np

from ..aggregate import min_tp_for_recall, suffix_max_at


def sampled_precision(
    seg: np.ndarray, is_tp: np.ndarray, npos: np.ndarray, recall_points: np.ndarray, eps: float = 0.0
) -> np.ndarray:
    """(S, R) precision made monotone from the right, taken at the first point of each segment
    whose recall reaches each of `recall_points` (0 where none does, or without positives);
    points in rank order within each segment, `seg` nondecreasing in [0, S), S = len(npos).

    Precision after a point is tp / (tp + fp + eps) (pycocotools adds np.spacing(1); tidecv
    nothing); the point where recall first reaches r is where the true positives reach the
    smallest c with c / npos >= r (`min_tp_for_recall`): one searchsorted, one reduceat."""
    n_s = len(npos)
    counted = np.bincount(seg, minlength=n_s)[:n_s] if len(seg) else np.zeros(n_s, np.int64)
    start = np.searchsorted(seg, np.arange(n_s))
    end = start + counted
    tp_cum = np.cumsum(is_tp, dtype=np.int64)
    before = np.r_[0, tp_cum][start]  # true positives of the segments before
    seen = (np.arange(1, len(seg) + 1) - start[seg]).astype(np.float64)
    precision = (tp_cum - before[seg]) / (seen + eps)
    need = min_tp_for_recall(recall_points, np.maximum(npos, 1))  # (S, R)
    at = np.maximum(np.searchsorted(tp_cum, before[:, None] + need, side="left"), start[:, None])
    inside = (at < end[:, None]) & (npos[:, None] > 0)
    return suffix_max_at(precision, end, at, inside)
