"""Boundary IoU against faster-coco-eval (the reference detrecall follows) and
ultrafast-pycocotools (which rounds the band width differently): the bands mask by mask, their
IoUs, and whole evaluations on random and real masks (the 12 numbers and the precision array).

Where the references differ, and where detrecall stands:
- d = dilation_ratio x image diagonal at an exact half: faster-coco-eval rounds it down (its
  round(x - 1e-10)), ultrafast-pycocotools up. 375 x 500, a common COCO size, is 12.5 at 0.02:
  d = 12 for faster-coco-eval, the boundary-iou-api (Python's round) and detrecall; 13 for
  ultrafast-pycocotools.
- images at most 2d pixels high: faster-coco-eval's erosion wraps from one column into the
  next and keeps pixels that a (2d+1) square erosion removes; detrecall erodes exactly there,
  as ultrafast-pycocotools and faster-coco-eval's own OpenCV backend (the boundary-iou-api's
  code) do.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import faster_coco_eval.core.mask as fce_mask  # the test extra installs both references
import numpy as np
import pytest
import ultrafast_pycocotools.mask as ultrafast_mask
from numpy.testing import assert_allclose
from pycocotools import mask as mask_utils

from detrecall import evaluate
from detrecall.errors import DetrecallError
from detrecall.geometry.boundary import (
    boundary_bands,
    boundary_iou_pairs,
    boundary_rles,
    dilation_pixels,
    encode_runs,
    rle_runs,
)
from tests.oracle import CONFORMANCE, random_coco


def random_masks(seed: int, h: int, w: int, n: int) -> list[dict[str, Any]]:
    """Unions of boxes with pixel noise, plus an empty and a full mask: runs that cross
    columns, holes, masks cut by every border."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        m = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 4))):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y : y + int(rng.integers(1, h + 1)), x : x + int(rng.integers(1, w + 1))] = 1
        if i % 2:
            m[rng.random((h, w)) < 0.05] ^= 1
        if i == n - 1:
            m[:] = 0
        if i == n - 2:
            m[:] = 1
        out.append(mask_utils.encode(np.asfortranarray(m)))
    return out


def decoded(rle: dict[str, Any]) -> np.ndarray:
    return mask_utils.decode(rle)


SIZES = [(48, 64), (60, 80), (90, 37), (37, 90), (120, 33), (45, 60), (75, 100), (375, 500), (200, 7)]


@pytest.mark.parametrize("ratio", [0.02, 0.05, 0.1])
@pytest.mark.parametrize(("h", "w"), SIZES)
def test_bands_equal_faster_coco_eval(h: int, w: int, ratio: float) -> None:
    rles = random_masks(h * 1000 + w, h, w, 12)
    d = int(dilation_pixels(np.array([h]), np.array([w]), ratio)[0])
    if h <= 2 * d:
        pytest.skip("faster-coco-eval's erosion wraps across columns there (test_short_images)")
    ours = boundary_rles(rles, ratio)
    for rle, band in zip(rles, ours):
        reference = fce_mask.rleToBoundary(dict(rle), ratio)
        assert band["counts"] == reference["counts"]  # the same canonical RLE string
        assert band["size"] == [h, w]


def test_dilation_rounding_at_halves() -> None:
    """faster-coco-eval's round(x - 1e-10): halves go down; ultrafast-pycocotools' go up."""
    h, w = np.array([45, 75, 105, 375, 480]), np.array([60, 100, 140, 500, 640])
    assert dilation_pixels(h, w, 0.02).tolist() == [1, 2, 3, 12, 16]  # 1.5, 2.5, 3.5, 12.5, 16.0
    assert dilation_pixels(np.array([1, 10]), np.array([1, 10]), 0.02).tolist() == [1, 1]  # at least 1
    assert dilation_pixels(np.array([0]), np.array([0]), 0.0).tolist() == [1]


@pytest.mark.parametrize(("h", "w", "ours", "theirs"), [(75, 100, 2, 3), (375, 500, 12, 13)])
def test_ultrafast_rounds_halves_up(h: int, w: int, ours: int, theirs: int) -> None:
    """Where ultrafast-pycocotools differs: at an exact half its band is one pixel wider, and
    equal to ours of that width."""
    rles = random_masks(h + w, h, w, 6)
    assert dilation_pixels(np.array([h]), np.array([w]), 0.02)[0] == ours
    mine = boundary_rles(rles, 0.02)
    wider = boundary_bands(rles, theirs)
    changed = 0
    for rle, band, band_wide in zip(rles, mine, wider):
        reference = ultrafast_mask.toBoundary(dict(rle), 0.02)
        assert np.array_equal(decoded(reference), decoded(band_wide))
        changed += not np.array_equal(decoded(reference), decoded(band))
    assert changed >= 3  # the unions of boxes and the full mask (noisy masks are all band at d >= 12)


@pytest.mark.parametrize(("h", "w", "ratio"), [(2, 30, 0.02), (3, 40, 0.05), (5, 90, 0.05), (1, 12, 0.1)])
def test_short_images(h: int, w: int, ratio: float) -> None:
    """Images at most 2d high: detrecall erodes exactly (as ultrafast-pycocotools and the
    boundary-iou-api's OpenCV code); faster-coco-eval's C++ keeps some pixels there."""
    rles = random_masks(h * 7 + w, h, w, 30)
    d = int(dilation_pixels(np.array([h]), np.array([w]), ratio)[0])
    assert h <= 2 * d
    ours = boundary_rles(rles, ratio)
    fce_differs = 0
    for rle, band in zip(rles, ours):
        mask = decoded(rle).astype(bool)
        padded = np.pad(mask, d)
        interior = np.ones_like(mask)
        for dy in range(-d, d + 1):
            for dx in range(-d, d + 1):
                interior &= padded[d + dy : d + dy + h, d + dx : d + dx + w]
        assert np.array_equal(decoded(band).astype(bool), mask & ~interior)
        assert np.array_equal(decoded(ultrafast_mask.toBoundary(dict(rle), ratio)), decoded(band))
        fce_differs += not np.array_equal(decoded(fce_mask.rleToBoundary(dict(rle), ratio)), decoded(band))
    if h >= 2:
        assert fce_differs > 0


def test_opencv_backend_of_faster_coco_eval_agrees_on_short_images() -> None:
    pytest.importorskip("cv2")
    rles = random_masks(5, 3, 40, 20)
    for rle, band in zip(rles, boundary_rles(rles, 0.05)):
        assert np.array_equal(decoded(fce_mask.rleToBoundaryCV(dict(rle), 0.05)), decoded(band))


def test_band_ious_equal_pycocotools_on_reference_bands() -> None:
    rng = np.random.default_rng(0)
    rles = random_masks(1, 60, 80, 30)
    dt_rows, gt_rows = rng.integers(0, 30, 400), rng.integers(0, 30, 400)
    ours = boundary_iou_pairs(rles, rles, dt_rows, gt_rows, 0.05)
    bands = [fce_mask.rleToBoundary(dict(r), 0.05) for r in rles]
    want = [mask_utils.iou([bands[d]], [bands[g]], [0])[0, 0] for d, g in zip(dt_rows, gt_rows)]
    assert np.array_equal(ours, want)  # the same pixel counts, the same division
    assert len(boundary_iou_pairs(rles, rles, dt_rows[:0], gt_rows[:0])) == 0


def test_runs_round_trip_pycocotools_strings() -> None:
    rles = random_masks(2, 33, 47, 20) + random_masks(3, 1, 1, 3)
    runs, offsets = rle_runs(rles)
    assert [s for s in encode_runs(runs, offsets)] == [r["counts"] for r in rles]
    as_str = [{"size": r["size"], "counts": r["counts"].decode()} for r in rles]
    assert np.array_equal(rle_runs(as_str)[0], runs)
    big = [
        {"size": [70000, 70000], "counts": mask_utils.encode(np.ones((2, 2), np.uint8, order="F"))["counts"]}
    ]
    with pytest.raises(DetrecallError, match="h\\*w"):
        rle_runs(big)
    with pytest.raises(DetrecallError, match="cut short"):
        rle_runs([{"size": [2, 2], "counts": b"1a"}])


# ------------------------------------------------------------------------- whole evaluations


def faster_coco_eval_boundary(gt: dict, dt: list, ratio: float = 0.02, **params: Any) -> Any:
    from faster_coco_eval import COCO, COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(copy.deepcopy(gt))
        ev = COCOeval_faster(
            coco_gt, coco_gt.loadRes(copy.deepcopy(dt)), "boundary", boundary_dilation_ratio=ratio
        )
        for k, v in params.items():
            setattr(ev.params, k, v)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def ultrafast_boundary(gt: dict, dt: list, ratio: float = 0.02) -> Any:
    from ultrafast_pycocotools import COCO, COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(dt)), "boundary", boundary_dilation_ratio=ratio)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_same(result: Any, reference: Any) -> None:
    assert_allclose(result.coco.stats, np.asarray(reference.stats[:12]), atol=1e-9, rtol=0)
    assert_allclose(result.accumulated.precision, reference.eval["precision"], atol=1e-9, rtol=0)
    assert_allclose(result.accumulated.recall, reference.eval["recall"], atol=1e-9, rtol=0)


def half_diagonal(gt: dict, ratio: float) -> bool:
    """Whether an image's ratio x diagonal is within 1e-6 of a half (the references round it apart)."""
    h = np.array([im["height"] for im in gt["images"]], float)
    w = np.array([im["width"] for im in gt["images"]], float)
    x = ratio * np.sqrt(h * h + w * w)
    return bool(np.any(np.abs(x - np.floor(x) - 0.5) < 1e-6))


CASES = [(seed, 0.02) for seed in range(8)] + [(8, 0.05), (9, 0.01)]


@pytest.mark.parametrize(("seed", "ratio"), CASES)
def test_random_cases_equal_faster_coco_eval(seed: int, ratio: float) -> None:
    gt, dt = random_coco(seed, segm=True)
    assert dt, "a case with detections"
    result = evaluate(gt, dt, "boundary", dilation_ratio=ratio)
    assert_same(result, faster_coco_eval_boundary(gt, dt, ratio))
    if not half_diagonal(gt, ratio):  # and ultrafast-pycocotools, away from exact halves
        assert_same(result, ultrafast_boundary(gt, dt, ratio))


def pair_ious(gt: Any, dt: Any, iou_type: str) -> np.ndarray:
    from detrecall.evaluate import make_config, read_inputs
    from detrecall.matching import pair_ious as ious_of
    from detrecall.matching import plan

    config = make_config(iou_type)
    gt_set, dt_set = read_inputs(gt, dt, config)
    return ious_of(iou_type, plan(gt_set, dt_set, config.params), gt_set, dt_set)


def test_random_cases_have_crowds_and_bands_that_matter() -> None:
    """The cases test what they should: crowds (uncompressed RLE), and boundary IoUs below
    the mask IoUs of pairs that could match (never above them)."""
    crowds = lower = matchable = 0
    for seed, _ in CASES:
        gt, dt = random_coco(seed, segm=True)
        crowds += sum(a["iscrowd"] for a in gt["annotations"])
        mask, boundary = pair_ious(gt, dt, "segm"), pair_ious(gt, dt, "boundary")
        assert np.all(boundary <= mask)
        lower += int(np.sum(boundary < mask))
        matchable += int(np.sum((boundary < mask) & (mask >= 0.5)))
    assert crowds >= 3 and lower >= 30 and matchable >= 3


def test_class_agnostic_equals_faster_coco_eval() -> None:
    gt, dt = random_coco(3, segm=True)
    result = evaluate(gt, dt, "boundary", class_agnostic=True)
    assert_same(result, faster_coco_eval_boundary(gt, dt, useCats=0))


def _segm_cases() -> list[Any]:
    if not CONFORMANCE.is_dir():
        return [
            pytest.param(None, None, marks=pytest.mark.skip(reason=f"no conformance data at {CONFORMANCE}"))
        ]
    out = []
    for exp in sorted(CONFORMANCE.glob("*/expected.json")):
        for name, case in json.loads(exp.read_text()).items():
            if isinstance(case, dict) and case.get("iou_type") == "segm" and not case.get("params"):
                out.append(pytest.param(exp.parent, case, id=f"{exp.parent.name}/{name}"))
    return out


def _load(folder: Path, case: dict) -> tuple[dict, list]:
    gt = json.loads((folder / case["gt"]).read_text())
    dt = json.loads((folder / case["dt"]).read_text())
    return gt, dt["annotations"] if isinstance(dt, dict) else dt


@pytest.mark.parametrize(("folder", "case"), _segm_cases())
def test_real_masks_equal_faster_coco_eval(folder: Path, case: dict) -> None:
    gt, dt = _load(folder, case)
    result = evaluate(folder / case["gt"], folder / case["dt"], "boundary")
    assert_same(result, faster_coco_eval_boundary(gt, dt))
    if folder.name == "cocoapi":  # real COCO masks: boundary IoU is not mask IoU
        segm = evaluate(folder / case["gt"], folder / case["dt"], "segm").coco.stats
        assert np.abs(result.coco.stats - segm).max() > 0.01


def test_real_masks_where_ultrafast_differs() -> None:
    """COCO val2014's 375 x 500 images: ultrafast-pycocotools' 13-pixel bands (ours: 12) move
    its numbers by up to ~1e-3; with those images' masks banded at 13 they are its bands."""
    folder = CONFORMANCE / "cocoapi"
    if not folder.is_dir():
        pytest.skip(f"no conformance data at {CONFORMANCE}")
    case = json.loads((folder / "expected.json").read_text())["val2014_100_segm"]
    gt, dt = _load(folder, case)
    half = {im["id"] for im in gt["images"] if (im["height"], im["width"]) in ((375, 500), (500, 375))}
    assert half
    ours = evaluate(gt, dt, "boundary").coco.stats
    theirs = np.asarray(ultrafast_boundary(gt, dt).stats[:12])
    assert 1e-4 < np.abs(ours - theirs).max() < 1e-2
    masks = [a["segmentation"] for a in dt if a["image_id"] in half][:40]
    masks = [m if isinstance(m, dict) else None for m in masks]
    rles = [m for m in masks if m is not None]
    for rle, band in zip(rles, boundary_bands(rles, 13)):
        assert np.array_equal(decoded(ultrafast_mask.toBoundary(dict(rle), 0.02)), decoded(band))


def test_dilation_ratio_is_checked() -> None:
    gt, dt = random_coco(0, segm=True)
    with pytest.raises(DetrecallError, match="dilation_ratio"):
        evaluate(gt, dt, "segm", dilation_ratio=0.02)
    with pytest.raises(DetrecallError, match="dilation_ratio must be a number"):
        evaluate(gt, dt, "boundary", dilation_ratio=-1.0)
    assert evaluate(gt, dt, "boundary").params.dilation_ratio == 0.02
