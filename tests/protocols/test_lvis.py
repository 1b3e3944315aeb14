"""The LVIS protocol against the `lvis` package (the LVIS API) on random federated data."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from detrecall.errors import DataWarning, InputError
from tests.oracle import random_coco

LVIS_KEYS = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "APr",
    "APc",
    "APf",
    "AR@300",
    "ARs@300",
    "ARm@300",
    "ARl@300",
)


def random_lvis(seed: int, segm: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """random_coco's data made LVIS-like: no crowds, federated negatives, not-exhaustive
    classes, frequency groups, some images with more than 300 detections (score ties at the cut),
    some ground truth and detections of area 0."""
    rng = np.random.default_rng(10_000 + seed)
    gt, dt = random_coco(seed, segm=segm)
    cat_ids = [c["id"] for c in gt["categories"]]
    for c in gt["categories"]:
        c["frequency"] = str(rng.choice(["r", "c", "f"]))
    for a in gt["annotations"]:
        if a["iscrowd"] and segm:  # crowds carry uncompressed RLE: give them a polygon
            x, y, w, h = a["bbox"]
            a["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        a["iscrowd"] = 0
        if rng.random() < 0.03:
            a["area"] = 0.0
    for im in gt["images"]:
        positive = {a["category_id"] for a in gt["annotations"] if a["image_id"] == im["id"]}
        others = [c for c in cat_ids if c not in positive]
        im["neg_category_ids"] = [int(c) for c in others if rng.random() < 0.5]
        im["not_exhaustive_category_ids"] = [int(c) for c in sorted(positive) if rng.random() < 0.3]
    if not dt:  # the package cannot read an empty results list
        im = gt["images"][0]
        dt.append(
            {"image_id": im["id"], "category_id": cat_ids[0], "score": 0.5, "bbox": [1.0, 1.0, 20.0, 20.0]}
        )
        if segm:
            from pycocotools import mask as mask_utils

            rle = mask_utils.frPyObjects([[1, 1, 21, 1, 21, 21, 1, 21]], im["height"], im["width"])[0]
            dt[-1] = {**dt[-1], "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}}
            del dt[-1]["bbox"]
    if not segm and rng.random() < 0.5:  # crowd one image past the 300 cap
        im = gt["images"][int(rng.integers(len(gt["images"])))]
        base = [d for d in dt if d["image_id"] == im["id"]] or dt[:1]
        for i in range(int(rng.integers(290, 420))):
            d = copy.deepcopy(base[i % len(base)])
            d["image_id"] = im["id"]
            d["category_id"] = int(rng.choice(cat_ids))
            d["bbox"] = [float(np.round(v + rng.normal(0, 2), 2)) for v in d["bbox"][:2]] + d["bbox"][2:]
            d["score"] = float(rng.choice([0.25, 0.5, 0.75]))
            dt.append(d)
    if not segm:
        for d in dt:
            if rng.random() < 0.02:
                d["bbox"][2] = 0.0
    return gt, dt


def lvis_reference(gt: dict[str, Any], dt: list[dict[str, Any]], iou_type: str, tmp: Path) -> Any:
    """The `lvis` package's LVISEval after run(), on copies of the inputs."""
    if not hasattr(np, "float"):
        setattr(np, "float", float)  # noqa: B010 - np.float, removed in NumPy 1.24, used by lvis
    from lvis import LVIS, LVISEval, LVISResults

    path = tmp / "lvis_gt.json"
    path.write_text(json.dumps(gt))
    logging.getLogger("lvis").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        lvis_gt = LVIS(str(path))
        ev = LVISEval(lvis_gt, LVISResults(lvis_gt, copy.deepcopy(dt)), iou_type)
        ev.run()
    return ev


def _cases() -> list[tuple[int, str]]:
    return [(s, "bbox") for s in range(30)] + [(s, "segm") for s in range(100, 106)]


@pytest.mark.parametrize(("seed", "iou_type"), _cases())
def test_lvis_matches_the_lvis_package(seed: int, iou_type: str, tmp_path: Path) -> None:
    gt, dt = random_lvis(seed, segm=iou_type == "segm")
    ref = lvis_reference(gt, dt, iou_type, tmp_path)
    with warnings.catch_warnings():  # the image crowded past the cap may carry another image's boxes
        warnings.simplefilter("ignore", DataWarning)
        ours = evaluate(gt, dt, iou_type, protocol="lvis")
    got = ours.lvis.to_dict()
    for k in LVIS_KEYS:
        want = ref.results[k]
        if want == -1:
            assert got[k] is None, k
        else:
            assert_allclose(got[k], want, atol=1e-9, rtol=0, err_msg=k)
    assert_allclose(ours.accumulated.precision[..., 0], ref.eval["precision"], atol=1e-12, rtol=0)
    assert_allclose(ours.accumulated.recall[..., 0], ref.eval["recall"], atol=1e-12, rtol=0)
    assert ours.coco is None and ours.protocol == "lvis"


def test_lvis_rules_by_hand() -> None:
    # one image, classes 1 (positive, not exhaustive), 2 (negative), 3 (unknown in this image)
    gt = {
        "images": [{"id": 1, "neg_category_ids": [2], "not_exhaustive_category_ids": [1]}],
        "categories": [
            {"id": 1, "name": "a", "frequency": "f"},
            {"id": 2, "name": "b", "frequency": "r"},
            {"id": 3, "name": "c", "frequency": "c"},
        ],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100}],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},  # TP
        {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.95},  # ignored: not exhaustive
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 0.8},  # FP, class without GT
        {"image_id": 1, "category_id": 3, "bbox": [0, 0, 10, 10], "score": 0.99},  # dropped
    ]
    r = evaluate(gt, dt, protocol="lvis")
    one = 1 / (1 + np.spacing(1))  # precision tp / (tp + fp + eps), as COCO and LVIS compute it
    assert r.lvis.AP == one and r.lvis.AR == 1.0
    assert r.lvis.APf == one and math.isnan(r.lvis.APr) and math.isnan(r.lvis.APc)
    assert len(r.matches.det_row) == 3  # the class-3 detection never reaches the matcher
    # the operating point follows the same rules: the not-exhaustive miss is not a false positive
    a, b = r.point.per_class[:2]
    assert (a.tp, a.fp, a.fn, b.tp, b.fp, b.fn) == (1, 0, 0, 0, 1, 0)
    # the same without the not-exhaustive label: the 0.95 detection is a false positive first
    gt["images"][0]["not_exhaustive_category_ids"] = []
    r = evaluate(gt, dt, protocol="lvis")
    assert r.lvis.AP50 == pytest.approx(0.5, abs=1e-15)  # precision 1/2 at recall 1, every point


def test_lvis_needs_its_labels() -> None:
    gt, dt = random_lvis(3)
    del gt["images"][0]["neg_category_ids"]
    with pytest.raises(InputError, match="image 0: neg_category_ids"):
        evaluate(gt, dt, protocol="lvis")
    gt, dt = random_lvis(3)
    gt["categories"][0]["frequency"] = "x"
    with pytest.raises(InputError, match="category 0: frequency"):
        evaluate(gt, dt, protocol="lvis")


def _tiny_lvis() -> dict[str, Any]:
    return {
        "images": [
            {"id": 1, "width": 100, "height": 100, "neg_category_ids": [2], "not_exhaustive_category_ids": []}
        ],
        "categories": [
            {"id": 1, "name": "a", "frequency": "f"},
            {"id": 2, "name": "b", "frequency": "c"},
            {"id": 3, "name": "c", "frequency": "r"},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 0},
        ],
    }


def test_lvis_package_quirks_we_follow(tmp_path: Path) -> None:
    """Documented in README: the cap of 300 counts detections that are dropped afterwards; area-0
    ground truth is not a miss and area-0 detections vanish (the package selects area > 0)."""
    from lvis import LVIS, LVISEval, LVISResults

    gt = _tiny_lvis()
    dt = [
        {"image_id": 1, "category_id": 3, "bbox": [0, 0, 10, 10], "score": 0.99},  # class not evaluated
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 0.95},  # negative: FP slot
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},  # TP, but past a cap of 2
        {"image_id": 1, "category_id": 1, "bbox": [20, 20, 0, 10], "score": 0.8},
    ]  # area 0: gone
    ours = evaluate(gt, dt, protocol="lvis", max_dets=[2])
    lvis_reference(gt, dt, "bbox", tmp_path)  # sets up np.float for the package
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        lvis_gt = LVIS(str(path))
        ev = LVISEval(lvis_gt, LVISResults(lvis_gt, copy.deepcopy(dt), max_dets=2), "bbox")
        ev.params.max_dets = 2
        ev.run()
    assert ours.lvis.AP == 0.0 and ev.results["AP"] == 0.0  # the TP fell past the cap
    full = evaluate(gt, dt, protocol="lvis")
    one = 1 / (1 + np.spacing(1))
    assert full.lvis.AP == one  # one GT counted (area 0 is not), found; the zero-width box vanished
    assert full.lvis.AR == 1.0
    assert len(full.matches.det_row) == 2  # the 0.95 (class 2, no GT: no AP) and the TP


def test_lvis_refuses_class_agnostic(tmp_path: Path) -> None:
    """The package's use_cats=0 looks up (image, -1), finds nothing, and its summary then
    indexes frequency groups into a one-class array: IndexError. detrecall refuses the
    combination with a clear error."""
    from lvis import LVIS, LVISEval

    from detrecall.errors import DetrecallError

    gt = _tiny_lvis()
    dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]
    lvis_reference(gt, dt, "bbox", tmp_path)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        ev = LVISEval(LVIS(str(path)), copy.deepcopy(dt), "bbox")
        ev.params.use_cats = 0
        ev.evaluate()
        ev.accumulate()
        assert (ev.eval["precision"] == -1).all()
        with pytest.raises(IndexError):
            ev.summarize()
    with pytest.raises(DetrecallError, match="per class"):
        evaluate(gt, dt, protocol="lvis", class_agnostic=True)


def test_per_class_recall_is_named_for_its_max_dets() -> None:
    gt, dt = random_lvis(5)
    r = evaluate(gt, dt, protocol="lvis")
    assert "AR300" in r.to_dict()["per_class"][0] and "AR100" not in r.to_dict()["per_class"][0]
    coco = evaluate(gt, dt, max_dets=[1, 5])
    assert {"AR5"} == {k for k in coco.to_dict()["per_class"][0] if k.startswith("AR")}
