"""Retrieval metrics for ranked neighbour lists: Recall@K, Precision@K, R-precision, MAP@R.

Inputs are per query: its label and its neighbours' labels in rank order (Q×N), or a
precomputed boolean `match_mask` (Q×N, True where the neighbour is relevant). With `distances`
(Q×N), neighbours are ordered by distance (a stable sort: equal distances keep the given order)
and, with `distance_threshold`, those farther than it do not count. Rates come from the shared
aggregator: a query's hit is a true positive, a miss a false negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .aggregate import Counts, Rates, average_rates
from .errors import DetrecallError


def _relevance(
    query_labels: Any, neighbor_labels: Any, match_mask: Any, distances: Any, distance_threshold: float | None
) -> np.ndarray:
    """(Q, N) bool: neighbour j of query q is relevant and counts, in rank order."""
    if match_mask is not None:
        rel = np.asarray(match_mask, bool)
    elif neighbor_labels is not None:
        q = np.asarray(query_labels)
        rel = np.asarray(neighbor_labels) == q[:, None]
    else:
        raise DetrecallError("give neighbor_labels or match_mask")
    if rel.ndim != 2:
        raise DetrecallError(f"neighbours must be a (queries, neighbours) array, got shape {rel.shape}")
    if distances is None:
        if distance_threshold is not None:
            raise DetrecallError("distance_threshold needs distances")
        return rel
    d = np.asarray(distances, np.float64)
    if d.shape != rel.shape:
        raise DetrecallError(f"distances has shape {d.shape}, neighbours {rel.shape}")
    order = np.argsort(d, axis=1, kind="stable")
    rel = np.take_along_axis(rel, order, axis=1)
    if distance_threshold is not None:
        rel = rel & (np.take_along_axis(d, order, axis=1) <= distance_threshold)
    return rel


def _check_k(k: int) -> None:
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise DetrecallError(f"k must be a positive integer, got {k!r}")


def _pooled(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, labels: Any, average: str) -> Rates:
    """Rates pooled over queries (micro), or per query label and then averaged (macro)."""
    if average not in ("micro", "macro"):
        raise DetrecallError(f"average must be 'micro' or 'macro', got {average!r}")
    if len(tp) == 0:
        raise DetrecallError("no queries")
    if average == "micro":
        counts = Counts(tp=tp.sum(keepdims=True), fp=fp.sum(keepdims=True), fn=fn.sum(keepdims=True))
    else:
        if labels is None:
            raise DetrecallError("average='macro' needs query_labels")
        _, group = np.unique(np.asarray(labels), return_inverse=True)
        counts = Counts(*(np.bincount(group, weights=x).astype(np.int64) for x in (tp, fp, fn)))
    return average_rates(counts, average, np.ones(len(counts.tp), bool))


def recall_at_k(
    query_labels: Any,
    neighbor_labels: Any = None,
    k: int = 1,
    *,
    distances: Any = None,
    distance_threshold: float | None = None,
    average: str = "micro",
    match_mask: Any = None,
) -> float:
    """Share of queries with a relevant neighbour among their first k (micro), or the mean over
    labels of that share among the queries of each label (macro). k may exceed the list."""
    _check_k(k)
    rel = _relevance(query_labels, neighbor_labels, match_mask, distances, distance_threshold)
    hit = np.asarray(rel[:, :k].any(axis=1), np.int64)
    return _pooled(hit, np.zeros_like(hit), 1 - hit, query_labels, average).recall


def precision_at_k(
    query_labels: Any,
    neighbor_labels: Any = None,
    k: int = 1,
    *,
    distances: Any = None,
    distance_threshold: float | None = None,
    average: str = "micro",
    match_mask: Any = None,
) -> float:
    """Relevant neighbours among the first k, over k (a missing or excluded neighbour counts as
    not relevant), averaged over queries (micro) or over labels (macro)."""
    _check_k(k)
    rel = _relevance(query_labels, neighbor_labels, match_mask, distances, distance_threshold)
    found = rel[:, :k].sum(axis=1).astype(np.int64)
    return _pooled(found, k - found, np.zeros_like(found), query_labels, average).precision


def map_at_r(
    query_labels: Any,
    neighbor_labels: Any = None,
    num_relevant: Any = None,
    *,
    match_mask: Any = None,
    distances: Any = None,
    distance_threshold: float | None = None,
) -> float:
    """MAP@R (Musgrave et al. 2020): per query with R = num_relevant[q] relevant items in the
    gallery, the mean over the first R ranks of precision@i at each relevant rank i; averaged
    over queries. Neighbour lists shorter than R count the missing ranks as not relevant.
    Without `num_relevant`, R is the number of relevant neighbours in each list: exact when each
    list ranks the whole gallery (leave-one-out retrieval)."""
    rel = _relevance(query_labels, neighbor_labels, match_mask, distances, distance_threshold)
    if num_relevant is None:
        if not rel.any(axis=1).all():
            q = int(np.flatnonzero(~rel.any(axis=1))[0])
            raise DetrecallError(
                f"query {q} has no relevant neighbour, so MAP@R is undefined: give num_relevant"
            )
        num_relevant = rel.sum(axis=1)
    r = np.asarray(num_relevant, np.int64)
    if r.shape != (rel.shape[0],) or (r < 1).any():
        raise DetrecallError("num_relevant must give each query's number of relevant items (>= 1)")
    width = int(r.max())
    if rel.shape[1] < width:
        rel = np.pad(rel, ((0, 0), (0, width - rel.shape[1])))
    rel = rel[:, :width] & (np.arange(1, width + 1)[None, :] <= r[:, None])
    precision_at_i = np.cumsum(rel, axis=1) / np.arange(1, width + 1)
    return float(np.mean((precision_at_i * rel).sum(axis=1) / r))
