"""Slices: the evaluation of subsets of images ("night", "rain", ...) from the one matching pass.

Matching is per image, so the matches of a subset of images are the rows of the full matches
that belong to those images: `slice_matches` cuts them out (the npos recounted), and
`slice_batch` does it for everything a summary needs. `evaluate.finish` then builds each
slice's result exactly as `evaluate(gt, dt, image_ids=ids)` would (bit for bit: the same rows
in the same order reach the same aggregator). A confusion matrix does not slice (it is a sum):
`slice_confusion` recomputes it for the slice's false positives alone.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import DetrecallError
from ..options import IouType, PointOptions
from ..protocols import BatchMatches
from ..types import Dataset, Detections, EvalParams, Matches
from .point import confusion_pass


def check_slices(slices: Mapping[str, Iterable[int]], known: np.ndarray) -> dict[str, np.ndarray]:
    """{name: sorted distinct image ids}, refusing an empty name or slice and ids the ground
    truth lacks (as `evaluate(image_ids=...)` refuses them); an image may be in several."""
    if not isinstance(slices, Mapping):
        raise DetrecallError(f"slices must map a name to image ids, e.g. {{'night': [1, 2]}}; got {slices!r}")
    out: dict[str, np.ndarray] = {}
    for name, ids in slices.items():
        if not isinstance(name, str) or not name:
            raise DetrecallError(f"slices: a slice name must be a non-empty string, got {name!r}")
        try:
            values = np.unique(np.asarray(list(ids), np.int64))
        except (TypeError, ValueError):
            raise DetrecallError(f"slices: {name!r}: image ids must be integers, got {ids!r}") from None
        if not len(values):
            raise DetrecallError(f"slices: {name!r} holds no image")
        unknown = np.setdiff1d(values, known)
        if len(unknown):
            shown = ", ".join(map(str, unknown[:5].tolist())) + (", ..." if len(unknown) > 5 else "")
            raise DetrecallError(
                f"slices: {name!r}: {len(unknown)} id(s) not among the ground truth's images: {shown}"
            )
        out[name] = values
    return out


def slice_matches(m: Matches, image_ids: np.ndarray) -> Matches:
    """The matches of the images `image_ids` alone: their detections and ground truth, in the
    same order, hits renumbered, non-ignored ground truth recounted per class and area range."""
    keep_d = np.isin(m.det_image, image_ids)
    keep_g = np.isin(m.gt_image, image_ids)
    new_index = np.cumsum(keep_d) - 1
    keep_h = keep_d[m.hit_det]
    gt_class = m.gt_class[keep_g]
    gt_ignored = m.gt_ignored[:, keep_g]
    n_k, n_a = m.npos.shape
    npos = np.zeros((n_k, n_a), np.int64)
    for a in range(n_a):  # a handful of area ranges
        npos[:, a] = np.bincount(gt_class[~gt_ignored[a]], minlength=n_k)[:n_k]
    return replace(
        m,
        det_class=m.det_class[keep_d],
        det_image=m.det_image[keep_d],
        det_rank=m.det_rank[keep_d],
        det_score=m.det_score[keep_d],
        det_row=m.det_row[keep_d],
        det_out_of_range=m.det_out_of_range[:, keep_d],
        hit_area=m.hit_area[keep_h],
        hit_thr=m.hit_thr[keep_h],
        hit_det=new_index[m.hit_det[keep_h]],
        hit_gt=m.hit_gt[keep_h],
        hit_ignored=m.hit_ignored[keep_h],
        npos=npos,
        gt_row=m.gt_row[keep_g],
        gt_class=gt_class,
        gt_image=m.gt_image[keep_g],
        gt_ignored=gt_ignored,
    )


def slice_batch(batch: BatchMatches, image_ids: np.ndarray) -> BatchMatches:
    """A batch's matches of the images `image_ids` alone; no confusion matrix (see
    `slice_confusion`) and no precomputed score order (the summary sorts the slice's)."""
    coco = slice_matches(batch.coco, image_ids)
    point = coco if batch.point is batch.coco else slice_matches(batch.point, image_ids)
    return replace(batch, coco=coco, point=point, confusion=None, score_order=None, point_score_order=None)


def slice_confusion(
    gt: Dataset,
    dt: Detections,
    point_matches: Matches,
    iou_type: IouType,
    params: EvalParams,
    options: PointOptions,
    pixel_inclusive: bool = False,
) -> np.ndarray:
    """The confusion matrix of a slice, from its sliced operating-point matches: the
    class-agnostic pass of `analysis.point.confusion_pass` over the slice's images only."""
    return confusion_pass(gt, dt, point_matches, iou_type, params, options, pixel_inclusive)


def read_slices(path: str | os.PathLike[str]) -> dict[str, list[int]]:
    """Slices from a file: JSON `{name: [image ids]}`, or CSV with the columns `image,slice`
    (a header row; one row per image and slice, so an image may be in several)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DetrecallError(
                f"{p}: not JSON ({e.msg} at line {e.lineno}); expected {{name: [ids]}}"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise DetrecallError(f"{p}: expected a JSON object {{name: [image ids]}}")
        out: dict[str, list[int]] = {}
        for name, ids in data.items():
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise DetrecallError(f"{p}: slice {name!r}: image ids must be integers")
            out[str(name)] = list(ids)
        return out
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["image", "slice"]:
        raise DetrecallError(f"{p}: a CSV of slices needs the header 'image,slice'")
    out = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 2:
            raise DetrecallError(f"{p}: line {n}: expected 'image,slice', got {','.join(row)!r}")
        try:
            image = int(row[0])
        except ValueError:
            raise DetrecallError(f"{p}: line {n}: image id {row[0]!r} is not an integer") from None
        out.setdefault(row[1].strip(), []).append(image)
    return out
