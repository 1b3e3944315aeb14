"""Mask geometry on COCO run-length encodings, through pycocotools.mask (polygons through
detrecall/_raster.c where built: the same strings).

RLEs are dicts {"size": [h, w], "counts": str | bytes} (compressed), the form pycocotools uses,
or the readers' columns of them (types.RleMasks, which reads as such dicts and which the mask IoU
kernel reads directly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .._compiled import kernels, native, raster
from ..errors import DetrecallError
from ..types import RleMasks

RLE = dict[str, Any]
_CHUNK = 255


# rle_check's codes (detrecall/_native.c), and what each says about a compressed RLE string
RLE_PROBLEMS = {
    1: "has a character outside pycocotools' '0'..'o'",
    2: "is cut short (its last run length is incomplete)",
    3: "has a run length of more than 7 characters (more than 32-bit counts)",
    4: "has a negative run length",
    5: "has run lengths summing to more than h*w",
    6: "has run lengths summing to less than h*w",
}
MAX_MASK_PIXELS = 2**32 - 1  # pycocotools counts runs and areas in 32-bit unsigned integers


def rle_counts_problem(counts: str | bytes, h: int, w: int) -> int:
    """What is wrong with a compressed RLE string of an h x w mask (h, w > 0), as pycocotools'
    rleFrString reads it: 0 when its runs are all >= 0 and add up to h*w, else a key of
    RLE_PROBLEMS. The pure-Python twin of `_native.rle_check`'s per-string check."""
    data = counts.encode("latin-1", "replace") if isinstance(counts, str) else bytes(counts)
    if isinstance(counts, str) and not counts.isascii():
        return 1
    total, pos, k, prev1, prev2 = h * w, 0, 0, 0, 0
    i, n = 0, len(data)
    while i < n:
        c = data[i] - 48
        i += 1
        if not 0 <= c <= 63:
            return 1
        x, shift = c & 0x1F, 5
        while c & 0x20:
            if i >= n:
                return 2
            if shift == 35:
                return 3
            c = data[i] - 48
            i += 1
            if not 0 <= c <= 63:
                return 1
            x |= (c & 0x1F) << shift
            shift += 5
        if c & 0x10:
            x -= 1 << shift
        if k > 2:
            x += prev2
        if x < 0:
            return 4
        if x > total - pos:
            return 5
        pos += x
        prev2, prev1 = prev1, x
        k += 1
    return 0 if pos == total else 6


def first_bad_rle(counts: Sequence[str | bytes], sizes: np.ndarray) -> tuple[int, int] | None:
    """(index, RLE_PROBLEMS key) of the first compressed RLE string that is not a well-formed
    mask of its (h, w) (sizes: (N, 2), h, w >= 1 and h*w < 2**63), or None: compiled where built,
    else `rle_counts_problem` string by string (same answer, slower)."""
    sizes = np.ascontiguousarray(sizes, np.int64).reshape(-1, 2)
    if native is not None:
        found: tuple[int, int] | None = native.rle_check(list(counts), sizes)
        return found
    for i, (c, (h, w)) in enumerate(zip(counts, sizes.tolist())):
        code = rle_counts_problem(c, h, w)
        if code:
            return i, code
    return None


POLYGON_COORDINATE_LIMIT = 4e8  # |coordinate| * 5 + 0.5 stays below 2**31


def polygon_bounds(h: int, w: int) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of the polygon vertices rasterized on an h x w image: one
    image size (max(h, w)) around it, and never beyond what pycocotools' rleFrPoly holds (it
    scales coordinates by 5 into 32-bit ints, and costs time and memory by the perimeter: a
    vertex at 4.3e8 crashes it). Vertices further out are refused by the readers."""
    side = max(h, w)
    cap = POLYGON_COORDINATE_LIMIT
    return max(-side, -cap), min(w + side, cap), max(-side, -cap), min(h + side, cap)


def polygons_to_rles(polygons: Sequence[Sequence[Sequence[float]]], h: int, w: int) -> list[RLE]:
    """One RLE per object from its polygon parts (all objects of one image size), parts merged.
    Every vertex must lie within `polygon_bounds(h, w)` and h*w within MAX_MASK_PIXELS
    (a DetrecallError otherwise: the readers check first and name the record). Compiled where
    built (`_raster.polygon_rles`), else pycocotools' frPyObjects and merge: the same strings."""
    if not polygons:
        return []
    if h <= 0 or w <= 0 or h * w > MAX_MASK_PIXELS:
        raise DetrecallError(f"cannot rasterize polygons on an image of {h}x{w} (height x width) pixels")
    counts: list[bytes] | None = None
    if raster is not None:  # None: something to refuse or for pycocotools to read, by the twin
        counts = raster.polygon_rles(polygons, h, w)
    if counts is None:
        counts = [r["counts"] for r in _polygons_to_rles_pycocotools(polygons, h, w)]
    size = (int(h), int(w))
    return [{"size": size, "counts": c} for c in counts]


def _polygons_to_rles_pycocotools(polygons: Sequence[Sequence[Sequence[float]]], h: int, w: int) -> list[RLE]:
    """`polygons_to_rles` through pycocotools (the twin of `_raster.polygon_rles`)."""
    flat = [part for parts in polygons for part in parts]
    if not flat:
        return []
    if not vertices_within(flat, h, w):
        raise DetrecallError(f"a polygon vertex lies more than one image size outside the {h}x{w} image")
    part_rles = mask_utils.frPyObjects(flat, h, w)  # as pycocotools' annToRLE: the lists as given
    out: list[RLE] = []
    i = 0
    for parts in polygons:
        n = len(parts)
        out.append(part_rles[i] if n == 1 else mask_utils.merge(part_rles[i : i + n]))
        i += n
    return out


def vertices_within(parts: Sequence[Sequence[float]], h: int, w: int) -> bool:
    """Whether every vertex of the parts (flat x1, y1, x2, y2, ... lists) lies within
    `polygon_bounds(h, w)`: one array for all parts when each has an even length (x at even
    positions of the whole then), else part by part."""
    x0, x1, y0, y1 = polygon_bounds(h, w)
    if all(len(p) % 2 == 0 for p in parts):
        xy = np.fromiter((c for p in parts for c in p), np.float64).reshape(-1, 2)
        x, y = xy[:, 0], xy[:, 1]
        return bool(((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).all())
    for part in parts:
        xs, ys = part[0::2], part[1::2]
        if min(xs) < x0 or max(xs) > x1 or min(ys) < y0 or max(ys) > y1:
            return False
    return True


def first_odd_polygon(
    segmentations: Sequence[Any], heights: np.ndarray, widths: np.ndarray, start: int
) -> int:
    """The index (>= start) of the first record whose segmentation is a list (of polygons) the
    caller must check itself, or -1: compiled (`_raster.first_odd_polygon`), every list that is
    not plainly valid on its image (heights, widths: one per record) — a non-empty list of
    lists of >= 6, an even number of, finite ints or floats within `polygon_bounds`, the image
    within MAX_MASK_PIXELS; else every list (the caller's checks then run on each)."""
    if raster is not None:
        found: int = raster.first_odd_polygon(
            segmentations if isinstance(segmentations, list) else list(segmentations),
            np.ascontiguousarray(heights, np.int64),
            np.ascontiguousarray(widths, np.int64),
            start,
        )
        return found
    return next((i for i in range(start, len(segmentations)) if isinstance(segmentations[i], list)), -1)


def plain_uncompressed_to_rle(counts: list[Any], h: int, w: int) -> RLE | None:
    """The compressed RLE of run lengths `counts` of an h x w mask when they are plain ints >= 0
    adding up to h*w, compiled (`_raster.uncompressed_rle`: `uncompressed_to_rle`'s string,
    with no array made); else None, and the caller checks them and calls `uncompressed_to_rle`
    (so it does wherever the module is not built)."""
    if raster is None:
        return None
    string: bytes | None = raster.uncompressed_rle(counts, h, w)
    return None if string is None else {"size": [int(h), int(w)], "counts": string}


def uncompressed_to_rle(rle: RLE) -> RLE:
    """Compressed RLE from an uncompressed one ({"counts": [ints], "size": [h, w]})."""
    h, w = rle["size"]
    compressed: RLE = mask_utils.frPyObjects(rle, h, w)
    return compressed


def box_to_rle(box: Sequence[float], h: int, w: int) -> RLE:
    """The mask of an xywh box drawn as a 4-point polygon, as pycocotools' loadRes does; the
    box is first clipped to one pixel around the image, which gives the same mask (pixels
    outside are not drawn) at a cost bounded by the image, not by the box."""
    x1, y1, bw, bh = (float(v) for v in box)
    x2, y2 = x1 + bw, y1 + bh
    x1, x2 = min(max(x1, -1.0), w + 1.0), min(max(x2, -1.0), w + 1.0)
    y1, y2 = min(max(y1, -1.0), h + 1.0), min(max(y2, -1.0), h + 1.0)
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
    threads: int = 1,
) -> np.ndarray:
    """IoUs of blocks of detections against ground truths: each block (d0, nd, g0, ng) pairs
    dt_masks[dt_rows[d0:d0+nd]] with gt_masks[gt_rows[g0:g0+ng]], detection-major, blocks in
    order; `crowd` by ground-truth row. Compiled where built and the RLEs are well-formed (each
    decoded once): `_kernels.mask_iou` on `threads` threads, reading RleMasks' columns directly;
    else one pycocotools call per block. Same values either way, for any thread count."""
    if kernels is not None:
        got = kernels.mask_iou(
            dt_masks if isinstance(dt_masks, RleMasks) else tuple(dt_masks),
            gt_masks if isinstance(gt_masks, RleMasks) else tuple(gt_masks),
            np.ascontiguousarray(dt_rows, np.int64),
            np.ascontiguousarray(gt_rows, np.int64),
            np.ascontiguousarray(blocks, np.int64),
            np.ascontiguousarray(crowd, np.uint8),
            threads,
        )
        if got is not None:  # None: an RLE the kernel does not take, for pycocotools
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


def flat_polygons_to_rles(
    coords: np.ndarray,
    part_lengths: np.ndarray,
    part_counts: np.ndarray,
    heights: np.ndarray,
    widths: np.ndarray,
    threads: int = 1,
) -> list[RLE] | None:
    """The RLEs `polygons_to_rles` gives ({"size": (h, w), "counts": bytes}, the same strings),
    one per object, of objects given as flat columns: float64 `coords` (every part's x1, y1, x2,
    y2, ... one after another), the number of coordinates of each part, the number of parts of
    each object, and each object's own image height and width. Compiled only
    (`_raster.flat_polygon_rles`, on up to `threads` threads, the same strings for any count):
    None where it is not built, or when an object is not one `polygons_to_rles` draws (no part,
    a part of fewer than 6 or an odd number of coordinates, a vertex outside `polygon_bounds`,
    an image outside MAX_MASK_PIXELS): the caller then takes its general path, which names the
    record."""
    rles: list[RLE] | None = _flat_polygon_rles(
        coords, part_lengths, part_counts, heights, widths, threads, True
    )
    return rles


def flat_polygon_strings(
    coords: np.ndarray,
    part_lengths: np.ndarray,
    part_counts: np.ndarray,
    heights: np.ndarray,
    widths: np.ndarray,
    threads: int = 1,
) -> list[bytes] | None:
    """`flat_polygons_to_rles`' strings alone (bytes, no dict each), for a reader that keeps
    them as RleMasks columns; None as there."""
    strings: list[bytes] | None = _flat_polygon_rles(
        coords, part_lengths, part_counts, heights, widths, threads, False
    )
    return strings


def _flat_polygon_rles(
    coords: np.ndarray,
    part_lengths: np.ndarray,
    part_counts: np.ndarray,
    heights: np.ndarray,
    widths: np.ndarray,
    threads: int,
    dicts: bool,
) -> Any:
    """`_raster.flat_polygon_rles` on contiguous columns: RLE dicts, or their strings alone."""
    if raster is None:
        return None
    return raster.flat_polygon_rles(
        np.ascontiguousarray(coords, np.float64),
        np.ascontiguousarray(part_lengths, np.int64),
        np.ascontiguousarray(part_counts, np.int64),
        np.ascontiguousarray(heights, np.int64),
        np.ascontiguousarray(widths, np.int64),
        threads,
        dicts,
    )


def flat_uncompressed_to_rles(
    runs: np.ndarray, run_counts: np.ndarray, heights: np.ndarray, widths: np.ndarray
) -> list[bytes] | None:
    """The compressed strings `plain_uncompressed_to_rle` gives of run lists given as flat int64
    columns (every list's runs one after another, and the length of each) with each one's
    mask height and width; None where `_raster` is not built or a list is not plain (empty, a
    run < 0, runs not adding up to h*w, a size outside MAX_MASK_PIXELS)."""
    if raster is None:
        return None
    strings: list[bytes] | None = raster.flat_uncompressed_rles(
        np.ascontiguousarray(runs, np.int64),
        np.ascontiguousarray(run_counts, np.int64),
        np.ascontiguousarray(heights, np.int64),
        np.ascontiguousarray(widths, np.int64),
    )
    return strings
