"""Polygon and rotated-box geometry through shapely 2's vectorized functions.

Shapes are object arrays of shapely geometries (Polygon / MultiPolygon, valid, possibly
empty); every function works on whole arrays, never one geometry at a time in Python.

Rotated boxes are (cx, cy, w, h, angle) with mmrotate's and Ultralytics' convention (also
OpenCV's `boxPoints`, which uses degrees): the box's width runs along (cos a, sin a) in image
coordinates (x right, y down), so a positive angle turns the box clockwise on screen. The
angle is in radians unless `angle_unit="degrees"`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import shapely

from ..errors import DetrecallError

AngleUnit = Literal["radians", "degrees"]
ANGLE_UNITS = ("radians", "degrees")

_POLYGON = 3  # shapely type ids
_POLYGONAL = (3, 6)  # Polygon, MultiPolygon


def polygon_iou_pairs(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of dt[i] with gt[i] for every i: object arrays of valid shapely geometries
    (an invalid one that GEOS cannot intersect raises DetrecallError).

    A crowd ground truth is scored by intersection over the detection's own area (COCO's rule).
    Empty or zero-area shapes get IoU 0. Only pairs whose bounds overlap reach GEOS.
    Returns a (len(dt),) float64 array.
    """
    dt = np.asarray(dt, dtype=object)
    gt = np.asarray(gt, dtype=object)
    crowd = np.asarray(crowd, dtype=bool)
    out = np.zeros(len(dt), dtype=np.float64)
    if len(dt) == 0:
        return out
    db, gb = shapely.bounds(dt), shapely.bounds(gt)  # NaN for empty shapes: never a candidate
    w = np.minimum(db[:, 2], gb[:, 2]) - np.maximum(db[:, 0], gb[:, 0])
    h = np.minimum(db[:, 3], gb[:, 3]) - np.maximum(db[:, 1], gb[:, 1])
    pairs = np.flatnonzero((w > 0) & (h > 0))
    d, g = dt[pairs], gt[pairs]
    try:
        inter = shapely.area(shapely.intersection(d, g))
    except shapely.errors.GEOSException as e:
        raise DetrecallError(
            f"cannot intersect the shapes ({e}); shapes must be valid "
            "(shapely.make_valid repairs them, as detrecall's readers do)"
        ) from None
    d_area = shapely.area(d)
    union = np.where(crowd[pairs], d_area, d_area + shapely.area(g) - inter)
    out[pairs] = np.divide(inter, union, out=np.zeros(len(pairs)), where=union > 0)
    return out


def polygon_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray | None = None) -> np.ndarray:
    """IoU of every detection shape with every ground-truth shape, (len(dt), len(gt)) float64."""
    dt = np.asarray(dt, dtype=object).ravel()
    gt = np.asarray(gt, dtype=object).ravel()
    crowd = np.zeros(len(gt), bool) if crowd is None else np.asarray(crowd, dtype=bool)
    d, g = np.divmod(np.arange(len(dt) * len(gt)), max(len(gt), 1))
    return polygon_iou_pairs(dt[d], gt[g], crowd[g]).reshape(len(dt), len(gt))


def rotated_box_corners(rbox: np.ndarray, angle_unit: AngleUnit = "radians") -> np.ndarray:
    """(N, 4, 2) corners of (N, 5) rotated boxes (cx, cy, w, h, angle), see the module docstring.

    At angle 0 the corners are (cx -+ w/2, cy -+ h/2): the axis-aligned box.
    """
    rbox = np.asarray(rbox, dtype=np.float64).reshape(-1, 5)
    if angle_unit not in ANGLE_UNITS:
        raise ValueError(f"angle_unit must be one of {ANGLE_UNITS}, got {angle_unit!r}")
    angle = rbox[:, 4] if angle_unit == "radians" else np.deg2rad(rbox[:, 4])
    cos, sin = np.cos(angle), np.sin(angle)
    half_w, half_h = rbox[:, 2] / 2, rbox[:, 3] / 2
    # local corners (-+w/2, -+h/2) turned by [[cos, -sin], [sin, cos]], then moved to the center
    sx = np.array([-1.0, 1.0, 1.0, -1.0])
    sy = np.array([-1.0, -1.0, 1.0, 1.0])
    lx, ly = sx * half_w[:, None], sy * half_h[:, None]
    x = rbox[:, :1] + (lx * cos[:, None] - ly * sin[:, None])
    y = rbox[:, 1:2] + (lx * sin[:, None] + ly * cos[:, None])
    return np.stack([x, y], axis=2)


def rotated_box_polygons(rbox: np.ndarray, angle_unit: AngleUnit = "radians") -> np.ndarray:
    """(N,) object array of Polygons from (N, 5) rotated boxes; zero width or height: empty."""
    rbox = np.asarray(rbox, dtype=np.float64).reshape(-1, 5)
    out = np.empty(len(rbox), dtype=object)
    solid = (rbox[:, 2] > 0) & (rbox[:, 3] > 0)
    out[solid] = shapely.polygons(rotated_box_corners(rbox[solid], angle_unit))
    out[~solid] = shapely.Polygon()
    return out


def rotated_box_bounds(rbox: np.ndarray, angle_unit: AngleUnit = "radians") -> np.ndarray:
    """(N, 4) xywh axis-aligned bounds of (N, 5) rotated boxes."""
    corners = rotated_box_corners(rbox, angle_unit)
    lo, hi = corners.min(axis=1), corners.max(axis=1)
    return np.concatenate([lo, hi - lo], axis=1)


def ring_bounds(coords: np.ndarray, ring_sizes: np.ndarray, ring_owner: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) xywh bounds of the points of each object's rings (see `polygons_from_rings`)."""
    out = np.zeros((n, 4))
    if len(coords) == 0:
        return out
    starts = np.concatenate([[0], np.cumsum(ring_sizes)[:-1]])
    lo = np.minimum.reduceat(coords, starts, axis=0)
    hi = np.maximum.reduceat(coords, starts, axis=0)
    # rings of one object are consecutive (ring_owner is nondecreasing): reduce rings to objects
    first = np.flatnonzero(np.r_[True, ring_owner[1:] != ring_owner[:-1]])
    lo = np.minimum.reduceat(lo, first, axis=0)
    hi = np.maximum.reduceat(hi, first, axis=0)
    owners = ring_owner[first]
    out[owners, :2] = lo
    out[owners, 2:] = hi - lo
    return out


def polygonal_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-empty Polygons inside each geometry (collections and multi-parts opened), and
    the index of the geometry each came from."""
    parts = np.asarray(geoms, dtype=object)
    index = np.arange(len(parts))
    while True:
        kind = shapely.get_type_id(parts)
        if not np.isin(kind, (4, 5, 6, 7)).any():  # no multi-geometry or collection left
            break
        parts, at = shapely.get_parts(parts, return_index=True)
        index = index[at]
    keep = (kind == _POLYGON) & ~shapely.is_empty(parts)
    return parts[keep], index[keep]


def polygons_from_rings(
    coords: np.ndarray, ring_sizes: np.ndarray, ring_owner: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """n shapes from COCO polygon rings, and which of them had to be repaired.

    coords: (P, 2) points of all rings, ring after ring; ring k has ring_sizes[k] points
    (at least 3, not repeating the first at the end) and belongs to object ring_owner[k]
    (nondecreasing, in [0, n)). An object is the union of its rings, as COCO merges polygon
    parts. A self-intersecting or otherwise invalid ring is repaired with `shapely.make_valid`,
    keeping its polygonal parts (a ring with no area becomes empty); `repaired` (n,) bool says
    which objects had one. Objects without rings are empty.
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    ring_sizes = np.asarray(ring_sizes, dtype=np.int64)
    ring_owner = np.asarray(ring_owner, dtype=np.int64)
    n_rings = len(ring_sizes)
    # close every ring explicitly: a ring given closed gets a repeated point, which GEOS allows
    ends = np.cumsum(ring_sizes)
    firsts = coords[ends - ring_sizes]
    closed = np.insert(coords, ends, firsts, axis=0)
    ring_of_point = np.repeat(np.arange(n_rings), ring_sizes + 1)
    rings = shapely.polygons(shapely.linearrings(closed, indices=ring_of_point))
    invalid = ~shapely.is_valid(rings)
    repaired = np.zeros(n, bool)
    repaired[ring_owner[invalid]] = True
    if invalid.any():
        rings[invalid] = shapely.make_valid(rings[invalid])
    parts, at = polygonal_parts(rings)
    owner = ring_owner[at]
    count = np.bincount(owner, minlength=n)
    out = np.empty(n, dtype=object)
    out[count == 0] = shapely.Polygon()
    single = count[owner] == 1
    out[owner[single]] = parts[single]
    multi = np.flatnonzero(count > 1)
    if len(multi):
        merged = shapely.multipolygons(parts[~single], indices=np.searchsorted(multi, owner[~single]))
        # overlapping or edge-sharing parts make an invalid MultiPolygon: their union is the object
        overlapping = ~shapely.is_valid(merged)
        merged[overlapping] = shapely.make_valid(merged[overlapping], method="structure")
        out[multi] = merged
    return out, repaired
