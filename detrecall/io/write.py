"""COCO JSON out: Dataset -> an instances file, Detections -> a results file, readable by
pycocotools and by `read_coco_gt` / `read_coco_results` with the same numbers.

Ground truth keeps boxes, areas, crowd flags and masks (compressed RLE); an ignored row gets
`ignore: 1` (detrecall and the lvis package honour it; pycocotools does not). Annotation ids are
kept when they are positive and unique, else numbered 1, 2, ... in row order. A detection gets
its `bbox` unless its area came from its mask (area != w*h): a results file with boxes has
areas w*h for pycocotools, so such a detection is written as a mask alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..types import Dataset, Detections

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _orjson = None


def _rle(m: dict[str, Any]) -> dict[str, Any]:
    counts = m["counts"]
    return {
        "size": [int(v) for v in m["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def coco_gt_dict(ds: Dataset) -> dict[str, Any]:
    """The COCO instances dict of a Dataset."""
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


def coco_results_list(dt: Detections) -> list[dict[str, Any]]:
    """The COCO results list of Detections, in row order."""
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


def write_json(data: Any, path: str | Path) -> None:
    if _orjson is not None:
        Path(path).write_bytes(_orjson.dumps(data))
    else:  # pragma: no cover
        import json

        Path(path).write_text(json.dumps(data))


def write_coco_gt(ds: Dataset, path: str | Path) -> None:
    """Write a Dataset as a COCO instances JSON file."""
    write_json(coco_gt_dict(ds), path)


def write_coco_results(dt: Detections, path: str | Path) -> None:
    """Write Detections as a COCO results JSON file (a list of results)."""
    write_json(coco_results_list(dt), path)
