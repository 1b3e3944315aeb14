"""The shared aggregator: matched detections -> cumulative TP/FP -> precision/recall, AP, AR.

`accumulate` builds pycocotools' `eval` arrays with the same float64 operations, so the numbers
are bit-identical, without touching every (threshold, detection) cell. Along a class's
detections sorted by score, precision tp/(tp+fp+eps) only rises at a true positive, so the
right-to-left precision envelope sampled at the 101 recall points is a suffix maximum over the
true positives alone; and the counts tp+fp at a true positive come from one running count of
detections out of the area range plus corrections at the (few) matched detections.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ._compiled import fits_kernels, kernels
from ._sort import argsort_stable, regroup
from .errors import DetrecallError, UndefinedMetricWarning
from .options import ZeroDivision, check_zero_division
from .types import Accumulated, EvalParams, Matches

EPS = np.spacing(1)
AVERAGES = ("micro", "macro", "weighted")
_PIECE = 1 << 18  # entries gathered at a time where a whole gather is not needed


@dataclass(frozen=True)
class Counts:
    """True/false positives and false negatives per class at one operating point."""

    tp: np.ndarray  # (C,) int64
    fp: np.ndarray
    fn: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """Ground truths per class (tp + fn)."""
        return self.tp + self.fn

    @property
    def predicted(self) -> np.ndarray:
        """Counted predictions per class (tp + fp)."""
        return self.tp + self.fp


@dataclass(frozen=True)
class Rates:
    """Precision, recall and F-beta of one class or one average."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if math.isnan(v) else v) for k, v in self.__dict__.items()}


_UNDEFINED = {  # scikit-learn's wording: what was missing
    "precision": ("Precision is", "predicted"),
    "recall": ("Recall is", "true"),
    "f-score": ("F-score is", "true nor predicted"),
}
WARN_ALL = ("precision", "recall", "f-score")


def divide(
    num: np.ndarray,
    den: np.ndarray,
    zero_division: ZeroDivision,
    metric: str,
    warn_for: tuple[str, ...] = WARN_ALL,
    unit: str = "label",
) -> np.ndarray:
    """num / den as float64, `zero_division` where den == 0; with "warn", an
    UndefinedMetricWarning when `metric` is in `warn_for` (as scikit-learn's _prf_divide)."""
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    undefined = den == 0
    out = num / np.where(undefined, 1.0, den)
    if undefined.any():
        out = np.where(undefined, check_zero_division(zero_division), out)
        if zero_division == "warn" and metric in warn_for:
            start, missing = _UNDEFINED[metric]
            counted = "label" if unit == "sample" else "sample"  # what each ratio counts
            where = f"in {unit}s with" if out.size > 1 else "due to"
            warnings.warn(
                f"{start} ill-defined and being set to 0.0 {where} no {missing} {counted}s. "
                "Use `zero_division` parameter to control this behavior.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
    return out


def prf(
    tp: np.ndarray,
    fp: np.ndarray,
    fn: np.ndarray,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    warn_for: tuple[str, ...] = WARN_ALL,
    unit: str = "label",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision tp/(tp+fp), recall tp/(tp+fn), F-beta (1+b^2)tp / (b^2(tp+fn) + tp+fp).

    Elementwise, any shape; scikit-learn's precision_recall_fscore_support formulas, with
    `zero_division` wherever a denominator is 0.
    """
    tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
    precision = divide(tp, tp + fp, zero_division, "precision", warn_for, unit)
    recall = divide(tp, tp + fn, zero_division, "recall", warn_for, unit)
    if math.isinf(beta):
        return precision, recall, recall
    if beta == 0:
        return precision, recall, precision
    b2 = beta * beta
    fbeta = divide((1 + b2) * tp, b2 * (tp + fn) + (tp + fp), zero_division, "f-score", warn_for, unit)
    return precision, recall, fbeta


@dataclass(frozen=True)
class Curve:
    """Counts and rates as functions of the score threshold: one point per distinct score of a
    counted detection, thresholds descending (a detection counts when its score >= threshold)."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray  # F-beta with the evaluation's beta


def curves(
    score: np.ndarray,
    is_tp: np.ndarray,
    segment: np.ndarray,
    support: np.ndarray,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    score_order: np.ndarray | None = None,
) -> list[Curve]:
    """One Curve per segment (class): cumulative TP and FP along descending score, taken at
    each distinct score, then the rates. `is_tp` marks true positives, the rest are false
    positives; `support` is each segment's number of positives (segments in [0, len(support))).
    Vectorized over segments."""
    order = by_class_then_score(segment, score, score_order)
    return curves_in_order(
        score, is_tp, order, np.bincount(segment, minlength=len(support)), support, beta, zero_division
    )


def curves_in_order(
    score: np.ndarray,
    is_tp: np.ndarray,
    order: np.ndarray,
    seg_count: np.ndarray,
    support: np.ndarray,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    *,
    use_kernels: bool = True,
) -> list[Curve]:
    """`curves` of the entries `order` lists (indices into `score` and `is_tp`, maybe not all of
    them): segment by segment (the first seg_count[0] entries are segment 0, ...), each by score
    descending. The points (the last entry of each run of equal scores, with the true and false
    positives up to there) come from one pass of `_kernels.curve_points` where it is built;
    `_curve_points` is its twin (`use_kernels=False`)."""
    n_seg = len(support)
    if kernels is not None and use_kernels:
        raw = kernels.curve_points(
            np.ascontiguousarray(score, np.float64),
            _as_bytes(is_tp),
            _index_array(order),
            np.ascontiguousarray(seg_count, np.int64),
        )
        thresholds, tp, fp, seg = (np.frombuffer(b, t) for b, t in zip(raw, (np.float64, *[np.int64] * 3)))
    else:
        thresholds, tp, fp, seg = _curve_points(score, is_tp, order, seg_count)
    p, r, f = prf(tp, fp, support[seg] - tp, beta, zero_division)
    cuts = np.searchsorted(seg, np.arange(1, n_seg))
    return [Curve(*parts) for parts in zip(*(np.split(a, cuts) for a in (thresholds, tp, fp, p, r, f)))]


def _curve_points(
    score: np.ndarray, is_tp: np.ndarray, order: np.ndarray, seg_count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """curves_in_order's points in numpy: (score, TP count, FP count, segment) at the end of
    each run of equal scores. Only those entries are gathered, and `order` is read a piece at a
    time: nothing else as long as it is allocated."""
    n = len(order)
    seg_end = np.cumsum(seg_count)
    seg_start = seg_end - seg_count
    last = np.zeros(n, bool)  # the last entry of each run of (segment, score)
    tp_parts = []  # positions of the true positives
    for lo in range(0, n, _PIECE):
        hi = min(lo + _PIECE, n)
        sorted_score = score[order[lo : hi + 1]]  # one past the piece: its last entry's successor
        np.not_equal(sorted_score[1:], sorted_score[:-1], out=last[lo : lo + len(sorted_score) - 1])
        tp_parts.append(lo + np.flatnonzero(is_tp[order[lo:hi]]))
    if n:
        last[seg_end[seg_count > 0] - 1] = True
    at = np.flatnonzero(last)
    del last
    thresholds = score[order[at]]
    tp_at = np.concatenate(tp_parts) if tp_parts else np.zeros(0, np.int64)
    seg = np.searchsorted(seg_start, at, side="right") - 1  # empty segments start where the next does
    tp = np.searchsorted(tp_at, at, side="right") - np.searchsorted(tp_at, seg_start, side="left")[seg]
    fp = (at - seg_start[seg] + 1) - tp
    return thresholds, tp, fp, seg


def _nanaverage(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is None or weights[keep].sum() == 0:
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=weights[keep]))


def average_rates(
    counts: Counts,
    average: str,
    labels: np.ndarray,
    beta: float = 1.0,
    zero_division: ZeroDivision = 0,
    warn_for: tuple[str, ...] = WARN_ALL,
    unit: str = "label",
) -> Rates:
    """micro (pooled counts), macro (mean over classes) or weighted (by support) rates over
    the classes selected by the boolean mask `labels`, as scikit-learn averages them."""
    if average not in AVERAGES:
        raise DetrecallError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}")
    tp, fp, fn = counts.tp[labels], counts.fp[labels], counts.fn[labels]
    if average == "micro":
        p, r, f = prf(tp.sum(), fp.sum(), fn.sum(), beta, zero_division, warn_for, unit)
        return Rates(float(p), float(r), float(f))
    p, r, f = prf(tp, fp, fn, beta, zero_division, warn_for, unit)
    w = (tp + fn).astype(np.float64) if average == "weighted" else None
    if len(tp) == 0:
        return Rates(math.nan, math.nan, math.nan)
    return Rates(_nanaverage(p, w), _nanaverage(r, w), _nanaverage(f, w))


def min_tp_for_recall(recall_thresholds: np.ndarray, npos: np.ndarray) -> np.ndarray:
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


def by_score(score: np.ndarray) -> np.ndarray:
    """Stable order by score descending (ties keep input order): what the orders below start
    from, so one sort can serve several of them."""
    return argsort_stable(score, descending=True)


def by_class_then_score(
    cls: np.ndarray, score: np.ndarray, score_order: np.ndarray | None = None
) -> np.ndarray:
    """Stable order by class ascending, then score descending (ties keep input order): equal
    to np.lexsort((-score, cls)), faster: the class pass is a counting sort (_sort.regroup).
    `score_order`: by_score(score) when the caller has it."""
    first = by_score(score) if score_order is None else score_order
    if not len(cls) or int(cls.max()) == int(cls.min()):  # one class: the score order itself
        return first
    if int(cls.min()) < 0:
        return first[np.argsort(cls[first], kind="stable")]
    return regroup(first, cls, int(cls.max()) + 1)


def suffix_max_at(values: np.ndarray, seg_end: np.ndarray, at: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """max(values[at[s, r] : seg_end[s]]) where inside[s, r], else 0; `at` ascending along r.

    One reduceat over the blocks between consecutive sample positions, then a reverse cummax
    over r: exact (max only compares), and vectorized over all segments s.
    """
    n_s, n_r = at.shape
    ends = seg_end[:, None]
    idx = np.concatenate([np.where(inside, at, ends), ends], axis=1).ravel()
    padded = np.concatenate([values, [0.0]])  # reduceat needs every index < len
    blocks = np.maximum.reduceat(padded, idx).reshape(n_s, n_r + 1)[:, :n_r]
    blocks = np.where(inside, blocks, 0.0)
    return np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1]


def _segment_cumsum(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Running sum of `values` restarting at every change of the nondecreasing key `seg`."""
    run = np.cumsum(values)
    if len(seg) == 0:
        return run
    first = np.r_[True, seg[1:] != seg[:-1]]
    base = (run - values)[first]
    return run - np.repeat(base, np.diff(np.r_[np.flatnonzero(first), len(seg)]))


def _as_bytes(flags: np.ndarray) -> np.ndarray:
    """A bool array as the uint8 array the kernels read: a view, not a copy, when contiguous."""
    flags = np.ascontiguousarray(flags)
    return flags.view(np.uint8) if flags.dtype == np.bool_ else flags.astype(np.uint8)


def _index_array(a: np.ndarray) -> np.ndarray:
    """`a` for the compiled kernels' int64-or-int32 index arguments: itself when contiguous
    int32 or int64, else a contiguous int64 copy."""
    if a.dtype in (np.int32, np.int64) and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, np.int64)


def accumulate(
    m: Matches,
    params: EvalParams,
    score_order: np.ndarray | None = None,
    *,
    threads: int = 1,
    use_kernels: bool = True,
) -> Accumulated:
    """pycocotools' accumulate(): precision and scores (T,R,K,A,M), recall (T,K,A,M), -1 = undefined.
    `score_order`: by_score(m.det_score) when the caller has it. In detrecall/_kernels.c when it
    is built (over `threads` threads, split by class: the same arrays for any count); the numpy
    path below is its twin (`use_kernels=False`)."""
    rec_thr = params.recall_thresholds
    n_t, n_r, n_k = len(m.iou_thresholds), len(rec_thr), len(m.class_ids)
    n_a, n_m = m.det_out_of_range.shape[0], len(params.max_dets)
    precision = np.full((n_t, n_r, n_k, n_a, n_m), -1.0)
    scores = np.full((n_t, n_r, n_k, n_a, n_m), -1.0)
    recall = np.full((n_t, n_k, n_a, n_m), -1.0)
    n_det = len(m.det_row)
    # the kernel codes a hit's (area range, threshold) in 16 bits and counts hits in 32
    fits = fits_kernels(n_det, 0, n_a, n_t) and n_a * n_t * 2 <= 2**16 and len(m.hit_det) < 2**31 - 1
    if kernels is not None and use_kernels and fits and n_det and n_k and n_t and n_m:
        i64 = np.int64
        first = by_score(m.det_score) if score_order is None else score_order
        kernels.accumulate(  # regroups `first` by class itself, stably: by_class_then_score
            _index_array(first),  # the plan's int32 as they are: no det-sized int64 copies
            _index_array(m.det_rank),
            _index_array(m.det_class),
            np.ascontiguousarray(m.det_score, np.float64),
            _as_bytes(m.det_out_of_range),
            np.ascontiguousarray(m.hit_area, np.int16),
            np.ascontiguousarray(m.hit_thr, np.int16),
            np.ascontiguousarray(m.hit_det, np.int32),
            _as_bytes(m.hit_ignored),
            np.ascontiguousarray(m.npos, i64),
            np.ascontiguousarray(rec_thr, np.float64),
            np.asarray(params.max_dets, i64),
            precision,
            recall,
            scores,
            threads,
        )
        return Accumulated(precision=precision, recall=recall, scores=scores)
    # within a class: score descending, ties by image id, then by rank inside the image; the
    # detections come in (image, class, rank) order, so a stable sort keeps those ties right
    order = by_class_then_score(m.det_class, m.det_score, score_order)
    # per area range, its hits by (threshold, rank in the full sorted order), sorted once: they
    # stay sorted in every cut, each cut being a subsequence of `order`
    rank_in_order = np.empty(n_det, np.int64)
    rank_in_order[order] = np.arange(n_det)
    area_bounds = np.searchsorted(m.hit_area, np.arange(n_a + 1))
    areas = []
    for a in range(n_a):
        classes = np.flatnonzero(m.npos[:, a] > 0)
        k_of_class = np.full(n_k, -1, np.int64)
        k_of_class[classes] = np.arange(len(classes))
        h = slice(area_bounds[a], area_bounds[a + 1])
        o = argsort_stable(m.hit_thr[h].astype(np.int64) * (n_det + 1) + rank_in_order[m.hit_det[h]])
        hit_det = m.hit_det[h][o]
        areas.append(
            (
                classes,
                bool(m.det_out_of_range[a].any()),
                hit_det,
                m.hit_thr[h][o].astype(np.int64),
                m.hit_ignored[h][o],
                k_of_class[m.det_class[hit_det]],
            )
        )
    del rank_in_order
    for mi, max_det in enumerate(params.max_dets):  # one cut's det-sized arrays at a time
        cut = order[m.det_rank[order] < max_det]
        position = np.full(n_det, -1, np.int64)
        position[cut] = np.arange(len(cut))
        cls = m.det_class[cut]
        all_starts = np.searchsorted(cls, np.arange(n_k), side="left")
        all_ends = np.searchsorted(cls, np.arange(n_k), side="right")
        del cls
        for a, (classes, any_out, hit_det, hit_thr, hit_ign, hit_k) in enumerate(areas):
            n_c = len(classes)
            out_of_range = m.det_out_of_range[a]
            starts, ends = all_starts[classes], all_ends[classes]
            pos = position[hit_det]
            keep = (pos >= 0) & (hit_k >= 0)
            if keep.all():  # the largest cut, mostly: nothing to drop
                det, thr, gt_ign, k = hit_det, hit_thr, hit_ign, hit_k
            else:
                det, pos, thr, gt_ign, k = hit_det[keep], pos[keep], hit_thr[keep], hit_ign[keep], hit_k[keep]
            seg = thr * n_c + k
            # detections counted (not ignored) up to each hit: all so far, less those out of
            # range, corrected where a hit is ignored because of its ground truth instead
            if any_out:
                out_cum = np.concatenate(([0], np.cumsum(out_of_range[cut])))
                correction = _segment_cumsum(gt_ign.astype(np.int64) - out_of_range[det], seg)
                ignored = out_cum[pos + 1] - out_cum[starts[k]] + correction
            else:  # the range that holds every area
                ignored = _segment_cumsum(gt_ign.astype(np.int64), seg)
            counted = (pos - starts[k] + 1) - ignored
            tp_hit = ~gt_ign
            tp = _segment_cumsum(tp_hit.astype(np.int64), seg)[tp_hit].astype(np.float64)
            tp_seg = seg[tp_hit]
            pr = tp / (counted[tp_hit].astype(np.float64) + EPS)
            tp_score = m.det_score[det[tp_hit]]

            n_tp = np.bincount(tp_seg, minlength=n_t * n_c).reshape(n_t, n_c)
            recall[:, classes, a, mi] = n_tp / m.npos[classes, a]
            tp_end = np.cumsum(n_tp.ravel())
            need = min_tp_for_recall(rec_thr, m.npos[classes, a])[None]  # (1, K', R)
            at = (tp_end - n_tp.ravel()).reshape(n_t, n_c, 1) + np.maximum(need - 1, 0)
            inside = (need <= n_tp[:, :, None]) & (n_tp[:, :, None] > 0)
            q = suffix_max_at(pr, tp_end, at.reshape(-1, n_r), inside.reshape(-1, n_r))
            first_score = np.zeros(n_c)
            if len(cut):
                first = cut[np.minimum(starts, len(cut) - 1)]
                first_score = np.where(ends > starts, m.det_score[first], 0.0)
            ss = np.where(
                need == 0,
                first_score[None, :, None],
                np.where(inside, np.r_[tp_score, 0.0][np.where(inside, at, len(tp_score))], 0.0),
            )
            precision[:, :, classes, a, mi] = q.reshape(n_t, n_c, n_r).transpose(0, 2, 1)
            scores[:, :, classes, a, mi] = np.broadcast_to(ss, (n_t, n_c, n_r)).transpose(0, 2, 1)
    return Accumulated(precision=precision, recall=recall, scores=scores)


class ApMethod(str, Enum):
    """How a ranked list's precision envelope is integrated into AP (Pascal VOC)."""

    ALLPOINT = "allpoint"  # VOC2010+: the area under the envelope
    ELEVEN_POINT = "11point"  # VOC2007: the mean of the envelope at recall 0, 0.1, ..., 1

    @classmethod
    def of(cls, value: str | ApMethod) -> ApMethod:
        try:
            return cls(value)
        except ValueError:
            methods = tuple(m.value for m in cls)
            raise DetrecallError(f"ap_method must be one of {methods}, got {value!r}") from None


AP_METHODS = tuple(m.value for m in ApMethod)


def interpolated_ap(precision: np.ndarray, recall: np.ndarray, method: str | ApMethod) -> float:
    """Average precision of one ranked list (precision and recall after each counted detection,
    recall nondecreasing) with the precision envelope max(precision[j:]), as Pascal VOC defines it.

    "allpoint" (VOC2010+): the area under the envelope, sum of recall steps times the envelope.
    "11point" (VOC2007): the mean of the envelope at recall 0, 0.1, ..., 1 (0 past the last recall).
    """
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    if ApMethod.of(method) is ApMethod.ALLPOINT:
        steps = np.diff(np.r_[0.0, recall])
        return float(np.sum(steps * envelope))
    points = np.linspace(0.0, 1.0, 11)
    at = np.searchsorted(recall, points, side="left")
    return float(np.sum(np.r_[envelope, 0.0][at]) / 11)
