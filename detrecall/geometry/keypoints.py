"""Object keypoint similarity (OKS), as pycocotools' computeOks computes it, for many pairs.

OKS of a detection with a ground truth: the mean over the ground truth's visible keypoints of
exp(-d² / (2 s² k²)), d the distance between the keypoints, s² the ground truth's area, k = 2σ
per keypoint. A ground truth without visible keypoints is compared through the distance of each
detected keypoint to the box twice the size of the ground truth's (all keypoints count).
"""

from __future__ import annotations

import numpy as np

# COCO's 17 person keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles)
COCO_SIGMAS = (
    np.array(
        [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
    )
    / 10.0
)


def oks_pairs(
    dt: np.ndarray, gt: np.ndarray, gt_area: np.ndarray, gt_box: np.ndarray, sigmas: np.ndarray
) -> np.ndarray:
    """OKS of each (detection, ground truth) pair: dt and gt (P, K, 3) keypoints (x, y, v),
    gt_area (P,), gt_box (P, 4) xywh, sigmas (K,). Each value as pycocotools computes it,
    operation for operation (its sum over the visible keypoints included)."""
    sigmas = np.asarray(sigmas, np.float64)
    if dt.shape[1:] != (len(sigmas), 3) or gt.shape[1:] != (len(sigmas), 3):
        raise ValueError(f"keypoints {dt.shape[1:]} / {gt.shape[1:]} do not match {len(sigmas)} sigmas")
    variances = (sigmas * 2) ** 2
    xg, yg, vg = gt[:, :, 0], gt[:, :, 1], gt[:, :, 2]
    xd, yd = dt[:, :, 0], dt[:, :, 1]
    visible = vg > 0
    k1 = visible.sum(axis=1)
    x0 = (gt_box[:, 0] - gt_box[:, 2])[:, None]
    x1 = (gt_box[:, 0] + gt_box[:, 2] * 2)[:, None]
    y0 = (gt_box[:, 1] - gt_box[:, 3])[:, None]
    y1 = (gt_box[:, 1] + gt_box[:, 3] * 2)[:, None]
    some = (k1 > 0)[:, None]
    dx = np.where(some, xd - xg, np.maximum(0.0, x0 - xd) + np.maximum(0.0, xd - x1))
    dy = np.where(some, yd - yg, np.maximum(0.0, y0 - yd) + np.maximum(0.0, yd - y1))
    e = (dx**2 + dy**2) / variances / (gt_area[:, None] + np.spacing(1)) / 2
    terms = np.exp(-e)
    counted = np.where(some, visible, True)
    n = counted.sum(axis=1)
    out = np.empty(len(dt))
    for c in np.unique(n).tolist():  # pycocotools sums each row's counted terms with np.sum
        rows = np.flatnonzero(n == c)
        out[rows] = np.sum(terms[rows][counted[rows]].reshape(len(rows), c), axis=1) / c
    return out
