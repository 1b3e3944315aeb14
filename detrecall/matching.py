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
Ignored ground truth: crowds, the Dataset's `ignore` rows, and areas outside the range.
Step 3 runs in detrecall/_kernels.c when it is built (one pass over the candidates, over
`threads` threads split between groups), the numpy walk here being its twin.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._arrays import run_starts
from ._compiled import fits_kernels, kernels
from ._sort import argsort_stable, kept_order, positions, regroup, run_order, take_rows
from .geometry.boundary import DEFAULT_DILATION_RATIO, boundary_iou_pairs
from .geometry.boxes import box_iou_pairs
from .geometry.keypoints import oks_pairs
from .geometry.masks import mask_iou_blocks
from .options import IouType
from .types import Dataset, Detections, EvalParams, Matches, Status, narrow_ints


def _score_order_of(scores: np.ndarray, dt_rows: np.ndarray) -> np.ndarray:
    """Plan.by_score from the Detections' scores and the plan's rows."""
    return argsort_stable(scores[dt_rows], descending=True).astype(dt_rows.dtype, copy=False)


@dataclass(frozen=True)
class Plan:
    """Rows taken into the evaluation, their groups, and where each detection's pairs are.

    Kept detections are in (group, rank) order; selected ground truth in (group, file) order.
    A group is one (image, class), or one image when class-agnostic. Detection i pairs with the
    ground truth [dt_gt_start[i], dt_gt_start[i] + dt_gt_count[i]); `pair_dt` / `pair_gt` list
    every pair (built on first use: `candidates` never lists them all at once).
    """

    class_ids: np.ndarray  # (K,)
    gt_rows: np.ndarray  # (G,) rows of the Dataset
    gt_class: np.ndarray  # (G,) index into class_ids
    gt_group: np.ndarray  # (G,) group key, nondecreasing
    dt_rows: np.ndarray  # (D,) rows of the Detections (rows, classes, ranks: int32 when they fit)
    dt_class: np.ndarray  # (D,)
    dt_group: np.ndarray  # (D,) group key, nondecreasing
    dt_rank: np.ndarray  # (D,)
    dt_gt_start: np.ndarray  # (D,) first ground truth of the detection's group
    dt_gt_count: np.ndarray  # (D,) ground truths of the detection's group
    blocks: np.ndarray  # (B, 4) per group with pairs: dt start, dt count, gt start, gt count
    # (D,) `by_score` when the plan made it on the way, else None and the Detections' scores
    # (all rows) to sort it from when asked
    known_by_score: np.ndarray | None
    dt_scores: np.ndarray

    @cached_property
    def by_score(self) -> np.ndarray:
        """(D,) the kept detections by score descending, ties in plan order (a streaming flush,
        which keeps only the matches, never asks: its one global score sort is not made)."""
        if self.known_by_score is not None:
            return self.known_by_score
        return _score_order_of(self.dt_scores, self.dt_rows)

    @cached_property
    def pair_dt(self) -> np.ndarray:
        """(P,) every pair's detection (index into the kept detections), in plan order."""
        return np.repeat(np.arange(len(self.dt_rows)), self.dt_gt_count)

    @cached_property
    def pair_gt(self) -> np.ndarray:
        """(P,) every pair's ground truth (index into the selected ground truth)."""
        return _pairs_of(self.dt_gt_start, self.dt_gt_count)[1]


def _pairs_of(start: np.ndarray, count: np.ndarray, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of detections first, first+1, ... with ground truth [start, start + count)."""
    total = int(count.sum())
    pair_dt = np.repeat(np.arange(first, first + len(count)), count)
    # pair i of a detection whose pairs begin at i0 is ground truth start + (i - i0): one
    # repeat of (start - i0), then + i in place
    pair_gt = np.repeat(start - (np.cumsum(count) - count), count)
    pair_gt += np.arange(total)
    return pair_dt, pair_gt


_RANK_FROM = 64  # rows below which the sorts' fixed costs do not matter
_BESIDE_FROM = 1 << 17  # rows from which the plan's score sort runs on a thread of its own


def _by_group_then_score(
    group: np.ndarray, score: np.ndarray, threads: int = 1
) -> tuple[np.ndarray, np.ndarray | None]:
    """np.lexsort((-score, group)) (stable: ties keep input order), and the stable order by
    score alone, or None when the rows come grouped (they do: Detections are stored by image
    and class): then each group's run is sorted on its own (`run_order`, on `threads`), and the
    score order, the same as a stable sort of the first order's scores, is left to whoever needs
    it (`Plan.by_score`). Else (NaN scores, which numpy sorts last, rows not grouped, or no
    compiled kernels: `_by_group_then_score_sorted`, its twin) one float sort gives both."""
    grouped = len(score) > 1 and bool((group[1:] >= group[:-1]).all())
    if kernels is not None and grouped and len(score) >= _RANK_FROM and not np.isnan(score).any():
        return run_order(group, score, threads), None
    return _by_group_then_score_sorted(group, score, grouped)


def _by_group_then_score_sorted(
    group: np.ndarray, score: np.ndarray, grouped: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """_by_group_then_score through the global score sort (its twin, and where rows are not
    grouped): one counting sort of the score order by group run, or one sort of the unique key
    group * n + score rank. `grouped`: whether group is nondecreasing, when the caller knows."""
    n = len(score)
    by_score = argsort_stable(score, descending=True)
    if grouped is None:
        grouped = n > 1 and bool((group[1:] >= group[:-1]).all())
    if grouped and kernels is not None:
        run = np.zeros(n, np.int64)  # rows come grouped: number the runs
        run[1:] = group[1:] != group[:-1]
        np.cumsum(run, out=run)  # in place: a cumsum of the flags would cast a copy first
        return regroup(by_score, run, int(run[-1]) + 1), by_score
    if n == 0 or (int(group.max()) + 1) * n >= 2**62:
        return np.lexsort((-score, group)), by_score
    rank = np.empty(n, np.int64)
    rank[by_score] = np.arange(n)
    return argsort_stable(group * n + rank), by_score


def index_dtype(*sizes: int) -> type[np.signedinteger]:
    """int32 when every index below `sizes` (rows, classes) fits in it, else int64."""
    return np.int32 if max(sizes, default=0) < 2**31 - 1 else np.int64


def plan(
    gt: Dataset, dt: Detections, params: EvalParams, threads: int = 1, *, score_order: bool = True
) -> Plan:
    """Select, group and rank every detection; list every (detection, ground truth) pair.

    No max-dets cut here: `match` cuts, so one plan (and one IoU pass) serves several cuts.
    `threads`: for the compiled sort within (image, class) runs (the same plan for any count).
    `score_order`: make `Plan.by_score` here (beside the rest on a thread when `threads` > 1),
    while less is held than later; False leaves it to the first to ask (a streaming flush never
    does)."""
    image_ids = gt.images.ids if params.image_ids is None else params.image_ids
    class_ids = gt.categories.ids if params.category_ids is None else params.category_ids
    n_classes = len(class_ids)

    def select(image_id: np.ndarray, category_id: np.ndarray) -> tuple[np.ndarray, ...]:
        """Rows whose image and class are evaluated, their class index and group key (one
        lookup per column serves both the selection and the keys)."""
        img, keep_i = positions(image_id, image_ids)
        cls, keep_c = positions(category_id, class_ids)
        rows = np.flatnonzero(keep_i & keep_c)
        if len(rows) < len(image_id):
            img, cls = img[rows], cls[rows]
        if not params.class_agnostic:  # the group key, in place: img is this function's own
            img *= n_classes
            img += cls
        return rows, cls, img

    g_sel, gt_class, gt_group = select(gt.image_id, gt.category_id)
    d_sel, d_class, d_group = select(dt.image_id, dt.category_id)
    # rows, classes, ranks and positions in int32 when they fit (they are kept in the Matches:
    # 4 bytes a detection each instead of 8); the group keys stay int64
    g_idx, d_idx = index_dtype(len(gt), n_classes), index_dtype(len(dt), n_classes)
    g_sel, gt_class = g_sel.astype(g_idx, copy=False), gt_class.astype(g_idx, copy=False)
    every = len(d_sel) == len(dt)  # d_sel is then 0, 1, ...: no gather by it
    # rows are stored by (image, category, file order): the order pycocotools concatenates in
    order, by_score = _by_group_then_score(d_group, dt.score if every else dt.score[d_sel], threads)
    dt_rows = (order if every else d_sel[order]).astype(d_idx, copy=False)
    pending: threading.Thread | None = None
    made: list[np.ndarray] = []
    if by_score is None and score_order and threads > 1 and len(dt_rows) >= _BESIDE_FROM:
        # the score sort (the native argsort releases the GIL) beside the rest
        pending = threading.Thread(target=lambda: made.append(_score_order_of(dt.score, dt_rows)))
        pending.start()
    dt_class, dt_group = d_class.astype(d_idx, copy=False), d_group
    if by_score is not None:  # else ranked inside the groups' runs, which stay where they were:
        # their keys and classes (one a run; zeros below when class-agnostic) need no gather
        dt_class, dt_group = dt_class[order], dt_group[order]
    del d_sel, d_class, d_group  # each step frees what it read
    # in plan order: rows of equal score are in the same relative order by row as by (group,
    # rank), since rows come by (image, category, file order) and ranks break ties by file order
    if by_score is not None:
        position = np.empty(len(order), d_idx)
        position[order] = np.arange(len(order), dtype=d_idx)
        by_score = position[by_score]
        del position
    del order
    # per (image, class) run of detections, not per detection: its head, length and ground truth
    head = np.ones(len(dt_group), bool)
    head[1:] = dt_group[1:] != dt_group[:-1]
    heads = np.flatnonzero(head)
    lengths = np.diff(np.append(heads, len(dt_group)))
    run_gt = np.searchsorted(gt_group, dt_group[heads], side="left")
    run_n_gt = np.searchsorted(gt_group, dt_group[heads], side="right") - run_gt
    dt_rank = np.arange(len(dt_rows), dtype=d_idx)
    dt_rank -= np.repeat(heads.astype(d_idx, copy=False), lengths)
    gt_start = np.repeat(run_gt.astype(g_idx, copy=False), lengths)
    n_gt = np.repeat(run_n_gt.astype(g_idx, copy=False), lengths)

    paired = run_n_gt > 0  # blocks: the runs with ground truth
    blocks = np.stack([heads[paired], lengths[paired], run_gt[paired], run_n_gt[paired]], axis=1).reshape(
        -1, 4
    )
    zeros = np.zeros_like
    if pending is not None:
        pending.join()
        by_score = made[0] if made else _score_order_of(dt.score, dt_rows)  # it raised: again, here
    elif by_score is None and score_order:  # in plan order already
        by_score = _score_order_of(dt.score, dt_rows)
    return Plan(
        class_ids=np.full(1, -1, np.int64) if params.class_agnostic else class_ids,
        gt_rows=g_sel,
        gt_class=zeros(gt_class) if params.class_agnostic else gt_class,
        gt_group=gt_group,
        dt_rows=dt_rows,
        dt_class=zeros(dt_class) if params.class_agnostic else dt_class,
        dt_group=dt_group,
        dt_rank=dt_rank,
        dt_gt_start=gt_start,
        dt_gt_count=n_gt,
        blocks=blocks,
        known_by_score=by_score,
        dt_scores=dt.score,
    )


_PAIR_PIECE = 1 << 18


def pair_ious(
    iou_type: IouType | str,
    p: Plan,
    gt: Dataset,
    dt: Detections,
    *,
    pixel_inclusive: bool = False,
    sigmas: np.ndarray | None = None,
    dilation_ratio: float | None = None,
    threads: int = 1,
) -> np.ndarray:
    """IoU of every planned (detection, ground truth) pair, in plan order, by `iou_type`
    (masks on `threads` threads: the same IoUs for any count)."""
    iou_type = IouType.of(iou_type)
    if iou_type is IouType.BBOX:  # in pieces: the gathered boxes of millions of pairs are big
        out = np.empty(len(p.pair_dt))
        for lo in range(0, len(out), _PAIR_PIECE):
            piece = slice(lo, lo + _PAIR_PIECE)
            g = p.gt_rows[p.pair_gt[piece]]
            out[piece] = box_iou_pairs(
                dt.box[p.dt_rows[p.pair_dt[piece]]], gt.box[g], gt.iscrowd[g], pixel_inclusive=pixel_inclusive
            )
        return out
    if iou_type.reads_shapes or iou_type is IouType.KEYPOINTS:
        return _pair_ious(iou_type, p, gt, dt, p.pair_dt, p.pair_gt, pixel_inclusive, sigmas)
    assert gt.masks is not None and dt.masks is not None
    iou = mask_iou_blocks(dt.masks, gt.masks, p.dt_rows, p.gt_rows, p.blocks, gt.iscrowd, threads)
    if iou_type is IouType.BOUNDARY:
        iou = _with_boundary(p, gt, dt, p.pair_dt, p.pair_gt, iou, dilation_ratio)
    return iou


def _with_boundary(
    p: Plan,
    gt: Dataset,
    dt: Detections,
    pair_dt: np.ndarray,
    pair_gt: np.ndarray,
    mask_iou: np.ndarray,
    dilation_ratio: float | None,
    floor: float = 0.0,
) -> np.ndarray:
    """Boundary IoU of mask pairs from their mask IoU: min(mask IoU, IoU of the boundary
    bands), the mask IoU alone against a crowd (as faster-coco-eval and the boundary-iou-api).
    Bands are computed only for pairs whose mask IoU reaches `floor` (the others stay below)
    and is above 0 (min(0, band IoU) is 0)."""
    assert gt.masks is not None and dt.masks is not None
    g = p.gt_rows[pair_gt]
    plain = np.flatnonzero(~gt.iscrowd[g] & (mask_iou >= floor) & (mask_iou > 0))
    ratio = DEFAULT_DILATION_RATIO if dilation_ratio is None else dilation_ratio
    band = boundary_iou_pairs(dt.masks, gt.masks, p.dt_rows[pair_dt[plain]], g[plain], ratio)
    out = mask_iou.copy()
    out[plain] = np.minimum(mask_iou[plain], band)
    return out


@dataclass(frozen=True)
class Candidates:
    """The (detection, ground truth) pairs whose IoU reaches `floor`, in plan order: all a
    matcher needs (a pair below every threshold can never match)."""

    pair_dt: np.ndarray  # (C,) index into the plan's kept detections
    pair_gt: np.ndarray  # (C,) index into the plan's selected ground truth
    iou: np.ndarray  # (C,) float64
    floor: float


def candidates(
    iou_type: IouType | str,
    p: Plan,
    gt: Dataset,
    dt: Detections,
    floor: float,
    *,
    pixel_inclusive: bool = False,
    piece: int = _PAIR_PIECE,
    sigmas: np.ndarray | None = None,
    dilation_ratio: float | None = None,
    threads: int = 1,
    use_kernels: bool = True,
) -> Candidates:
    """The pairs with IoU >= floor (> 0), computed piece by piece: memory grows with the pairs
    that overlap, not with detections x ground truths (one image of 100k ground truths and 10k
    detections lists 1e9 pairs). Boxes and shapes go by runs of detections of at most `piece`
    pairs; masks by whole groups (blocks), as the mask kernel decodes each RLE once a block.
    Boundary IoU: the mask pairs reaching `floor`, then their boundary bands (`dilation_ratio`,
    0.02 when None). `threads`: for the box and mask IoUs (the same pairs for any count).
    Boxes go through detrecall/_kernels.c when built; `use_kernels=False`: the numpy twin."""
    kind = IouType.of(iou_type)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if kind.reads_masks:
        assert gt.masks is not None and dt.masks is not None
        sizes = p.blocks[:, 1] * p.blocks[:, 3]
        for lo, hi in _runs(sizes, piece):
            blocks = p.blocks[lo:hi]
            iou = mask_iou_blocks(dt.masks, gt.masks, p.dt_rows, p.gt_rows, blocks, gt.iscrowd, threads)
            d_first, d_count = int(blocks[0, 0]), int(blocks[-1, 0] + blocks[-1, 1] - blocks[0, 0])
            pair_dt, pair_gt = _pairs_of(
                p.dt_gt_start[d_first : d_first + d_count],
                p.dt_gt_count[d_first : d_first + d_count],
                d_first,
            )
            keep = iou >= floor
            parts.append((pair_dt[keep], pair_gt[keep], iou[keep]))
    else:
        counts = p.dt_gt_count
        dense = (
            p.blocks[p.blocks[:, 1] * p.blocks[:, 3] > _DENSE_GROUP] if kind is IouType.BBOX else p.blocks[:0]
        )
        if len(dense):  # their detections are paired through a window below
            counts = counts.copy()
            for d0, nd, _, _ in dense.tolist():
                counts[d0 : d0 + nd] = 0
        if kind is IouType.BBOX and kernels is not None and use_kernels:
            parts.append(_box_candidates(p, gt, dt, counts, floor, pixel_inclusive, threads))
        else:
            for lo, hi in _runs(counts, piece):
                pair_dt, pair_gt = _pairs_of(p.dt_gt_start[lo:hi], counts[lo:hi], lo)
                iou = _pair_ious(kind, p, gt, dt, pair_dt, pair_gt, pixel_inclusive, sigmas)
                keep = iou >= floor
                parts.append((pair_dt[keep], pair_gt[keep], iou[keep]))
        for block in dense.tolist():
            parts += _dense_box_pairs(p, gt, dt, block, floor, pixel_inclusive, piece)
    if not parts:
        empty = np.zeros(0, np.int64)
        return Candidates(empty, empty, np.zeros(0), floor)
    pair_dt, pair_gt, iou = (np.concatenate(c) for c in zip(*parts))
    if kind is IouType.BOUNDARY:
        iou = _with_boundary(p, gt, dt, pair_dt, pair_gt, iou, dilation_ratio, floor)
        keep = iou >= floor
        pair_dt, pair_gt, iou = pair_dt[keep], pair_gt[keep], iou[keep]
    if kind is IouType.BBOX and len(dense):  # back to plan order: by detection, then ground truth
        order = argsort_stable(pair_dt * max(len(p.gt_rows), 1) + pair_gt)
        pair_dt, pair_gt, iou = pair_dt[order], pair_gt[order], iou[order]
    return Candidates(pair_dt, pair_gt, iou, floor)


_DENSE_GROUP = 1 << 20  # pairs in one (image, class) group past which boxes are paired by a window


def _box_candidates(
    p: Plan,
    gt: Dataset,
    dt: Detections,
    counts: np.ndarray,
    floor: float,
    pixel_inclusive: bool,
    threads: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The planned box pairs (`counts` per detection) with IoU >= floor, in plan order, by the
    compiled kernel on `threads` threads: the numpy path's pairs and IoUs to the bit."""
    assert kernels is not None
    raw = kernels.box_candidates(
        np.ascontiguousarray(dt.box, np.float64),
        np.ascontiguousarray(gt.box, np.float64),
        gt.iscrowd.view(np.uint8),
        p.dt_rows,
        p.gt_rows,
        p.dt_gt_start,
        counts,
        float(floor),
        pixel_inclusive,
        threads,
    )
    pair_dt, pair_gt, iou = (np.frombuffer(b, t) for b, t in zip(raw, (np.int64, np.int64, np.float64)))
    return pair_dt, pair_gt, iou


def _dense_box_pairs(
    p: Plan,
    gt: Dataset,
    dt: Detections,
    block: list[int],
    floor: float,
    pixel_inclusive: bool,
    piece: int,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The pairs of one dense group with IoU >= floor, without listing all its pairs: a box can
    only overlap ground truth whose left edge lies in (x - widest ground truth, x + width), so
    each detection is paired with that window of the ground truth sorted by left edge (with a
    margin: a pair the window lets in needlessly is computed and dropped, never one missed)."""
    d0, nd, g0, ng = block
    rows = p.gt_rows[g0 : g0 + ng]
    gx, gw = gt.box[rows, 0], gt.box[rows, 2]
    by_x = argsort_stable(gx)
    sorted_x = gx[by_x]
    d_rows = p.dt_rows[d0 : d0 + nd]
    dx, dw = dt.box[d_rows, 0], dt.box[d_rows, 2]
    scale = float(np.abs(np.concatenate([gx, gw, dx, dw])).max(initial=0.0))
    margin = 2.0 + 1e-9 * scale  # rounding, and the +1 of pixel-inclusive widths
    lo = np.searchsorted(sorted_x, dx - float(gw.max(initial=0.0)) - margin, side="left")
    hi = np.searchsorted(sorted_x, dx + dw + margin, side="right")
    width = np.maximum(hi - lo, 0)
    out = []
    for a, b in _runs(width, piece):
        pair_dt, at = _pairs_of(lo[a:b], width[a:b], d0 + a)
        pair_gt = g0 + by_x[at]
        iou = _pair_ious(IouType.BBOX, p, gt, dt, pair_dt, pair_gt, pixel_inclusive)
        keep = iou >= floor
        out.append((pair_dt[keep], pair_gt[keep], iou[keep]))
    return out


def _runs(sizes: np.ndarray, piece: int) -> list[tuple[int, int]]:
    """Consecutive runs [lo, hi) of items whose sizes add up to at most `piece` (an item larger
    than `piece` alone); items of size 0 are left out of the runs' ends where they can be."""
    ends = np.cumsum(sizes)
    out, lo, n = [], 0, len(sizes)
    while lo < n:
        base = int(ends[lo - 1]) if lo else 0
        hi = int(np.searchsorted(ends, base + piece, side="right"))
        hi = max(hi, lo + 1)
        if int(ends[hi - 1]) > base:  # skip runs without a pair
            out.append((lo, hi))
        lo = hi
    return out


def _pair_ious(
    kind: IouType,
    p: Plan,
    gt: Dataset,
    dt: Detections,
    pair_dt: np.ndarray,
    pair_gt: np.ndarray,
    pixel_inclusive: bool,
    sigmas: np.ndarray | None = None,
) -> np.ndarray:
    """IoU of the given (plan detection, plan ground truth) pairs: boxes, shapes, or the OKS
    of keypoints (`sigmas`: one per keypoint)."""
    g = p.gt_rows[pair_gt]
    d = p.dt_rows[pair_dt]
    if kind is IouType.BBOX:
        return box_iou_pairs(dt.box[d], gt.box[g], gt.iscrowd[g], pixel_inclusive=pixel_inclusive)
    if kind is IouType.KEYPOINTS:
        assert gt.keypoints is not None and dt.keypoints is not None and sigmas is not None
        return oks_pairs(dt.keypoints[d], gt.keypoints[g], gt.area[g], gt.box[g], sigmas)
    from .geometry.polygons import polygon_iou_pairs  # shapely: only when shapes are evaluated

    assert gt.shapes is not None and dt.shapes is not None
    return polygon_iou_pairs(dt.shapes[d], gt.shapes[g], gt.iscrowd[g])


def iou_floor(*thresholds: float | np.ndarray) -> float:
    """The lowest IoU any of these thresholds can match at (COCO caps a threshold at 1 - 1e-10)."""
    values = np.concatenate([np.atleast_1d(np.asarray(t, np.float64)) for t in thresholds])
    return float(np.minimum(values, 1 - 1e-10).min())


def as_candidates(p: Plan, iou: np.ndarray | Candidates, floor: float) -> Candidates:
    """Candidates from IoUs of every plan pair (`pair_ious`), or as given."""
    if isinstance(iou, Candidates):
        if iou.floor > floor:
            raise ValueError(f"candidates down to IoU {iou.floor} cannot match at {floor}")
        return iou
    keep = np.flatnonzero(iou >= floor)
    return Candidates(p.pair_dt[keep], p.pair_gt[keep], iou[keep], floor)


EVERYWHERE = np.array([[-np.inf, np.inf]])  # one area range holding every area


def _in_range(area: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(A, N) bool: area inside each inclusive range."""
    return (area[None, :] >= ranges[:, :1]) & (area[None, :] <= ranges[:, 1:])


def score_order(p: Plan, max_det: int | None = None) -> np.ndarray:
    """aggregate.by_score of the detections `match(p, ..., max_det=max_det)` keeps, without a
    new sort: the plan's score order, cut and renumbered."""
    kept = None if max_det is None else p.dt_rank < max_det
    if kept is None or kept.all():
        return p.by_score
    return kept_order(p.by_score, kept)


def match(
    p: Plan,
    iou: np.ndarray | Candidates,
    gt: Dataset,
    dt: Detections,
    *,
    iou_thresholds: np.ndarray,
    area_ranges: np.ndarray,
    max_det: int | None = None,
    threads: int = 1,
    use_kernels: bool = True,
) -> Matches:
    """Greedy COCO matching of the detections ranked below `max_det` in their group (all when
    None), for every area range and IoU threshold; `iou`: the `candidates` pairs, or one IoU per
    plan pair. `threads`: for the compiled walk (the same matches for any count);
    `use_kernels=False`: the numpy walk, its twin."""
    thr = np.minimum(np.asarray(iou_thresholds, np.float64), 1 - 1e-10)
    n_area, n_thr = len(area_ranges), len(thr)
    kept = p.dt_rank < max_det if max_det is not None else None
    if kept is not None and kept.all():
        kept = None  # nothing cut: every plan detection, and the plan's own arrays serve
    dets = None if kept is None else np.flatnonzero(kept)
    crowd = gt.iscrowd[p.gt_rows]
    ignored = crowd | gt.ignore[p.gt_rows]  # an ignored flag acts as pycocotools' gt['ignore']
    nonign = (~ignored[:, None]) & _in_range(gt.area[p.gt_rows], area_ranges).T  # (G, A)

    pairs = as_candidates(p, iou, float(thr.min()))
    c_dt, c_gt, c_iou = pairs.pair_dt, pairs.pair_gt, pairs.iou
    # the pairs of kept detections (renumbered among them) that reach the lowest threshold
    wanted = None if pairs.floor >= thr.min() else c_iou >= thr.min()
    if kept is not None:
        wanted = kept[c_dt] if wanted is None else wanted & kept[c_dt]
    if wanted is not None:
        cand = np.flatnonzero(wanted)
        del wanted
        c_dt, c_gt, c_iou = c_dt[cand], c_gt[cand], c_iou[cand]
        del cand
    if kept is not None:
        new_index = _kept_index(kept)
        c_dt = new_index[c_dt]
        del new_index
    del kept
    n_det = len(p.dt_rows) if dets is None else len(dets)
    if kernels is not None and use_kernels and fits_kernels(n_det, len(gt), n_area, n_thr):
        *found, hit_rows, hit_ignored = _kernel_hits(
            c_dt, c_gt, c_iou, _kept(p.dt_group, dets), thr, nonign, crowd, p.gt_rows, threads
        )
        del c_dt, c_gt, c_iou
        return _matches(
            p,
            gt,
            dt,
            dets,
            [tuple(found)],
            iou_thresholds,
            nonign,
            area_ranges,
            named=(hit_rows, hit_ignored),
            threads=threads,
        )
    first = np.r_[True, c_dt[1:] != c_dt[:-1]] if len(c_dt) else np.zeros(0, bool)
    with_cand = c_dt[first]  # kept detections with a candidate, in (group, rank) order
    step_of = np.arange(len(with_cand)) - run_starts(_kept(p.dt_group, dets)[with_cand])
    step = np.repeat(step_of, np.diff(np.r_[np.flatnonzero(first), len(c_dt)]))
    order = np.lexsort((c_gt, c_iou, c_dt, step))
    c_dt, c_gt, c_iou, step = c_dt[order], c_gt[order], c_iou[order], step[order]
    bounds = np.searchsorted(step, np.arange((step.max() + 2) if len(step) else 1))

    taken = np.zeros((len(p.gt_rows), n_area, n_thr), bool)
    hits: list[tuple[np.ndarray, ...]] = []
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
        hits.append((ai, ti, d[seg][di], chosen))

    return _matches(p, gt, dt, dets, hits, iou_thresholds, nonign, area_ranges)


def _kept_index(kept: np.ndarray) -> np.ndarray:
    """(D,) int32 (int64 past 2^31 - 1): each plan detection's index among the kept ones
    (np.cumsum(kept) - 1), summed in place (np.cumsum of the bool flags would first cast them
    to an int64 copy)."""
    out = kept.astype(index_dtype(len(kept)))
    np.cumsum(out, out=out)
    out -= 1
    return out


def _kept(values: np.ndarray, dets: np.ndarray | None) -> np.ndarray:
    """values[dets], or values itself when dets is None (every plan detection is kept)."""
    return values if dets is None else values[dets]


def _out_of_range(area: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(A, N) bool: ~_in_range(area, ranges), one range at a time (no (A, N) temporaries)."""
    out = np.empty((len(ranges), len(area)), bool)
    below = np.empty(len(area), bool)
    for a, (low, high) in enumerate(ranges.tolist()):
        np.greater_equal(area, low, out=out[a])
        np.less_equal(area, high, out=below)
        out[a] &= below
        np.logical_not(out[a], out=out[a])
    return out


def _kernel_hits(
    c_dt: np.ndarray,
    c_gt: np.ndarray,
    c_iou: np.ndarray,
    det_group: np.ndarray,
    thr: np.ndarray,
    nonign: np.ndarray,
    crowd: np.ndarray,
    gt_rows: np.ndarray,
    threads: int,
) -> tuple[np.ndarray, ...]:
    """`match`'s walk in detrecall/_kernels.c: hits (area, threshold, detection, plan ground
    truth), then each hit's Dataset row and whether it is ignored, in (area, threshold, detection)
    order, as int16, int16, int32, int32, bool (13 bytes a hit where the twin's take 33:
    o365-like data has 13 hits a detection)."""
    assert kernels is not None
    if len(c_dt) > 1 and bool((c_dt[1:] < c_dt[:-1]).any()):  # dense groups' pairs come apart
        o = argsort_stable(c_dt)
        c_dt, c_gt, c_iou = c_dt[o], c_gt[o], c_iou[o]
    raw = kernels.match(
        np.ascontiguousarray(c_dt, np.int64),
        np.ascontiguousarray(c_gt, np.int64),
        np.ascontiguousarray(c_iou, np.float64),
        np.ascontiguousarray(det_group, np.int64),
        np.ascontiguousarray(thr, np.float64),
        np.ascontiguousarray(nonign, np.uint8),
        np.ascontiguousarray(crowd, np.uint8),
        np.ascontiguousarray(gt_rows, np.int64),
        nonign.shape[1],
        threads,
    )
    return tuple(np.frombuffer(b, t) for b, t in zip(raw, (np.int16, np.int16, np.int32, np.int32, np.bool_)))


def _matches(
    p: Plan,
    gt: Dataset,
    dt: Detections,
    dets: np.ndarray | None,
    hits: list[tuple[np.ndarray, ...]],
    iou_thresholds: np.ndarray,
    nonign: np.ndarray,
    out_of_range: np.ndarray,
    *,
    named: tuple[np.ndarray, np.ndarray] | None = None,
    threads: int = 1,
) -> Matches:
    """Matches from the kept plan detections `dets` (None, or all of them: the plan's own
    arrays are shared, not copied), hits as (area, threshold, kept detection, selected ground
    truth) index arrays, and the (G, A) not-ignored ground-truth flags. `out_of_range`: (A, D)
    bool per kept detection, or the (A, 2) float area ranges to compute it from. `named`: the
    compiled walk's one part, in (area, threshold, detection) order already, with each hit's
    Dataset row and ignored flag."""
    if dets is not None and len(dets) == len(p.dt_rows):  # dets are ascending: all of them
        dets = None
    if named is not None:  # no plan ground-truth index: the rows and flags stand for it
        (ai, ti, di), gi = hits[0], np.zeros(0, np.int64)
    elif len(hits) == 1:
        ai, ti, di, gi = hits[0]
    elif hits:
        ai, ti, di, gi = (np.concatenate(c) for c in zip(*hits))
    else:
        ai = ti = di = gi = np.zeros(0, np.int64)
    n_thr, n_det = len(iou_thresholds), len(p.dt_rows) if dets is None else len(dets)
    if named is None:
        order = argsort_stable((ai * n_thr + ti) * n_det + di)  # (area, thr, det)
        ai, ti, di, gi = ai[order], ti[order], di[order], gi[order]
        del order
    rows = _kept(p.dt_rows, dets)
    if out_of_range.dtype != np.bool_:  # the ranges (the areas gathered first: freed before the rest)
        (area,) = take_rows(rows, (dt.area,), threads)
        out_of_range = _out_of_range(area, out_of_range)
        del area
    image, score = take_rows(rows, (dt.image_id, dt.score), threads)
    image = narrow_ints(image)
    n_area = nonign.shape[1]
    npos = np.stack(
        [np.bincount(p.gt_class[nonign[:, a]], minlength=len(p.class_ids)) for a in range(n_area)],
        axis=1,
    ).reshape(len(p.class_ids), n_area)
    return Matches(
        class_ids=p.class_ids,
        iou_thresholds=np.asarray(iou_thresholds, np.float64),
        det_class=_kept(p.dt_class, dets),
        det_image=image,
        det_rank=_kept(p.dt_rank, dets),
        det_score=score,
        det_row=rows,
        det_out_of_range=out_of_range,
        hit_area=ai,
        hit_thr=ti,
        hit_det=di,
        hit_gt=p.gt_rows[gi] if named is None else named[0],
        hit_ignored=~nonign[gi, ai] if named is None else named[1],
        npos=npos.astype(np.int64),
        gt_row=p.gt_rows,
        gt_class=p.gt_class,
        gt_image=narrow_ints(gt.image_id[p.gt_rows]),
        gt_ignored=~nonign.T,
    )


def match_voc(
    p: Plan,
    iou: np.ndarray | Candidates,
    gt: Dataset,
    dt: Detections,
    *,
    iou_thresholds: np.ndarray,
    ignored: np.ndarray,
) -> Matches:
    """Pascal VOC devkit matching of every planned detection, for each IoU threshold.

    A detection looks only at the ground truth it overlaps most (the first in file order on
    ties), taken or not: at IoU >= t it is a true positive if that one is still free, a
    duplicate (false positive) if an earlier detection took it, and ignored if it is `ignored`
    (difficult: neither TP nor FP). So the outcome needs no sequential walk: per threshold, the
    highest-ranked detection pointing at a ground truth takes it. `ignored`: (len(gt),) bool.
    One area range (everything); `iou`: the `candidates` pairs (the best overlap of a detection
    is among them whenever it reaches a threshold), or one IoU per plan pair.
    """
    thr = np.asarray(iou_thresholds, np.float64)
    dets = np.arange(len(p.dt_rows))
    nonign = ~np.asarray(ignored, bool)[p.gt_rows][:, None]  # (G, 1)
    hits: list[tuple[np.ndarray, ...]] = []
    pairs = as_candidates(p, iou, float(thr.min()) if len(thr) else 0.0)
    pair_dt, pair_gt, values = pairs.pair_dt, pairs.pair_gt, pairs.iou
    if len(values):
        starts = np.flatnonzero(np.r_[True, pair_dt[1:] != pair_dt[:-1]])
        best = np.maximum.reduceat(values, starts)
        at_best = np.flatnonzero(values == np.repeat(best, np.diff(np.r_[starts, len(values)])))
        first = at_best[np.r_[True, pair_dt[at_best][1:] != pair_dt[at_best][:-1]]]
        b_det, b_gt, b_iou = pair_dt[first], pair_gt[first], values[first]  # detection order
        b_nonign = nonign[b_gt, 0]
        for t, value in enumerate(thr.tolist()):
            over = b_iou >= value
            on_ignored = np.flatnonzero(over & ~b_nonign)
            cand = np.flatnonzero(over & b_nonign)
            _, took = np.unique(b_gt[cand], return_index=True)  # first (best-ranked) per gt
            chosen = np.sort(np.concatenate([on_ignored, cand[took]]))
            zero = np.zeros(len(chosen), np.int64)
            hits.append((zero, zero + t, b_det[chosen], b_gt[chosen]))
    return _matches(p, gt, dt, dets, hits, thr, nonign, np.zeros((1, len(dets)), bool))


def concat_matches(parts: list[Matches]) -> Matches:
    """One Matches from the matches of disjoint sets of whole images (same classes, thresholds
    and ranges), ordered as one pass over all of them would order it: by image, class, rank.

    Dataset and Detections rows are offset part by part, so they stay distinct (and ascending
    for ground truth); they then number a virtual concatenation of the parts' inputs.
    """
    if len(parts) == 1:
        return parts[0]
    gt_off = np.cumsum([0] + [int(m.gt_row[-1]) + 1 if len(m.gt_row) else 0 for m in parts[:-1]])
    dt_off = np.cumsum([0] + [int(m.det_row.max()) + 1 if len(m.det_row) else 0 for m in parts[:-1]])
    n_det = np.cumsum([0] + [len(m.det_row) for m in parts[:-1]])

    def cat(name: str, axis: int = 0) -> np.ndarray:
        return np.concatenate([getattr(m, name) for m in parts], axis=axis)

    image, cls, rank = cat("det_image"), cat("det_class"), cat("det_rank")
    order = _merge_order(image, cls, rank)  # None: the concatenation is in order already
    hit_area, hit_thr = cat("hit_area"), cat("hit_thr")
    hit_det = np.concatenate([m.hit_det + o for m, o in zip(parts, n_det)])
    if order is not None:
        new_pos = np.empty_like(order)
        new_pos[order] = np.arange(len(order))
        hit_det = new_pos[hit_det]
    hit_gt = np.concatenate([m.hit_gt + o for m, o in zip(parts, gt_off)])
    hits = _hit_order(hit_area, hit_thr, hit_det, len(parts[0].iou_thresholds), len(image))
    first = parts[0]

    def by_det(a: np.ndarray, axis: int = 0) -> np.ndarray:
        return a if order is None else np.take(a, order, axis=axis)

    def by_hit(a: np.ndarray) -> np.ndarray:
        return a if hits is None else a[hits]

    return Matches(
        class_ids=first.class_ids,
        iou_thresholds=first.iou_thresholds,
        det_class=by_det(cls),
        det_image=by_det(image),
        det_rank=by_det(rank),
        det_score=by_det(cat("det_score")),
        det_row=by_det(np.concatenate([m.det_row + o for m, o in zip(parts, dt_off)])),
        det_out_of_range=by_det(cat("det_out_of_range", axis=1), axis=1),
        hit_area=by_hit(hit_area),
        hit_thr=by_hit(hit_thr),
        hit_det=by_hit(hit_det),
        hit_gt=by_hit(hit_gt),
        hit_ignored=by_hit(cat("hit_ignored")),
        npos=np.sum([m.npos for m in parts], axis=0),
        gt_row=np.concatenate([m.gt_row + o for m, o in zip(parts, gt_off)]),
        gt_class=cat("gt_class"),
        gt_image=cat("gt_image"),
        gt_ignored=cat("gt_ignored", axis=1),
    )


def _merge_order(image: np.ndarray, cls: np.ndarray, rank: np.ndarray) -> np.ndarray | None:
    """np.lexsort((rank, cls, image)), or None when that is the identity: the parts' detections
    come by (image, class, rank) each, so parts of increasing images are in order as they are
    (a streaming Evaluator's, batches in id order), checked in a few linear passes."""
    if len(image) < 2:
        return None
    a, b = slice(1, None), slice(None, -1)
    same_image = image[a] == image[b]
    same_class = same_image & (cls[a] == cls[b])
    ordered = (image[a] > image[b]) | (same_image & (cls[a] > cls[b])) | (same_class & (rank[a] >= rank[b]))
    if ordered.all():
        return None
    return np.lexsort((rank, cls, image))


def _hit_order(
    hit_area: np.ndarray, hit_thr: np.ndarray, hit_det: np.ndarray, n_thr: int, n_det: int
) -> np.ndarray | None:
    """np.lexsort((hit_det, hit_thr, hit_area)), or None when that is the identity: one stable
    radix sort of the key (area * T + threshold) * D + detection (unique a hit) instead of a
    three-key lexsort, none when the hits are in order already (one threshold and range)."""
    if len(hit_det) < 2:
        return None
    key = (hit_area.astype(np.int64) * n_thr + hit_thr) * max(n_det, 1) + hit_det
    if bool((key[1:] > key[:-1]).all()):
        return None
    if (int(hit_area.max()) + 1) * n_thr * max(n_det, 1) >= 2**62:
        return np.lexsort((hit_det, hit_thr, hit_area))
    return argsort_stable(key)


def detection_status(m: Matches) -> np.ndarray:
    """(D,) `Status` (int8) of each detection at the single IoU threshold of `m` (and its first
    area range: an unmatched detection flagged out of it is ignored, e.g. LVIS's
    not-exhaustively-annotated classes)."""
    status = np.where(m.det_out_of_range[0], Status.IGNORED, Status.FP).astype(np.int8)
    status[m.hit_det] = np.where(m.hit_ignored, Status.IGNORED, Status.TP)
    return status
