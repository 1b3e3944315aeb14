"""The shared aggregator: matched detections -> cumulative TP/FP -> precision/recall, AP, AR.

`accumulate` builds pycocotools' `eval` arrays with the same float64 operations, so the numbers
are bit-identical, but across all classes at once: one stable sort, segmented cumulative sums,
recall thresholds located on integer TP counts, and the right-to-left precision envelope taken
only between the sampled positions.
"""

from __future__ import annotations

import numpy as np

from .types import Accumulated, EvalParams, Matches

EPS = np.spacing(1)


def _min_tp_for_recall(recall_thresholds: np.ndarray, npos: np.ndarray) -> np.ndarray:
    """(K, R) smallest integer c with float64 c / npos >= r: where recall first reaches r."""
    r = recall_thresholds[None, :]
    n = npos[:, None].astype(np.float64)
    c = np.ceil(r * n)
    while True:  # ceil(r*n) is off by at most one step of rounding; settle it exactly
        down = (c > 0) & ((c - 1) / n >= r)
        up = c / n < r
        if not (down.any() or up.any()):
            return c.astype(np.int64)
        c = c - down + up


def _envelope_at(pr: np.ndarray, starts: np.ndarray, ends: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """max(pr[t, pos[t,k,r] : ends[k]]) for every t, k, r; pos sorted along r, pos >= ends -> 0.

    Equals pycocotools' right-to-left monotone precision sampled at pos, computed from block
    maxima between consecutive sample positions (one reduceat) and a reverse cummax over R.
    """
    n_t, n = pr.shape
    n_k, n_r = pos.shape[1], pos.shape[2]
    inside = pos < ends[None, :, None]
    idx = np.concatenate(
        [np.where(inside, pos, ends[None, :, None]), np.broadcast_to(ends[None, :, None], (n_t, n_k, 1))],
        axis=2,
    ) + (np.arange(n_t) * n)[:, None, None]
    flat = np.concatenate([pr.ravel(), [0.0]])
    blocks = np.maximum.reduceat(flat, idx.ravel()).reshape(n_t, n_k, n_r + 1)[:, :, :n_r]
    blocks = np.where(inside, blocks, 0.0)
    return np.maximum.accumulate(blocks[:, :, ::-1], axis=2)[:, :, ::-1]


def accumulate(m: Matches, params: EvalParams) -> Accumulated:
    """pycocotools' accumulate(): precision and scores (T,R,K,A,M), recall (T,K,A,M), -1 = undefined."""
    rec_thr = params.recall_thresholds
    n_t, n_r, n_k = len(params.iou_thresholds), len(rec_thr), len(m.class_ids)
    n_a, n_m = len(params.area_ranges), len(params.max_dets)
    precision = np.full((n_t, n_r, n_k, n_a, n_m), -1.0)
    scores = np.full((n_t, n_r, n_k, n_a, n_m), -1.0)
    recall = np.full((n_t, n_k, n_a, n_m), -1.0)
    # within a class: score descending, ties by image id, then by rank inside the image
    order = np.lexsort((m.det_rank, m.det_image, -m.det_score, m.det_class))
    for mi, max_det in enumerate(params.max_dets):
        cut = order[m.det_rank[order] < max_det]
        for a in range(n_a):
            classes = np.flatnonzero(m.npos[:, a] > 0)
            sel = cut[m.npos[m.det_class[cut], a] > 0]
            cls = m.det_class[sel]
            starts = np.searchsorted(cls, classes, side="left")
            ends = np.searchsorted(cls, classes, side="right")
            hit = m.matched_gt[a][:, sel] >= 0
            counted = ~m.ignored[a][:, sel]
            tp_run = np.cumsum(hit & counted, axis=1)
            fp_run = np.cumsum(~hit & counted, axis=1)
            zero = np.zeros((n_t, 1), np.int64)
            tp_before = np.concatenate([zero, tp_run], axis=1)[:, starts]  # (T, K')
            fp_before = np.concatenate([zero, fp_run], axis=1)[:, starts]
            seg_len = ends - starts
            tp = (tp_run - np.repeat(tp_before, seg_len, axis=1)).astype(np.float64)
            fp = (fp_run - np.repeat(fp_before, seg_len, axis=1)).astype(np.float64)
            pr = tp / (fp + tp + EPS)
            npos = m.npos[classes, a]
            last = np.where(seg_len > 0, np.concatenate([np.zeros((n_t, 1)), tp], axis=1)[:, ends], 0.0)
            recall[:, classes, a, mi] = last / npos
            need = _min_tp_for_recall(rec_thr, npos)  # (K', R)
            # first position whose running TP reaches `need`, searched on the whole row's
            # nondecreasing running count (offset per row so one search serves all T rows)
            n = len(sel)
            key = (tp_run + (np.arange(n_t) * (n + 1))[:, None]).ravel()
            query = need[None] + tp_before[:, :, None] + (np.arange(n_t) * (n + 1))[:, None, None]
            pos = np.searchsorted(key, query.ravel()).reshape(query.shape)
            pos = np.maximum(pos - (np.arange(n_t) * n)[:, None, None], starts[None, :, None])
            q = _envelope_at(pr, starts, ends, pos)
            inside = pos < ends[None, :, None]
            sorted_scores = np.concatenate([m.det_score[sel], [0.0]])
            ss = np.where(inside, sorted_scores[np.minimum(pos, n)], 0.0)
            precision[:, :, classes, a, mi] = q.transpose(0, 2, 1)
            scores[:, :, classes, a, mi] = ss.transpose(0, 2, 1)
    return Accumulated(precision=precision, recall=recall, scores=scores)
