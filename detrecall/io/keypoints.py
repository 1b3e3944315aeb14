"""COCO keypoints: `keypoints: [x1, y1, v1, x2, y2, v2, ...]` of ground truth and results.

Ground truth: the keypoints of each annotation of a Dataset already read (rows found by
annotation id); an annotation with `num_keypoints == 0` is ignored, as pycocotools ignores it.
Results: read whole here, as pycocotools' loadRes reads keypoint results: the box and the area
are those of the keypoints' extent (no `bbox` needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import chain
from typing import Any

import numpy as np

from ..errors import InputError
from ..types import Dataset, Detections
from ._common import sort_rows
from ._records import Columns, read_json
from .coco import check_result_ids, kept_results


def _keypoints(cols: Columns, n_keypoints: int | None = None) -> np.ndarray:
    """(N, K, 3) float64 from each record's `keypoints` list of 3K finite numbers (one K)."""
    fast = _keypoints_plain(cols.records, n_keypoints)
    return fast if fast is not None else _keypoints_checked(cols, n_keypoints)


def _keypoints_plain(records: Sequence[Any], n_keypoints: int | None) -> np.ndarray | None:
    """The common case in a few passes over C-level iterators: every record a dict whose
    `keypoints` is a list of plain ints and floats, all of one length 3K, all finite; None
    otherwise (the record-by-record reader then names the first bad record)."""
    if not all(type(r) is dict for r in records):
        return None
    values = [r.get("keypoints") for r in records]
    if not all(type(v) is list for v in values):
        return None
    if not set(map(type, chain.from_iterable(values))) <= {int, float}:
        return None
    lengths = set(map(len, values))
    if len(lengths) > 1 or any(n % 3 for n in lengths):
        return None
    n = lengths.pop() if lengths else 3 * (n_keypoints or 0)
    if n_keypoints is not None and n != 3 * n_keypoints:
        return None
    out = np.array(values, np.float64).reshape(len(values), n // 3, 3)
    return out if np.isfinite(out).all() else None


def _keypoints_checked(cols: Columns, n_keypoints: int | None = None) -> np.ndarray:
    out = []
    for i, r in enumerate(cols.records):
        if not isinstance(r, dict):
            raise cols.error(i, None, f"is {type(r).__name__}, expected an object")
        v = r.get("keypoints")
        if v is None:
            raise cols.error(i, "keypoints", "missing (expected [x1, y1, v1, x2, y2, v2, ...])")
        ok = isinstance(v, list) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for x in v
        )
        if not ok or len(v) % 3:
            raise cols.error(i, "keypoints", f"is {v!r:.60} (expected a list of 3K finite numbers: x, y, v)")
        k = len(v) // 3
        if n_keypoints is None:
            n_keypoints = k
        elif k != n_keypoints:
            raise cols.error(i, "keypoints", f"has {k} keypoints, the others {n_keypoints}")
        out.append(v)
    k = n_keypoints or 0
    return np.asarray(out, np.float64).reshape(len(out), k, 3)


def _records(source: Any, key: str, what: str) -> tuple[list[Any], str]:
    data, name = read_json(source)
    if isinstance(data, dict):
        if key not in data:
            raise InputError(f"has no {key!r} list", source=name)
        data = data[key]
    if not isinstance(data, list):
        raise InputError(f"is a {type(data).__name__}, expected a list of {what}s", source=name)
    return data, name


def read_keypoint_ground_truth(source: Any, gt: Dataset) -> Dataset:
    """`gt` with the keypoints of its annotations (from the same COCO file or dict), and those
    with no labelled keypoint (`num_keypoints` 0) ignored."""
    records, name = _records(source, "annotations", "annotation")
    cols = Columns(records, name, "annotation")
    ids = cols.ints("id")
    keypoints = _keypoints(cols)
    labelled = (keypoints[:, :, 2] > 0).sum(axis=1)
    num = cols.ints("num_keypoints", default=-1)
    num = np.where(num < 0, labelled, num)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    if len(ids) and (np.diff(sorted_ids) == 0).any():
        first = int(sorted_ids[np.flatnonzero(np.diff(sorted_ids) == 0)[0]])
        where = np.flatnonzero(ids == first)
        raise cols.error(int(where[1]), "id", f"{first} is also the id of annotation {int(where[0])}")
    at = np.searchsorted(sorted_ids, gt.ann_id).clip(0, max(len(ids) - 1, 0))
    if len(gt) and not (len(ids) and np.array_equal(sorted_ids[at], gt.ann_id)):
        raise InputError("the annotations differ from the ground truth read", source=name)
    rows = order[at]
    return replace(gt, keypoints=keypoints[rows], ignore=gt.ignore | (num[rows] == 0))


def read_keypoint_results(source: Any, gt: Dataset, *, only_gt_images: bool = False) -> Detections:
    """Keypoint results (`image_id`, `category_id`, `keypoints`, `score`), checked against `gt`:
    its images and categories (every result that is not on them named, as `coco.read_detections`
    names them; `only_gt_images`: those on other images left out with a DataWarning), its number
    of keypoints."""
    records, name = _records(source, "annotations", "result")
    cols = Columns(records, name, "result")
    image_id = cols.ints("image_id")
    kept = kept_results(name, image_id, gt) if only_gt_images else None
    if kept is not None:
        records = [records[i] for i in kept.tolist()]
        cols, image_id = Columns(records, name, "result", numbers=kept), image_id[kept]
    category_id = cols.ints("category_id")
    score = cols.floats("score")
    n_k = None if gt.keypoints is None else gt.keypoints.shape[1]
    keypoints = _keypoints(cols, n_k)
    check_result_ids(cols, image_id, category_id, gt)
    x, y = keypoints[:, :, 0], keypoints[:, :, 1]
    if keypoints.shape[1]:
        x0, x1, y0, y1 = x.min(axis=1), x.max(axis=1), y.min(axis=1), y.max(axis=1)
    else:
        x0 = x1 = y0 = y1 = np.zeros(len(records))
    box = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).reshape(-1, 4)
    order = sort_rows(image_id, category_id)
    return Detections(
        image_id=image_id[order],
        category_id=category_id[order],
        box=box[order],
        area=((x1 - x0) * (y1 - y0))[order],
        score=score[order],
        source=name,
        file_index=order,
        keypoints=keypoints[order],
    )
