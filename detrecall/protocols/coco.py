"""The COCO protocol: default parameters, matching, the 12-number summary and per-class figures."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from .._arrays import mean_of_defined, mean_where, nan_if_undefined
from ..aggregate import accumulate
from ..errors import DetrecallError
from ..geometry.boundary import DEFAULT_DILATION_RATIO
from ..geometry.keypoints import COCO_SIGMAS
from ..matching import EVERYWHERE, Candidates, Plan, match, score_order
from ..options import CocoParams, IouType, PointOptions
from ..result import ClassMetrics, CocoSummary, MetricDef
from ..types import Accumulated, Dataset, Detections, EvalParams, Matches
from .base import BatchMatches, Prepared, Protocol, Summarized

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
COCO_AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "small": (0.0, 32.0**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
COCO_MAX_DETS = (1, 10, 100)


def _numbers(values: Iterable[float], what: str) -> np.ndarray:
    try:
        return np.asarray(list(values), float)
    except (TypeError, ValueError):
        raise DetrecallError(f"{what} must be numbers, got {values!r}") from None


def make_params(
    *,
    iou_thresholds: Iterable[float] | None = None,
    max_dets: Iterable[int] | None = None,
    area_ranges: Mapping[str, Sequence[float]] | None = None,
    image_ids: Iterable[int] | None = None,
    category_ids: Iterable[int] | None = None,
    class_agnostic: bool = False,
    recall_thresholds: Iterable[float] | None = None,
    kpt_oks_sigmas: Iterable[float] | None = None,
    dilation_ratio: float | None = None,
) -> EvalParams:
    """COCO parameters, pycocotools' defaults for whatever is not given; checked. With
    `kpt_oks_sigmas` (keypoints), the sigmas must be positive, one per keypoint."""
    iou = COCO_IOU_THRESHOLDS if iou_thresholds is None else _numbers(iou_thresholds, "iou_thresholds")
    if iou.ndim != 1 or len(iou) == 0 or not np.all((iou > 0) & (iou <= 1)):
        raise DetrecallError(f"iou_thresholds must be values in (0, 1], got {iou.tolist()}")
    rec = (
        COCO_RECALL_THRESHOLDS
        if recall_thresholds is None
        else _numbers(recall_thresholds, "recall_thresholds")
    )
    if rec.ndim != 1 or len(rec) == 0 or np.any(np.diff(rec) < 0) or not np.all((rec >= 0) & (rec <= 1)):
        raise DetrecallError("recall_thresholds must be ascending values in [0, 1]")
    given = list(COCO_MAX_DETS if max_dets is None else max_dets)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in given):
        raise DetrecallError(f"max_dets must be positive integers, got {given!r}")
    dets = tuple(sorted(int(d) for d in given))
    if not dets or dets[0] < 1:
        raise DetrecallError(f"max_dets must be positive integers, got {list(dets)}")
    ranges = COCO_AREA_RANGES if area_ranges is None else dict(area_ranges)
    if not ranges:
        raise DetrecallError("area_ranges must name at least one range")
    try:
        bounds = np.asarray([tuple(map(float, r)) for r in ranges.values()], float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise DetrecallError(f"area_ranges must be {{label: (low, high)}} numbers, got {ranges!r}") from None
    if np.isnan(bounds).any() or np.any(bounds[:, 0] > bounds[:, 1]):
        raise DetrecallError(f"area_ranges must be (low, high) with low <= high, got {ranges}")

    def ids(values: Iterable[int] | None, what: str) -> np.ndarray | None:
        if values is None:
            return None
        given = list(values)
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in given):
            raise DetrecallError(f"{what} must be integer ids, got {given[:5]!r}")
        try:
            return np.unique(np.asarray(given, np.int64))
        except OverflowError:
            raise DetrecallError(f"{what} must be ids within int64, got {given[:5]!r}") from None

    sigmas = None
    if kpt_oks_sigmas is not None:
        sigmas = np.asarray(list(kpt_oks_sigmas), np.float64)
        if sigmas.ndim != 1 or len(sigmas) == 0 or not np.all(np.isfinite(sigmas) & (sigmas > 0)):
            raise DetrecallError(
                f"kpt_oks_sigmas must be positive numbers, one per keypoint; got {sigmas.tolist()}"
            )
    if dilation_ratio is not None and not (
        isinstance(dilation_ratio, (int, float, np.integer, np.floating))
        and not isinstance(dilation_ratio, (bool, np.bool_))
        and math.isfinite(dilation_ratio)
        and dilation_ratio >= 0
    ):
        raise DetrecallError(f"dilation_ratio must be a number >= 0, got {dilation_ratio!r}")
    return EvalParams(
        kpt_oks_sigmas=sigmas,
        dilation_ratio=None if dilation_ratio is None else float(dilation_ratio),
        iou_thresholds=iou,
        recall_thresholds=rec,
        area_ranges=bounds,
        area_labels=tuple(str(k) for k in ranges),
        max_dets=dets,
        class_agnostic=bool(class_agnostic),
        image_ids=ids(image_ids, "image_ids"),
        category_ids=ids(category_ids, "category_ids"),
    )


KEYPOINT_AREA_RANGES: dict[str, tuple[float, float]] = {
    "all": (0.0, 1e5**2),
    "medium": (32.0**2, 96.0**2),
    "large": (96.0**2, 1e5**2),
}
KEYPOINT_MAX_DETS = (20,)


def coco_params(params: CocoParams, iou_type: IouType = IouType.BBOX) -> EvalParams:
    """make_params from an option group; keypoints take pycocotools' keypoint defaults (20
    detections, areas all/medium/large, COCO's 17 sigmas)."""
    if iou_type is IouType.KEYPOINTS:
        return make_params(
            iou_thresholds=params.iou_thresholds,
            max_dets=KEYPOINT_MAX_DETS if params.max_dets is None else params.max_dets,
            area_ranges=KEYPOINT_AREA_RANGES if params.area_ranges is None else params.area_ranges,
            image_ids=params.image_ids,
            category_ids=params.category_ids,
            class_agnostic=params.class_agnostic,
            recall_thresholds=params.recall_thresholds,
            kpt_oks_sigmas=COCO_SIGMAS if params.kpt_oks_sigmas is None else params.kpt_oks_sigmas,
        )
    if params.kpt_oks_sigmas is not None:
        raise DetrecallError("kpt_oks_sigmas goes with iou_type='keypoints'")
    ratio = params.dilation_ratio
    if ratio is None and iou_type is IouType.BOUNDARY:
        ratio = DEFAULT_DILATION_RATIO
    return make_params(
        iou_thresholds=params.iou_thresholds,
        max_dets=params.max_dets,
        area_ranges=params.area_ranges,
        image_ids=params.image_ids,
        category_ids=params.category_ids,
        class_agnostic=params.class_agnostic,
        recall_thresholds=params.recall_thresholds,
        dilation_ratio=ratio,
    )


# pycocotools' summarizeDets(): (AP?, IoU, area, which max_dets) per number; "100" is its
# hard-coded default for the first line, the others index params.maxDets
_COCO_ROWS: tuple[tuple[str, bool, float | None, str, str], ...] = (
    ("AP", True, None, "all", "100"),
    ("AP50", True, 0.5, "all", "big"),
    ("AP75", True, 0.75, "all", "big"),
    ("APs", True, None, "small", "big"),
    ("APm", True, None, "medium", "big"),
    ("APl", True, None, "large", "big"),
    ("AR", False, None, "all", "0"),
    ("AR", False, None, "all", "1"),
    ("AR", False, None, "all", "big"),
    ("ARs", False, None, "small", "big"),
    ("ARm", False, None, "medium", "big"),
    ("ARl", False, None, "large", "big"),
)


# pycocotools' summarizeKps(): every number at maxDets=20, hard-coded
_KEYPOINT_ROWS: tuple[tuple[str, bool, float | None, str], ...] = (
    ("AP", True, None, "all"),
    ("AP50", True, 0.5, "all"),
    ("AP75", True, 0.75, "all"),
    ("APm", True, None, "medium"),
    ("APl", True, None, "large"),
    ("AR", False, None, "all"),
    ("AR50", False, 0.5, "all"),
    ("AR75", False, 0.75, "all"),
    ("ARm", False, None, "medium"),
    ("ARl", False, None, "large"),
)


def coco_metrics(params: EvalParams) -> tuple[MetricDef, ...]:
    """COCO's 12 summary numbers for `params`, as pycocotools' summarize() defines them: the
    first AP at maxDets=100 whatever max_dets says, the others at max_dets[2] (the last when
    fewer: pycocotools would fail), AR at max_dets[0], [1] and [2]. The one table that the
    summary, the labels, the JSON names, compat and the bootstrap all read."""
    md = params.max_dets
    big = md[2] if len(md) > 2 else md[-1]
    span = (float(params.iou_thresholds[0]), float(params.iou_thresholds[-1]))
    if params.kpt_oks_sigmas is not None:  # keypoints: pycocotools' 10 numbers
        return tuple(MetricDef(name, ap, iou, area, 20, span) for name, ap, iou, area in _KEYPOINT_ROWS)
    out = []
    for base, ap, iou, area, which in _COCO_ROWS:
        cut: int | None = {"100": 100, "big": big, "0": md[0], "1": md[1] if len(md) > 1 else None}[which]
        if base == "AR":
            name = f"AR{cut}"
        else:
            name = base if cut == 100 else f"{base}@{cut}"
        out.append(MetricDef(name, ap, iou, area, cut, span))
    return tuple(out)


def metric_value(d: MetricDef, acc: Accumulated, p: EvalParams) -> float:
    """pycocotools' _summarize: mean of the defined entries of one slice, -1 if none."""
    a = [i for i, lbl in enumerate(p.area_labels) if lbl == d.area]
    m = [i for i, cut in enumerate(p.max_dets) if cut == d.max_dets]
    s = acc.precision if d.ap else acc.recall
    if d.iou is not None:
        s = s[np.where(d.iou == p.iou_thresholds)[0]]
    s = s[:, :, :, a, m] if d.ap else s[:, :, a, m]
    return mean_of_defined(s)


def summarize(acc: Accumulated, p: EvalParams) -> CocoSummary:
    """The 12 numbers exactly as pycocotools' summarize() computes them."""
    metrics = coco_metrics(p)
    return CocoSummary(metrics, tuple(nan_if_undefined(metric_value(d, acc, p)) for d in metrics))


def _mean_defined_per_class(s: np.ndarray) -> np.ndarray:
    """(K,) mean of the defined (> -1) entries of s[..., k] per class, NaN where none."""
    flat = s.reshape(int(np.prod(s.shape[:-1])), s.shape[-1])  # -1 cannot stand for it when K = 0
    return mean_where(flat, flat > -1, axis=0)


def per_class(
    acc: Accumulated, p: EvalParams, class_ids: np.ndarray, names: Sequence[str]
) -> tuple[ClassMetrics, ...]:
    """AP, AP50, AP75 and AR at the largest max_dets for each evaluated category, area 'all'
    (means of the defined entries, as _summarize takes them, all classes at once)."""
    a = p.area_labels.index("all") if "all" in p.area_labels else 0
    m = len(p.max_dets) - 1
    prec = acc.precision[:, :, :, a, m]  # (T, R, K)

    def at(iou: float) -> np.ndarray:
        t = np.flatnonzero(p.iou_thresholds == iou)
        return _mean_defined_per_class(prec[t]) if len(t) else np.full(prec.shape[-1], np.nan)

    columns = (
        _mean_defined_per_class(prec),
        at(0.5),
        at(0.75),
        _mean_defined_per_class(acc.recall[:, :, a, m]),
    )
    return tuple(
        ClassMetrics(
            int(cid),
            str(name),
            AP=float(columns[0][k]),
            AP50=float(columns[1][k]),
            AP75=float(columns[2][k]),
            AR100=float(columns[3][k]),
            max_dets=p.max_dets[-1],
        )
        for k, (cid, name) in enumerate(zip(class_ids.tolist(), names))
    )


def _run_of(ascending: np.ndarray, value: int) -> tuple[int, int]:
    """[lo, hi) of the entries equal to `value` in an ascending index array, searched in its own
    dtype (an int64 `value` would have numpy convert the whole array first)."""
    lo, hi = np.searchsorted(ascending, np.array([value, value + 1], ascending.dtype)).tolist()
    return lo, hi


def point_from(
    coco: Matches, p: Plan, gt: Dataset, dt: Detections, params: EvalParams, point: PointOptions
) -> Matches | None:
    """The operating point's matches cut out of the COCO matches, when they are the same thing:
    its IoU is one of COCO's thresholds, an area range holds every ground truth and detection
    area, and no group was cut by max_dets (else None: match again)."""
    cut = bool(len(p.dt_rank) and p.dt_rank.max() >= params.max_dets[-1])
    if point.max_dets is not None or cut:
        return None
    dt_area = dt.area if len(p.dt_rows) == len(dt) else dt.area[p.dt_rows]  # every row: no gather
    parts = [x for x in (gt.area[p.gt_rows], dt_area) if len(x)]
    low = np.minimum.reduce([x.min() for x in parts]) if parts else 0.0  # NaN, if any, as one min
    high = np.maximum.reduce([x.max() for x in parts]) if parts else 0.0
    return point_within(coco, params, point, cut=cut, areas=(float(low), float(high)))


def point_within(
    coco: Matches, params: EvalParams, point: PointOptions, *, cut: bool, areas: tuple[float, float]
) -> Matches | None:
    """point_from's cut of the COCO matches, given whether a group was cut by max_dets and the
    smallest and largest evaluated area (ground truth's and detections', NaN if one is; 0.0 for
    none); None when it is not the same thing."""
    t = np.flatnonzero(params.iou_thresholds == point.iou_threshold)
    if point.max_dets is not None or not len(t) or cut:
        return None
    low, high = areas
    inside = np.flatnonzero((params.area_ranges[:, 0] <= low) & (params.area_ranges[:, 1] >= high))
    if not len(inside):
        return None
    a, ti = int(inside[0]), int(t[0])
    n_area, n_thr = coco.det_out_of_range.shape[0], len(coco.iou_thresholds)
    if n_area == 1 and n_thr == 1:  # one range holding every area, one threshold: the same matches
        return coco
    # hits are sorted by (area, threshold, detection): theirs are one slice, taken as views
    in_area = slice(*_run_of(coco.hit_area, a))
    lo, hi = (in_area.start + i for i in _run_of(coco.hit_thr[in_area], ti))
    zeros = np.zeros(hi - lo, coco.hit_area.dtype)  # the kernel's int16, or the twin's int64
    return replace(
        coco,
        iou_thresholds=coco.iou_thresholds[ti : ti + 1],
        det_out_of_range=np.zeros((1, len(coco.det_row)), bool),
        hit_area=zeros,
        hit_thr=zeros,
        hit_det=coco.hit_det[lo:hi],
        hit_gt=coco.hit_gt[lo:hi],
        hit_ignored=coco.hit_ignored[lo:hi],
        npos=coco.npos[:, a : a + 1],
        gt_ignored=coco.gt_ignored[a : a + 1],
    )


class Coco(Protocol):
    """COCO (pycocotools): AP over IoU 0.50:0.95 and object sizes, AR at 1, 10, 100 detections."""

    name = "coco"

    def make_params(self, params: CocoParams, iou_type: IouType) -> EvalParams:
        return coco_params(params, iou_type)

    def prepare(self, gt: Dataset, dt: Detections, params: EvalParams, labels: object) -> Prepared:
        sigmas = params.kpt_oks_sigmas
        if sigmas is not None and gt.keypoints is not None and gt.keypoints.shape[1] != len(sigmas):
            raise DetrecallError(
                f"kpt_oks_sigmas has {len(sigmas)} values, one per keypoint, but the keypoints "
                f"have {gt.keypoints.shape[1]}"
            )
        return Prepared(gt, dt)

    def match(
        self,
        p: Plan,
        iou: Candidates,
        prepared: Prepared,
        params: EvalParams,
        point: PointOptions,
        threads: int = 1,
    ) -> tuple[Matches, Matches]:
        gt, dt = prepared.gt, prepared.dt
        coco = match(
            p,
            iou,
            gt,
            dt,
            iou_thresholds=params.iou_thresholds,
            area_ranges=params.area_ranges,
            max_det=params.max_dets[-1],
            threads=threads,
        )
        at_point = point_from(coco, p, gt, dt, params, point) or match(
            p,
            iou,
            gt,
            dt,
            iou_thresholds=np.array([point.iou_threshold], np.float64),
            area_ranges=EVERYWHERE,
            max_det=point.max_dets,
            threads=threads,
        )
        return coco, at_point

    def score_order(self, p: Plan, params: EvalParams) -> np.ndarray | None:
        return score_order(p, params.max_dets[-1])

    def point_score_order(self, p: Plan, point: PointOptions) -> np.ndarray | None:
        return score_order(p, point.max_dets)  # `match` at point.max_dets kept these

    def accumulate(self, batch: BatchMatches, params: EvalParams) -> Accumulated:
        return accumulate(batch.coco, params, batch.score_order, threads=batch.threads)

    def summarize(self, batch: BatchMatches, params: EvalParams, names: Sequence[str]) -> Summarized:
        acc = self.accumulate(batch, params)
        classes = per_class(acc, params, batch.coco.class_ids, names)
        return Summarized(summarize(acc, params), classes, acc)
