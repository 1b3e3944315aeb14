"""TIDE error analysis (Bolya et al., ECCV 2020) on the matcher's output: where the missing AP went.

Every false positive at the foreground IoU (0.5) is classified, in TIDE's order of tests, by
its IoU with the image's ground truth (crowds and ignored ground truth left out):

- background when the image has no ground truth;
- localization (`loc`): best IoU with ground truth of its class in [background, foreground];
- classification (`cls`): IoU >= foreground with ground truth of another class;
- duplicate (`dupe`): IoU >= foreground with ground truth of its class a higher-scored
  detection took;
- background (`bkg`): IoU <= background (0.1) with every ground truth;
- both (`both`): anything else (wrong class and badly placed).

Ground truth no detection took, and that no classification or localization error points at,
is missed (`miss`). Each type's dAP is TIDE's fix-and-re-evaluate: fix every error of that
type alone (a cls / loc error becomes a true positive when it is the highest-scored one
pointing at a free ground truth, and is dropped otherwise; dupe, bkg and both are dropped; a
miss leaves the positives), recompute AP, subtract the original, clip at 0. `fp_dAP` and
`fn_dAP` are AP with every false positive scored below every true positive, and with every
false negative removed from the positives, less the original (not clipped).

AP as tidecv computes it (its `APDataObject.get_ap`), which is COCO's AP50 except that a class
with detections but no ground truth counts with AP 0 in the mean, the 101 recall points are
`i / 100` (COCO's `np.linspace` differs in the last bit at some), and, in a fixed AP,
detections of equal score rank the error-derived ones first (tidecv pushes them first). Values
are fractions (tidecv prints percentage points: 100x these).

Deliberate differences from tidecv, all outside its crowd-free, COCO-like use: detections are
matched by detrecall's COCO matcher (max_dets per image and class, as COCO AP50; tidecv keeps
100 per image; a detection's equal-IoU tie goes to the later ground truth as in pycocotools,
tidecv's to the first); a detection COCO ignores (matched to a crowd, outside the area range)
is neither scored nor classified (tidecv still classifies detections in ignore regions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from .._sort import argsort_stable
from ..aggregate import by_class_then_score, by_score
from ..errors import DetrecallError
from ..result import EvaluationResult
from ..tables import Kind, Table, json_number
from ..types import Dataset, Detections, Status
from ._pairs import best_per_det, image_pairs, outcome
from ._ranked import sampled_precision


class ErrorKind(IntEnum):
    """TIDE's six error types, in its order."""

    CLS = 0  # right place, wrong class
    LOC = 1  # right class, badly placed
    BOTH = 2  # wrong class and badly placed
    DUPE = 3  # right place and class, the ground truth taken already
    BKG = 4  # on nothing
    MISS = 5  # ground truth nothing found

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    ErrorKind.CLS: "IoU >= foreground with ground truth of another class",
    ErrorKind.LOC: "IoU in [background, foreground] with ground truth of its class",
    ErrorKind.BOTH: "wrong class and IoU in [background, foreground]",
    ErrorKind.DUPE: "IoU >= foreground with ground truth a better detection took",
    ErrorKind.BKG: "IoU <= background with every ground truth",
    ErrorKind.MISS: "ground truth no detection found or nearly found",
}
KINDS = tuple(ErrorKind)
N_KINDS = len(KINDS)


def _freeze(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


@dataclass(frozen=True)
class ClassErrors:
    """One class: its TIDE AP, what fixing each error type recovers in it, and the counts
    (a false positive counts in its predicted class, a miss in its ground truth's class; a
    fixed classification error moves its gain to the ground truth's class)."""

    category_id: int
    name: str
    AP: float
    dAP: tuple[float, ...]  # by ErrorKind
    fp_dAP: float
    fn_dAP: float
    counts: tuple[int, ...]  # by ErrorKind

    def to_dict(self) -> dict[str, Any]:
        return {
            "category_id": self.category_id,
            "name": self.name,
            "AP": json_number(self.AP),
            "dAP": {k.key: json_number(v) for k, v in zip(KINDS, self.dAP)},
            "fp_dAP": json_number(self.fp_dAP),
            "fn_dAP": json_number(self.fn_dAP),
            "counts": {k.key: c for k, c in zip(KINDS, self.counts)},
        }


@dataclass(frozen=True)
class ErrorAnalysis:
    """TIDE's error breakdown of one evaluation (see the module's docstring).

    `dAP`, `counts`: by ErrorKind (`result.dAP[ErrorKind.LOC]`, or `dap("loc")`). Per error:
    `error_det_row` (rows of the Detections) with `error_kind` and `error_gt_row` (the ground
    truth a cls / loc / dupe error points at, -1 for none); `missed_gt_row` (Dataset rows).
    """

    foreground_iou: float
    background_iou: float
    AP: float  # TIDE's AP at the foreground IoU, NaN when nothing is evaluated
    dAP: tuple[float, ...]
    fp_dAP: float
    fn_dAP: float
    counts: tuple[int, ...]
    per_class: tuple[ClassErrors, ...]
    error_det_row: np.ndarray  # (E,) int64
    error_kind: np.ndarray  # (E,) int8, ErrorKind
    error_gt_row: np.ndarray  # (E,) int64
    missed_gt_row: np.ndarray  # (M,) int64

    def __post_init__(self) -> None:
        _freeze(self.error_det_row, self.error_kind, self.error_gt_row, self.missed_gt_row)

    def dap(self, kind: str | ErrorKind) -> float:
        return self.dAP[_kind(kind)]

    def count(self, kind: str | ErrorKind) -> int:
        return self.counts[_kind(kind)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `{"dAP": {"cls", "loc", "both", "dupe", "bkg", "miss"}, "fp_dAP",
        "fn_dAP", "counts": {...}, "per_class": [...]}` plus the thresholds and the AP."""
        return {
            "foreground_iou": self.foreground_iou,
            "background_iou": self.background_iou,
            "AP": json_number(self.AP),
            "dAP": {k.key: json_number(v) for k, v in zip(KINDS, self.dAP)},
            "fp_dAP": json_number(self.fp_dAP),
            "fn_dAP": json_number(self.fn_dAP),
            "counts": {k.key: c for k, c in zip(KINDS, self.counts)},
            "per_class": [c.to_dict() for c in self.per_class],
        }

    def table(self) -> Table:
        """One row per error type, then the false-positive / false-negative totals."""
        rows: list[tuple[Any, ...]] = [(k.key, k.description, self.counts[k], self.dAP[k]) for k in KINDS]
        n_fp = sum(self.counts[k] for k in KINDS if k is not ErrorKind.MISS)
        n_fn = int(self.counts[ErrorKind.MISS])
        rows.append(("FP", "every false positive scored last", n_fp, self.fp_dAP))
        rows.append(("FN", "every false negative removed", n_fn, self.fn_dAP))
        return Table(
            f"Errors (TIDE, AP{self.foreground_iou * 100:g} {_pct(self.AP)})",
            ("error", "definition", "count", "dAP"),
            (Kind.LABEL, Kind.TEXT, Kind.COUNT, Kind.SCORE),
            tuple(rows),
            footer=2,
        )

    def class_table(self) -> Table:
        """dAP per class and error type."""
        rows = tuple((c.category_id, c.name, c.AP, *c.dAP, c.fp_dAP, c.fn_dAP) for c in self.per_class)
        return Table(
            "Errors per class (TIDE dAP)",
            ("id", "class", "AP", *(k.key for k in KINDS), "FP", "FN"),
            (Kind.LABEL, Kind.LABEL, Kind.RATE, *(Kind.SCORE,) * (N_KINDS + 2)),
            rows,
        )


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.3f}"


def _kind(kind: str | ErrorKind) -> ErrorKind:
    if isinstance(kind, ErrorKind):
        return kind
    for k in KINDS:
        if k.key == kind:
            return k
    raise DetrecallError(f"error kind must be one of {', '.join(k.key for k in KINDS)}; got {kind!r}")


RECALL_POINTS = np.arange(101) / 100  # tidecv's x_range: i / 100


def class_ap(cls: np.ndarray, is_tp: np.ndarray, npos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tidecv's AP per class ((K,) fractions) of points already in rank order within each class
    (`cls` nondecreasing), and which classes count in the mean (with points or positives).

    Per class: precision after each point, made monotone from the right, taken at the first
    point whose recall reaches i / 100, summed in order, / 101; 0 without positives."""
    n_k = len(npos)
    counted = np.bincount(cls, minlength=n_k)[:n_k] if len(cls) else np.zeros(n_k, np.int64)
    sampled = sampled_precision(cls, is_tp, npos, RECALL_POINTS)
    ap = np.cumsum(sampled, axis=1)[:, -1] / len(RECALL_POINTS)  # summed in order, as tidecv's sum()
    return ap, (counted > 0) | (npos > 0)


def _gather(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[index] as int64, -1 where index is -1."""
    out = np.full(len(index), -1, np.int64)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


def _gain(fixed: float, base: float) -> float:
    """TIDE's dAP of a fix: the gain, clipped at 0 (a loss is an artefact of the 101-point
    sampling); NaN when either AP is undefined (tidecv divides by zero there)."""
    return math.nan if math.isnan(fixed) or math.isnan(base) else max(fixed - base, 0.0)


def _mean(ap: np.ndarray, included: np.ndarray) -> float:
    return float(ap[included].sum() / included.sum()) if included.any() else math.nan


def tide(
    gt: Dataset,
    dt: Detections,
    result: EvaluationResult,
    *,
    foreground_iou: float = 0.5,
    background_iou: float = 0.1,
    pixel_inclusive: bool = False,
    names: Sequence[str] | None = None,
) -> ErrorAnalysis:
    """TIDE's error analysis of `result`, the evaluation of `dt` against `gt` (the Dataset and
    Detections it evaluated). The matches at `foreground_iou` come from the result (COCO: its
    AP50 matches) or are made again alike; one class-agnostic IoU pass over the false
    positives and the counted ground truth of their images classifies the errors.
    `pixel_inclusive`: the protocol's box convention (VOC: True). See the module docstring."""
    if not (0 <= background_iou < foreground_iou <= 1):
        raise DetrecallError(
            f"need 0 <= background_iou < foreground_iou <= 1, got {background_iou} and {foreground_iou}"
        )
    out = outcome(result, gt, dt, foreground_iou, pixel_inclusive=pixel_inclusive)
    m, status = out.matches, out.status
    n_k, n_det, n_gt = len(m.class_ids), len(m.det_row), len(m.gt_row)
    counted_gt = out.counted_gt

    # -- classify every false positive ------------------------------------------------------
    fp = np.flatnonzero(status == Status.FP)
    fp_order = np.argsort(m.det_row[fp], kind="stable")
    fp = fp[fp_order]  # by row, as take() needs
    gt_idx = np.flatnonzero(counted_gt)
    floor = background_iou if background_iou > 0 else float(np.nextafter(0.0, 1.0))
    pairs = image_pairs(
        result.iou_type,
        gt,
        dt,
        result.params,
        m.gt_row[gt_idx],
        m.det_row[fp],
        floor,
        pixel_inclusive=pixel_inclusive,
    )
    pair_gt = gt_idx[pairs.gt]  # index into m.gt_row
    same = m.det_class[fp[pairs.det]] == m.gt_class[pair_gt]
    n_fp = len(fp)
    own_iou, own_gt = best_per_det(pairs, same, n_fp)
    other_iou, other_gt = best_per_det(pairs, ~same, n_fp)
    used_iou, used_gt = best_per_det(pairs, same & out.used_gt[pair_gt], n_fp)
    any_iou, _ = best_per_det(pairs, np.ones(len(pairs.det), bool), n_fp)
    images_with_gt = np.unique(m.gt_image[counted_gt])
    has_gt = np.isin(m.det_image[fp], images_with_gt)
    kind = np.select(
        [
            ~has_gt,
            (own_iou >= background_iou) & (own_iou <= foreground_iou),
            other_iou >= foreground_iou,
            used_iou >= foreground_iou,
            any_iou <= background_iou,
        ],
        [ErrorKind.BKG, ErrorKind.LOC, ErrorKind.CLS, ErrorKind.DUPE, ErrorKind.BKG],
        default=ErrorKind.BOTH,
    ).astype(np.int8)
    own_gt, other_gt, used_gt = (_gather(gt_idx, i) for i in (own_gt, other_gt, used_gt))
    target = np.select(
        [kind == ErrorKind.LOC, kind == ErrorKind.CLS, kind == ErrorKind.DUPE],
        [own_gt, other_gt, used_gt],
        default=-1,
    )

    # a cls / loc error pointing at a free ground truth: the highest-scored one of those (the
    # first in the image's score order on ties) would become its true positive
    eligible = np.flatnonzero(((kind == ErrorKind.LOC) | (kind == ErrorKind.CLS)) & (target >= 0))
    eligible = eligible[~out.used_gt[target[eligible]]]
    fixed = np.zeros(n_fp, bool)
    if len(eligible):
        e_score, e_row = m.det_score[fp[eligible]], m.det_row[fp[eligible]]
        order = np.lexsort((e_row, -e_score, target[eligible]))
        t_sorted = target[eligible][order]
        best = order[np.r_[True, t_sorted[1:] != t_sorted[:-1]]]
        fixed[eligible[best]] = True
    usable = np.zeros(n_gt, bool)
    usable[target[eligible]] = True
    false_negative = counted_gt & ~out.used_gt
    missed = false_negative & ~usable

    # -- AP before and after each fix ----------------------------------------------------
    npos = np.bincount(m.gt_class[counted_gt], minlength=n_k)[:n_k].astype(np.int64)
    scored = np.flatnonzero(status != Status.IGNORED)
    s_cls = m.det_class[scored].astype(np.int64)
    s_score, s_row = m.det_score[scored], m.det_row[scored]
    s_tp = status[scored] == Status.TP
    error_at = np.full(n_det, -1, np.int64)  # det -> position in fp
    error_at[fp] = np.arange(n_fp)
    s_err = error_at[scored]  # -1 for true positives
    s_kind = _gather(kind, s_err)
    s_fixed = np.zeros(len(scored), bool)
    s_fixed[s_err >= 0] = fixed[s_err[s_err >= 0]]

    # rank orders before the class pass: (score desc, row) for the original AP; (score desc,
    # error-derived first, row) for the fixed ones, as tidecv pushes errors before the rest
    by_row = argsort_stable(s_row)
    base_first = by_row[by_score(s_score[by_row])]
    errors_first = by_row[np.argsort(s_tp[by_row], kind="stable")]
    fix_first = errors_first[by_score(s_score[errors_first])]

    def ap_of(
        cls: np.ndarray, is_tp: np.ndarray, keep: np.ndarray, positives: np.ndarray, first: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        kept = first[keep[first]]
        c, t = cls[kept], is_tp[kept]
        order = by_class_then_score(c, s_score[kept], np.arange(len(kept)))
        return class_ap(c[order], t[order], positives)

    everything = np.ones(len(scored), bool)
    base_ap, base_in = ap_of(s_cls, s_tp, everything, npos, base_first)
    base = _mean(base_ap, base_in)
    per_kind: list[tuple[float, np.ndarray]] = []
    for k in KINDS:
        is_k = s_kind == k
        cls, is_tp, keep, positives = s_cls, s_tp, everything, npos
        if k is ErrorKind.MISS:
            positives = npos - np.bincount(m.gt_class[missed], minlength=n_k)[:n_k]
        elif k in (ErrorKind.CLS, ErrorKind.LOC):
            keep = ~is_k | s_fixed
            is_tp = s_tp | (is_k & s_fixed)
            if k is ErrorKind.CLS:
                moved = np.flatnonzero(is_k & s_fixed)
                cls = s_cls.copy()
                cls[moved] = m.gt_class[target[s_err[moved]]]
        else:
            keep = ~is_k
        ap, inc = ap_of(cls, is_tp, keep, positives, fix_first)
        per_kind.append((_gain(_mean(ap, inc), base), np.maximum(ap - base_ap, 0.0)))
    # every false positive below every true positive (scored 1 and 0); every false negative dropped
    fp_ap, fp_in = ap_of(s_cls, s_tp, everything, npos, np.argsort(~s_tp, kind="stable"))
    fn_positives = npos - np.bincount(m.gt_class[false_negative], minlength=n_k)[:n_k]
    fn_ap, fn_in = ap_of(s_cls, s_tp, everything, fn_positives, fix_first)

    # -- counts ----------------------------------------------------------------------------
    per_class_counts = np.zeros((n_k, N_KINDS), np.int64)
    np.add.at(per_class_counts, (m.det_class[fp].astype(np.int64), kind.astype(np.int64)), 1)
    per_class_counts[:, ErrorKind.MISS] = np.bincount(m.gt_class[missed], minlength=n_k)[:n_k]
    labels = _names(result, names, n_k)
    classes = tuple(
        ClassErrors(
            category_id=int(m.class_ids[c]),
            name=labels[c],
            AP=float(base_ap[c]),
            dAP=tuple(float(d[1][c]) for d in per_kind),
            fp_dAP=float(fp_ap[c] - base_ap[c]),
            fn_dAP=float(fn_ap[c] - base_ap[c]),
            counts=tuple(int(v) for v in per_class_counts[c]),
        )
        for c in range(n_k)
    )
    return ErrorAnalysis(
        foreground_iou=float(foreground_iou),
        background_iou=float(background_iou),
        AP=base,
        dAP=tuple(float(d[0]) for d in per_kind),
        fp_dAP=_mean(fp_ap, fp_in) - base,
        fn_dAP=_mean(fn_ap, fn_in) - base,
        counts=tuple(int(v) for v in per_class_counts.sum(axis=0)),
        per_class=classes,
        error_det_row=m.det_row[fp].astype(np.int64),
        error_kind=kind,
        error_gt_row=_gather(m.gt_row, target),
        missed_gt_row=m.gt_row[missed].astype(np.int64),
    )


def _names(result: EvaluationResult, names: Sequence[str] | None, n_k: int) -> list[str]:
    if names is not None and len(names) == n_k:
        return list(names)
    point_names = result.point.names
    if len(point_names) == n_k:
        return list(point_names)
    return [str(int(c)) for c in result.matches.class_ids][:n_k]
