"""Polygons and rotated boxes of COCO-style records, validated, into shapely geometries.

iou_type "polygon" reads `segmentation` as COCO polygons: a list of rings [x1, y1, x2, y2, ...]
(at least 3 points each), merged into one shape per record. iou_type "rotated" reads
`"rbox": [cx, cy, w, h, angle]` (see geometry.polygons for the angle convention).
Invalid rings are repaired with shapely.make_valid and reported in one GeometryRepairWarning.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely

from ..errors import GeometryRepairWarning
from ..geometry.polygons import (
    AngleUnit,
    polygons_from_rings,
    ring_bounds,
    rotated_box_bounds,
    rotated_box_polygons,
)
from ._records import Columns, _describe, _has_bool, _is_number, box_overflows

ShapeKind = Literal["polygon", "rotated"]
_SHOWN = 5  # records named in a repair warning
_RBOX = "[cx, cy, w, h, angle]"


@dataclass(frozen=True)
class Shapes:
    """One shape per record, in record order: the geometry, its xywh bounds and its area."""

    geoms: np.ndarray  # (N,) object
    box: np.ndarray  # (N, 4) float64
    area: np.ndarray  # (N,) float64


def read_shapes(cols: Columns, kind: ShapeKind, angle_unit: AngleUnit = "radians") -> Shapes:
    """The shapes of every record of `cols` (records already checked to be objects)."""
    if kind == "rotated":
        rbox = _rboxes(cols)
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            geoms = rotated_box_polygons(rbox, angle_unit)
            shapes = Shapes(geoms=geoms, box=rotated_box_bounds(rbox, angle_unit), area=shapely.area(geoms))
        _check_finite(cols, "rbox", shapes)
        return shapes
    coords, ring_sizes, ring_owner = _rings(cols)
    n = len(cols.records)
    with np.errstate(over="ignore", invalid="ignore"):  # checked below
        geoms, repaired = polygons_from_rings(coords, ring_sizes, ring_owner, n)
        shapes = Shapes(
            geoms=geoms, box=ring_bounds(coords, ring_sizes, ring_owner, n), area=shapely.area(geoms)
        )
    _check_finite(cols, "segmentation", shapes)
    if repaired.any():
        bad = np.flatnonzero(repaired)
        named = ", ".join(f"{cols.what} {i}" for i in bad[:_SHOWN].tolist())
        more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        warnings.warn(
            f"{cols.source}: {len(bad)} invalid polygon(s) (self-intersecting or without area) "
            f"repaired with shapely.make_valid, polygonal parts kept: {named}{more}",
            GeometryRepairWarning,
            stacklevel=2,
        )
    return shapes


def _check_finite(cols: Columns, field: str, shapes: Shapes) -> None:
    """Finite coordinates can still give an infinite extent or area (1e300 - -1e300): refused,
    as IoUs of such shapes are not numbers."""
    bad = ~np.isfinite(shapes.box).all(axis=1) | ~np.isfinite(shapes.area) | box_overflows(shapes.box)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise cols.error(
            i,
            field,
            f"has bounds {shapes.box[i].tolist()} (x, y, w, h) and area {float(shapes.area[i])}: "
            "its extent or area overflows float64 (expected coordinates below ~1e154)",
        )


def _rboxes(cols: Columns) -> np.ndarray:
    """(N, 5) float64 rotated boxes: finite numbers, w, h >= 0."""
    recs = cols.records
    try:
        values = [r["rbox"] for r in recs]
        arr = np.asarray(values) if values else np.zeros((0, 5))
        good = (
            arr.dtype.kind in "iuf"
            and arr.ndim == 2
            and arr.shape[1] == 5
            and not any(bool in set(map(type, v)) for v in values)
        )
    except (KeyError, TypeError, ValueError):
        good = False
    if not good:
        for i, r in enumerate(recs):
            if "rbox" not in r:
                raise cols.error(i, "rbox", f"missing (expected {_RBOX})")
            v = r["rbox"]
            if not (isinstance(v, (list, tuple)) and len(v) == 5 and all(map(_is_number, v))):
                raise cols.error(i, "rbox", f"is {_describe(v)} (expected {_RBOX} numbers)")
        raise cols.error(0, "rbox", "could not be read as rotated boxes")  # pragma: no cover
    arr = arr.astype(np.float64, copy=False)
    for bad, what in (
        (~np.isfinite(arr).all(axis=1), "finite"),
        (arr[:, 2] < 0, "width"),
        (arr[:, 3] < 0, "height"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            if what == "finite":
                raise cols.error(i, "rbox", f"is {arr[i].tolist()} (expected finite {_RBOX})")
            value = float(arr[i, 2 if what == "width" else 3])
            raise cols.error(i, "rbox", f"has negative {what} {value} (expected {_RBOX} with w, h >= 0)")
    return arr


def _rings(cols: Columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All rings of all records' `segmentation` polygons: (P, 2) points, points per ring, and
    the record of each ring."""
    parts: list[Any] = []
    counts = np.zeros(len(cols.records), np.int64)
    for i, r in enumerate(cols.records):
        seg = r.get("segmentation")
        if isinstance(seg, dict):
            raise cols.error(
                i,
                "segmentation",
                "is an RLE mask (expected polygons [[x1, y1, x2, y2, ...], ...]; masks need iou_type='segm')",
            )
        if not isinstance(seg, list) or not seg or not all(isinstance(p, list) for p in seg):
            what = "missing" if seg is None else f"is {_describe(seg)}"
            raise cols.error(i, "segmentation", f"{what} (expected polygons [[x1, y1, x2, y2, ...], ...])")
        parts.extend(seg)
        counts[i] = len(seg)
    ring_owner = np.repeat(np.arange(len(counts)), counts)
    sizes = np.fromiter(map(len, parts), np.int64, len(parts))
    bad = (sizes < 6) | (sizes % 2 == 1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise cols.error(
            int(ring_owner[k]),
            "segmentation",
            f"has a polygon of {int(sizes[k])} coordinates "
            "(expected an even number, at least 6: three points or more)",
        )
    flat = list(itertools.chain.from_iterable(parts))
    coords = None
    if not _has_bool(flat):
        arr = np.asarray(flat) if flat else np.zeros(0)
        if arr.dtype.kind in "iuf" and arr.ndim == 1:
            coords = arr.astype(np.float64, copy=False)
    if coords is None:
        owner_of_value = np.repeat(ring_owner, sizes)
        k = next(j for j, v in enumerate(flat) if not _is_number(v))
        raise cols.error(
            int(owner_of_value[k]), "segmentation", f"has coordinate {_describe(flat[k])} (expected numbers)"
        )
    if not np.isfinite(coords).all():
        k = int(np.flatnonzero(~np.isfinite(coords))[0])
        owner_of_value = np.repeat(ring_owner, sizes)
        raise cols.error(
            int(owner_of_value[k]),
            "segmentation",
            f"has a non-finite coordinate {float(coords[k])} (expected finite numbers)",
        )
    return coords.reshape(-1, 2), sizes // 2, ring_owner
