"""COCO JSON: an "instances" ground-truth file and a results file, into Dataset / Detections
and back out.

Reading follows pycocotools' COCO() and loadRes() where they define numbers (which area a result
gets, which box a mask result gets) and refuses, with a located InputError, what they would
crash on or silently get wrong.

Writing gives files that pycocotools and `read_ground_truth` / `read_detections` read with the
same numbers. Ground truth keeps boxes, areas, crowd flags and masks (compressed RLE); an
ignored row gets `ignore: 1` (detrecall and the lvis package honour it; pycocotools does not).
Annotation ids are kept when they are positive and unique, else numbered 1, 2, ... in row
order. A detection gets its `bbox` unless its area came from its mask (area != w*h): a results
file with boxes has areas w*h for pycocotools, so such a detection is written as a mask alone.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._compiled import native
from .._memory import reusing
from .._sort import positions, take_rows
from ..errors import InputError
from ..geometry import masks as M
from ..types import Categories, Dataset, Detections, Images, RleMasks
from ._common import sort_rows, take_masks
from ._problems import LIMIT, Problems, warn_data, with_hints
from ._records import (
    Columns,
    _describe,
    _has_bool,
    _is_int,
    check_boxes,
    check_ids_known,
    open_regular,
    parse_json,
    read_file,
    read_file_buffer,
    read_json,
    write_json,
)
from ._suspicious import warn_suspicious_results

if TYPE_CHECKING:  # shapely is imported only when shapes are read, msgspec when it decodes
    import msgspec

    from ..geometry.polygons import AngleUnit
    from .shapes import ShapeKind

# A ground-truth source: a path, or the parsed instances dict. A results source: a path, the
# parsed list of results, or a whole COCO dataset dict (its annotations are the results).
GroundTruthSource = str | os.PathLike[str] | Mapping[str, Any]
DetectionsSource = str | os.PathLike[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any]

_RLE_CHARS = bytes(range(48, 112))  # pycocotools' compressed counts use chars '0'..'o'
# numpy scalars too: dicts built in Python often carry them, and pycocotools takes them.
_NUMBER_TYPES = {int, float, *(np.dtype(c).type for c in "bhilqBHILQefd")}


def _as_list(data: Any, key: str, source: str, *, required: bool = True) -> list[Any]:
    if key not in data:
        if required:
            raise InputError(f"missing key {key!r} (expected a COCO instances file)", source=source)
        return []
    value = data[key]
    if not isinstance(value, list):
        raise InputError(f"{key!r} is {type(value).__name__}, expected a list", source=source)
    return value


def _read_images(records: list[Any], source: str) -> Images:
    cols = Columns(records, source, "image")
    cols.check_objects()
    ids = cols.ints("id")
    width = cols.ints("width", default=0)
    height = cols.ints("height", default=0)
    for field, values in (("width", width), ("height", height)):
        if (values < 0).any():
            i = int(np.flatnonzero(values < 0)[0])
            raise cols.error(i, field, f"is {int(values[i])} (expected a size >= 0; 0 or none: unknown)")
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    dup = np.flatnonzero(ids[1:] == ids[:-1])
    if len(dup):
        raise cols.error(int(order[dup[0] + 1]), "id", f"{int(ids[dup[0]])} appears twice")
    names = [r.get("file_name") for r in records]
    picked = map(names.__getitem__, order.tolist())
    if set(map(type, names)) == {str}:  # as parsed: each its own str(), one pass
        file_names = tuple(picked)
    else:
        file_names = tuple("" if name is None else str(name) for name in picked)
    return Images(
        ids=ids, width=width[order], height=height[order], file_names=file_names if any(file_names) else None
    )


def _check_ann_ids(cols: Columns, ann_id: np.ndarray) -> None:
    """Annotation ids, where given, are unique: pycocotools indexes annotations by id, so of two
    with one id it keeps one and counts the other twice (its numbers are then not the file's)."""
    # a missing id reads as -1: only the given ones are compared
    given = np.flatnonzero(cols.has("id")) if (ann_id == -1).any() else np.arange(len(ann_id))
    ids = ann_id[given]
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(dup):
        j = int(dup[0])
        first, second = int(given[order[j]]), int(given[order[j + 1]])
        raise cols.error(
            second,
            "id",
            f"{int(ann_id[second])} is also the id of {cols.where(first)} "
            "(expected unique annotation ids: pycocotools keeps one of the two)",
        )


def _read_categories(records: list[Any], source: str, used: np.ndarray) -> Categories:
    if not records:  # no categories listed: the ones the annotations use, named by id
        ids = np.unique(used)
        return Categories(ids=ids, names=tuple(str(int(i)) for i in ids))
    cols = Columns(records, source, "category")
    cols.check_objects()
    ids = cols.ints("id")
    names = [r.get("name", str(r["id"])) for r in records]
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    dup = np.flatnonzero(ids[1:] == ids[:-1])
    if len(dup):
        raise cols.error(int(order[dup[0] + 1]), "id", f"{int(ids[dup[0]])} appears twice")
    return Categories(ids=ids, names=tuple(str(names[i]) for i in order.tolist()))


def _image_sizes(images: Images, image_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos = np.searchsorted(images.ids, image_id)
    return images.height[pos], images.width[pos]


def _read_masks(cols: Columns, rows: Sequence[int], heights: np.ndarray, widths: np.ndarray) -> list[Any]:
    """Compressed RLEs from the `segmentation` field of the given records, validated before
    any pycocotools call (what it would crash on or misread is a located error).

    Polygons (list of [x1, y1, x2, y2, ...]) need the image size, their vertices within one
    image size of the image; RLEs need a size [h, w] with h, w >= 1 and h*w < 2**32 and runs
    adding up to h*w. How mask sizes relate to the image and to the other side is checked by
    `_check_gt_mask_sizes` and `_check_result_mask_sizes`. Polygon records that are plainly
    valid are told in one compiled pass (`geometry.masks.first_odd_polygon`); the checks below
    run on the others, in file order with the rest, and every image size is rasterized at once.
    """
    records = cols.records
    out: list[Any] = [None] * len(records)
    rows = list(rows)
    segs = [records[i].get("segmentation") for i in rows]
    hs = np.asarray(heights, np.int64)[rows]
    ws = np.asarray(widths, np.int64)[rows]
    odd = M.first_odd_polygon(segs, hs, ws, 0)
    polys: list[int] = []  # positions in rows
    compressed: list[int] = []
    for k, (i, seg) in enumerate(zip(rows, segs)):
        if isinstance(seg, list):
            if k == odd:
                h, w, image = int(hs[k]), int(ws[k]), records[i]["image_id"]
                _check_polygons(cols, i, seg)
                if h <= 0 or w <= 0:
                    raise cols.error(
                        i,
                        "segmentation",
                        f"is a polygon but image {image} has no width/height to rasterize it",
                    )
                _check_raster_size(cols, i, "segmentation", h, w, f"image {image}")
                _check_polygon_bounds(cols, i, seg, h, w, image)
                odd = M.first_odd_polygon(segs, hs, ws, k + 1)
            polys.append(k)
        elif seg is None:
            raise cols.error(i, "segmentation", "missing (expected polygons or an RLE)")
        elif isinstance(seg, dict):
            size = seg.get("size")
            counts = seg.get("counts")
            if not (isinstance(size, list) and len(size) == 2 and all(map(_is_int, size))):
                raise cols.error(i, "segmentation.size", f"is {_describe(size)} (expected [h, w])")
            _check_raster_size(cols, i, "segmentation.size", size[0], size[1], "the mask")
            if isinstance(counts, list) and (plain := M.plain_uncompressed_to_rle(counts, size[0], size[1])):
                out[i] = plain
            elif isinstance(counts, list):
                try:
                    runs = np.asarray(counts) if counts else np.zeros(0, np.int64)
                except (ValueError, TypeError, OverflowError):
                    runs = np.zeros(0, object)
                if runs.dtype.kind not in "iu" or runs.ndim != 1 or _has_bool(counts) or (runs < 0).any():
                    raise cols.error(i, "segmentation.counts", "has a non-integer or negative run length")
                if int(runs.sum()) != size[0] * size[1]:
                    raise cols.error(
                        i,
                        "segmentation.counts",
                        f"run lengths sum to {int(runs.sum())}, expected h*w = {size[0] * size[1]}",
                    )
                out[i] = M.uncompressed_to_rle({"size": size, "counts": counts})
            elif isinstance(counts, (str, bytes)):
                out[i] = seg
                compressed.append(i)
            else:
                raise cols.error(
                    i,
                    "segmentation.counts",
                    f"is {_describe(counts)} (expected an RLE string or a list of run lengths)",
                )
        else:
            raise cols.error(i, "segmentation", f"is {_describe(seg)} (expected polygons or an RLE object)")
    _check_rle_strings(cols, compressed)
    _check_rle_runs(
        cols, compressed, [out[i]["counts"] for i in compressed], [out[i]["size"] for i in compressed]
    )
    if polys:
        at = np.asarray(polys)
        sizes, group = np.unique(np.stack([hs[at], ws[at]], axis=1), axis=0, return_inverse=True)
        group = group.ravel()
        order = at[np.argsort(group, kind="stable")].tolist()
        ends = np.cumsum(np.bincount(group, minlength=len(sizes))).tolist()
        begin = 0
        for (h, w), end in zip(sizes.tolist(), ends):
            these = order[begin:end]
            for k, rle in zip(these, M.polygons_to_rles([segs[k] for k in these], h, w)):
                out[rows[k]] = rle
            begin = end
    return out


def _check_raster_size(cols: Columns, i: int, field: str, h: int, w: int, what: str) -> None:
    """A mask of h x w pixels that pycocotools handles: h, w >= 1, h*w < 2**32 (its runs and
    areas are 32-bit; a side of 0 makes its toBbox divide by zero)."""
    if h <= 0 or w <= 0:
        raise cols.error(i, field, f"{what} is {h}x{w} (height x width; expected both >= 1)")
    if h * w > M.MAX_MASK_PIXELS:
        raise cols.error(
            i,
            field,
            f"{what} is {h}x{w} (height x width): {h * w} pixels, more than the 2**32 - 1 "
            "that pycocotools' 32-bit run lengths hold",
        )


def _check_polygon_bounds(cols: Columns, i: int, seg: list[Any], h: int, w: int, image: Any) -> None:
    """Every vertex within one image size of the image (`geometry.masks.polygon_bounds`):
    pycocotools crashes on far-out ones and spends time and memory by the perimeter."""
    x0, x1, y0, y1 = M.polygon_bounds(h, w)
    for part in seg:
        xs, ys = part[0::2], part[1::2]
        if min(xs) < x0 or max(xs) > x1 or min(ys) < y0 or max(ys) > y1:
            k = next(k for k in range(len(xs)) if not (x0 <= xs[k] <= x1 and y0 <= ys[k] <= y1))
            raise cols.error(
                i,
                "segmentation",
                f"has a vertex ({xs[k]:g}, {ys[k]:g}) more than one image size outside image {image} "
                f"({w}x{h}, width x height; expected x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}])",
            )


def _check_rle_runs(cols: Columns, rows: Sequence[int], counts: Sequence[Any], sizes: Any) -> None:
    """Name the first record whose compressed RLE string does not decode to runs >= 0 that add
    up to h*w (pycocotools reads such a string without a word: its area and IoUs are garbage).
    `sizes`: the (h, w) of each, already checked by `_check_raster_size`."""
    if not len(rows):
        return
    found = M.first_bad_rle(list(counts), np.asarray(sizes, np.int64).reshape(-1, 2))
    if found is not None:
        k, code = found
        raise cols.error(
            int(rows[k]),
            "segmentation.counts",
            f"{M.RLE_PROBLEMS[code]} (expected a compressed RLE of the {_size_text(sizes[k])} mask)",
        )


def _size_text(size: Any) -> str:
    h, w = (int(v) for v in size)
    return f"{h}x{w}"


def _mask_sizes(masks: Sequence[Any]) -> np.ndarray:
    """(N, 2) int64 (h, w) of each RLE (RleMasks': their sizes column)."""
    if isinstance(masks, RleMasks):
        return masks.sizes
    return np.array([m["size"] for m in masks], np.int64).reshape(-1, 2)


def _check_gt_mask_sizes(cols: Columns, image_id: np.ndarray, masks: Sequence[Any]) -> None:
    """The masks of one image all have one size (a result mask is compared with all of them;
    pycocotools gives IoU -1 for masks of different sizes). Records in file order."""
    if not len(masks):
        return
    size = _mask_sizes(masks)
    order = np.argsort(image_id, kind="stable")
    s, img = size[order], image_id[order]
    bad = np.flatnonzero((img[1:] == img[:-1]) & (s[1:] != s[:-1]).any(axis=1))
    if len(bad):
        j = int(bad[0])
        a, b = int(order[j]), int(order[j + 1])
        raise cols.error(
            b,
            "segmentation",
            f"is a {_size_text(size[b])} mask but {cols.where(a)} on the same image "
            f"{int(img[j])} is {_size_text(size[a])} (height x width; expected one mask size per image)",
        )


def _check_result_mask_sizes(cols: Columns, gt: Dataset, image_id: np.ndarray, size: np.ndarray) -> None:
    """Each result mask has the size of the ground-truth masks of its image, or where that has
    none, of the image itself (when known): else pycocotools' IoU is -1, silently. Masks of both
    sides that agree with each other but not with the image's width/height are evaluated as
    they are (pycocotools computes their IoUs), with a DataWarning."""
    im_h, im_w = _image_sizes(gt.images, image_id)
    ref_h, ref_w = im_h.copy(), im_w.copy()
    has_gt = np.zeros(len(image_id), bool)
    if gt.masks is not None and len(gt.masks) and len(image_id):
        gt_size = _mask_sizes(gt.masks)
        images, first = np.unique(gt.image_id, return_index=True)
        pos = np.minimum(np.searchsorted(images, image_id), len(images) - 1)
        has_gt = images[pos] == image_id
        ref_h = np.where(has_gt, gt_size[first[pos], 0], ref_h)
        ref_w = np.where(has_gt, gt_size[first[pos], 1], ref_w)
    bad = (ref_h > 0) & (ref_w > 0) & ((size[:, 0] != ref_h) | (size[:, 1] != ref_w))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        whose = (
            f"image {int(image_id[i])}'s ground-truth masks are"
            if has_gt[i]
            else f"image {int(image_id[i])} is"
        )
        raise cols.error(
            i,
            "segmentation.size",
            f"is {size[i].tolist()} but {whose} {int(ref_h[i])}x{int(ref_w[i])} (height x width)",
        )
    off = has_gt & (im_h > 0) & (im_w > 0) & ((ref_h != im_h) | (ref_w != im_w))
    if off.any():
        i = int(np.flatnonzero(off)[0])
        warn_data(
            cols.source,
            int(off.sum()),
            "result mask(s) of the size of their image's ground-truth masks but not of the "
            f"image's width/height, evaluated as given, as pycocotools does (image "
            f"{int(image_id[i])}: masks {int(ref_h[i])}x{int(ref_w[i])}, image "
            f"{int(im_h[i])}x{int(im_w[i])}, height x width)",
            cols.where(i),
        )


def _check_polygons(cols: Columns, i: int, seg: list[Any]) -> None:
    if not seg:
        raise cols.error(i, "segmentation", "is an empty polygon list")
    for part in seg:
        if not isinstance(part, list) or not set(map(type, part)) <= _NUMBER_TYPES:
            raise cols.error(i, "segmentation", f"has part {_describe(part)} (expected numbers)")
        if len(part) < 6 or len(part) % 2:
            raise cols.error(
                i,
                "segmentation",
                f"has a polygon of {len(part)} coordinates (expected an even number, at least 6)",
            )
        try:
            finite = all(map(math.isfinite, part))  # a sum can overflow to inf from finite values
        except OverflowError:  # an int beyond the float range
            raise cols.error(i, "segmentation", "has a polygon coordinate beyond the float range") from None
        if not finite:
            raise cols.error(i, "segmentation", "has a non-finite polygon coordinate")


def _valid_rle_strings(counts: list[str | bytes]) -> bool:
    """Every compressed RLE string uses pycocotools' characters '0'..'o' only (one pass)."""
    strings = [c for c in counts if isinstance(c, str)]
    if len(strings) == len(counts):
        joined = "".join(strings)
        return joined.isascii() and not joined.encode("ascii").translate(None, _RLE_CHARS)
    return not b"".join(
        c.encode("latin-1", "replace") if isinstance(c, str) else c for c in counts
    ).translate(None, _RLE_CHARS)


def _check_rle_strings(cols: Columns, rows: list[int], counts: list[str | bytes] | None = None) -> None:
    """Name the first record whose compressed RLE string is not valid; `counts` (of `rows`, in
    order) when the caller has them, else they are read from the records."""
    if counts is None:
        counts = [cols.records[i]["segmentation"]["counts"] for i in rows]
    if _valid_rle_strings(counts):
        return
    for i, c in zip(rows, counts):
        if not _valid_rle_strings([c]):
            raise cols.error(
                i, "segmentation.counts", "is not a valid compressed RLE string (characters '0'-'o')"
            )


def _flags(cols: Columns, field: str) -> np.ndarray:
    """(N,) bool from an optional 0/1 field (default 0)."""
    raw = [a.get(field, 0) for a in cols.records]
    try:
        arr = np.asarray(raw) if raw else np.zeros(0, bool)
    except (ValueError, TypeError, OverflowError):  # a list in one record: named below
        arr = np.zeros(len(raw), object)
    if arr.dtype.kind not in "biu" or arr.ndim != 1 or not np.isin(arr, (0, 1)).all():
        for i, v in enumerate(raw):
            if not (isinstance(v, (bool, int)) and v in (0, 1)):
                raise cols.error(i, field, f"is {_describe(v)} (expected 0 or 1)")
    return arr.astype(bool)


def _threads(threads: int | None) -> int:
    """The readers' thread count, as evaluate's: options.resolve_threads (imported here, not on
    the read path's import)."""
    from ..options import resolve_threads

    return resolve_threads(threads)


@reusing
def read_ground_truth(
    source: GroundTruthSource,
    *,
    masks: bool = False,
    shapes: ShapeKind | None = None,
    angle_unit: AngleUnit = "radians",
    name: str | None = None,
    read_ignore: bool = True,
    threads: int | None = None,
) -> Dataset:
    """Ground truth from a COCO instances file (path) or its parsed dict (`name`: what to call
    it in messages).

    `masks=True` also reads every annotation's segmentation into RLE (needed for segm); from a
    file the polygons are drawn on up to `threads` threads (the same masks for any count; None:
    options.resolve_threads, $DETRECALL_THREADS or the CPUs of this process's affinity).
    `shapes="polygon"` reads the `segmentation` polygons, `shapes="rotated"` the `rbox` field,
    into shapely shapes (io.shapes); the box is then the shape's bounds.
    A missing `area` is the mask or shape area (when read) or w*h; `iscrowd` defaults to 0.
    An annotation's optional `ignore: 1` marks it ignored (Dataset.ignore), as the lvis package
    reads it; pycocotools overwrites that field with `iscrowd` (`read_ignore=False` does too).
    """
    if isinstance(source, (str, os.PathLike)):
        raw = read_file(source)
        if shapes is None:
            threads = _threads(threads)
            fast = _fast_ground_truth(raw, name or str(source), read_ignore, masks, threads)
            if fast is not None:
                return fast
        data, read_name = parse_json(raw, str(source)), str(source)
    else:
        data, read_name = source, "<in-memory>"
    name = name or read_name
    if not isinstance(data, dict):
        raise InputError(
            f"is a JSON {type(data).__name__}, expected a COCO object with 'images', "
            "'annotations' and 'categories' (is this a results file?)",
            source=name,
        )
    images = _read_images(_as_list(data, "images", name), name)
    anns = _as_list(data, "annotations", name)
    cols = Columns(anns, name, "annotation")
    cols.check_objects()
    image_id = cols.ints("image_id")
    category_id = cols.ints("category_id")
    categories = _read_categories(_as_list(data, "categories", name, required=False), name, category_id)
    check_ids_known(cols, "image_id", image_id, images.ids, "the file's images")
    check_ids_known(cols, "category_id", category_id, categories.ids, "the file's categories")
    ann_id = cols.ints("id", default=-1)
    _check_ann_ids(cols, ann_id)
    iscrowd = _flags(cols, "iscrowd")
    ignore = _flags(cols, "ignore") if read_ignore else np.zeros(len(anns), bool)
    has_box = cols.has("bbox")
    rle: list[Any] | None = None
    if masks:
        h, w = _image_sizes(images, image_id)
        rle = _read_masks(cols, range(len(anns)), h, w)
        _check_gt_mask_sizes(cols, image_id, rle)
    geo = None
    if shapes is not None:
        from .shapes import read_shapes

        geo = read_shapes(cols, shapes, angle_unit)
    if geo is not None:
        box = geo.box
    elif has_box.all():
        box = cols.boxes("bbox")
    elif rle is not None:  # boxes missing: the mask's tight box, as pycocotools' toBbox
        box = cols.boxes("bbox", rows=np.flatnonzero(has_box))
        missing = np.flatnonzero(~has_box)
        box[missing] = M.rle_box([rle[i] for i in missing.tolist()])
    else:
        raise cols.error(int(np.flatnonzero(~has_box)[0]), "bbox", "missing (expected [x, y, w, h])")
    has_area = cols.has("area")
    if has_area.all():
        area = cols.floats("area")
    else:
        area = np.zeros(len(anns))
        given = np.flatnonzero(has_area)
        area[given] = Columns([anns[i] for i in given.tolist()], name, "annotation").floats("area")
    if (area < 0).any():  # a given area: what the size ranges compare
        i = int(np.flatnonzero(area < 0)[0])
        raise cols.error(i, "area", f"is {float(area[i])} (expected an area >= 0)")
    if not has_area.all():
        missing = np.flatnonzero(~has_area)
        if geo is not None:
            area[missing] = geo.area[missing]
        elif rle is not None:
            area[missing] = M.rle_area([rle[i] for i in missing.tolist()])
        else:
            area[missing] = box[missing, 2] * box[missing, 3]
    order = sort_rows(image_id, category_id)
    return Dataset(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(box, order, axis=0),
        area=area[order],
        iscrowd=iscrowd[order],
        ann_id=ann_id[order],
        images=images,
        categories=categories,
        masks=take_masks(rle, order),
        source=name,
        shapes=None if geo is None else geo.geoms[order],
        ignore=ignore[order],
    )


def _fast_ground_truth(
    raw: bytes, name: str, read_ignore: bool, masks: bool = False, threads: int = 1
) -> Dataset | None:
    """The Dataset of a COCO instances file read for boxes, or with `masks` (no shapes), through
    the compiled parser: the annotations straight into columns (their boxes and areas checked
    there) and so are the images when they are of the plain form; the rest of the file
    (categories, info, odd images: small) is parsed by parse_json with those cut out, and read as
    the general path reads it. The masks: `_fast_masks`. None when the parser leaves the file
    alone or anything in it is wrong: the general path then reads it again and names the problem
    in its own words."""
    if native is None or (masks and M.raster is None):
        return None
    got = native.ground_truth(raw, read_ignore, masks)
    if got is None:
        return None
    _, start, end, ids, image, category, bbox, given_area, crowd, flagged, present, table, *segm = got
    cut = sorted([(start, end)] + ([] if table is None else [table[:2]]))
    whole, at = memoryview(raw), 0
    pieces: list[bytes | memoryview] = []
    for a, b in cut:  # the parsed members' values become [] for parse_json
        pieces += [whole[at:a], b"[]"]
        at = b
    try:
        data = parse_json(b"".join([*pieces, whole[at:]]), name)
        images = _read_images(_as_list(data, "images", name), name) if table is None else _images(*table[2:])
        if images is None:
            return None
        image_id, category_id = np.frombuffer(image, np.int64), np.frombuffer(category, np.int64)
        categories = _read_categories(_as_list(data, "categories", name, required=False), name, category_id)
        cols = Columns((), name, "annotation")
        check_ids_known(cols, "image_id", image_id, images.ids, "the file's images")
        check_ids_known(cols, "category_id", category_id, categories.ids, "the file's categories")
    except InputError:
        return None
    given = np.frombuffer(present, np.uint8)
    ann_id = np.frombuffer(ids, np.int64)
    if not _distinct(ann_id[(given & 1).astype(bool)] if (ann_id == -1).any() else ann_id):
        return None  # _check_ann_ids names the two
    box, area = np.frombuffer(bbox).reshape(-1, 4), np.frombuffer(given_area)
    has_area = (given & 2).astype(bool)
    order = sort_rows(image_id, category_id)
    rle: RleMasks | None = None
    if masks:
        got_masks = _fast_masks(segm[0], images, image_id, order, threads)
        if got_masks is None:
            return None
        rle = got_masks
        has_box = (given & 4).astype(bool)
        if not has_box.all():  # the mask's tight box, as the general path
            missing = np.flatnonzero(~has_box)
            box = box.copy()
            box[missing] = M.rle_box([rle[i] for i in missing.tolist()])
        if not has_area.all():
            missing = np.flatnonzero(~has_area)
            area = area.copy()
            area[missing] = M.rle_area([rle[i] for i in missing.tolist()])
    elif not has_area.all():
        area = np.where(has_area, area, box[:, 2] * box[:, 3])
    return Dataset(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(box, order, axis=0),  # box[order]'s rows, 3x faster for (N, 4)
        area=area[order],
        iscrowd=np.frombuffer(crowd, bool)[order],
        ann_id=ann_id[order],
        images=images,
        categories=categories,
        masks=take_masks(rle, order),
        source=name,
        ignore=np.frombuffer(flagged, bool)[order],
    )


def _fast_masks(
    segm: tuple[Any, ...], images: Images, image_id: np.ndarray, order: np.ndarray, threads: int = 1
) -> RleMasks | None:
    """The masks `_read_masks` and `_check_gt_mask_sizes` give, in file order, from the compiled
    parser's segmentation columns (`_native.ground_truth` with masks: the compressed RLEs as
    their dicts, the runs and the RLE sizes checked there): polygons drawn from the flat columns
    on their images (`geometry.masks.flat_polygons_to_rles`, on `threads`), uncompressed RLEs compressed
    (`flat_uncompressed_to_rles`). None when either refuses one or an image has masks of two
    sizes (`order`: the rows by image), for the general path to name. Their strings go straight
    into one RleMasks (no dict per mask)."""
    kinds, sizes, coords, part_len, parts, runs, run_len, compressed = segm
    kind = np.frombuffer(kinds, np.uint8)
    size = np.frombuffer(sizes, np.int64).reshape(-1, 2).copy()
    poly, crowd = np.flatnonzero(kind == 0), np.flatnonzero(kind == 2)
    heights, widths = _image_sizes(images, image_id[poly])
    size[poly, 0], size[poly, 1] = heights, widths
    s, img = size[order], image_id[order]
    if ((img[1:] == img[:-1]) & (s[1:] != s[:-1]).any(axis=1)).any():
        return None
    drawn = M.flat_polygon_strings(
        np.frombuffer(coords),
        np.frombuffer(part_len, np.int64),
        np.frombuffer(parts, np.int64),
        heights,
        widths,
        max(1, threads),
    )
    plain = M.flat_uncompressed_to_rles(
        np.frombuffer(runs, np.int64), np.frombuffer(run_len, np.int64), size[crowd, 0], size[crowd, 1]
    )
    if drawn is None or plain is None:
        return None
    strings = drawn
    if len(poly) != len(kind):
        strings = [b""] * len(kind)
        for i, counts in zip(poly.tolist(), drawn):
            strings[i] = counts
        for i, counts in zip(crowd.tolist(), plain):
            strings[i] = counts
        for i, rle in zip(np.flatnonzero(kind == 1).tolist(), compressed):
            strings[i] = rle["counts"].encode()
    ends = np.cumsum(np.fromiter(map(len, strings), np.int64, len(strings)))
    return RleMasks.of_strings(np.frombuffer(b"".join(strings), np.uint8), ends, size)


def _images(ids: bytearray, width: bytearray, height: bytearray, names: list[str]) -> Images | None:
    """`_read_images` of the compiled parser's columns (widths and heights >= 0 already; a
    missing or null file name ""); None when an id appears twice (named by `_read_images`)."""
    image_id = np.frombuffer(ids, np.int64)
    order = np.argsort(image_id, kind="stable")
    image_id = image_id[order]
    if (image_id[1:] == image_id[:-1]).any():
        return None
    file_names = tuple(map(names.__getitem__, order.tolist()))
    return Images(
        ids=image_id,
        width=np.frombuffer(width, np.int64)[order],
        height=np.frombuffer(height, np.int64)[order],
        file_names=file_names if any(file_names) else None,
    )


def _distinct(ids: np.ndarray) -> bool:
    """No id twice: a bitmap over their span when it is small (ids numbered 1, 2, ... mostly
    are), else a sort."""
    if len(ids) < 2:
        return True
    low, span = int(ids.min()), int(ids.max()) - int(ids.min()) + 1
    if span <= 8 * len(ids) + 1024:
        seen = np.zeros(span, bool)
        seen[ids - low] = True
        return int(np.count_nonzero(seen)) == len(ids)
    ordered = np.sort(ids)
    return not (ordered[1:] == ordered[:-1]).any()


def _results_list(data: Any, name: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        annotations: list[Any] = data["annotations"]  # a whole COCO dataset: its annotations
        return annotations
    raise InputError(
        f"is a JSON {type(data).__name__}, expected a list of results "
        "(or a COCO dataset whose 'annotations' are the results)",
        source=name,
    )


def _file_buffer(source: Any) -> bytearray | None:
    """The whole results file in memory when `source` is a path (a located InputError when it
    is not a readable regular file), else None (parsed data). Read, not mapped: a file that
    another process shortens while it is read is then a truncated file, never a SIGBUS."""
    return read_file_buffer(source) if isinstance(source, (str, os.PathLike)) else None


def _typed_decode(
    buf: bytearray,
    decoder: msgspec.json.Decoder[list[Any]],
    columns: Callable[[list[Any]], tuple[Any, ...]],
) -> tuple[Any, ...] | None:
    """Columns of a results file decoded straight into typed records, chunk by chunk (about
    twice as fast as building dicts, and the records of one chunk at a time in memory):
    (image_id, category_id, score, *columns(records)). None whenever the file does not fit the
    type; the general path then takes over (and names any bad record). `buf` is split in
    place (see _decode_in_chunks) and left as it was."""
    import msgspec

    if not buf.isascii():  # msgspec skips unknown fields without checking their UTF-8
        try:
            buf.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the general path's parser names the byte

    def decode(chunk: memoryview) -> tuple[Any, ...]:
        recs = decoder.decode(chunk)
        n = len(recs)
        return (
            np.fromiter((r.image_id for r in recs), np.int64, n),
            np.fromiter((r.category_id for r in recs), np.int64, n),
            np.fromiter((r.score for r in recs), np.float64, n),
            *columns(recs),
        )

    try:
        try:
            parts = _decode_in_chunks(buf, decode)
        except msgspec.DecodeError:  # a split inside a record, or a file of another form
            parts = [decode(memoryview(buf))]
    except (msgspec.DecodeError, OverflowError, RecursionError):  # ValidationError is a DecodeError
        return None
    if any(p[-1] is _MIXED for p in parts):
        return None
    return tuple(_join([p[i] for p in parts]) for i in range(len(parts[0])))


_MIXED = object()  # a column some records have and others lack: not for the fast path


def _join(values: list[Any]) -> Any:
    if values[0] is None:
        return None if all(v is None for v in values) else _MIXED
    if isinstance(values[0], list):
        return [x for v in values for x in v]
    return np.concatenate(values)


_RECORD_BOUNDARY = re.compile(rb"\}\s*,\s*\{")
_CHUNK_BYTES = 32 << 20
_WHITESPACE = b" \t\r\n"
_NOT_WHITESPACE = re.compile(rb"[^ \t\r\n]")


def _decode_in_chunks(buf: bytearray, decode: Callable[[memoryview], Any]) -> list[Any]:
    """decode() of a JSON array of objects in pieces of ~32 MB, without copying the bytes: at a
    `}, {` boundary the comma becomes `]` to end one piece, then `[` to start the next (and a
    comma again afterwards), so typed decoding never holds every record of a huge file twice."""
    found = _NOT_WHITESPACE.search(buf)
    first = found.start() if found else 0
    last = len(buf) - 1
    while last > first and buf[last] in _WHITESPACE:
        last -= 1
    view = memoryview(buf)
    if last - first <= _CHUNK_BYTES or buf[first : first + 1] != b"[" or buf[last : last + 1] != b"]":
        return [decode(view)]
    out: list[Any] = []
    start = first
    commas: list[int] = []
    try:
        while True:
            boundary = _RECORD_BOUNDARY.search(buf, start + _CHUNK_BYTES, last)
            if boundary is None:
                out.append(decode(view[start : last + 1]))
                return out
            comma = buf.index(b",", boundary.start())
            commas.append(comma)
            buf[comma] = ord("]")
            out.append(decode(view[start : comma + 1]))
            buf[comma] = ord("[")
            start = comma
    finally:
        for comma in commas:
            buf[comma] = ord(",")


def _native_results(source: Any, masks: bool, threads: int = 1) -> tuple[Any, ...] | None:
    """The compiled parser's output for a results file at a path, read a window at a time (the
    file is never whole in memory, and no page of a buffer its size is faulted in); None when
    there is no path or no compiled module, or the file is not of the plain form (see
    `_native.box_results`). `threads`: a file is parsed in up to that many parts at once (mask
    results: their strings and dicts made afterwards, in one pass with the GIL)."""
    if native is None or not isinstance(source, (str, os.PathLike)):
        return None
    with open_regular(source) as f:
        try:
            got: tuple[Any, ...] | None = (native.mask_results if masks else native.box_results)(
                f, threads=max(1, threads)
            )
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", source=str(source)) from None
    return got


def _native_mask_columns(got: tuple[Any, ...]) -> tuple[Any, ...]:
    """`_native.mask_results`' output as `_mask_detections` takes it, the masks as RleMasks of
    its columns: its strings are of pycocotools' characters only, and their runs were checked
    (`bad`: the first that failed)."""
    n, image_id, category_id, score, size, box, chars, starts, ends, all_boxes, bad = got
    sizes = np.frombuffer(size, np.int64).reshape(-1, 2)
    return (
        np.frombuffer(image_id, np.int64),
        np.frombuffer(category_id, np.int64),
        np.frombuffer(score),
        sizes,
        RleMasks(
            np.frombuffer(chars, np.uint8),
            np.frombuffer(starts, np.int64),
            np.frombuffer(ends, np.int64),
            sizes,
        ),
        np.frombuffer(box).reshape(-1, 4) if all_boxes and n else None,
        True,
        bad is None,
    )


def _fast_mask_results(data: bytearray | None) -> tuple[Any, ...] | None:
    """Columns and RLE dicts of a results file of compressed-RLE masks (the usual segm export)
    in a form the compiled parser leaves (a null bbox, say; or there is none), decoded straight
    into typed records; the boxes too when every result has one (else None for them), and that
    the RLE strings are not checked yet; None if it is anything else."""

    def columns(recs: list[Any]) -> tuple[Any, ...]:
        segs = [r.segmentation for r in recs]
        size = _flat([g.size for g in segs], np.int64, 2)
        rles = [{"size": g.size, "counts": g.counts} for g in segs]
        boxes = [r.bbox for r in recs]
        missing = boxes.count(None)
        if missing == len(boxes):
            return size, rles, None
        if missing:  # pycocotools' box branch needs every result's box
            return size, rles, _MIXED
        return size, rles, _flat(boxes, np.float64, 4)

    if data is None:
        return None
    from ._typed_results import decode_mask_results

    decoded = _typed_decode(data, decode_mask_results, columns)
    return None if decoded is None or decoded[-1] is _MIXED else (*decoded, False, False)


def _native_box_columns(got: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
    """`_native.box_results`' output as arrays (image_id, category_id, score, bbox)."""
    _, image_id, category_id, score, box = got
    return (
        np.frombuffer(image_id, np.int64),
        np.frombuffer(category_id, np.int64),
        np.frombuffer(score),
        np.frombuffer(box).reshape(-1, 4),
    )


def _fast_box_results(data: bytearray | None) -> tuple[np.ndarray, ...] | None:
    """Columns of a box-results file (image_id, category_id, score, bbox) in a form the compiled
    parser leaves (an escaped key, say; or there is none), decoded straight into typed records;
    None if it is anything else."""

    def boxes(recs: list[Any]) -> tuple[np.ndarray]:
        return (_flat([r.bbox for r in recs], np.float64, 4),)

    if data is None:
        return None
    from ._typed_results import decode_box_results

    return _typed_decode(data, decode_box_results, boxes)


def _box_branch(first: Any) -> bool:
    """pycocotools' loadRes rule: results are box results when the first has a non-empty bbox
    (a list, or an array when parsed results were built with numpy)."""
    box = first.get("bbox") if isinstance(first, dict) else None
    try:
        return box is not None and len(box) > 0
    except TypeError:  # a number: the box branch, whose check names it
        return True


def _box_results_in_pieces(raw: bytearray, name: str, gt: Dataset) -> tuple[np.ndarray, ...] | None:
    """Columns of a large box-results file that the fast paths left (a record they cannot
    type: a bad one, or an odd but valid form), parsed and checked ~32 MB at a time, so that
    neither a bad record near the end nor the file itself is ever held as millions of dicts.
    None when the file is not of box results or does not split between records (then the
    whole file is parsed, as before)."""
    done = 0

    def decode(piece: memoryview) -> tuple[np.ndarray, ...]:
        nonlocal done
        try:
            recs = parse_json(piece, name)
        except InputError:  # a split inside a string, say: the whole file decides
            raise _NotInPieces from None
        recs = _results_list(recs, name)
        if done == 0 and recs and not _box_branch(recs[0]):
            raise _NotInPieces
        cols = Columns(recs, name, "result", offset=done)
        cols.check_objects()
        columns = (
            cols.ints("image_id"),
            _category_column(cols, gt),
            cols.floats("score"),
            cols.boxes("bbox"),
        )
        done += len(recs)
        return columns

    try:
        parts = _decode_in_chunks(raw, decode)
    except _NotInPieces:
        return None
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))


class _NotInPieces(Exception):
    """The results file cannot be read piece by piece."""


def _flat(rows: list[Sequence[Any]], dtype: type, width: int) -> np.ndarray:
    """(N, width) array of N equal-length tuples, through one fromiter (twice np.array's speed)."""
    return np.fromiter(itertools.chain.from_iterable(rows), dtype, width * len(rows)).reshape(-1, width)


def check_result_ids(cols: Columns, image_id: np.ndarray, category_id: np.ndarray, gt: Dataset) -> None:
    """Every result's image and category are the ground truth's; else every record that is not
    in one InputError (one line each up to 20, then a count) with hints of what the ids look
    like (computed only then: the check itself is two lookups)."""
    images_known = positions(image_id, gt.images.ids)[1]
    categories_known = positions(category_id, gt.categories.ids)[1]
    if images_known.all() and categories_known.all():
        return
    problems = Problems(cols.source, limit=2 * LIMIT)  # the first LIMIT of each field, then merged
    for field, values, known, where in (
        ("image_id", image_id, images_known, f"the ground truth's images ({gt.source})"),
        ("category_id", category_id, categories_known, f"the ground truth's categories ({gt.source})"),
    ):
        none = "" if (gt.images.ids if field == "image_id" else gt.categories.ids).size else " (it has none)"
        for i in np.flatnonzero(~known)[:LIMIT].tolist():
            problems.add(f"{int(values[i])} not found in {where}{none}", record=cols.where(i), field=field)
    problems.found.sort(key=lambda e: _record_number(e.record))  # stable: image_id before category_id
    del problems.found[LIMIT:]
    problems.count = int((~images_known).sum() + (~categories_known).sum())
    hints = []
    if not images_known.all():
        unknown = image_id[~images_known]
        hints.append(
            f"{len(unknown)} result(s) on {len(np.unique(unknown))} image(s) that the ground truth does "
            "not have: to evaluate the ground truth's images only, leaving those results out, use "
            "only_gt_images=True (--only-gt-images)"
        )
    if not categories_known.all():
        hints += category_hints(np.unique(category_id), gt.categories)
    problems.check(hints)


def _record_number(record: str | None) -> int:
    """The number in `result 812`, to list problems in file order."""
    return int(record.rsplit(" ", 1)[-1]) if record else -1


def _ids_text(ids: np.ndarray) -> str:
    """`0-79` for a run, else the first few ids."""
    values = ids.tolist()  # Python ints: no overflow, and no range as long as the ids' span
    if len(values) > 2 and all(b - a == 1 for a, b in zip(values, values[1:])):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(map(str, values[:6])) + (", ..." if len(values) > 6 else "")


def category_hints(used: np.ndarray, categories: Categories) -> list[str]:
    """What results' category ids (`used`, sorted distinct) that the ground truth lacks look
    like: shifted by one (every id minus or plus one is a ground-truth category), or class
    numbers 0..K-1 counting the categories in id order."""
    known = categories.ids
    ids = f"the results' ids are {_ids_text(used)}, the ground truth's {_ids_text(known)}"
    for shift, word, guess in (
        (1, "minus", "1-based ids against a 0-based ground truth?"),
        (-1, "plus", "0-based class numbers against 1-based ids?"),
    ):
        if len(used) and np.isin(used - shift, known).all():
            return [
                f"the category ids look shifted by one: every result's id {word} 1 is a ground-truth "
                f"category ({ids}; {guess})"
            ]
    if len(used) and used[0] >= 0 and used[-1] < len(known):
        return [
            f"the category ids look like class numbers 0..{len(known) - 1} ({ids}): map class number k "
            "to the ground truth's k-th category id (from 0, in id order)"
        ]
    return []


def _category_column(cols: Columns, gt: Dataset) -> np.ndarray:
    """The results' category_id column; refused with a hint when they are names or text."""
    try:
        return cols.ints("category_id")
    except InputError as e:
        values = (r.get("category_id") for r in cols.records if isinstance(r, dict))
        texts: set[str] = {t for t in values if isinstance(t, str)}
        if not texts:
            raise
        by_name = dict(zip(gt.categories.names, gt.categories.ids.tolist()))
        named = sorted(t for t in texts if t in by_name)
        if named:
            pairs = ", ".join(f"{t!r}: {by_name[t]}" for t in named[:5]) + (", ..." if len(named) > 5 else "")
            hint = (
                f"category_id holds class names ({len(named)} of them the ground truth's): map each "
                f"name to the id of the ground truth's category of that name ({pairs})"
            )
        elif all(t.strip().lstrip("-").isdigit() for t in texts):
            hint = 'category_id holds numbers as text: write them as JSON integers (5, not "5")'
        else:
            hint = (
                "category_id holds text that names no ground-truth category: results give the ground "
                f"truth's integer category ids ({_ids_text(gt.categories.ids)})"
            )
        raise with_hints(e, [hint]) from None


def _mask_detections(
    name: str,
    gt: Dataset,
    image_id: np.ndarray,
    category_id: np.ndarray,
    score: np.ndarray,
    size: np.ndarray,
    rles: Sequence[Any],
    box: np.ndarray | None,
    counts_checked: bool = False,
    runs_checked: bool = False,
    *,
    only_gt_images: bool = False,
) -> Detections:
    """Mask results; with `box` (the first result had one) area is w*h, as pycocotools' loadRes
    gives it, else area and box come from the mask. `counts_checked` / `runs_checked`: the RLE
    strings' characters / runs are known good (the compiled parser checks them)."""
    kept = kept_results(name, image_id, gt) if only_gt_images else None
    if kept is not None:
        image_id, category_id, score, size = image_id[kept], category_id[kept], score[kept], size[kept]
        rles = rles.take(kept) if isinstance(rles, RleMasks) else [rles[i] for i in kept.tolist()]
        box = None if box is None else box[kept]
    cols = Columns((), name, "result", numbers=kept)  # for messages: record i is result numbers[i]
    check_result_ids(cols, image_id, category_id, gt)
    odd = (size <= 0).any(axis=1) | (size.astype(np.float64).prod(axis=1) > M.MAX_MASK_PIXELS)
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        _check_raster_size(cols, i, "segmentation.size", int(size[i, 0]), int(size[i, 1]), "the mask")
    if not counts_checked or not runs_checked:
        counts = [r["counts"] for r in rles]
        if not counts_checked:
            _check_rle_strings(cols, list(range(len(rles))), counts)
        if not runs_checked:
            _check_rle_runs(cols, range(len(rles)), counts, size)
    _check_result_mask_sizes(cols, gt, image_id, size)
    order = sort_rows(image_id, category_id)
    given = box is not None
    if box is None:
        area, box = M.rle_area(rles), M.rle_box(rles)
    else:
        check_boxes(cols, "bbox", box)
        area = box[:, 2] * box[:, 3]
    warn_suspicious_results(
        name,
        gt,
        image_id,
        category_id,
        box if given else None,
        empty_file=not len(image_id) and kept is None,
        masks_as_boxes=False,
    )
    return Detections(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(box, order, axis=0),
        area=area[order],
        score=score[order],
        masks=take_masks(rles, order),
        source=name,
        file_index=order,
    )


def _result_columns(
    source: Any, gt: Dataset, raw: bytearray | None = None, only_gt_images: bool = False
) -> tuple[str, list[Any], Columns, np.ndarray, np.ndarray, np.ndarray]:
    """The general path's start: records, and their image, category and score columns, checked
    (`raw`: the file's bytes, when read already); `only_gt_images`: the results on other images
    left out (see `read_detections`)."""
    if raw is not None:
        data, name = parse_json(raw, str(source)), str(source)
    else:
        data, name = read_json(source)
    recs = _results_list(data, name)
    cols = Columns(recs, name, "result")
    cols.check_objects()
    image_id = cols.ints("image_id")
    if only_gt_images:
        kept = kept_results(name, image_id, gt)
        if kept is not None:
            recs = [recs[i] for i in kept.tolist()]
            cols, image_id = Columns(recs, name, "result", numbers=kept), image_id[kept]
    category_id = _category_column(cols, gt)
    score = cols.floats("score")
    check_result_ids(cols, image_id, category_id, gt)
    return name, recs, cols, image_id, category_id, score


def kept_results(name: str, image_id: np.ndarray, gt: Dataset) -> np.ndarray | None:
    """The rows on the ground truth's images (None: all of them), the others counted in a
    DataWarning (only_gt_images=True)."""
    known = positions(image_id, gt.images.ids)[1]
    if known.all():
        return None
    unknown = image_id[~known]
    warn_data(
        name,
        len(unknown),
        f"result(s) on {len(np.unique(unknown))} image(s) that the ground truth ({gt.source}) does not "
        "have left out (only_gt_images)",
        f"result {int(np.flatnonzero(~known)[0])}, image_id {int(unknown[0])}",
    )
    kept: np.ndarray = np.flatnonzero(known)
    return kept


def _shape_detections(
    source: Any, gt: Dataset, kind: ShapeKind, angle_unit: AngleUnit, only_gt_images: bool
) -> Detections:
    """Polygon or rotated-box results: box and area are the shape's bounds and area."""
    name, _, cols, image_id, category_id, score = _result_columns(
        source, gt, _file_buffer(source), only_gt_images
    )
    from .shapes import read_shapes

    geo = read_shapes(cols, kind, angle_unit)
    order = sort_rows(image_id, category_id)
    return Detections(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(geo.box, order, axis=0),
        area=geo.area[order],
        score=score[order],
        source=name,
        shapes=geo.geoms[order],
        file_index=order,
    )


@reusing
def read_detections(
    source: DetectionsSource,
    ground_truth: Dataset,
    *,
    masks: bool = False,
    shapes: ShapeKind | None = None,
    angle_unit: AngleUnit = "radians",
    only_gt_images: bool = False,
    threads: int | None = None,
) -> Detections:
    """Detections from a COCO results file (path) or its parsed list, checked against
    `ground_truth`.

    `shapes="polygon"` / `"rotated"`: each result's `segmentation` polygons / `rbox` (io.shapes);
    area and box are the shape's area and bounds. Otherwise, as pycocotools' loadRes: when the
    first result has a non-empty `bbox`, every result is a box result and its area is w*h (also
    for segm, whose mask is then the given segmentation or the box drawn as a polygon); otherwise
    every result is a mask result, with area and box from the mask.
    Image and category ids must exist in the ground truth (pycocotools drops unknown categories):
    every result that is not on them is named, with hints of what the ids look like.
    `only_gt_images=True` leaves the results on other images out instead, with a DataWarning
    that counts them (the evaluation of a subset of a model's images).
    `threads`: a results file of 8 MiB or more is parsed in up to that many parts at once (the
    same columns for any count; None: as read_ground_truth's).
    """
    if shapes is not None:
        return _shape_detections(source, ground_truth, shapes, angle_unit, only_gt_images)
    from_file = isinstance(source, (str, os.PathLike))
    threads = _threads(threads)
    got = _native_results(source, masks, threads if from_file else 1)
    if got is not None and masks:
        return _mask_detections(
            str(source), ground_truth, *_native_mask_columns(got), only_gt_images=only_gt_images
        )
    fast = None if got is None else _native_box_columns(got)
    del got
    raw = None if fast is not None else _file_buffer(source)  # what the compiled parser left
    fast_masks = _fast_mask_results(raw) if masks else None
    if fast_masks is not None:
        return _mask_detections(str(source), ground_truth, *fast_masks, only_gt_images=only_gt_images)
    if fast is None and not masks:
        fast = _fast_box_results(raw)
    if fast is None and not masks and raw is not None and len(raw) > _CHUNK_BYTES:
        fast = _box_results_in_pieces(raw, str(source), ground_truth)
    if fast is not None:
        image_id, category_id, score, box = fast
        del fast
        raw = None  # the file's bytes, as large as the columns: not held while they are sorted
        records = len(image_id)
        kept = kept_results(str(source), image_id, ground_truth) if only_gt_images else None
        if kept is not None:
            image_id, category_id, score, box = image_id[kept], category_id[kept], score[kept], box[kept]
        cols = Columns((), str(source), "result", numbers=kept)
        check_boxes(cols, "bbox", box)
        check_result_ids(cols, image_id, category_id, ground_truth)
        warn_suspicious_results(
            str(source),
            ground_truth,
            image_id,
            category_id,
            box,
            empty_file=from_file and records == 0,
            masks_as_boxes=False,
        )
        order = sort_rows(image_id, category_id)
        image_id, category_id, box, score = take_rows(order, (image_id, category_id, box, score), threads)
        return Detections(
            image_id=image_id,
            category_id=category_id,
            box=box,
            area=box[:, 2] * box[:, 3],
            score=score,
            source=str(source),
            file_index=order,
        )
    name, recs, cols, image_id, category_id, score = _result_columns(
        source, ground_truth, raw, only_gt_images
    )
    box_branch = bool(recs) and _box_branch(recs[0])
    h, w = _image_sizes(ground_truth.images, image_id)
    rle: list[Any] | None = None
    masks_as_boxes = False  # mask results without any box, evaluated as boxes (bbox)
    if box_branch:
        box = cols.boxes("bbox")
        area = box[:, 2] * box[:, 3]
        if masks:
            has_seg = cols.has("segmentation")
            rle = _read_masks(cols, np.flatnonzero(has_seg).tolist(), h, w)
            for i in np.flatnonzero(~has_seg).tolist():
                if h[i] <= 0 or w[i] <= 0:
                    raise cols.error(i, "segmentation", "missing, and the image has no size to draw the box")
                _check_raster_size(cols, i, "bbox", int(h[i]), int(w[i]), f"image {int(image_id[i])}")
                rle[i] = M.box_to_rle(box[i], int(h[i]), int(w[i]))
            _check_result_mask_sizes(cols, ground_truth, image_id, _mask_sizes(rle))
    elif not recs:
        box, area = np.zeros((0, 4)), np.zeros(0)
        rle = [] if masks else None
    else:
        if "segmentation" not in recs[0]:
            raise cols.error(0, None, "has neither 'bbox' nor 'segmentation'")
        rle = _read_masks(cols, range(len(recs)), h, w)
        if masks:
            _check_result_mask_sizes(cols, ground_truth, image_id, _mask_sizes(rle))
        area = M.rle_area(rle)
        box = M.rle_box(rle)
        given = np.flatnonzero([isinstance(r.get("bbox"), list) and len(r["bbox"]) == 4 for r in recs])
        if len(given):
            box[given] = cols.boxes("bbox", rows=given)[given]
        masks_as_boxes = from_file and not masks and not len(given)
        if not masks:
            rle = None
    warn_suspicious_results(
        name,
        ground_truth,
        image_id,
        category_id,
        box if box_branch else None,
        empty_file=from_file and not recs and cols.numbers is None,
        masks_as_boxes=masks_as_boxes,
    )
    order = sort_rows(image_id, category_id)
    return Detections(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(box, order, axis=0),
        area=area[order],
        score=score[order],
        masks=take_masks(rle, order),
        source=name,
        file_index=order,
    )


def _rle(m: Mapping[str, Any]) -> dict[str, Any]:
    counts = m["counts"]
    return {
        "size": [int(v) for v in m["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def ground_truth_dict(ds: Dataset) -> dict[str, Any]:
    """The COCO instances dict of a Dataset (see the module doc)."""
    im = ds.images
    names = im.file_names or ("",) * len(im.ids)
    images = []
    for i, w, h, name in zip(im.ids.tolist(), im.width.tolist(), im.height.tolist(), names):
        record: dict[str, Any] = {"id": i}
        if w > 0 and h > 0:
            record.update(width=w, height=h)
        if name:
            record["file_name"] = name
        images.append(record)
    ids = ds.ann_id
    if len(ids) and (ids.min() < 1 or len(np.unique(ids)) != len(ids)):
        ids = np.arange(1, len(ids) + 1)
    anns = []
    for r, (a, i, c, box, area, crowd, ignore) in enumerate(
        zip(
            ids.tolist(),
            ds.image_id.tolist(),
            ds.category_id.tolist(),
            ds.box.tolist(),
            ds.area.tolist(),
            ds.iscrowd.tolist(),
            ds.ignore.tolist(),
        )
    ):
        ann: dict[str, Any] = {
            "id": a,
            "image_id": i,
            "category_id": c,
            "bbox": box,
            "area": area,
            "iscrowd": int(crowd),
        }
        if ignore:
            ann["ignore"] = 1
        if ds.masks is not None:
            ann["segmentation"] = _rle(ds.masks[r])
        anns.append(ann)
    categories = [{"id": c, "name": n} for c, n in zip(ds.categories.ids.tolist(), ds.categories.names)]
    return {"images": images, "annotations": anns, "categories": categories}


def detections_list(dt: Detections) -> list[dict[str, Any]]:
    """The COCO results list of Detections, in row order (see the module doc)."""
    with_box = np.ones(len(dt), bool)
    if dt.masks is not None:
        with_box = dt.area == dt.box[:, 2] * dt.box[:, 3]
        if not with_box.all():  # one rule per file, as pycocotools' loadRes looks at the first
            with_box[:] = False
    out = []
    for r, (i, c, box, score) in enumerate(
        zip(dt.image_id.tolist(), dt.category_id.tolist(), dt.box.tolist(), dt.score.tolist())
    ):
        rec: dict[str, Any] = {"image_id": i, "category_id": c}
        if with_box[r]:
            rec["bbox"] = box
        rec["score"] = score
        if dt.masks is not None:
            rec["segmentation"] = _rle(dt.masks[r])
        out.append(rec)
    return out


def write_ground_truth(ds: Dataset, path: str | os.PathLike[str]) -> None:
    """Write a Dataset as a COCO instances JSON file."""
    write_json(ground_truth_dict(ds), path)


def write_detections(dt: Detections, path: str | os.PathLike[str]) -> None:
    """Write Detections as a COCO results JSON file (a list of results)."""
    write_json(detections_list(dt), path)


# The names from before the one vocabulary (detrecall.io.read_ground_truth / read_detections),
# the same functions, until their callers move.
read_coco_gt = read_ground_truth
read_coco_results = read_detections
