"""Box IoU in numpy, bit-identical to pycocotools' `bbIou` (float64, same operation order)."""

from __future__ import annotations

import numpy as np


def box_iou_pairs(
    dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray, *, pixel_inclusive: bool = False
) -> np.ndarray:
    """IoU of dt[i] with gt[i] for every i, xywh boxes, as pycocotools computes it.

    A crowd ground truth is scored by intersection over the detection's own area.
    `pixel_inclusive`: the Pascal VOC devkit's convention, a box spans x..x+w inclusive, so
    widths, heights and overlaps all get +1 (a box of w = 0 is one pixel wide).
    Returns a (len(dt),) float64 array.
    """
    dx, dy, dw, dh = dt[:, 0], dt[:, 1], dt[:, 2], dt[:, 3]
    gx, gy, gw, gh = gt[:, 0], gt[:, 1], gt[:, 2], gt[:, 3]
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    if pixel_inclusive:
        w, h, dw, dh, gw, gh = w + 1, h + 1, dw + 1, dh + 1, gw + 1, gh + 1
    overlap = (w > 0) & (h > 0)
    inter = w * h
    d_area = dw * dh
    union = np.where(crowd, d_area, d_area + gw * gh - inter)
    out = np.zeros(len(dt), dtype=np.float64)
    np.divide(inter, union, out=out, where=overlap)
    return out


def box_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray | None = None) -> np.ndarray:
    """IoU of every detection with every ground truth, xywh boxes, as pycocotools computes it.

    A crowd ground truth is scored by intersection over the detection's own area.
    Returns a (len(dt), len(gt)) float64 array.
    """
    dt = np.asarray(dt, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    crowd = np.zeros(len(gt), bool) if crowd is None else np.asarray(crowd, dtype=bool)
    d, g = np.divmod(np.arange(len(dt) * len(gt)), max(len(gt), 1))
    return box_iou_pairs(dt[d], gt[g], crowd[g]).reshape(len(dt), len(gt))
