"""Image-level bootstrap of an evaluation: percentile intervals without matching again.

Matching is per image, so a replicate that draws image i w_i times is the evaluation of a
dataset holding w_i copies of image i, each matched exactly as the original. A replicate
therefore only re-weights the matcher's rows: cumulative TP/FP along a class's score order are
cumsums weighted by the multiplicity of each detection's image, npos a weighted count, and AP
follows pycocotools' interpolation: w copies of a true positive are consecutive and their
precision rises along the run, so the envelope over the run is the precision after its last
copy (one value per matched row); each true positive takes the recall thresholds between the
recall before it and its own, and AP sums those counts times the envelope.

Tie order: the copies of a detection are kept together at the original's place in the score
order, as if the copies of image i were numbered right after i. With distinct scores, and with
ties between images, this is exactly the evaluation of the duplicated dataset; when two
detections of one image (and class) tie in score, physical copies would interleave instead,
which can change AP.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import mean_where, run_starts
from ..aggregate import EPS, by_class_then_score, prf
from ..errors import DetrecallError
from ..matching import detection_status
from ..result import CocoSummary, EvaluationResult, MetricDef
from ..types import EvalParams, Matches, Status

METRICS = ("AP", "AP50", "AP75", "AR100", "precision", "recall", "F1")
CHUNK_ELEMENTS = 1 << 22  # replicates x rows of one working array (32 MB of float64)


def check_bootstrap_args(n: int, seed: int, confidence: float) -> None:
    """Refuse values that have no meaning, with what would be right."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DetrecallError(f"n (bootstrap replicates) must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DetrecallError(f"seed must be an integer >= 0, got {seed!r}")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise DetrecallError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}")


@dataclass(frozen=True)
class PairCounts:
    """How many rows fall in each (class, image) pair: weighted counts are then one gather."""

    image: np.ndarray  # (P,) image index
    bounds: np.ndarray  # (K+1,) pairs of class k are [bounds[k], bounds[k+1])
    count: np.ndarray  # (P,) int64


def pair_counts(image: np.ndarray, cls: np.ndarray, n_images: int, n_classes: int) -> PairCounts:
    key, count = np.unique(cls.astype(np.int64) * n_images + image, return_counts=True)
    return PairCounts(
        image=key % n_images,
        bounds=np.searchsorted(key // n_images, np.arange(n_classes + 1)),
        count=count.astype(np.int64),
    )


def weighted_counts(w: np.ndarray, pc: PairCounts) -> np.ndarray:
    """(B, K) sum over the rows of each class of their image's weight, for B weight rows."""
    run = np.zeros((len(w), len(pc.count) + 1), np.int64)
    np.cumsum(np.take(w, pc.image, axis=1) * pc.count, axis=1, out=run[:, 1:])
    return np.take(run, pc.bounds[1:], axis=1) - np.take(run, pc.bounds[:-1], axis=1)


def _segment_cumsum_rows(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Row-wise running sum restarting at each segment; first[j] = where j's segment begins."""
    run = np.cumsum(values, axis=1, dtype=values.dtype)
    return run - (np.take(run, first, axis=1) - np.take(values, first, axis=1))


@dataclass(frozen=True)
class Curves:
    """One (area range, max-dets cut) of the COCO matches, laid out for weighted accumulation.

    Detections counted unless matched (in range, classes with ground truth) in accumulate's
    class-then-score order; the true positives sorted by (segment = threshold * K + class,
    score order); `corr_*`: the few matches that change a detection's counting (in range but
    matched to an ignored ground truth: not counted; out of range but a true positive: counted).
    """

    n_thr: int
    n_cls: int
    largest: int  # most counted detections of one image: bounds the weighted running counts
    det_image: np.ndarray  # (Dc,) image index
    tp_image: np.ndarray  # (Htp,)
    tp_from: np.ndarray  # (Htp,) start of its class among the counted detections
    tp_to: np.ndarray  # (Htp,) counted detections up to and including it (index into a run)
    tp_first: np.ndarray  # (Htp,) first true positive of its segment
    tp_seg: np.ndarray  # (Htp,)
    tp_class: np.ndarray  # (Htp,)
    seg_start: np.ndarray  # (S',) index of the first true positive of each non-empty segment
    tp_corr: np.ndarray  # (Htp,) last correction of its segment at or before it, -1 for none
    corr_image: np.ndarray  # (C,)
    corr_sign: np.ndarray  # (C,) +1 counted, -1 not counted
    corr_first: np.ndarray  # (C,)
    seg_end: np.ndarray  # (S,) end of each segment among the true positives
    npos: PairCounts  # non-ignored ground truth per class and image


def curves_of(m: Matches, image_ids: np.ndarray, a: int, max_det: int) -> Curves:
    n_k, n_t = len(m.class_ids), len(m.iou_thresholds)
    with_gt = m.npos[:, a] > 0
    order = by_class_then_score(m.det_class, m.det_score)
    cut = order[(m.det_rank[order] < max_det) & with_gt[m.det_class[order]]]
    position = np.full(len(m.det_row), -1, np.int64)
    position[cut] = np.arange(len(cut))
    out_of_range = m.det_out_of_range[a]
    in_range = ~out_of_range[cut]
    counted_before = np.r_[0, np.cumsum(in_range)]  # counted detections before each position
    cls_of_cut = m.det_class[cut]
    class_start = counted_before[np.searchsorted(cls_of_cut, np.arange(n_k))]
    det_image = np.searchsorted(image_ids, m.det_image)

    h = np.flatnonzero((m.hit_area == a) & (position[m.hit_det] >= 0))
    det = m.hit_det[h]
    pos, cls, ign = position[det], m.det_class[det], m.hit_ignored[h]
    seg = m.hit_thr[h].astype(np.int64) * n_k + cls
    o = np.lexsort((pos, seg))
    det, pos, cls, ign, seg = det[o], pos[o], cls[o], ign[o], seg[o]
    sign = np.where(ign, -1, 1) * (ign == ~out_of_range[det])  # ignored in range, or TP out of range
    corr = np.flatnonzero(sign)
    # the last correction at or before each hit, within its segment
    last_corr = np.maximum.accumulate(np.where(sign != 0, np.arange(len(seg)), -1)) if len(seg) else seg
    corr_index = np.searchsorted(corr, last_corr)
    same_seg = (last_corr >= 0) & (seg[np.maximum(last_corr, 0)] == seg)
    tp = np.flatnonzero(~ign)
    gt = ~m.gt_ignored[a]
    return Curves(
        n_thr=n_t,
        n_cls=n_k,
        largest=int(np.bincount(det_image[cut], minlength=len(image_ids)).max(initial=0)),
        det_image=det_image[cut][in_range],
        tp_image=det_image[det[tp]],
        tp_from=class_start[cls[tp]],
        tp_to=counted_before[pos[tp] + 1],
        tp_first=run_starts(seg[tp]),
        tp_seg=seg[tp],
        tp_class=cls[tp],
        seg_start=np.flatnonzero(np.r_[True, seg[tp][1:] != seg[tp][:-1]]) if len(tp) else tp,
        tp_corr=np.where(same_seg, corr_index, -1)[tp],
        corr_image=det_image[det[corr]],
        corr_sign=sign[corr].astype(np.int64),
        corr_first=run_starts(seg[corr]),
        seg_end=np.searchsorted(seg[tp], np.arange(1, n_t * n_k + 1)),
        npos=pair_counts(np.searchsorted(image_ids, m.gt_image[gt]), m.gt_class[gt], len(image_ids), n_k),
    )


def weighted_ap(c: Curves, w: np.ndarray, recall_thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, T, K) AP (mean interpolated precision over the recall thresholds) and recall of B
    weighted replicates, pycocotools' way; NaN where a class has no ground truth."""
    n_b, n_t, n_k, n_r = len(w), c.n_thr, c.n_cls, len(recall_thresholds)
    n_s, n_tp_hits = n_t * n_k, len(c.tp_image)
    # int32 halves the memory traffic when no running count can exceed it
    dtype = np.int32 if int(w.sum(axis=1).max(initial=0)) * (c.largest + 1) < 2**31 else np.int64
    w = w.astype(dtype, copy=False)
    run = np.zeros((n_b, len(c.det_image) + 1), dtype)
    np.cumsum(np.take(w, c.det_image, axis=1), axis=1, dtype=dtype, out=run[:, 1:])
    counted = np.take(run, c.tp_to, axis=1) - np.take(run, c.tp_from, axis=1)
    if len(c.corr_image):
        corr = _segment_cumsum_rows(
            np.take(w, c.corr_image, axis=1) * c.corr_sign.astype(dtype), c.corr_first
        )
        corr = np.concatenate([corr, np.zeros((n_b, 1), dtype)], axis=1)
        counted += np.take(corr, c.tp_corr, axis=1)  # -1 picks the zero column
    tp = _segment_cumsum_rows(np.take(w, c.tp_image, axis=1), c.tp_first)  # (B, Htp)
    precision = tp / (counted + EPS)
    has_tp = c.seg_end > np.r_[0, c.seg_end[:-1]]
    padded = np.concatenate([np.zeros((n_b, 1), tp.dtype), tp], axis=1)
    n_tp = np.where(has_tp, np.take(padded, c.seg_end, axis=1), 0).reshape(n_b, n_t, n_k)  # weighted TP total
    npos = weighted_counts(w, c.npos)  # (B, K)
    defined = npos > 0
    npos_or_1 = np.where(defined, npos, 1)
    # recall threshold r is sampled at the first true positive whose recall tp/npos (float64,
    # as pycocotools' rc) reaches r: a TP takes the thresholds in (recall before it, its recall]
    reached = np.searchsorted(recall_thresholds, tp / np.take(npos_or_1, c.tp_class, axis=1), side="right")
    before = np.zeros_like(reached)
    before[:, 1:] = reached[:, :-1]
    before[:, c.seg_start] = 0
    # precision envelope: max of the precisions from each TP to its segment's end; complex
    # numbers compare lexicographically, so a real part rising segment by segment along the
    # reversed rows restarts the running max at every segment, and the imaginary part is exact
    key = np.empty((n_b, n_tp_hits), np.complex128)
    key.real = -(np.arange(n_b)[:, None] * n_s + c.tp_seg[None, :])
    key.imag = precision
    envelope = np.maximum.accumulate(key.ravel()[::-1])[::-1].imag
    ap = (
        np.bincount(
            (np.arange(n_b)[:, None] * n_s + c.tp_seg[None, :]).ravel(),
            weights=(reached - before).ravel() * envelope,
            minlength=n_b * n_s,
        ).reshape(n_b, n_t, n_k)
        / n_r
    )
    undefined = ~defined[:, None, :]
    recall = n_tp / npos_or_1[:, None, :]
    return np.where(undefined, np.nan, ap), np.where(undefined, np.nan, recall)


def _mean_defined(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Mean over `axis` of the non-NaN entries, NaN where there are none (no warning)."""
    return mean_where(x, ~np.isnan(x), axis)


@dataclass(frozen=True)
class Tape:
    """Everything a replicate needs from one evaluation, independent of the weights."""

    image_ids: np.ndarray  # (I,) images resampled
    class_ids: np.ndarray
    names: tuple[str, ...]
    recall_thresholds: np.ndarray
    curves: dict[tuple[int, int], Curves]
    overall_cut: tuple[int, int] | None  # (area, max_det) of AP50/AP75/AR100; None: undefined
    ap_cut: tuple[int, int] | None  # of AP (pycocotools' maxDets=100)
    class_cut: tuple[int, int]  # of the per-class figures
    thr50: int | None
    thr75: int | None
    beta: float
    point_tp: PairCounts
    point_fp: PairCounts
    point_npos: PairCounts

    @property
    def rows(self) -> int:
        """The widest per-replicate working array: what bounds a chunk."""
        widths = [len(c.det_image) + 1 for c in self.curves.values()]
        widths += [len(c.tp_image) for c in self.curves.values()]
        return max(widths + [len(self.point_tp.count), len(self.point_fp.count), 1])


def summary_rows(summary: CocoSummary) -> tuple[int, int, int, int]:
    """Positions in the summary of the numbers resampled: AP, AP50, AP75 and AR at the
    summary's largest cut (pycocotools' stats 0, 1, 2, 8 for boxes and masks)."""
    found = (summary.find(True), summary.find(True, 0.5), summary.find(True, 0.75), summary.find(False))
    if any(i is None for i in found):
        raise DetrecallError("intervals need AP, AP50, AP75 and AR among the summary's numbers")
    return found  # type: ignore[return-value]


def _cut(d: MetricDef, p: EvalParams) -> tuple[int, int] | None:
    """(area index, max dets) of a summary number; None when the params lack either."""
    if d.area not in p.area_labels or d.max_dets not in p.max_dets:
        return None
    return p.area_labels.index(d.area), int(d.max_dets)


def tape_of(result: EvaluationResult) -> Tape:
    """The replicate-independent layout of an EvaluationResult."""
    summary = result.protocol_summary
    if not isinstance(summary, CocoSummary):
        raise DetrecallError(
            f"intervals and comparisons are built for protocol='coco', not {result.protocol!r} yet"
        )
    if result.point_matches is None or result.image_ids is None:
        raise DetrecallError(
            "this result carries no matches to resample; evaluate again with detrecall.evaluate"
        )
    image_ids = result.image_ids
    if len(image_ids) == 0:
        raise DetrecallError("the bootstrap needs at least one evaluated image")
    m: Matches = result.matches
    p: EvalParams = result.params
    ap, ap50, ap75, _ = (summary.metrics[i] for i in summary_rows(summary))
    ap_cut, overall = _cut(ap, p), _cut(ap50, p)  # AP50, AP75 and AR share one cut
    class_cut = (p.area_labels.index("all") if "all" in p.area_labels else 0, p.max_dets[-1])
    cuts = {cut for cut in (overall, ap_cut, class_cut) if cut is not None}

    def thr(value: float | None) -> int | None:
        hit = np.flatnonzero(p.iou_thresholds == value)
        return int(hit[0]) if len(hit) else None

    pm: Matches = result.point_matches
    status = detection_status(pm)
    above = pm.det_score >= result.point.score_threshold
    img = np.searchsorted(image_ids, pm.det_image)
    n_i, n_k = len(image_ids), len(pm.class_ids)
    is_tp = above & (status == Status.TP)
    is_fp = above & (status == Status.FP)
    gt = ~pm.gt_ignored[0]
    return Tape(
        image_ids=image_ids,
        class_ids=m.class_ids,
        names=tuple(c.name for c in result.per_class),
        recall_thresholds=p.recall_thresholds,
        curves={cut: curves_of(m, image_ids, *cut) for cut in sorted(cuts)},
        overall_cut=overall,
        ap_cut=ap_cut,
        class_cut=class_cut,
        thr50=thr(ap50.iou),
        thr75=thr(ap75.iou),
        beta=float(result.point.beta),
        point_tp=pair_counts(img[is_tp], pm.det_class[is_tp], n_i, n_k),
        point_fp=pair_counts(img[is_fp], pm.det_class[is_fp], n_i, n_k),
        point_npos=pair_counts(np.searchsorted(image_ids, pm.gt_image[gt]), pm.gt_class[gt], n_i, n_k),
    )


def replicate(tape: Tape, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The METRICS of B replicates given image multiplicities `weights` (B, I) (integers >= 0,
    columns in `tape.image_ids` order): (B, M) overall and (B, K, M) per class, NaN where
    undefined. Overall precision/recall/F1 pool the classes (micro)."""
    w = np.asarray(weights, np.int64)
    n_b, n_k = len(w), len(tape.class_ids)
    per_cut = {cut: weighted_ap(c, w, tape.recall_thresholds) for cut, c in tape.curves.items()}
    at_iou = [(j, t) for j, t in ((1, tape.thr50), (2, tape.thr75)) if t is not None]
    overall = np.full((n_b, len(METRICS)), np.nan)  # as summarize: means over the defined classes
    if tape.ap_cut is not None:
        overall[:, 0] = _mean_defined(per_cut[tape.ap_cut][0], (1, 2))
    if tape.overall_cut is not None:
        ap, rec = per_cut[tape.overall_cut]
        for j, t in at_iou:
            overall[:, j] = _mean_defined(ap[:, t], (1,))
        overall[:, 3] = _mean_defined(rec, (1, 2))
    ap, rec = per_cut[tape.class_cut]
    per_class = np.full((n_b, n_k, len(METRICS)), np.nan)
    per_class[:, :, 0] = _mean_defined(ap, (1,))
    for j, t in at_iou:
        per_class[:, :, j] = ap[:, t]
    per_class[:, :, 3] = _mean_defined(rec, (1,))

    tp, fp = weighted_counts(w, tape.point_tp), weighted_counts(w, tape.point_fp)
    npos = weighted_counts(w, tape.point_npos)
    for counts, out in (
        ((tp, fp, npos), per_class[:, :, 4:]),
        ((tp.sum(1), fp.sum(1), npos.sum(1)), overall[:, 4:]),
    ):
        tp_k, fp_k, npos_k = counts
        out[...] = np.stack(prf(tp_k, fp_k, npos_k - tp_k, tape.beta, math.nan), axis=-1)
    return overall, per_class


def estimates(result: EvaluationResult, tape: Tape) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation's own METRICS, (M,) and (K, M): `result.coco`, `result.per_class` and
    `result.point` (micro overall) to the bit, NaN where a replicate of all images once finds
    them undefined (a rate 0/0, which the evaluation sets to its zero_division)."""
    overall, per_class = replicate(tape, np.ones((1, len(tape.image_ids)), np.int64))
    c, p = result.protocol_summary, result.point
    assert isinstance(c, CocoSummary)
    own = np.array([*(c.values[i] for i in summary_rows(c)), p.micro.precision, p.micro.recall, p.micro.f1])
    own_class = np.column_stack(
        [
            np.array([[k.AP, k.AP50, k.AP75, k.AR100] for k in result.per_class]).reshape(-1, 4),
            p.precision,
            p.recall,
            p.f1,
        ]
    )
    return (np.where(np.isnan(overall[0]), np.nan, own), np.where(np.isnan(per_class[0]), np.nan, own_class))


def draws(seed: int, n: int, n_images: int, chunk: int) -> Iterator[np.ndarray]:
    """Image multiplicities of n replicates, `chunk` rows at a time: replicate after replicate,
    n_images images drawn uniformly with replacement from np.random.default_rng(seed), so the
    draws do not depend on the chunk size, and two evaluations share them (paired)."""
    rng = np.random.default_rng(seed)
    for lo in range(0, n, chunk):
        yield np.stack(
            [
                np.bincount(rng.integers(0, n_images, n_images), minlength=n_images)
                for _ in range(min(chunk, n - lo))
            ]
        )


def chunk_size(*tapes: Tape) -> int:
    return int(max(1, min(256, CHUNK_ELEMENTS // max(t.rows for t in tapes))))


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentiles (1 - confidence)/2 and (1 + confidence)/2 of the defined
    (non-NaN) samples along axis 0, linear interpolation as np.quantile; NaN where none."""
    s = np.sort(samples, axis=0)  # NaN sorts last
    count = (~np.isnan(samples)).sum(axis=0)

    def at(q: float) -> np.ndarray:
        pos = q * np.maximum(count - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
        a = np.take_along_axis(s, lo[None], axis=0)[0]
        b = np.take_along_axis(s, hi[None], axis=0)[0]
        frac = pos - lo
        value = np.where(frac == 0, a, a + (b - a) * frac)
        return np.where(count > 0, value, np.nan)

    alpha = 1 - confidence
    return at(alpha / 2), at(1 - alpha / 2)


@dataclass(frozen=True)
class Interval:
    """A value and its bootstrap percentile interval; NaN where undefined."""

    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if math.isnan(v) else v) for k, v in self.__dict__.items()}


# Ultralytics' names for the same numbers (its mAP50-95 is COCO's AP)
ALIASES = {"map50-95": "AP", "map50": "AP50", "map75": "AP75", "f1-score": "F1"}


def metric_index(metric: str) -> int:
    """Index of a metric by name, case-insensitive ("ap50" is "AP50"); Ultralytics' names
    (mAP50-95, mAP50, mAP75) are the same numbers."""
    wanted = ALIASES.get(str(metric).lower(), str(metric)).lower()
    for j, name in enumerate(METRICS):
        if name.lower() == wanted:
            return j
    raise DetrecallError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile intervals of METRICS, overall and per class, from n image-level replicates.

    `estimate` is the evaluation's own value (all images once); `samples` / `class_samples`
    hold every replicate (n, M) and (n, K, M), NaN where a metric is undefined in a replicate
    (e.g. a class without ground truth in it); such replicates are left out of its interval.
    """

    n: int
    seed: int
    confidence: float
    n_images: int
    metrics: tuple[str, ...]
    class_ids: np.ndarray
    names: tuple[str, ...]
    estimate: np.ndarray  # (M,)
    low: np.ndarray
    high: np.ndarray
    class_estimate: np.ndarray  # (K, M)
    class_low: np.ndarray
    class_high: np.ndarray
    samples: np.ndarray  # (n, M)
    class_samples: np.ndarray  # (n, K, M)

    def interval(self, metric: str, category_id: int | None = None) -> Interval:
        """The interval of `metric` overall, or of one category."""
        j = metric_index(metric)
        if category_id is None:
            return Interval(float(self.estimate[j]), float(self.low[j]), float(self.high[j]))
        found = np.flatnonzero(self.class_ids == category_id)
        if not len(found):
            raise DetrecallError(f"category {category_id} was not evaluated")
        k = int(found[0])
        return Interval(
            float(self.class_estimate[k, j]), float(self.class_low[k, j]), float(self.class_high[k, j])
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (no samples): per metric {estimate, low, high}, overall and per class."""
        return {
            "n": self.n,
            "seed": self.seed,
            "confidence": self.confidence,
            "n_images": self.n_images,
            "overall": {m: self.interval(m).to_dict() for m in self.metrics},
            "per_class": [
                {
                    "category_id": int(cid),
                    "name": name,
                    **{m: self.interval(m, int(cid)).to_dict() for m in self.metrics},
                }
                for cid, name in zip(self.class_ids.tolist(), self.names)
            ],
        }


def run(tapes: list[Tape], n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(n, M) and (n, K, M) replicate values of each tape, all on the same image draws."""
    parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in tapes]
    for w in draws(seed, n, len(tapes[0].image_ids), chunk_size(*tapes)):
        for out, tape in zip(parts, tapes):
            out.append(replicate(tape, w))
    return [(np.concatenate([o for o, _ in p]), np.concatenate([c for _, c in p])) for p in parts]


def intervals(
    result: EvaluationResult, *, n: int = 1000, seed: int = 0, confidence: float = 0.95
) -> BootstrapResult:
    """Image-level bootstrap percentile intervals of AP, AP50, AP75, AR100 (COCO definitions,
    as in `result.coco` and `result.per_class`) and precision, recall, F1 at the operating
    point (overall = pooled counts, as `result.point.micro`), overall and per class.

    n replicates, each drawing as many images as were evaluated, uniformly with replacement
    (images without annotations included); reproducible with `seed`. The interval is the
    (1 - confidence)/2 and (1 + confidence)/2 percentiles of the replicates' values.
    """
    check_bootstrap_args(n, seed, confidence)
    tape = tape_of(result)
    overall, per_class = estimates(result, tape)
    samples, class_samples = run([tape], n, seed)[0]
    low, high = percentile_interval(samples, confidence)
    class_low, class_high = percentile_interval(class_samples, confidence)
    return BootstrapResult(
        n=int(n),
        seed=int(seed),
        confidence=float(confidence),
        n_images=len(tape.image_ids),
        metrics=METRICS,
        class_ids=tape.class_ids,
        names=tape.names,
        estimate=overall,
        low=low,
        high=high,
        class_estimate=per_class,
        class_low=class_low,
        class_high=class_high,
        samples=samples,
        class_samples=class_samples,
    )
