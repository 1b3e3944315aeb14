"""torchmetrics' MeanAveragePrecision(backend="pycocotools") on fixed cases, run in a fresh
process: `python -m tests.compat._torchmetrics_cases OUT.pkl {pycocotools,detrecall}` pickles
each case's compute() output as numpy (ious as {key: array or []}); with "detrecall",
detrecall.compat.install() runs first, so torchmetrics' own `from pycocotools.cocoeval import
COCOeval` gets detrecall's."""

from __future__ import annotations

import pickle
import sys
import warnings
from typing import Any

import numpy as np


def _masks(rng: np.random.Generator, boxes: np.ndarray, h: int, w: int) -> np.ndarray:
    """An ellipse inside each xyxy box (some crossing the box edge), (N, h, w) bool."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((len(boxes), h, w), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        rx, ry = (
            max((x2 - x1) / 2, 1.0) * rng.uniform(0.9, 1.1),
            max((y2 - y1) / 2, 1.0) * rng.uniform(0.9, 1.1),
        )
        out[i] = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    return out


def random_inputs(
    seed: int, *, n_img: int = 6, n_cls: int = 3, segm: bool = False, crowd: bool = False, area: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """torchmetrics-style preds and targets (xyxy boxes), numpy; near-duplicates of the ground
    truth and noise, score ties, empty images on either side."""
    rng = np.random.default_rng(seed)
    h, w = 48, 64
    preds, targets = [], []
    for i in range(n_img):
        n_gt = int(rng.integers(0, 6)) if i else 0
        xy = rng.uniform(0, [w - 8, h - 8], (n_gt, 2))
        wh = rng.uniform(3, 30, (n_gt, 2))
        gt = np.concatenate([xy, np.minimum(xy + wh, [w, h])], 1)
        labels = rng.integers(0, n_cls, n_gt)
        jitter = gt + rng.normal(0, 0.8, gt.shape)
        noise_xy = rng.uniform(0, [w - 8, h - 8], (int(rng.integers(0, 4)), 2))
        noise = np.concatenate([noise_xy, noise_xy + rng.uniform(2, 20, noise_xy.shape)], 1)
        keep = rng.random(n_gt) < 0.8
        dt = np.concatenate([jitter[keep], noise]) if i != n_img - 1 else np.zeros((0, 4))
        dt[:, 2:] = np.maximum(dt[:, 2:], dt[:, :2] + 0.5)
        d_labels = np.concatenate([labels[keep], rng.integers(0, n_cls, len(noise))])[: len(dt)]
        scores = np.round(rng.uniform(0, 1, len(dt)), 1)  # ties
        target: dict[str, Any] = {"boxes": gt.astype(np.float32), "labels": labels.astype(np.int64)}
        pred: dict[str, Any] = {
            "boxes": dt.astype(np.float32),
            "scores": scores.astype(np.float32),
            "labels": d_labels.astype(np.int64),
        }
        if segm:
            target["masks"] = _masks(rng, gt, h, w)
            pred["masks"] = _masks(rng, dt, h, w)
        if crowd:
            target["iscrowd"] = (rng.random(n_gt) < 0.25).astype(np.int64)
        if area:
            target["area"] = rng.uniform(50, 2000, n_gt).astype(np.float32)
        preds.append(pred)
        targets.append(target)
    return preds, targets


def _convert(boxes: np.ndarray, fmt: str) -> np.ndarray:
    x1, y1, x2, y2 = boxes.T
    if fmt == "xywh":
        return np.stack([x1, y1, x2 - x1, y2 - y1], 1).astype(np.float32)
    if fmt == "cxcywh":
        return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1).astype(np.float32)
    return boxes


# name -> (metric keywords, input keywords, how): how is "random", "empty_preds", "empty_targets"
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "bbox": ({}, {"seed": 1}, "random"),
    "bbox_xywh": ({"box_format": "xywh"}, {"seed": 2}, "random"),
    "bbox_cxcywh": ({"box_format": "cxcywh"}, {"seed": 3}, "random"),
    "bbox_crowd_area": ({}, {"seed": 4, "crowd": True, "area": True}, "random"),
    "bbox_class_metrics": ({"class_metrics": True}, {"seed": 5}, "random"),
    "bbox_extended": ({"extended_summary": True}, {"seed": 6}, "random"),
    "bbox_thresholds": (
        {
            "iou_thresholds": [0.3, 0.55, 0.8],
            "rec_thresholds": [0.0, 0.2, 0.5, 0.9],
            "max_detection_thresholds": [1, 3, 50],
            "extended_summary": True,
        },
        {"seed": 7},
        "random",
    ),
    "bbox_macro": ({"average": "macro", "class_metrics": True}, {"seed": 8}, "random"),
    "segm": ({"iou_type": "segm"}, {"seed": 9, "segm": True}, "random"),
    "segm_class_metrics_extended": (
        {"iou_type": "segm", "class_metrics": True, "extended_summary": True},
        {"seed": 10, "segm": True, "crowd": True},
        "random",
    ),
    "bbox_and_segm": (
        {"iou_type": ("bbox", "segm"), "class_metrics": True, "extended_summary": True},
        {"seed": 11, "segm": True},
        "random",
    ),
    "empty_preds": ({}, {"seed": 12}, "empty_preds"),
    "empty_targets": ({}, {"seed": 13}, "empty_targets"),
    "empty_segm_preds": ({"iou_type": "segm"}, {"seed": 14, "segm": True}, "empty_preds"),
}


def run_case(name: str) -> dict[str, Any]:
    import torch
    from torchmetrics.detection.mean_ap import MeanAveragePrecision

    metric_kw, input_kw, how = CASES[name]
    preds, targets = random_inputs(**input_kw)
    fmt = metric_kw.get("box_format", "xyxy")
    if how == "empty_preds":
        preds = [
            {**p, "boxes": np.zeros((0, 4), np.float32), "scores": p["scores"][:0], "labels": p["labels"][:0]}
            for p in preds
        ]
        if "masks" in preds[0]:
            preds = [{**p, "masks": np.zeros((0, 48, 64), bool)} for p in preds]
    if how == "empty_targets":
        targets = [{**t, "boxes": np.zeros((0, 4), np.float32), "labels": t["labels"][:0]} for t in targets]
    metric = MeanAveragePrecision(backend="pycocotools", **metric_kw)
    for p, t in zip(preds, targets):  # one update per image: several batches
        tp = {k: torch.from_numpy(_convert(v, fmt) if k == "boxes" else v) for k, v in p.items()}
        tt = {k: torch.from_numpy(_convert(v, fmt) if k == "boxes" else v) for k, v in t.items()}
        metric.update([tp], [tt])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = metric.compute()
    return {key: _plain(value) for key, value in out.items()}


def _plain(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numpy().copy()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def main() -> None:
    out_path, backend = sys.argv[1], sys.argv[2]
    if backend == "detrecall":
        import detrecall.compat

        detrecall.compat.install()
    results: dict[str, Any] = {}
    for name in CASES:
        try:
            results[name] = run_case(name)
        except Exception as err:  # noqa: BLE001 (reported to the test, compared there)
            results[name] = {"error": f"{type(err).__name__}: {err}"}
    import pycocotools.cocoeval
    import torchvision

    results["__cocoeval__"] = pycocotools.cocoeval.COCOeval.__module__
    results["__torchvision__"] = (torchvision.__version__, torchvision.__file__)
    with open(out_path, "wb") as f:
        pickle.dump(results, f)


if __name__ == "__main__":
    main()
