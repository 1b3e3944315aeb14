"""Label-error candidates: where a confident model and the ground truth disagree in a way a
wrong annotation explains better than a wrong model.

- likely missing annotation: a confident detection (score >= `min_score`) whose IoU with
  every ground truth of every class, crowds included (a crowd region scores the detection by
  intersection over its own area), is at most `background_iou` (TIDE's background error);
- likely wrong label: a confident detection whose IoU with a ground truth of another class is
  at least `label_iou` and higher than with any of its own class, that ground truth not being
  confirmed by a confident detection of its own class at `label_iou` (then the model, not the
  label, is wrong). Crowds and ignored ground truth are left out.

Ranked by score (descending), then IoU (the wrong label's higher first, the missing
annotation's lower first), image id and row: the most confident disagreements first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from typing import Any

import numpy as np

from ..errors import DetrecallError
from ..options import IouType
from ..protocols.coco import make_params
from ..result import EvaluationResult
from ..tables import Kind, Table, import_pandas
from ..types import Dataset, Detections, EvalParams
from ._pairs import best_per_det, image_pairs


class LabelErrorKind(IntEnum):
    MISSING = 0  # a confident detection on no ground truth: an object nobody annotated?
    WRONG_LABEL = 1  # a confident detection on ground truth of another class: mislabelled?

    @property
    def key(self) -> str:
        return {LabelErrorKind.MISSING: "missing_annotation", LabelErrorKind.WRONG_LABEL: "wrong_label"}[self]


@dataclass(frozen=True)
class LabelErrors:
    """The candidates, ranked (module docstring), one row each. `gt_*` is the ground truth a
    wrong label points at (-1 / "" for a missing annotation); `iou` its IoU, or the
    detection's best IoU with any ground truth for a missing annotation."""

    kind: np.ndarray  # (N,) int8, LabelErrorKind
    image_id: np.ndarray  # (N,) int64
    det_row: np.ndarray  # (N,) row of the Detections
    box: np.ndarray  # (N, 4) xywh
    category_id: np.ndarray  # (N,) the detection's class
    score: np.ndarray  # (N,)
    iou: np.ndarray  # (N,)
    gt_row: np.ndarray  # (N,) row of the Dataset, -1
    gt_ann_id: np.ndarray  # (N,) annotation id, -1
    gt_category_id: np.ndarray  # (N,) the ground truth's class, -1
    names: tuple[str, ...]  # (N,) the detection's class name
    gt_names: tuple[str, ...]  # (N,) the ground truth's class name, ""
    min_score: float
    background_iou: float
    label_iou: float

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __len__(self) -> int:
        return len(self.kind)

    def take(self, rows: np.ndarray) -> LabelErrors:
        cut: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                cut[f.name] = value[rows]
            elif isinstance(value, tuple):
                cut[f.name] = tuple(value[i] for i in np.asarray(rows).tolist())
        return replace(self, **cut)

    def missing(self) -> LabelErrors:
        """The likely missing annotations, ranked."""
        return self.take(np.flatnonzero(self.kind == LabelErrorKind.MISSING))

    def wrong_labels(self) -> LabelErrors:
        """The likely wrong labels, ranked."""
        return self.take(np.flatnonzero(self.kind == LabelErrorKind.WRONG_LABEL))

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready records, ranked."""
        out = []
        for i in range(len(self)):
            record: dict[str, Any] = {
                "kind": LabelErrorKind(int(self.kind[i])).key,
                "image_id": int(self.image_id[i]),
                "category_id": int(self.category_id[i]),
                "name": self.names[i],
                "score": float(self.score[i]),
                "bbox": self.box[i].tolist(),
                "iou": float(self.iou[i]),
            }
            if self.gt_row[i] >= 0:
                record["gt"] = {
                    "id": int(self.gt_ann_id[i]),
                    "category_id": int(self.gt_category_id[i]),
                    "name": self.gt_names[i],
                }
            out.append(record)
        return out

    def table(self, limit: int | None = None) -> Table:
        n = len(self) if limit is None else min(limit, len(self))
        rows = tuple(
            (
                LabelErrorKind(int(self.kind[i])).key,
                int(self.image_id[i]),
                self.names[i],
                float(self.score[i]),
                " ".join(f"{v:g}" for v in self.box[i].tolist()),
                float(self.iou[i]),
                self.gt_names[i] if self.gt_row[i] >= 0 else None,
                int(self.gt_ann_id[i]) if self.gt_row[i] >= 0 else None,
            )
            for i in range(n)
        )
        return Table(
            f"Label-error candidates (score >= {self.min_score:g})",
            ("kind", "image", "class", "score", "box", "IoU", "labelled", "ann id"),
            (Kind.LABEL, Kind.LABEL, Kind.LABEL, Kind.SCORE, Kind.TEXT, Kind.SCORE, Kind.LABEL, Kind.LABEL),
            rows,
        )

    def to_pandas(self) -> Any:  # pandas.DataFrame (pandas is optional)
        pandas = import_pandas()
        return pandas.DataFrame(
            {
                "kind": [LabelErrorKind(int(k)).key for k in self.kind],
                "image_id": self.image_id,
                "category_id": self.category_id,
                "name": list(self.names),
                "score": self.score,
                "x": self.box[:, 0],
                "y": self.box[:, 1],
                "w": self.box[:, 2],
                "h": self.box[:, 3],
                "iou": self.iou,
                "gt_ann_id": self.gt_ann_id,
                "gt_category_id": self.gt_category_id,
                "gt_name": list(self.gt_names),
            }
        )


def label_errors(
    gt: Dataset,
    dt: Detections,
    result: EvaluationResult | None = None,
    *,
    min_score: float = 0.5,
    background_iou: float = 0.1,
    label_iou: float = 0.7,
    iou_type: IouType | str | None = None,
    pixel_inclusive: bool = False,
) -> LabelErrors:
    """Likely missing annotations and likely wrong labels (module docstring), ranked. The
    images and classes evaluated, and the iou type, are the result's when given. Only the
    confident detections enter one class-agnostic IoU pass with the ground truth of their
    images."""
    if not (0 <= background_iou < label_iou <= 1):
        raise DetrecallError(
            f"need 0 <= background_iou < label_iou <= 1, got {background_iou} and {label_iou}"
        )
    if not math.isfinite(min_score):
        raise DetrecallError(f"min_score must be a number, got {min_score!r}")
    params: EvalParams = result.params if result is not None else make_params()
    kind_of = IouType.of(iou_type if iou_type is not None else (result.iou_type if result else "bbox"))
    # the detections of the evaluated classes, against ground truth of every class
    classes = _ids(params.category_ids, gt.categories.ids)
    confident = np.flatnonzero((dt.score >= min_score) & np.isin(dt.category_id, classes))
    params = replace(params, category_ids=None)
    all_gt = np.arange(len(gt))
    overlap = float(np.nextafter(0.0, 1.0))  # every overlapping pair: the best IoU is exact
    pairs = image_pairs(kind_of, gt, dt, params, all_gt, confident, overlap, pixel_inclusive=pixel_inclusive)
    n = len(confident)
    d_row, g_row = confident[pairs.det], pairs.gt
    same = dt.category_id[d_row] == gt.category_id[g_row]
    plain = ~(gt.iscrowd | gt.ignore)[g_row]
    confirmed = np.zeros(len(gt), bool)
    confirmed[g_row[same & plain & (pairs.iou >= label_iou)]] = True
    any_iou, _ = best_per_det(pairs, np.ones(len(g_row), bool), n)
    own_iou, _ = best_per_det(pairs, same & plain, n)
    other_iou, other_gt = best_per_det(pairs, ~same & plain & ~confirmed[g_row], n)
    # a detection the plan took: its image and class are known (the rest pair with nothing)
    evaluated = np.isin(dt.image_id[confident], _ids(params.image_ids, gt.images.ids)) & np.isin(
        dt.category_id[confident], gt.categories.ids
    )
    missing = evaluated & (any_iou <= background_iou)
    wrong = (other_iou >= label_iou) & (other_iou > own_iou)
    picked = np.flatnonzero(missing | wrong)
    is_wrong = wrong[picked]
    iou = np.where(is_wrong, other_iou[picked], any_iou[picked])
    rows = confident[picked]
    gt_rows = np.where(is_wrong, other_gt[picked], -1)
    order = np.lexsort((rows, dt.image_id[rows], np.where(is_wrong, -iou, iou), -dt.score[rows]))
    rows, is_wrong, iou, gt_rows = rows[order], is_wrong[order], iou[order], gt_rows[order]
    has_gt = gt_rows >= 0
    gt_class = np.full(len(rows), -1, np.int64)
    gt_ann = np.full(len(rows), -1, np.int64)
    gt_class[has_gt] = gt.category_id[gt_rows[has_gt]]
    gt_ann[has_gt] = gt.ann_id[gt_rows[has_gt]]
    names = gt.categories
    return LabelErrors(
        kind=np.where(is_wrong, LabelErrorKind.WRONG_LABEL, LabelErrorKind.MISSING).astype(np.int8),
        image_id=dt.image_id[rows].astype(np.int64),
        det_row=rows.astype(np.int64),
        box=dt.box[rows].astype(np.float64),
        category_id=dt.category_id[rows].astype(np.int64),
        score=dt.score[rows].astype(np.float64),
        iou=iou.astype(np.float64),
        gt_row=gt_rows.astype(np.int64),
        gt_ann_id=gt_ann,
        gt_category_id=gt_class,
        names=tuple(names.name_of(c) for c in dt.category_id[rows].tolist()),
        gt_names=tuple(names.name_of(c) if c >= 0 else "" for c in gt_class.tolist()),
        min_score=float(min_score),
        background_iou=float(background_iou),
        label_iou=float(label_iou),
    )


def _ids(selected: np.ndarray | None, known: np.ndarray) -> np.ndarray:
    return known if selected is None else selected
