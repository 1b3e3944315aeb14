"""A streaming Evaluator's flush of box batches in one compiled pass (detrecall/_stream.c).

The pending batches' checked columns go straight to their COCO matches and the operating
point's cut of them, without the Dataset and Detections, the plan and the candidate list that
`build_arrays` then `match_batch` make: what those give, array for array (the twin; held equal
by tests/test_flush.py). The same pass finds what the flush warns of (scores outside [0, 1],
repeated detections) and counts each class's rows. It serves what a training loop streams:
boxes, the COCO protocol, every image and class evaluated, no confusion matrix, and an
operating point that is a cut of the COCO matches; `flush_boxes` gives None for anything else
and the caller takes the twin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._compiled import stream
from .evaluate import Config
from .io.arrays import ArrayBatch
from .options import IouType
from .protocols import BatchMatches
from .protocols.coco import Coco, point_within
from .types import Matches, narrow_ints

# the kernel's outputs, in its order (OUT_* in _stream.c)
_DTYPES = (
    np.int32,  # det_class
    np.int64,  # det_image (int32 when every image id fits)
    np.int32,  # det_rank
    np.float64,  # det_score
    np.int32,  # det_row
    np.bool_,  # det_out_of_range (A, D)
    np.int16,  # hit_area
    np.int16,  # hit_thr
    np.int32,  # hit_det
    np.int32,  # hit_gt
    np.bool_,  # hit_ignored
    np.int64,  # npos (K, A)
    np.int32,  # gt_class
    np.int64,  # gt_image
    np.bool_,  # gt_ignored (A, G)
    np.int64,  # ground truths per class
    np.int64,  # detections per class
    np.int64,  # first detection of each class, -1 for none
)


@dataclass(frozen=True)
class Flushed:
    """The matches of a flush, and what its warnings and class notes need."""

    matches: BatchMatches
    odd_scores: tuple[int, int]  # (scores outside [0, 1], the first such row or -1)
    repeats: tuple[int, int]  # (detections repeating an earlier one exactly, the first or -1)
    gt_count: np.ndarray  # (K,) ground truths of each class
    dt_count: np.ndarray  # (K,) detections of each class
    dt_first: np.ndarray  # (K,) row of each class's first detection, -1 for none


def serves(config: Config) -> bool:
    """Whether `flush_boxes` can take batches evaluated with `config` (its data decides the
    rest: boxes without image sizes, and the operating point a cut of the COCO matches)."""
    params, point = config.params, config.point
    return (
        stream is not None
        and config.iou_type is IouType.BBOX
        and type(config.protocol) is Coco
        and not point.confusion
        and point.max_dets is None
        and params.image_ids is None
        and params.category_ids is None
        and not params.class_agnostic
    )


@dataclass(frozen=True)
class _Pass:
    """What the compiled pass gives: the COCO matches, the longest run of one (image, class)'s
    detections, and the rest of a Flushed."""

    coco: Matches
    longest: int
    areas: tuple[float, float]  # the smallest and largest area of every row
    odd_scores: tuple[int, int]
    repeats: tuple[int, int]
    counts: tuple[np.ndarray, np.ndarray, np.ndarray]


def coco_pass(batch: ArrayBatch, config: Config) -> _Pass | None:
    """The COCO matches of one (joined) batch of boxes, as match_batch gives them on the
    tables build_arrays makes of it; None where the compiled pass does not serve."""
    cols = batch.columns
    if not serves(config) or cols.gt_masks is not None or cols.dt_masks is not None or cols.sizes.any():
        return None
    assert stream is not None
    params = config.params
    class_ids = batch.categories.ids
    thresholds = np.minimum(np.asarray(params.iou_thresholds, np.float64), 1 - 1e-10)
    outputs, longest, odd_scores, repeats, areas, narrow = stream.flush_boxes(
        cols.image_ids,
        cols.n_gt,
        cols.n_dt,
        cols.gt_cat,
        np.ascontiguousarray(cols.gt_box),
        cols.area,
        cols.iscrowd,
        cols.ignore,
        cols.dt_cat,
        np.ascontiguousarray(cols.dt_box),
        cols.dt_area,
        cols.score,
        class_ids,
        thresholds,
        np.ascontiguousarray(params.area_ranges, np.float64),
        params.max_dets[-1],
    )
    # image ids (1, 13) as narrow_ints gives them: int32 when those there fit, else int64
    a: list[np.ndarray] = [
        np.frombuffer(b, np.int32 if narrow and k in (1, 13) else t)
        for k, (b, t) in enumerate(zip(outputs, _DTYPES))
    ]
    for k in (1, 13):  # (int32 ones stay as they are; an empty one is int64, as narrow_ints leaves it)
        a[k] = narrow_ints(a[k]) if len(a[k]) else np.zeros(0, np.int64)
    n_area, n_det, n_gt = len(params.area_ranges), len(a[0]), len(a[12])
    coco = Matches(
        class_ids=class_ids,
        iou_thresholds=np.asarray(params.iou_thresholds, np.float64),
        det_class=a[0],
        det_image=a[1],
        det_rank=a[2],
        det_score=a[3],
        det_row=a[4],
        det_out_of_range=a[5].reshape(n_area, n_det),
        hit_area=a[6],
        hit_thr=a[7],
        hit_det=a[8],
        hit_gt=a[9],
        hit_ignored=a[10],
        npos=a[11].reshape(len(class_ids), n_area),
        gt_row=np.arange(n_gt, dtype=np.int32),
        gt_class=a[12],
        gt_image=a[13],
        gt_ignored=a[14].reshape(n_area, n_gt),
    )
    return _Pass(
        coco,
        int(longest),
        (float(areas[0]), float(areas[1])),
        (int(odd_scores[0]), int(odd_scores[1])),
        (int(repeats[0]), int(repeats[1])),
        (a[15], a[16], a[17]),
    )


def flush_boxes(batch: ArrayBatch, config: Config) -> Flushed | None:
    """`coco_pass` and the operating point's matches cut out of it: what match_batch gives;
    None where the pass does not serve or the point is not such a cut (see the module doc)."""
    done = coco_pass(batch, config)
    if done is None:
        return None
    params = config.params
    cut = done.longest > params.max_dets[-1]
    point = point_within(done.coco, params, config.point, cut=cut, areas=done.areas)
    if point is None:
        return None
    gt_count, dt_count, dt_first = done.counts
    return Flushed(
        BatchMatches(coco=done.coco, point=point, confusion=None, threads=config.threads),
        odd_scores=done.odd_scores,
        repeats=done.repeats,
        gt_count=gt_count,
        dt_count=dt_count,
        dt_first=dt_first,
    )
