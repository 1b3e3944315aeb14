"""Random COCO data and pycocotools as the oracle, shared by the tests."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def _polygon(rng: np.random.Generator, x: float, y: float, w: float, h: float) -> list[float]:
    n = int(rng.integers(3, 9))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(0.5, 1.0, n)
    px = x + w / 2 + np.cos(ang) * rad * w / 2
    py = y + h / 2 + np.sin(ang) * rad * h / 2
    return np.round(np.stack([px, py], 1).ravel(), 2).tolist()


def random_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An h x w uint8 mask: empty, full, one pixel, a few rectangles, or noisy ones of many runs."""
    m = np.zeros((h, w), np.uint8)
    kind = rng.integers(7)
    if kind == 0:
        return m
    if kind == 1:
        return m + 1
    if kind == 2:
        m[rng.integers(h), rng.integers(w)] = 1
        return m
    for _ in range(rng.integers(1, 4)):
        y0, x0 = rng.integers(h), rng.integers(w)
        m[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1)] = 1
    if kind >= 5:  # noisy: many short runs
        m &= rng.random((h, w)) < (0.7 if kind == 5 else 0.4)
    return m


def mask_rles(masks: list[np.ndarray], as_str: bool) -> list[dict[str, Any]]:
    """pycocotools' compressed RLEs of the masks, their counts as str or bytes."""
    if not masks:
        return []
    out: list[dict[str, Any]] = mask_utils.encode(np.asfortranarray(np.stack(masks, axis=2)))
    if as_str:
        for r in out:
            r["counts"] = r["counts"].decode()
    return out


def random_coco(seed: int, segm: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A small random ground truth and results with every case COCO matching has to handle:
    crowds (uncompressed RLE), empty images, images with only detections, classes without
    ground truth, score ties, all size ranges, heavy overlap, ids 0 for images and categories."""
    rng = np.random.default_rng(seed)
    n_img = int(rng.integers(1, 9))
    img_ids = rng.choice(1000, n_img, replace=False).tolist()
    n_cat = int(rng.integers(1, 6))
    cat_ids = sorted(rng.choice(12, n_cat, replace=False).tolist())
    images = [
        {"id": i, "width": int(rng.integers(60, 400)), "height": int(rng.integers(60, 400))} for i in img_ids
    ]
    anns: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    score_levels = rng.choice([3, 10, 1000])
    for im in images:
        W, H = im["width"], im["height"]
        n_gt = int(rng.integers(0, 9)) if rng.random() > 0.15 else 0
        gts = []
        for _ in range(n_gt):
            scale = rng.choice([8, 30, 80, 200])
            w = float(np.round(min(W - 1, rng.uniform(2, scale)), 2))
            h = float(np.round(min(H - 1, rng.uniform(2, scale)), 2))
            x = float(np.round(rng.uniform(0, W - w), 2))
            y = float(np.round(rng.uniform(0, H - h), 2))
            crowd = int(rng.random() < 0.1)
            cat = int(rng.choice(cat_ids[: max(1, n_cat - 1)]))
            ann: dict[str, Any] = {
                "id": len(anns) + 1,
                "image_id": im["id"],
                "category_id": cat,
                "bbox": [x, y, w, h],
                "iscrowd": crowd,
            }
            poly = _polygon(rng, x, y, w, h)
            if segm and crowd:
                m = mask_utils.decode(mask_utils.frPyObjects([poly], H, W))[:, :, 0]
                counts, prev, run = [], 0, 0
                for v in m.ravel(order="F"):
                    if v != prev:
                        counts.append(run)
                        run, prev = 0, v
                    run += 1
                counts.append(run)
                ann["segmentation"] = {"size": [H, W], "counts": counts}
            else:
                ann["segmentation"] = [poly]
            # area: the file's (sometimes unrelated to the box, as with mask areas)
            ann["area"] = float(np.round(w * h * rng.choice([1.0, 0.7, rng.uniform(0.2, 1.5)]), 2))
            anns.append(ann)
            gts.append(ann)
        n_dt = int(rng.integers(0, 16)) if rng.random() > 0.1 else 0
        for _ in range(n_dt):
            if gts and rng.random() < 0.7:
                g = gts[int(rng.integers(len(gts)))]
                x, y, w, h = g["bbox"]
                j = rng.normal(0, 0.15, 4) * np.array([w, h, w, h])
                x, y = max(0.0, x + j[0]), max(0.0, y + j[1])
                w, h = max(1.0, w + j[2]), max(1.0, h + j[3])
                cat = g["category_id"] if rng.random() < 0.85 else int(rng.choice(cat_ids))
            else:
                w, h = rng.uniform(2, 120, 2)
                x, y = rng.uniform(0, W - 1), rng.uniform(0, H - 1)
                cat = int(rng.choice(cat_ids))
            x, y = min(x, W - 2.0), min(y, H - 2.0)
            w, h = max(1.0, min(w, W - x)), max(1.0, min(h, H - y))
            box = [float(np.round(v, 2)) for v in (x, y, w, h)]
            score = float(np.round(rng.random() * score_levels) / score_levels)
            res: dict[str, Any] = {"image_id": im["id"], "category_id": cat, "score": score}
            if segm:
                rle = mask_utils.frPyObjects([_polygon(rng, *box)], H, W)[0]
                rle["counts"] = rle["counts"].decode()
                res["segmentation"] = rle
            else:
                res["bbox"] = box
            results.append(res)
    order = rng.permutation(len(results))
    results = [results[i] for i in order]
    cats = [{"id": c, "name": f"class{c}"} for c in cat_ids]
    return {"images": images, "annotations": anns, "categories": cats}, results


def reference(
    gt: dict[str, Any], dt: list[dict[str, Any]], iou_type: str = "bbox", **params: Any
) -> COCOeval:
    """pycocotools' COCOeval after evaluate/accumulate/summarize, on copies of the inputs."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt)) if dt else COCO()
        if not dt:
            coco_dt.dataset = {"images": gt["images"], "annotations": [], "categories": gt["categories"]}
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for k, v in params.items():
            setattr(ev.params, k, v)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def to_reference_params(**kw: Any) -> dict[str, Any]:
    """detrecall keyword arguments -> pycocotools Params attributes."""
    out: dict[str, Any] = {}
    if "iou_thresholds" in kw:
        out["iouThrs"] = np.asarray(kw["iou_thresholds"], float)
    if "max_dets" in kw:
        out["maxDets"] = sorted(kw["max_dets"])
    if "area_ranges" in kw:
        out["areaRng"] = [list(v) for v in kw["area_ranges"].values()]
        out["areaRngLbl"] = list(kw["area_ranges"])
    if kw.get("class_agnostic"):
        out["useCats"] = 0
    if "image_ids" in kw:
        out["imgIds"] = sorted(kw["image_ids"])
    if "category_ids" in kw:
        out["catIds"] = sorted(kw["category_ids"])
    return out


CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


def conformance_cases(*, voc: bool) -> list[Any]:
    """pytest params (folder, name, case) of ../shared/conformance: the Pascal VOC cases, or
    all the others; one skipped param saying why when the data is not there."""
    if not CONFORMANCE.is_dir():
        return [
            pytest.param(
                None,
                None,
                None,
                marks=pytest.mark.skip(
                    reason=f"conformance data not found at {CONFORMANCE} (../shared/conformance)"
                ),
            )
        ]
    out = []
    for exp in sorted(CONFORMANCE.glob("*/expected.json")):
        for name, case in json.loads(exp.read_text()).items():
            if name.startswith("_") or not isinstance(case, dict) or (case.get("protocol") == "voc") != voc:
                continue
            marks = []
            out.append(pytest.param(exp.parent, name, case, id=f"{exp.parent.name}/{name}", marks=marks))
    return out
