"""Recall and precision at an operating point: one IoU threshold, one score threshold.

Built on the matcher's output at that IoU (COCO rules: a detection matched to a crowd is
neither TP nor FP; no area filter) and the shared formulas of `aggregate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from .._sort import regroup
from ..aggregate import AVERAGES, Counts, Curve, average_rates, by_score, curves_in_order, prf
from ..errors import DetrecallError
from ..matching import EVERYWHERE, Candidates, candidates, detection_status, iou_floor, match, plan
from ..options import IouType, PointOptions, ZeroDivision
from ..result import Cost, EvaluationResult, OperatingPoint, PointResult, Target
from ..types import Dataset, Detections, EvalParams, Matches, Status, take

NO_POINT = OperatingPoint(math.nan, math.nan, math.nan, math.nan)


def _pick(c: Curve, valid: np.ndarray, primary: np.ndarray) -> OperatingPoint:
    """The point maximizing `primary` among `valid` ones; ties go to the highest threshold."""
    ok = valid & ~np.isnan(primary)
    if not ok.any():
        return NO_POINT
    i = np.flatnonzero(ok)[np.argmax(primary[ok])]  # thresholds descend: first max = highest
    return OperatingPoint(float(c.thresholds[i]), float(c.precision[i]), float(c.recall[i]), float(c.f1[i]))


def best_f1(c: Curve) -> OperatingPoint:
    """The score threshold with the highest F-beta (the highest threshold among ties)."""
    return _pick(c, np.ones(len(c.thresholds), bool), c.f1)


def at_recall(c: Curve, target: float) -> OperatingPoint:
    """Highest precision among thresholds whose recall reaches `target`."""
    return _pick(c, c.recall >= target, c.precision)


def at_precision(c: Curve, target: float) -> OperatingPoint:
    """Highest recall among thresholds whose precision reaches `target`."""
    return _pick(c, c.precision >= target, c.recall)


def operating_point(
    m: Matches,
    names: Sequence[str],
    options: PointOptions,
    *,
    confusion: np.ndarray | None = None,
    image_ids: np.ndarray | None = None,
    score_order: np.ndarray | None = None,
) -> PointResult:
    """Everything at the operating point from matches made at `options.iou_threshold` (one area
    range). `score_order`: aggregate.by_score(m.det_score) when the caller has it."""
    beta, zero_division, score_threshold = options.beta, options.zero_division, options.score_threshold
    n_k = len(m.class_ids)
    status = detection_status(m)
    above = m.det_score >= score_threshold
    support = m.npos[:, 0]
    tp = np.bincount(m.det_class[above & (status == Status.TP)], minlength=n_k)
    fp = np.bincount(m.det_class[above & (status == Status.FP)], minlength=n_k)
    counts = Counts(tp=tp, fp=fp, fn=support - tp)
    precision, recall, f1 = prf(counts.tp, counts.fp, counts.fn, beta, zero_division)
    labels = (support > 0) | (counts.predicted > 0)
    avg = {k: average_rates(counts, k, labels, beta, zero_division) for k in AVERAGES}
    per_class_curves, pooled = _curves(m, status, support, beta, zero_division, score_order)

    def targeted(target: float | None, pick: Callable[[Curve, float], OperatingPoint]) -> Target | None:
        if target is None:
            return None
        return Target(float(target), tuple(pick(c, target) for c in per_class_curves), pick(pooled, target))

    result_cost = None
    if options.cost is not None:
        result_cost = _cost(m, status, above, options.cost, image_ids)
    return PointResult(
        iou_threshold=float(options.iou_threshold),
        score_threshold=float(score_threshold),
        beta=float(beta),
        class_ids=m.class_ids,
        names=tuple(names),
        counts=counts,
        precision=precision,
        recall=recall,
        f1=f1,
        micro=avg["micro"],
        macro=avg["macro"],
        weighted=avg["weighted"],
        curves=tuple(per_class_curves),
        curve=pooled,
        best_f1_per_class=tuple(best_f1(c) for c in per_class_curves),
        best_f1_overall=best_f1(pooled),
        at_recall=targeted(options.target_recall, at_recall),
        at_precision=targeted(options.target_precision, at_precision),
        confusion=confusion,
        cost=result_cost,
    )


def _curves(
    m: Matches,
    status: np.ndarray,
    support: np.ndarray,
    beta: float,
    zero_division: ZeroDivision,
    score_order: np.ndarray | None,
) -> tuple[list[Curve], Curve]:
    """aggregate.curves of the counted detections per class, and pooled over classes, without
    gathering their scores, flags and classes first: the score order among them serves the
    pooled curve, and the same order regrouped by class (the ignored in one bucket after the
    classes) the per-class curves. Each step holds a few bytes a detection."""
    n_k = len(m.class_ids)
    counted = status != Status.IGNORED
    is_tp = status == Status.TP
    order = by_score(m.det_score) if score_order is None else score_order
    key = np.where(counted, m.det_class, n_k)  # the ignored after every class
    n_counted = len(key) - int(np.count_nonzero(~counted))
    del counted
    by_class = regroup(order, key, n_k + 1)[:n_counted] if n_k > 1 else None
    seg_count = np.bincount(key, minlength=n_k + 1)[:n_k]
    if by_class is None:  # one class (or none): the pooled order serves both
        by_class = order[key[order] < n_k]
    del key
    per_class = curves_in_order(m.det_score, is_tp, by_class, seg_count, support, beta, zero_division)
    if n_k == 1:
        pooled_order = by_class
    else:
        del by_class
        pooled_order = order[status[order] != Status.IGNORED]
    pooled = curves_in_order(
        m.det_score,
        is_tp,
        pooled_order,
        np.array([len(pooled_order)]),
        np.array([support.sum()]),
        beta,
        zero_division,
    )
    return per_class, pooled[0]


def recounted(
    result: EvaluationResult,
    score_threshold: float,
    *,
    zero_division: ZeroDivision = 0,
    confusion: np.ndarray | None = None,
) -> EvaluationResult:
    """The result with everything counted at the operating point counted again at
    `score_threshold`, from the same matches: the point (its counts, rates and averages; the
    curves and chosen thresholds do not depend on it), the per-image table and each slice's
    point. `confusion`: the matrix at that threshold (confusion_pass), when it was computed.
    The AP figures are unchanged. Equals evaluate(..., score_threshold=score_threshold)."""
    m, p = result.point_matches, result.point
    if m is None:
        raise DetrecallError("this result has no matches at the operating point (point_matches)")
    options = PointOptions(
        iou_threshold=p.iou_threshold,
        score_threshold=float(score_threshold),
        beta=p.beta,
        zero_division=zero_division,
        target_recall=None if p.at_recall is None else p.at_recall.target,
        target_precision=None if p.at_precision is None else p.at_precision.target,
    )
    point = operating_point(m, p.names, options, confusion=confusion, image_ids=result.image_ids)
    out = replace(result, point=replace(point, cost=p.cost if p.score_threshold == score_threshold else None))
    if result.per_image is not None:
        from .per_image import per_image

        out = replace(out, per_image=per_image(out, zero_division=zero_division))
    if result.slices:
        slices = {
            k: recounted(v, score_threshold, zero_division=zero_division) for k, v in result.slices.items()
        }
        out = replace(out, slices=slices)
    return out


def _cost(
    m: Matches, status: np.ndarray, above: np.ndarray, cost: Mapping[str, float], image_ids: np.ndarray | None
) -> Cost:
    unknown = set(cost) - {"tp", "fp", "fn"}
    if unknown:
        raise DetrecallError(f"cost keys must be 'tp', 'fp', 'fn'; got {sorted(unknown)}")
    weights = {}
    for k in ("tp", "fp", "fn"):
        v = cost.get(k, 0.0)
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float, np.integer, np.floating))
            or not np.isfinite(v)
        ):
            raise DetrecallError(f"cost[{k!r}] must be a finite number, got {v!r}")
        weights[k] = float(v)
    ids = np.unique(np.r_[m.det_image, m.gt_image]) if image_ids is None else image_ids
    at = np.searchsorted(ids, m.det_image)
    tp = np.bincount(at[above & (status == Status.TP)], minlength=len(ids))
    fp = np.bincount(at[above & (status == Status.FP)], minlength=len(ids))
    pos = np.bincount(np.searchsorted(ids, m.gt_image[~m.gt_ignored[0]]), minlength=len(ids))
    per_image = weights["tp"] * tp + weights["fp"] * fp + weights["fn"] * (pos - tp)
    return Cost(total=float(per_image.sum()), image_ids=ids, per_image=per_image)


def confusion_matrix(
    n_classes: int,
    m: Matches,
    status: np.ndarray,
    above: np.ndarray,
    cross: Matches,
) -> np.ndarray:
    """(C+1, C+1) counts, rows = true class, columns = predicted class, index C = background.

    TP -> (c, c). A counted false positive that a class-agnostic greedy pass (score order,
    highest IoU >= the threshold) pairs with a still-unmatched ground truth of another class
    -> (true class, predicted class); other false positives -> (background, c); ground truth
    matched by nothing -> (c, background). Crowds and detections matched to them are left out.
    `cross` is that class-agnostic pass, made on the false positives and unmatched ground truth.
    """
    out = np.zeros((n_classes + 1, n_classes + 1), np.int64)
    bg = n_classes
    tp = above & (status == Status.TP)
    np.add.at(out, (m.det_class[tp], m.det_class[tp]), 1)
    is_fp = above & (status == Status.FP)
    order = np.argsort(m.det_row[is_fp])
    fp_rows, fp_class = m.det_row[is_fp][order], m.det_class[is_fp][order]
    taken = np.full(len(fp_rows), -1)
    if len(cross.hit_det):
        pos = np.searchsorted(fp_rows, cross.det_row[cross.hit_det])
        hit_ok = (pos < len(fp_rows)) & (
            fp_rows[np.minimum(pos, len(fp_rows) - 1)] == cross.det_row[cross.hit_det]
        )
        taken[pos[hit_ok]] = cross.hit_gt[hit_ok]
    counted = ~m.gt_ignored[0]
    gt_rows, gt_class = m.gt_row[counted], m.gt_class[counted]
    cross_true = np.full(len(fp_rows), bg)
    hit = taken >= 0
    cross_true[hit] = gt_class[np.searchsorted(gt_rows, taken[hit])]
    np.add.at(out, (cross_true, fp_class), 1)
    matched_gt = np.zeros(len(gt_rows), bool)
    tp_gt = m.hit_gt[tp[m.hit_det] & ~m.hit_ignored]
    matched_gt[np.searchsorted(gt_rows, tp_gt)] = True
    matched_gt[np.searchsorted(gt_rows, taken[hit])] = True
    np.add.at(out, (gt_class[~matched_gt], bg), 1)
    return out


def confusion_pass(
    gt: Dataset,
    dt: Detections,
    at_point: Matches,
    iou_type: IouType,
    params: EvalParams,
    options: PointOptions,
    pixel_inclusive: bool = False,
) -> np.ndarray:
    """The confusion matrix: a class-agnostic greedy pass pairs the false positives with
    still-unmatched ground truth of other classes (see confusion_matrix). Only those
    detections and ground truths enter the pass, so only their IoUs are computed."""
    status = detection_status(at_point)
    above = at_point.det_score >= options.score_threshold
    fp_rows = np.unique(at_point.det_row[above & (status == Status.FP)])
    free = ~(gt.iscrowd | gt.ignore)
    free[at_point.hit_gt[above[at_point.hit_det] & (status[at_point.hit_det] == Status.TP)]] = False
    free_rows = np.flatnonzero(free)
    sub_gt, sub_dt = take(gt, free_rows), take(dt, fp_rows)
    agnostic = plan(sub_gt, sub_dt, replace(params, class_agnostic=True))
    floor = iou_floor(options.iou_threshold)
    pairs = candidates(
        iou_type,
        agnostic,
        sub_gt,
        sub_dt,
        floor,
        pixel_inclusive=pixel_inclusive,
        sigmas=params.kpt_oks_sigmas,
        dilation_ratio=params.dilation_ratio,
    )
    d_rows, g_rows = agnostic.dt_rows[pairs.pair_dt], agnostic.gt_rows[pairs.pair_gt]
    other = np.flatnonzero(sub_dt.category_id[d_rows] != sub_gt.category_id[g_rows])
    cross = match(
        agnostic,
        Candidates(pairs.pair_dt[other], pairs.pair_gt[other], pairs.iou[other], floor),
        sub_gt,
        sub_dt,
        iou_thresholds=np.array([options.iou_threshold], np.float64),
        area_ranges=EVERYWHERE,
    )
    cross = replace(cross, det_row=fp_rows[cross.det_row], hit_gt=free_rows[cross.hit_gt])
    return confusion_matrix(len(at_point.class_ids), at_point, status, above, cross)
