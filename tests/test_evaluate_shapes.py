"""iou_type "polygon" and "rotated" end to end: rectangles evaluate exactly as boxes do (and as
pycocotools does), random polygons as pycocotools' COCOeval with shapely's IoU, streaming."""

from __future__ import annotations

import contextlib
import copy
import io
import math
from typing import Any

import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detrecall import Evaluator, evaluate
from detrecall.geometry.boxes import box_iou
from tests.oracle import random_coco, reference
from tests.test_streaming import assert_same, split


def quarter_pixels(gt: dict, dt: list) -> tuple[dict, list]:
    """Boxes rounded to quarter pixels: corners, centers and areas exact in float64, so shape
    IoUs equal box IoUs to the bit."""
    gt, dt = copy.deepcopy(gt), copy.deepcopy(dt)
    for rec in [*gt["annotations"], *dt]:
        rec["bbox"] = [round(v * 4) / 4 for v in rec["bbox"]]
    return gt, dt


def as_shapes(gt: dict, dt: list, kind: str) -> tuple[dict, list]:
    """Each box as a rotated box at angle 0 (`rbox`) or a rectangle polygon (`segmentation`),
    the `bbox` field removed."""
    gt, dt = copy.deepcopy(gt), copy.deepcopy(dt)
    for rec in [*gt["annotations"], *dt]:
        x, y, w, h = rec.pop("bbox")
        if kind == "rotated":
            rec["rbox"] = [x + w / 2, y + h / 2, w, h, 0]
        else:
            rec["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return gt, dt


def assert_equal_results(a: Any, b: Any) -> None:
    for name in ("precision", "recall", "scores"):
        assert np.array_equal(getattr(a.accumulated, name), getattr(b.accumulated, name)), name
    assert np.array_equal(a.coco.stats, b.coco.stats, equal_nan=True)
    da, db = a.to_dict(), b.to_dict()
    da.pop("iou_type"), db.pop("iou_type")
    assert da == db
    assert np.array_equal(a.point.confusion, b.point.confusion)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["rotated", "polygon"])
def test_rectangles_evaluate_as_boxes_and_as_pycocotools(seed: int, kind: str) -> None:
    gt, dt = quarter_pixels(*random_coco(seed))
    options: dict[str, Any] = {"confusion": True, "class_agnostic": seed % 5 == 4}
    boxes = evaluate(gt, dt, "bbox", **options)
    shapes = evaluate(*as_shapes(gt, dt, kind), kind, **options)
    assert_equal_results(shapes, boxes)
    ref = reference(gt, dt, "bbox", **({"useCats": 0} if options["class_agnostic"] else {}))
    assert_allclose(shapes.coco.stats, ref.stats, atol=1e-9, rtol=0)
    assert_allclose(shapes.accumulated.precision, ref.eval["precision"], atol=1e-9, rtol=0)


def test_rotated_angle_in_degrees() -> None:
    gt, dt = as_shapes(*quarter_pixels(*random_coco(7)), "rotated")
    turned_gt, turned_dt = copy.deepcopy(gt), copy.deepcopy(dt)
    for rec in [*turned_gt["annotations"], *turned_dt]:  # a half turn: the same rectangle
        rec["rbox"][4] = 180
    radians = evaluate(gt, dt, "rotated")
    degrees = evaluate(turned_gt, turned_dt, "rotated", angle_unit="degrees")
    assert_allclose(degrees.accumulated.precision, radians.accumulated.precision, atol=1e-12)
    assert_allclose(degrees.coco.stats, radians.coco.stats, atol=1e-12)


def star_profile(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Angles and radii of a simple star-shaped polygon: angle gaps below pi."""
    k = int(rng.integers(4, 10))
    return (np.arange(k) + rng.uniform(0, 0.9, k)) * 2 * np.pi / k, rng.uniform(0.4, 1.0, k)


def star(profile: tuple[np.ndarray, np.ndarray], x: float, y: float, w: float, h: float) -> list[float]:
    """The star drawn in the box (x, y, w, h)."""
    ang, rad = profile
    px = x + w / 2 + np.cos(ang) * rad * w / 2
    py = y + h / 2 + np.sin(ang) * rad * h / 2
    return np.stack([px, py], 1).ravel().tolist()


def random_polygons(seed: int) -> tuple[dict, list]:
    """random_coco's images, boxes and scores with star polygons in the boxes; some ground
    truths in two parts that may overlap (COCO merges the parts). A result near a ground truth
    draws that ground truth's star, its radii jittered, in its own box."""
    gt, dt = random_coco(seed)
    rng = np.random.default_rng(seed)
    profiles = []
    for ann in gt["annotations"]:
        profiles.append(star_profile(rng))
        x, y, w, h = ann["bbox"]
        ann["segmentation"] = [star(profiles[-1], x, y, w, h)]
        if rng.random() < 0.2:
            ann["segmentation"].append(star(star_profile(rng), x + w / 3, y + h / 4, w, h))
    for res in dt:
        same_image = [k for k, a in enumerate(gt["annotations"]) if a["image_id"] == res["image_id"]]
        ious = box_iou(np.array([res["bbox"]]), np.array([gt["annotations"][k]["bbox"] for k in same_image]))
        if same_image and ious.max() > 0.3:
            ang, rad = profiles[same_image[int(ious.argmax())]]
            profile = (ang, np.clip(rad * rng.normal(1, 0.1, len(rad)), 0.3, 1.0))
        else:
            profile = star_profile(rng)
        res["segmentation"] = [star(profile, *res["bbox"])]
    return gt, dt


def shape_of(rec: dict) -> shapely.Geometry:
    return shapely.union_all([shapely.Polygon(np.reshape(p, (-1, 2))) for p in rec["segmentation"]])


class ShapelyCOCOeval(COCOeval):
    """pycocotools' COCOeval with its IoU computed pair by pair with shapely's scalar functions."""

    def computeIoU(self, imgId: int, catId: int) -> Any:  # noqa: N802 (pycocotools' name)
        p = self.params
        if p.useCats:
            gt, dt = self._gts[imgId, catId], self._dts[imgId, catId]
        else:
            gt = [g for c in p.catIds for g in self._gts[imgId, c]]
            dt = [d for c in p.catIds for d in self._dts[imgId, c]]
        if not gt or not dt:
            return []
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in order][: p.maxDets[-1]]
        out = np.zeros((len(dt), len(gt)))
        for i, d in enumerate(dt):
            a = shape_of(d)
            for j, g in enumerate(gt):
                b = shape_of(g)
                union = a.area if g["iscrowd"] else a.union(b).area
                out[i, j] = a.intersection(b).area / union if union > 0 else 0.0
        return out


def shapely_reference(gt: dict, dt: list, use_cats: bool) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt))  # boxes: loadRes's box branch keeps polygons
        for ann in coco_dt.anns.values():
            ann["area"] = shape_of(ann).area  # a result's area is its shape's
        ev = ShapelyCOCOeval(coco_gt, coco_dt, "bbox")
        ev.params.useCats = int(use_cats)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", range(12))
def test_random_polygons_equal_pycocotools_with_shapely_iou(seed: int) -> None:
    gt, dt = random_polygons(seed)
    if not dt:
        pytest.skip("no results drawn")
    use_cats = seed % 4 != 3
    ours = evaluate(gt, dt, "polygon", class_agnostic=not use_cats)
    ref = shapely_reference(gt, dt, use_cats)
    assert_allclose(ours.coco.stats, ref.stats, atol=1e-9, rtol=0)
    for name in ("precision", "recall", "scores"):
        assert_allclose(getattr(ours.accumulated, name), ref.eval[name], atol=1e-9, rtol=0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["rotated", "polygon"])
def test_streaming_equals_one_pass(seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    if kind == "polygon":
        gt, dt = random_polygons(20 + seed)
    else:
        gt, dt = as_shapes(*random_coco(20 + seed), "rotated")
        for rec in [*gt["annotations"], *dt]:
            rec["rbox"][4] = float(rng.uniform(-math.pi, math.pi))
    options: dict[str, Any] = {"confusion": True, "score_threshold": 0.2}
    whole = evaluate(copy.deepcopy(gt), copy.deepcopy(dt), kind, **options)
    ev = Evaluator(kind, **options)
    for g, d in split(gt, dt, rng, 3):
        ev.update(g, d)
    result = ev.compute()
    assert_same(result, whole)
    assert np.array_equal(result.point.confusion, whole.point.confusion)
