"""Shared by the error analyses: the matcher's outcome at one IoU threshold, and the
(detection, ground truth) pairs of each image whatever their classes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..matching import EVERYWHERE, candidates, iou_floor, match, plan
from ..options import IouType
from ..result import EvaluationResult
from ..types import Dataset, Detections, EvalParams, Matches, Status, take


@dataclass(frozen=True)
class Outcome:
    """Each kept detection's status and each evaluated ground truth's fate at one IoU
    threshold and one area range (indices as in `matches`)."""

    matches: Matches
    status: np.ndarray  # (D,) Status
    matched_gt: np.ndarray  # (D,) index into matches.gt_row of the ground truth taken, -1 for none
    counted_gt: np.ndarray  # (G,) bool: not ignored (crowd, ignore flag, outside the area range)
    used_gt: np.ndarray  # (G,) bool: taken by a true positive


def outcome(
    result: EvaluationResult,
    gt: Dataset,
    dt: Detections,
    iou_threshold: float,
    *,
    pixel_inclusive: bool = False,
) -> Outcome:
    """The result's own matches at `iou_threshold` and its area range "all" when it has them
    (COCO AP50's matches: max_dets[-1] per image and class), else matched again alike."""
    m = result.matches
    params = result.params
    t = np.flatnonzero(m.iou_thresholds == iou_threshold)
    a = params.area_labels.index("all") if "all" in params.area_labels else -1
    if not len(t) or a < 0:
        p = plan(gt, dt, params)
        pairs = candidates(
            result.iou_type,
            p,
            gt,
            dt,
            iou_floor(iou_threshold),
            pixel_inclusive=pixel_inclusive,
            sigmas=params.kpt_oks_sigmas,
            dilation_ratio=params.dilation_ratio,
        )
        m = match(
            p,
            pairs,
            gt,
            dt,
            iou_thresholds=np.array([iou_threshold], np.float64),
            area_ranges=EVERYWHERE,
            max_det=params.max_dets[-1],
        )
        t, a = np.zeros(1, np.int64), 0
    ti = int(t[0])
    h = np.flatnonzero((m.hit_area == a) & (m.hit_thr == ti))
    status = np.where(m.det_out_of_range[a], Status.IGNORED, Status.FP).astype(np.int8)
    status[m.hit_det[h]] = np.where(m.hit_ignored[h], Status.IGNORED, Status.TP)
    matched_gt = np.full(len(m.det_row), -1, np.int64)
    matched_gt[m.hit_det[h]] = np.searchsorted(m.gt_row, m.hit_gt[h])
    used = np.zeros(len(m.gt_row), bool)
    tp = status == Status.TP
    used[matched_gt[tp]] = True
    return Outcome(m, status, matched_gt, ~m.gt_ignored[a], used)


@dataclass(frozen=True)
class ImagePairs:
    """Pairs of (detection, ground truth) of the same image, any classes, IoU >= floor; grouped
    by detection (contiguous runs), ground truth ascending within a run."""

    det: np.ndarray  # (P,) index into the given detection indices' space
    gt: np.ndarray  # (P,) index into the given ground-truth indices' space
    iou: np.ndarray  # (P,) float64

    @property
    def run_starts(self) -> np.ndarray:
        """Where each detection's run of pairs begins."""
        d = self.det
        return np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if len(d) else np.zeros(0, np.int64)


def image_pairs(
    iou_type: IouType | str,
    gt: Dataset,
    dt: Detections,
    params: EvalParams,
    gt_rows: np.ndarray,
    dt_rows: np.ndarray,
    floor: float,
    *,
    pixel_inclusive: bool = False,
) -> ImagePairs:
    """The pairs of the detections `dt_rows` with the ground truth `gt_rows` (both ascending)
    in the same image, any classes, IoU >= floor; `det` / `gt` index `dt_rows` / `gt_rows`.
    Only these rows enter a class-agnostic plan, so only their IoUs are computed."""
    sub_gt, sub_dt = take(gt, gt_rows), take(dt, dt_rows)
    p = plan(sub_gt, sub_dt, replace(params, class_agnostic=True))
    pairs = candidates(
        iou_type,
        p,
        sub_gt,
        sub_dt,
        floor,
        pixel_inclusive=pixel_inclusive,
        sigmas=params.kpt_oks_sigmas,
        dilation_ratio=params.dilation_ratio,
    )
    return ImagePairs(p.dt_rows[pairs.pair_dt], p.gt_rows[pairs.pair_gt], pairs.iou)


def best_per_det(pairs: ImagePairs, keep: np.ndarray, n_det: int) -> tuple[np.ndarray, np.ndarray]:
    """(best IoU, its ground truth) per detection among the pairs where `keep`: 0.0 and -1
    where there is none. Ties go to the first ground truth, as numpy's argmax over an image's
    ground truth in row order does. One pass over the runs, no sort."""
    best_iou = np.zeros(n_det)
    best_gt = np.full(n_det, -1, np.int64)
    if not len(pairs.det):
        return best_iou, best_gt
    value = np.where(keep, pairs.iou, -1.0)
    starts = pairs.run_starts
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(value)]))
    top = np.maximum.reduceat(value, starts)
    at_top = np.flatnonzero(keep & (value == top[run]))
    first = at_top[np.r_[True, run[at_top][1:] != run[at_top][:-1]]] if len(at_top) else at_top
    best_iou[pairs.det[first]] = value[first]
    best_gt[pairs.det[first]] = pairs.gt[first]
    return best_iou, best_gt
