"""Typed option groups: what an evaluation is asked for, each group where it is used.

    CocoParams     pycocotools' Params: IoU thresholds, max dets, area ranges, subsets
    PointOptions   the operating point: IoU and score thresholds, F-beta, targets, extras
    InputOptions   how inputs are read: formats, array box format, class names, angle unit

The protocol (`Coco()`, `Voc(ap_method=...)`, `Lvis()`) is the fourth group; it lives in
`detrecall.protocols`. `evaluate`, `Evaluator`, `dask.evaluate` and `bootstrap` take these
objects, or the same options as flat keywords (`iou_threshold=0.6`): `split_keywords` sorts
flat keywords into their groups, by the groups' field names, so each option is declared once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypedDict

from .errors import DetrecallError

ZeroDivision = float | str  # "warn" (0.0 and a warning), 0, 1 or nan
AngleUnit = Literal["radians", "degrees"]


def check_zero_division(zero_division: ZeroDivision) -> float:
    """The value an undefined ratio takes; "warn" means 0.0 with a warning."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, (int, float)) and (zero_division in (0, 1) or math.isnan(zero_division)):
        return float(zero_division)
    raise DetrecallError(f'zero_division must be "warn", 0, 1 or nan, got {zero_division!r}')


class IouType(str, Enum):
    """What a detection is compared with its ground truth by."""

    BBOX = "bbox"  # boxes
    SEGM = "segm"  # masks (RLE)
    POLYGON = "polygon"  # polygon segmentations as exact shapes
    ROTATED = "rotated"  # rotated boxes, `rbox: [cx, cy, w, h, angle]`
    KEYPOINTS = "keypoints"  # object keypoint similarity (OKS) of `keypoints: [x, y, v, ...]`
    BOUNDARY = "boundary"  # boundary IoU of masks: min(mask IoU, IoU of their boundary bands)

    @classmethod
    def of(cls, value: str | IouType) -> IouType:
        try:
            return cls(value)
        except ValueError:
            raise DetrecallError(
                f"iou_type must be one of {', '.join(t.value for t in cls)}; got {value!r}"
            ) from None

    @property
    def reads_masks(self) -> bool:
        return self in (IouType.SEGM, IouType.BOUNDARY)

    @property
    def reads_shapes(self) -> bool:
        """Shapely shapes: Dataset.shapes / Detections.shapes."""
        return self in (IouType.POLYGON, IouType.ROTATED)


@dataclass(frozen=True)
class CocoParams:
    """pycocotools' Params for matching and accumulation; None takes the protocol's default
    (COCO: IoU 0.50:0.05:0.95, max dets 1 10 100, areas all/small/medium/large)."""

    iou_thresholds: Iterable[float] | None = None
    max_dets: Iterable[int] | None = None
    area_ranges: Mapping[str, Sequence[float]] | None = None
    recall_thresholds: Iterable[float] | None = None
    image_ids: Iterable[int] | None = None
    category_ids: Iterable[int] | None = None
    class_agnostic: bool = False  # pycocotools' useCats=0
    kpt_oks_sigmas: Sequence[float] | None = None  # keypoints: per-keypoint sigmas (COCO's 17 default)
    dilation_ratio: float | None = None  # boundary: band width / image diagonal (0.02 default)


@dataclass(frozen=True)
class PointOptions:
    """The operating point: detections matched at `iou_threshold` with COCO's rules, counted when
    score >= `score_threshold`; `max_dets` caps each image and class (None: every detection).
    `beta` for F-beta; `zero_division` (0, 1, nan or "warn") is what an undefined rate takes.
    `target_recall` / `target_precision` add those chosen points; `confusion` the confusion
    matrix; `cost={"tp": .., "fp": .., "fn": ..}` the total and per-image cost."""

    iou_threshold: float = 0.5
    score_threshold: float = 0.0
    beta: float = 1.0
    zero_division: ZeroDivision = 0
    target_recall: float | None = None
    target_precision: float | None = None
    max_dets: int | None = None
    confusion: bool = False
    cost: Mapping[str, float] | None = None

    def checked(self) -> PointOptions:
        """The same options, refused with what would be right where they have no meaning."""

        def number(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if not (number(self.iou_threshold) and 0 < self.iou_threshold <= 1):
            raise DetrecallError(f"iou_threshold must be in (0, 1], got {self.iou_threshold!r}")
        if not (number(self.score_threshold) and self.score_threshold >= 0):
            raise DetrecallError(f"score_threshold must be a number >= 0, got {self.score_threshold!r}")
        if not (number(self.beta) and self.beta >= 0):
            raise DetrecallError(f"beta must be a number >= 0, got {self.beta!r}")
        if math.isfinite(self.beta) and self.beta > 1e154:  # beta**2 would overflow: every F null
            raise DetrecallError(
                f"beta {self.beta!r} is too large: its square overflows (use inf for recall alone)"
            )
        check_zero_division(self.zero_division)
        for t in (self.target_recall, self.target_precision):
            if t is not None and not (number(t) and 0 <= t <= 1):
                raise DetrecallError(f"target_recall / target_precision must be in [0, 1], got {t!r}")
        if self.max_dets is not None and (
            isinstance(self.max_dets, bool) or not isinstance(self.max_dets, int) or self.max_dets < 1
        ):
            raise DetrecallError(f"point_max_dets must be an integer >= 1, got {self.max_dets!r}")
        return replace(
            self,
            iou_threshold=float(self.iou_threshold),
            score_threshold=float(self.score_threshold),
            beta=float(self.beta),
            confusion=bool(self.confusion),
            cost=None if self.cost is None else dict(self.cost),
        )


BoxFormat = Literal["xyxy", "xywh", "cxcywh"]


@dataclass(frozen=True)
class InputOptions:
    """How the inputs are read. `gt_format` / `dt_format`: "coco", "yolo", "voc", "csv" (None:
    told from the path). Per-image arrays: boxes in `box_format` (default "xyxy"), classes named
    by `categories`. YOLO: image sizes from `images` (a folder) or `sizes` (a file); `names` and
    `dt_names`: class names of the ground truth and of the model. CSV: `columns` maps our column
    names to the file's, `box_format` picks the box columns. Rotated boxes: `angle_unit`.
    `only_gt_images`: predictions on images the ground truth does not have are left out, with a
    warning that counts them (by default they are an error)."""

    gt_format: str | None = None
    dt_format: str | None = None
    box_format: BoxFormat | None = None
    categories: Sequence[str] | Mapping[int, str] | None = None
    angle_unit: AngleUnit = "radians"
    images: str | Path | None = None
    sizes: str | Path | None = None
    names: str | Path | Mapping[int, str] | None = None
    dt_names: str | Path | Mapping[int, str] | None = None
    columns: Mapping[str, str] | None = None
    only_gt_images: bool = False

    def checked(self) -> InputOptions:
        if self.angle_unit not in ("radians", "degrees"):
            raise DetrecallError(f"angle_unit must be 'radians' or 'degrees', got {self.angle_unit!r}")
        if not isinstance(self.only_gt_images, bool):
            raise DetrecallError(f"only_gt_images must be True or False, got {self.only_gt_images!r}")
        return self


class Keywords(TypedDict, total=False):
    """Every option as a flat keyword (the groups' fields, `point_max_dets` for the point's
    `max_dets`, and the protocol's own options); a test holds it equal to the groups."""

    iou_thresholds: Iterable[float] | None
    max_dets: Iterable[int] | None
    area_ranges: Mapping[str, Sequence[float]] | None
    recall_thresholds: Iterable[float] | None
    image_ids: Iterable[int] | None
    category_ids: Iterable[int] | None
    class_agnostic: bool
    kpt_oks_sigmas: Sequence[float] | None
    dilation_ratio: float | None
    iou_threshold: float
    score_threshold: float
    beta: float
    zero_division: ZeroDivision
    target_recall: float | None
    target_precision: float | None
    point_max_dets: int | None
    confusion: bool
    cost: Mapping[str, float] | None
    gt_format: str | None
    dt_format: str | None
    box_format: BoxFormat | None
    categories: Sequence[str] | Mapping[int, str] | None
    angle_unit: AngleUnit
    images: str | Path | None
    sizes: str | Path | None
    names: str | Path | Mapping[int, str] | None
    dt_names: str | Path | Mapping[int, str] | None
    columns: Mapping[str, str] | None
    only_gt_images: bool
    ap_method: str
    pixel_inclusive: bool


_POINT_RENAMED = {"point_max_dets": "max_dets"}  # flat name -> PointOptions field


@dataclass(frozen=True)
class Grouped:
    """Flat keywords sorted into their groups; `protocol` holds the protocol's own options."""

    params: CocoParams
    point: PointOptions
    inputs: InputOptions
    protocol: dict[str, Any]


def split_keywords(
    keywords: Mapping[str, Any],
    *,
    params: CocoParams | None = None,
    point: PointOptions | None = None,
    inputs: InputOptions | None = None,
    protocol_fields: Iterable[str] = (),
) -> Grouped:
    """Sort flat keywords into the groups, on top of the groups given (a keyword wins over its
    group's field only when the group was not given for it: giving both is an error)."""
    groups: dict[str, dict[str, Any]] = {"params": {}, "point": {}, "inputs": {}, "protocol": {}}
    owner = {f.name: "params" for f in fields(CocoParams)}
    owner.update({f.name: "point" for f in fields(PointOptions) if f.name != "max_dets"})
    owner.update(dict.fromkeys(_POINT_RENAMED, "point"))
    owner.update({f.name: "inputs" for f in fields(InputOptions)})
    owner.update(dict.fromkeys(protocol_fields, "protocol"))
    given = {"params": params, "point": point, "inputs": inputs}
    for key, value in keywords.items():
        group = owner.get(key)
        if group is None:
            # a misspelt keyword is a TypeError, as Python's own for an unknown argument
            raise TypeError(f"unknown option {key!r}; expected one of {', '.join(sorted(owner))}")
        if given.get(group) is not None:
            raise DetrecallError(f"{key!r} given both as a keyword and in the {group}= options")
        groups[group][_POINT_RENAMED.get(key, key) if group == "point" else key] = value
    return Grouped(
        params=params or CocoParams(**groups["params"]),
        point=point or PointOptions(**groups["point"]),
        inputs=inputs or InputOptions(**groups["inputs"]),
        protocol=groups["protocol"],
    )


THREADS_ENV = "DETRECALL_THREADS"


def resolve_threads(threads: int | None = None) -> int:
    """How many threads the compiled matcher and accumulation use: `threads` when given, else
    $DETRECALL_THREADS, else the CPUs this process may run on (its affinity: `taskset -c 0`
    means one). Results are identical for any count."""
    source = "threads"
    if threads is None and os.environ.get(THREADS_ENV, "").strip():
        source, raw = THREADS_ENV, os.environ[THREADS_ENV].strip()
        try:
            threads = int(raw)
        except ValueError:
            raise DetrecallError(f"{THREADS_ENV} must be a whole number of threads, got {raw!r}") from None
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # no affinity on this platform (macOS, Windows)
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise DetrecallError(f"{source} must be a whole number >= 1, got {threads!r}")
    return threads
