"""Mask geometry on COCO run-length encodings, through pycocotools.mask.

RLEs are dicts {"size": [h, w], "counts": bytes} (compressed), the form pycocotools uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .._compiled import native

RLE = dict[str, Any]
_CHUNK = 255


def polygons_to_rles(polygons: Sequence[Sequence[Sequence[float]]], h: int, w: int) -> list[RLE]:
    """One RLE per object from its polygon parts (all objects of one image size), parts merged."""
    flat = [part for parts in polygons for part in parts]
    if not flat:
        return []
    part_rles = mask_utils.frPyObjects(flat, h, w)  # as pycocotools' annToRLE: the lists as given
    out: list[RLE] = []
    i = 0
    for parts in polygons:
        n = len(parts)
        out.append(part_rles[i] if n == 1 else mask_utils.merge(part_rles[i : i + n]))
        i += n
    return out


def uncompressed_to_rle(rle: RLE) -> RLE:
    """Compressed RLE from an uncompressed one ({"counts": [ints], "size": [h, w]})."""
    h, w = rle["size"]
    compressed: RLE = mask_utils.frPyObjects(rle, h, w)
    return compressed


def box_to_rle(box: Sequence[float], h: int, w: int) -> RLE:
    """The mask of an xywh box drawn as a 4-point polygon, as pycocotools' loadRes does."""
    x1, y1, bw, bh = (float(v) for v in box)
    x2, y2 = x1 + bw, y1 + bh
    return polygons_to_rles([[[x1, y1, x1, y2, x2, y2, x2, y1]]], h, w)[0]


def rle_area(rles: Sequence[RLE]) -> np.ndarray:
    """Pixel count of each mask, float64."""
    # pycocotools 2.0.11 overflows on more than 255 RLEs per call: go in chunks
    rles = list(rles)
    parts = [mask_utils.area(rles[i : i + _CHUNK]) for i in range(0, len(rles), _CHUNK)]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)


def rle_box(rles: Sequence[RLE]) -> np.ndarray:
    """Tight xywh box of each mask, (N, 4) float64."""
    rles = list(rles)
    parts = [mask_utils.toBbox(rles[i : i + _CHUNK]) for i in range(0, len(rles), _CHUNK)]
    return np.concatenate(parts).astype(np.float64).reshape(-1, 4) if parts else np.zeros((0, 4))


def mask_iou(dt: Sequence[RLE], gt: Sequence[RLE], crowd: np.ndarray) -> np.ndarray:
    """IoU of every detection mask with every ground-truth mask, (len(dt), len(gt)) float64.

    A crowd ground truth is scored by intersection over the detection's own area.
    """
    if len(dt) == 0 or len(gt) == 0:
        return np.zeros((len(dt), len(gt)))
    iou = mask_utils.iou(list(dt), list(gt), np.asarray(crowd, dtype=np.uint8))
    return np.asarray(iou, dtype=np.float64).reshape(len(dt), len(gt))


def mask_iou_blocks(
    dt_masks: Sequence[RLE],
    gt_masks: Sequence[RLE],
    dt_rows: np.ndarray,
    gt_rows: np.ndarray,
    blocks: np.ndarray,
    crowd: np.ndarray,
) -> np.ndarray:
    """IoUs of blocks of detections against ground truths: each block (d0, nd, g0, ng) pairs
    dt_masks[dt_rows[d0:d0+nd]] with gt_masks[gt_rows[g0:g0+ng]], detection-major, blocks in
    order; `crowd` by ground-truth row. Compiled (each RLE decoded once) where built and the RLEs
    are well-formed; else one pycocotools call per block. Same values either way."""
    if native is not None:
        got = native.mask_pair_iou(
            tuple(dt_masks),
            tuple(gt_masks),
            np.ascontiguousarray(dt_rows, np.int64),
            np.ascontiguousarray(gt_rows, np.int64),
            np.ascontiguousarray(blocks, np.int64),
            np.ascontiguousarray(crowd, np.uint8),
        )
        if got is not None:
            return np.frombuffer(got)
    blocks = np.asarray(blocks).reshape(-1, 4)
    out = np.empty(int((blocks[:, 1] * blocks[:, 3]).sum()))
    at = 0
    for d0, nd, g0, ng in blocks.tolist():
        rows = gt_rows[g0 : g0 + ng]
        iou = mask_iou(
            [dt_masks[r] for r in dt_rows[d0 : d0 + nd].tolist()],
            [gt_masks[r] for r in rows.tolist()],
            crowd[rows],
        )
        out[at : at + nd * ng] = iou.ravel()
        at += nd * ng
    return out
