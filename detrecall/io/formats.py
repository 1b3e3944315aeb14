"""Every file format behind one door: which format a path holds, and reading or writing it.

Detection from the path: a `.json` file is COCO, `.csv` CSV, `.xml` (or a folder of them) VOC;
a folder of `.txt` files is YOLO labels, except that predictions named like the VOC devkit's
(`comp4_det_test_<class>.txt`), or next to VOC ground truth, are VOC result files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..types import Dataset, Detections

FORMATS = ("coco", "yolo", "voc", "csv")


@dataclass(frozen=True)
class Options:
    """What the formats other than COCO may need to read a path (None: not given)."""

    images: str | Path | None = None  # YOLO: folder of the images (sizes from their headers)
    sizes: str | Path | None = None  # YOLO: sizes file
    names: str | Path | Mapping[int, str] | None = None  # class names (data.yaml / one per line)
    columns: Mapping[str, str] | None = None  # CSV: {our name: their column}
    box_format: str | None = None  # CSV: xyxy, xywh or cxcywh


def detect_format(path: str | Path, kind: str = "gt", gt_format: str | None = None) -> str:
    """The format of a ground-truth (`kind="gt"`) or predictions path, from its name or its
    files; an InputError asking for the format when it cannot be told."""
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
        raise InputError("file or folder not found", source=str(path))
    suffixes = {p.suffix.lower() for p in path.iterdir() if p.is_file()}
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


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def read_gt(
    path: str | Path, fmt: str | None = None, options: Options = Options(), *, masks: bool = False
) -> Dataset:
    """Ground truth from a path in `fmt` (detected when None)."""
    fmt = fmt or detect_format(path, "gt")
    _check(fmt)
    if masks and fmt != "coco":
        raise InputError(
            f"masks (iou_type='segm') are read from COCO files only, not {fmt}", source=str(path)
        )
    if fmt == "coco":
        from .coco import read_coco_gt

        return read_coco_gt(path, masks=masks)
    if fmt == "yolo":
        from .yolo import read_yolo_gt

        return read_yolo_gt(path, images=options.images, sizes=options.sizes, names=options.names)
    if fmt == "voc":
        from .voc import read_voc_gt

        return read_voc_gt(path, names=options.names)
    from .csv import read_csv_gt

    return read_csv_gt(path, columns=options.columns, box_format=options.box_format, names=options.names)


def read_dt(
    path: str | Path,
    gt: Dataset,
    fmt: str | None = None,
    options: Options = Options(),
    *,
    masks: bool = False,
    gt_format: str | None = None,
) -> Detections:
    """Predictions from a path in `fmt` (detected when None), on the images and classes of `gt`;
    `options.names` maps the predictions' class numbers by name (YOLO, CSV)."""
    fmt = fmt or detect_format(path, "dt", gt_format)
    _check(fmt)
    if masks and fmt != "coco":
        raise InputError(
            f"masks (iou_type='segm') are read from COCO files only, not {fmt}", source=str(path)
        )
    if fmt == "coco":
        from .coco import read_coco_results

        return read_coco_results(path, gt, masks=masks)
    if fmt == "yolo":
        from .yolo import read_yolo_predictions

        return read_yolo_predictions(path, gt, names=options.names)
    if fmt == "voc":
        from .voc import read_voc_predictions

        return read_voc_predictions(path, gt)
    from .csv import read_csv_predictions

    return read_csv_predictions(
        path, gt, columns=options.columns, box_format=options.box_format, names=options.names
    )


def write(
    data: Dataset | Detections,
    path: str | Path,
    fmt: str,
    *,
    gt: Dataset | None = None,
    box_format: str | None = None,
) -> None:
    """Write ground truth or predictions (these need `gt` for YOLO, VOC and CSV) in `fmt`."""
    _check(fmt)
    is_gt = isinstance(data, Dataset)
    if not is_gt and gt is None and fmt != "coco":
        raise InputError(f"writing predictions as {fmt} needs the ground truth")
    if fmt == "coco":
        from .write import write_coco_gt, write_coco_results

        if isinstance(data, Dataset):
            write_coco_gt(data, path)
        else:
            write_coco_results(data, path)
    elif fmt == "yolo":
        from .yolo import write_yolo

        write_yolo(data, path, gt=gt)
    elif fmt == "voc":
        from .voc import write_voc, write_voc_predictions

        if isinstance(data, Dataset):
            write_voc(data, path)
        else:
            assert gt is not None
            write_voc_predictions(data, path, gt)
    else:
        from .csv import write_csv

        write_csv(data, path, gt=gt, box_format=box_format or "xyxy")
