"""The greedy IoU matcher with COCO semantics, vectorized across (image, class) groups.

pycocotools loops per image, class, area range, threshold and detection. Here the work is:
1. `plan`: select rows, form groups, rank detections by score inside each group (stable: ties
   keep file order), cut to max_dets[-1], and list every (detection, ground truth) pair.
2. the caller computes one IoU per pair (boxes or masks), once for all thresholds and ranges;
3. `match`: keep the pairs with IoU >= the lowest threshold, then walk detection ranks: at step
   s every group's s-th candidate detection picks its ground truth, for all area ranges and IoU
   thresholds at once. Groups never share ground truth, so one step is one numpy pass.

The pick is pycocotools' rule: among ground truth not yet taken (crowds never are) with
IoU >= t, a non-ignored one beats an ignored one, then the higher IoU, then the later one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import Dataset, Detections, EvalParams, Matches


@dataclass(frozen=True)
class Plan:
    """Rows taken into the evaluation, their groups, and all (detection, ground truth) pairs.

    Kept detections are in (group, rank) order; selected ground truth in (group, file) order.
    A group is one (image, class), or one image when class-agnostic.
    """

    class_ids: np.ndarray  # (K,)
    gt_rows: np.ndarray  # (G,) rows of the Dataset
    gt_class: np.ndarray  # (G,) index into class_ids
    gt_group: np.ndarray  # (G,) group key, nondecreasing
    dt_rows: np.ndarray  # (D,) rows of the Detections
    dt_class: np.ndarray  # (D,)
    dt_group: np.ndarray  # (D,) group key, nondecreasing
    dt_rank: np.ndarray  # (D,)
    pair_dt: np.ndarray  # (P,) index into the kept detections
    pair_gt: np.ndarray  # (P,) index into the selected ground truth
    blocks: np.ndarray  # (B, 4) per group with pairs: dt start, dt count, gt start, gt count


def _rows_in(values: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(allowed, values).clip(0, max(len(allowed) - 1, 0))
    return np.flatnonzero(allowed[pos] == values) if len(allowed) else np.zeros(0, np.int64)


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """For each position of a nondecreasing key array, the index where its run begins."""
    n = len(keys)
    first = np.ones(n, bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, np.int64)


def plan(gt: Dataset, dt: Detections, params: EvalParams) -> Plan:
    """Select, group and rank; list every (detection, ground truth) pair of each group."""
    image_ids = gt.images.ids if params.image_ids is None else params.image_ids
    class_ids = gt.categories.ids if params.category_ids is None else params.category_ids
    g_sel = np.intersect1d(_rows_in(gt.image_id, image_ids), _rows_in(gt.category_id, class_ids))
    d_sel = np.intersect1d(_rows_in(dt.image_id, image_ids), _rows_in(dt.category_id, class_ids))
    n_classes = len(class_ids)

    def keys(image_id: np.ndarray, category_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cls = np.searchsorted(class_ids, category_id).astype(np.int64)
        img = np.searchsorted(image_ids, image_id).astype(np.int64)
        return cls, (img if params.class_agnostic else img * n_classes + cls)

    gt_class, gt_group = keys(gt.image_id[g_sel], gt.category_id[g_sel])
    d_class, d_group = keys(dt.image_id[d_sel], dt.category_id[d_sel])
    # rows are stored by (image, category, file order): the order pycocotools concatenates in
    order = np.lexsort((np.arange(len(d_sel)), -dt.score[d_sel], d_group))
    d_group = d_group[order]
    rank = np.arange(len(order)) - _group_starts(d_group)
    keep = rank < params.max_dets[-1]
    dt_rows, dt_class = d_sel[order][keep], d_class[order][keep]
    dt_group, dt_rank = d_group[keep], rank[keep]

    gt_start = np.searchsorted(gt_group, dt_group, side="left")
    n_gt = np.searchsorted(gt_group, dt_group, side="right") - gt_start
    total = int(n_gt.sum())
    pair_dt = np.repeat(np.arange(len(dt_rows)), n_gt)
    run_start = np.repeat(np.cumsum(n_gt) - n_gt, n_gt)
    pair_gt = np.repeat(gt_start, n_gt) + (np.arange(total) - run_start)

    with_gt = np.flatnonzero(n_gt)
    first = with_gt[np.r_[True, dt_group[with_gt][1:] != dt_group[with_gt][:-1]]] if len(
        with_gt) else with_gt
    dt_count = np.searchsorted(dt_group, dt_group[first], side="right") - first
    blocks = np.stack([first, dt_count, gt_start[first], n_gt[first]], axis=1).reshape(-1, 4)
    return Plan(
        class_ids=np.zeros(1, np.int64) - 1 if params.class_agnostic else class_ids,
        gt_rows=g_sel, gt_class=np.zeros_like(gt_class) if params.class_agnostic else gt_class,
        gt_group=gt_group, dt_rows=dt_rows,
        dt_class=np.zeros_like(dt_class) if params.class_agnostic else dt_class,
        dt_group=dt_group, dt_rank=dt_rank, pair_dt=pair_dt, pair_gt=pair_gt, blocks=blocks,
    )


def _in_range(area: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(A, N) bool: area inside each inclusive range."""
    return (area[None, :] >= ranges[:, :1]) & (area[None, :] <= ranges[:, 1:])


def match(p: Plan, iou: np.ndarray, gt: Dataset, dt: Detections, params: EvalParams) -> Matches:
    """Greedy COCO matching of every kept detection, for all area ranges and IoU thresholds."""
    thr = np.minimum(params.iou_thresholds, 1 - 1e-10)
    n_area, n_thr, n_det = len(params.area_ranges), len(thr), len(p.dt_rows)
    crowd = gt.iscrowd[p.gt_rows]
    nonign = (~crowd[:, None]) & _in_range(gt.area[p.gt_rows], params.area_ranges).T  # (G, A)

    cand = np.flatnonzero(iou >= thr.min()) if len(thr) else np.zeros(0, np.int64)
    c_dt, c_gt, c_iou = p.pair_dt[cand], p.pair_gt[cand], iou[cand]
    dets = np.unique(c_dt)  # in (group, rank) order
    step_of = np.arange(len(dets)) - _group_starts(p.dt_group[dets])
    step = step_of[np.searchsorted(dets, c_dt)]
    order = np.lexsort((c_gt, c_iou, c_dt, step))
    c_dt, c_gt, c_iou, step = c_dt[order], c_gt[order], c_iou[order], step[order]
    bounds = np.searchsorted(step, np.arange((step.max() + 2) if len(step) else 1))

    taken = np.zeros((len(p.gt_rows), n_area, n_thr), bool)
    matched = np.full((n_area, n_thr, n_det), -1, np.int64)
    for s in range(len(bounds) - 1):
        lo, hi = bounds[s], bounds[s + 1]
        g, d, n = c_gt[lo:hi], c_dt[lo:hi], hi - lo
        seg = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        ok = (c_iou[lo:hi, None, None] >= thr) & ~(taken[g] & ~crowd[g, None, None])
        rank_key = (np.arange(n)[:, None] + n * nonign[g])[:, :, None]  # (n, A, 1)
        best = np.maximum.reduceat(np.where(ok, rank_key, -1), seg, axis=0)  # (dets, A, T)
        di, ai, ti = np.nonzero(best >= 0)
        chosen = g[best[di, ai, ti] % n]
        taken[chosen, ai, ti] = True
        matched[ai, ti, d[seg][di]] = chosen

    hit = matched >= 0
    a_idx = np.broadcast_to(np.arange(n_area)[:, None, None], matched.shape)
    n_gt = len(p.gt_rows)  # index n_gt: a padding row standing for "no ground truth"
    gt_ignored = ~np.vstack([nonign, np.zeros((1, n_area), bool)])[np.where(hit, matched, n_gt), a_idx]
    out_of_range = ~_in_range(dt.area[p.dt_rows], params.area_ranges)  # (A, D)
    ignored = np.where(hit, gt_ignored, out_of_range[:, None, :])
    npos = np.stack(
        [np.bincount(p.gt_class[nonign[:, a]], minlength=len(p.class_ids)) for a in range(n_area)],
        axis=1,
    ).reshape(len(p.class_ids), n_area)
    return Matches(
        class_ids=p.class_ids, det_class=p.dt_class,
        det_image=dt.image_id[p.dt_rows], det_rank=p.dt_rank,
        det_score=dt.score[p.dt_rows], det_row=p.dt_rows,
        matched_gt=np.append(p.gt_rows, -1)[np.where(hit, matched, n_gt)],
        ignored=ignored, npos=npos.astype(np.int64),
    )
