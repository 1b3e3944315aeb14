"""Every file format behind one door: which format a path holds, and reading or writing it.

Detection from the path: a `.json` file is COCO, `.csv` CSV, `.xml` (or a folder of them) VOC;
a folder of `.txt` files is YOLO labels, except that predictions named like the VOC devkit's
(`comp4_det_test_<class>.txt`), or next to VOC ground truth, are VOC result files. COCO is also
read from parsed JSON (a dict, a list of results).

Each format is one module (coco, yolo, voc, csv) with the same four functions,
`read_ground_truth`, `read_detections`, `write_ground_truth` and `write_detections`, and the
options of its own; the functions here pick the module and pass each its options. An option a
format has no use for is not passed to it (the CLI gives every read the same flags).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeGuard

from ..errors import InputError
from ..types import Dataset, Detections

if TYPE_CHECKING:  # the format modules are imported when their format is read or written
    from ..geometry.polygons import AngleUnit
    from .coco import DetectionsSource, GroundTruthSource
    from .shapes import ShapeKind

FORMATS = ("coco", "yolo", "voc", "csv")
Kind = Literal["gt", "dt"]
# class names: a names file (data.yaml `names:`, one name per line, JSON) or {number: name}
Names = str | Path | Mapping[int, str]


def detect_format(path: str | os.PathLike[str], kind: Kind = "gt", gt_format: str | None = None) -> str:
    """The format of a ground-truth (`kind="gt"`) or predictions (`"dt"`) path, from its name
    or its files (`gt_format`: the ground truth's, for predictions); an InputError asking for
    the format when it cannot be told."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_file() or suffix in (".json", ".csv", ".xml"):
        found = {".json": "coco", ".csv": "csv", ".xml": "voc"}.get(suffix)
        if found is None:
            raise InputError(
                f"cannot tell the format from the extension {suffix or '(none)'!r} "
                "(expected .json, .csv, .xml or a folder; or give the format: "
                f"{', '.join(FORMATS)})",
                source=str(path),
            )
        return found
    if not path.is_dir():
        if path.exists():
            raise InputError("is not a regular file or a folder (a FIFO, a device?)", source=str(path))
        raise InputError("file or folder not found", source=str(path))
    suffixes = {p.suffix.lower() for p in path.iterdir()}  # also a FIFO or link: read, it is named
    if ".xml" in suffixes:
        return "voc"
    if ".txt" in suffixes:
        devkit = any(p.name.startswith("comp") and "_det_" in p.name for p in path.glob("*.txt"))
        return "voc" if kind == "dt" and (devkit or gt_format == "voc") else "yolo"
    raise InputError(
        "cannot tell the format: the folder has no .xml or .txt files (expected VOC "
        "XML annotations or YOLO labels; or give the format)",
        source=str(path),
    )


def _is_path(source: object) -> TypeGuard[str | os.PathLike[str]]:
    """A path rather than parsed JSON, told apart as `io._records.read_json` does."""
    return isinstance(source, (str, os.PathLike))


def _checked(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return fmt


def _read_format(
    source: object, fmt: str | None, kind: Kind, gt_format: str | None, masks: bool, shapes: ShapeKind | None
) -> str:
    """The format to read `source` in: `fmt`, checked, or the one `source` holds (parsed JSON is
    COCO); masks and shapes are read from COCO only."""
    if fmt is None:
        fmt = detect_format(source, kind, gt_format) if _is_path(source) else "coco"
    _checked(fmt)
    where = str(source) if _is_path(source) else None
    if masks and fmt != "coco":
        raise InputError(f"masks (iou_type='segm') are read from COCO files only, not {fmt}", source=where)
    if shapes is not None and fmt != "coco":
        raise InputError(
            f"shapes (iou_type={shapes!r}) are read from COCO files only, not {fmt}", source=where
        )
    return fmt


def _parsed_error(source: object, fmt: str) -> InputError:
    return InputError(
        f"{fmt} is read from a path, not from a {type(source).__name__} (parsed JSON is read as COCO only)"
    )


def read_ground_truth(
    path: GroundTruthSource,
    format: str | None = None,
    *,
    masks: bool = False,
    shapes: ShapeKind | None = None,
    angle_unit: AngleUnit = "radians",
    images: str | Path | None = None,
    sizes: str | Path | None = None,
    names: Names | None = None,
    columns: Mapping[str, str] | None = None,
    box_format: str | None = None,
    threads: int = 1,
) -> Dataset:
    """Ground truth from a path in `format` ("coco", "yolo", "voc", "csv"; told from the path
    when None), or from a parsed COCO instances dict.

    COCO: `masks=True` reads the segmentations as RLE (for segm), `shapes="polygon"` or
    `"rotated"` the polygons or `rbox` rotated boxes (angles in `angle_unit`).
    YOLO: image sizes from the `images` folder (their headers) or a `sizes` file, class names
    from `names`. VOC: class ids from `names`. CSV: `columns` maps our column names to the
    file's ({"image": "filename"}), `box_format` ("xyxy", "xywh", "cxcywh") picks the box
    columns, `names` gives the class ids. Options of other formats are not used. `threads`: a
    COCO file's polygons are drawn on up to that many threads (the same masks for any count)."""
    fmt = _read_format(path, format, "gt", None, masks, shapes)
    if fmt == "coco":
        from . import coco

        return coco.read_ground_truth(
            path, masks=masks, shapes=shapes, angle_unit=angle_unit, threads=threads
        )
    if not _is_path(path):
        raise _parsed_error(path, fmt)
    if fmt == "yolo":
        from . import yolo

        return yolo.read_ground_truth(path, images=images, sizes=sizes, names=names)
    if fmt == "voc":
        from . import voc

        return voc.read_ground_truth(path, names=names)
    from . import csv

    return csv.read_ground_truth(path, columns=columns, box_format=box_format, names=names)


def read_detections(
    path: DetectionsSource,
    ground_truth: Dataset,
    format: str | None = None,
    *,
    masks: bool = False,
    shapes: ShapeKind | None = None,
    angle_unit: AngleUnit = "radians",
    names: Names | None = None,
    columns: Mapping[str, str] | None = None,
    box_format: str | None = None,
    gt_format: str | None = None,
    only_gt_images: bool = False,
    threads: int = 1,
) -> Detections:
    """Predictions from a path in `format` (told from the path when None; `gt_format`, the
    ground truth's, tells VOC result files from YOLO labels), or from a parsed COCO results
    list, on the images and classes of `ground_truth`.

    COCO: `masks`, `shapes` and `angle_unit` as for `read_ground_truth`. YOLO, CSV: `names`
    (the model's class names) maps the predictions' class numbers to the ground truth's classes
    by name. CSV: `columns` and `box_format` as for `read_ground_truth`.
    `only_gt_images=True`: predictions on images the ground truth does not have are left out,
    with a DataWarning that counts them (by default each is an error). `threads`: a large COCO
    box-results file is parsed in up to this many parts at once (the same columns for any count)."""
    fmt = _read_format(path, format, "dt", gt_format, masks, shapes)
    subset = {"only_gt_images": only_gt_images}
    if fmt == "coco":
        from . import coco

        return coco.read_detections(
            path, ground_truth, masks=masks, shapes=shapes, angle_unit=angle_unit, threads=threads, **subset
        )
    if not _is_path(path):
        raise _parsed_error(path, fmt)
    if fmt == "yolo":
        from . import yolo

        return yolo.read_detections(path, ground_truth, names=names, **subset)
    if fmt == "voc":
        from . import voc

        return voc.read_detections(path, ground_truth, **subset)
    from . import csv

    return csv.read_detections(
        path, ground_truth, columns=columns, box_format=box_format, names=names, **subset
    )


def write(
    data: Dataset | Detections,
    path: str | os.PathLike[str],
    format: str,
    *,
    ground_truth: Dataset | None = None,
    box_format: str | None = None,
) -> None:
    """Write ground truth (a Dataset) or predictions (Detections) as `format`; predictions
    written as YOLO, VOC or CSV need the `ground_truth` they are on (image names and sizes,
    classes). CSV: boxes as `box_format` ("xyxy" when None, "xywh", "cxcywh")."""
    fmt = _checked(format)
    if isinstance(data, Dataset):
        if fmt == "coco":
            from . import coco

            coco.write_ground_truth(data, path)
        elif fmt == "yolo":
            from . import yolo

            yolo.write_ground_truth(data, path)
        elif fmt == "voc":
            from . import voc

            voc.write_ground_truth(data, path)
        else:
            from . import csv

            csv.write_ground_truth(data, path, box_format=box_format or "xyxy")
        return
    if fmt == "coco":
        from . import coco

        coco.write_detections(data, path)
        return
    if ground_truth is None:
        raise InputError(f"writing predictions as {fmt} needs the ground truth")
    if fmt == "yolo":
        from . import yolo

        yolo.write_detections(data, path, ground_truth)
    elif fmt == "voc":
        from . import voc

        voc.write_detections(data, path, ground_truth)
    else:
        from . import csv

        csv.write_detections(data, path, ground_truth, box_format=box_format or "xyxy")
