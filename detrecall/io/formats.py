"""The names from before the one vocabulary (`detrecall.io.read_ground_truth`, `read_detections`,
`write`, `detect_format`), kept until their callers move; each is that vocabulary underneath.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..types import Dataset, Detections
from ._formats import FORMATS, detect_format, read_detections, read_ground_truth
from ._formats import write as _write

__all__ = ["FORMATS", "Options", "detect_format", "read_dt", "read_gt", "write"]


@dataclass(frozen=True)
class Options:
    """What the formats other than COCO may need to read a path (None: not given)."""

    images: str | Path | None = None  # YOLO: folder of the images (sizes from their headers)
    sizes: str | Path | None = None  # YOLO: sizes file
    names: str | Path | Mapping[int, str] | None = None  # class names (data.yaml / one per line)
    columns: Mapping[str, str] | None = None  # CSV: {our name: their column}
    box_format: str | None = None  # CSV: xyxy, xywh or cxcywh


def read_gt(
    path: str | os.PathLike[str], fmt: str | None = None, options: Options = Options(), *, masks: bool = False
) -> Dataset:
    """`read_ground_truth(path, fmt, masks=masks, **options)`."""
    return read_ground_truth(
        path,
        fmt or None,
        masks=masks,
        images=options.images,
        sizes=options.sizes,
        names=options.names,
        columns=options.columns,
        box_format=options.box_format,
    )


def read_dt(
    path: str | os.PathLike[str],
    gt: Dataset,
    fmt: str | None = None,
    options: Options = Options(),
    *,
    masks: bool = False,
    gt_format: str | None = None,
) -> Detections:
    """`read_detections(path, gt, fmt, masks=masks, gt_format=gt_format, **options)`."""
    return read_detections(
        path,
        gt,
        fmt or None,
        masks=masks,
        names=options.names,
        columns=options.columns,
        box_format=options.box_format,
        gt_format=gt_format,
    )


def write(
    data: Dataset | Detections,
    path: str | os.PathLike[str],
    fmt: str,
    *,
    gt: Dataset | None = None,
    box_format: str | None = None,
) -> None:
    """`detrecall.io.write(data, path, fmt, ground_truth=gt, box_format=box_format)`."""
    _write(data, path, fmt, ground_truth=gt, box_format=box_format)
