"""Polygon and rotated-box IoU: hand-worked cases, shapely's scalar functions on random shapes,
rotated boxes at angle 0 against box IoU, the angle convention, ring repair."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose

from detrecall.errors import DetrecallError
from detrecall.geometry.boxes import box_iou_pairs
from detrecall.geometry.polygons import (
    polygon_iou,
    polygon_iou_pairs,
    polygons_from_rings,
    ring_bounds,
    rotated_box_bounds,
    rotated_box_polygons,
)


def square(x: float, y: float, side: float) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def iou_of(a: shapely.Geometry, b: shapely.Geometry, crowd: bool = False) -> float:
    return float(polygon_iou_pairs(np.array([a], object), np.array([b], object), np.array([crowd]))[0])


def test_hand_worked_cases() -> None:
    assert iou_of(square(0, 0, 2), square(0, 0, 2)) == 1.0  # equal
    assert iou_of(square(0, 0, 2), square(1, 0, 2)) == 2 / 6  # offset by half: overlap 2, union 6
    assert iou_of(square(0, 0, 2), square(5, 5, 2)) == 0.0  # disjoint
    assert iou_of(square(0, 0, 1), square(-1, -1, 4)) == 1 / 16  # nested: small / large
    assert iou_of(square(0, 0, 2), square(2, 0, 2)) == 0.0  # touching along an edge
    assert iou_of(square(0, 0, 2), square(2, 2, 2)) == 0.0  # touching at a corner
    assert iou_of(shapely.Polygon(), square(0, 0, 2)) == 0.0  # empty
    # crowd: intersection over the detection's area (a 2x2 detection half inside a 4x4 region)
    assert iou_of(square(3, 0, 2), square(0, 0, 4), crowd=True) == 0.5
    assert iou_of(square(3, 0, 2), square(0, 0, 4)) == 2 / (4 + 16 - 2)


def test_square_turned_45_degrees() -> None:
    # a 2x2 square and the same square turned 45° about its center: each of the axis square's
    # corners sticks out by a right isosceles triangle of legs 2 - sqrt(2), so the overlap is
    # 4 - 2 (2 - sqrt 2)^2 = 8 sqrt 2 - 8, the union 16 - 8 sqrt 2, the IoU 1 / sqrt 2
    turned, axis = rotated_box_polygons(np.array([[1, 1, 2, 2, math.pi / 4], [1, 1, 2, 2, 0]]))
    assert_allclose(shapely.area(shapely.intersection(turned, axis)), 8 * math.sqrt(2) - 8, rtol=1e-14)
    assert_allclose(iou_of(turned, axis), 1 / math.sqrt(2), rtol=1e-14)
    assert_allclose(
        rotated_box_bounds(np.array([[1, 1, 2, 2, math.pi / 4]])),
        [[1 - math.sqrt(2), 1 - math.sqrt(2), 2 * math.sqrt(2), 2 * math.sqrt(2)]],
        rtol=1e-14,
    )


def random_shapes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Star-shaped polygons (simple, valid), rotated boxes, some with holes, multi-polygons."""
    out = []
    for _ in range(n):
        cx, cy = rng.uniform(0, 20, 2)
        kind = rng.integers(4)
        if kind == 0:
            k = int(rng.integers(4, 12))  # angle gaps below pi: a simple polygon
            ang = (np.arange(k) + rng.uniform(0, 0.9, k)) * 2 * np.pi / k
            rad = rng.uniform(1, 6, k)
            out.append(shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))
        elif kind == 1:
            out.append(
                rotated_box_polygons(
                    np.array([[cx, cy, *rng.uniform(0.5, 10, 2), rng.uniform(-np.pi, np.pi)]])
                )[0]
            )
        elif kind == 2:
            out.append(
                shapely.Point(cx, cy)
                .buffer(rng.uniform(2, 6))
                .difference(shapely.Point(cx + 0.5, cy).buffer(1))
            )
        else:
            out.append(shapely.MultiPolygon([square(cx, cy, 2), square(cx + 3, cy + 1, 3)]))
    return np.array(out, dtype=object)


@pytest.mark.parametrize("seed", range(5))
def test_pairs_equal_shapely_scalar_functions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dt, gt = random_shapes(rng, 400), random_shapes(rng, 400)
    crowd = rng.random(400) < 0.2
    ours = polygon_iou_pairs(dt, gt, crowd)
    expected = [a.intersection(b).area / (a.area if c else a.union(b).area) for a, b, c in zip(dt, gt, crowd)]
    assert (ours > 0).sum() > 50  # the draw overlaps often enough to test something
    assert_allclose(ours, expected, atol=1e-12, rtol=0)


def test_matrix_and_empty_shapes() -> None:
    a = np.array([square(0, 0, 2), square(1, 0, 2)], object)
    assert_allclose(polygon_iou(a, a), [[1, 1 / 3], [1 / 3, 1]])
    assert polygon_iou(a[:0], a).shape == (0, 2)
    assert polygon_iou(a, a[:0]).shape == (2, 0)


@pytest.mark.parametrize("seed", range(5))
def test_rotated_at_angle_zero_equals_box_iou(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # quarter-pixel coordinates: centers, corners and areas are exact in float64
    dt = np.round(rng.uniform(0, 40, (500, 4)) * 4) / 4
    gt = np.round(rng.uniform(0, 40, (500, 4)) * 4) / 4
    gt[:20] = dt[:20]
    dt[20:30, 2] = 0  # zero width: IoU 0 in both
    crowd = rng.random(500) < 0.2

    def rotated(b: np.ndarray) -> np.ndarray:
        return rotated_box_polygons(np.c_[b[:, :2] + b[:, 2:] / 2, b[:, 2:], np.zeros(len(b))])

    ours = polygon_iou_pairs(rotated(dt), rotated(gt), crowd)
    assert np.array_equal(ours, box_iou_pairs(dt, gt, crowd))
    centered = np.c_[dt[:, :2] + dt[:, 2:] / 2, dt[:, 2:], np.zeros(len(dt))]
    assert np.array_equal(rotated_box_bounds(centered), dt)


def test_angle_convention() -> None:
    # a positive angle turns the width axis from +x towards +y (down in an image): clockwise on
    # screen, as mmrotate, Ultralytics and OpenCV's boxPoints
    thin = rotated_box_polygons(np.array([[0, 0, 4, 0.2, 0.1]]))[0]
    assert thin.contains(shapely.Point(1.9, 0.19))
    assert not thin.contains(shapely.Point(1.9, -0.19))
    # degrees and radians give the same box; a quarter turn swaps width and height
    deg = rotated_box_polygons(np.array([[5, 5, 4, 2, 30.0]]), angle_unit="degrees")[0]
    rad = rotated_box_polygons(np.array([[5, 5, 4, 2, math.pi / 6]]))[0]
    assert_allclose(deg.symmetric_difference(rad).area, 0, atol=1e-12)
    assert_allclose(rotated_box_bounds(np.array([[5, 5, 4, 2, 90.0]]), "degrees"), [[4, 3, 2, 4]], atol=1e-12)
    with pytest.raises(ValueError, match="angle_unit"):
        rotated_box_polygons(np.array([[0, 0, 1, 1, 0]]), angle_unit="turns")  # type: ignore[arg-type]


def test_zero_size_rotated_box_is_empty() -> None:
    shapes = rotated_box_polygons(np.array([[3, 3, 0, 5, 0.3], [3, 3, 2, 0, 0], [3, 3, 2, 2, 0]]))
    assert shapely.is_empty(shapes).tolist() == [True, True, False]
    assert polygon_iou(shapes, shapes).tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_rings_are_merged_and_repaired() -> None:
    coords = np.array(
        [
            [0, 0],
            [2, 0],
            [2, 2],
            [0, 2],  # object 0: a square
            [0, 0],
            [2, 2],
            [2, 0],
            [0, 2],  # object 1: a bow-tie (self-intersecting)
            [0, 0],
            [2, 0],
            [2, 2],
            [0, 2],
            [1, 1],
            [3, 1],
            [3, 3],
            [1, 3],  # object 2: overlapping parts
            [0, 0],
            [1, 1],
            [2, 2],  # object 3: no area
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],  # object 4: a ring given closed (first point repeated)
        ],
        float,
    )
    sizes = np.array([4, 4, 4, 4, 3, 4])
    owner = np.array([0, 1, 2, 2, 3, 4])
    shapes, repaired = polygons_from_rings(coords, sizes, owner, 6)
    assert repaired.tolist() == [False, True, False, True, False, False]
    assert_allclose(shapely.area(shapes), [4, 2, 7, 0, 0.5, 0])  # bow-tie: both triangles kept
    assert shapely.is_valid(shapes).all()
    assert shapely.is_empty(shapes).tolist() == [False, False, False, True, False, True]
    assert_allclose(
        ring_bounds(coords, sizes, owner, 6),
        [[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 3, 3], [0, 0, 2, 2], [0, 0, 1, 1], [0, 0, 0, 0]],
    )


def test_invalid_shapes_that_geos_cannot_intersect_are_refused() -> None:
    bow_tie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    with pytest.raises(DetrecallError, match="shapes must be valid"):
        iou_of(bow_tie, square(0, 0, 2))
