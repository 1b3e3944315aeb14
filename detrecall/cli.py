"""The `detrecall` command: a thin front end over the public API."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import DetrecallError

SCHEMA_VERSION = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detrecall", description="Exact, fast evaluation of object detectors.")
    parser.add_argument("--version", action="version", version=f"detrecall {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser(
        "evaluate", help="COCO AP/AR of a results file against a ground-truth file",
        description="Evaluate a COCO results file against a COCO instances file: pycocotools' "
        "12 numbers and per-class AP.")
    ev.add_argument("gt", type=Path, help="COCO instances (ground-truth) JSON file")
    ev.add_argument("dt", type=Path, help="COCO results JSON file (a list of detections)")
    ev.add_argument("--iou-type", choices=("bbox", "segm", "polygon", "rotated"), default="bbox",
                    help="bbox: boxes; segm: masks; polygon: polygon segmentations as exact shapes; "
                    "rotated: 'rbox': [cx, cy, w, h, angle] (default: bbox)")
    ev.add_argument("--angle-unit", choices=("radians", "degrees"), default="radians",
                    help="unit of the rbox angle (default: radians; positive = clockwise on screen)")
    ev.add_argument("--format", choices=("table", "json"), default="table",
                    help="what to print on standard output (default: table)")
    ev.add_argument("--output", type=Path, metavar="FILE",
                    help="also write the full result as JSON to FILE")
    ev.add_argument("--iou-thresholds", type=float, nargs="+", metavar="T",
                    help="IoU thresholds (default: 0.50:0.05:0.95)")
    ev.add_argument("--max-dets", type=int, nargs="+", metavar="N",
                    help="detections per image and class (default: 1 10 100)")
    ev.add_argument("--class-agnostic", action="store_true",
                    help="ignore categories when matching (pycocotools' useCats=0)")
    pr = ev.add_argument_group("protocol")
    pr.add_argument("--protocol", choices=("coco", "voc", "lvis"), default="coco",
                    help="coco (default); voc: Pascal VOC AP per class (IoU 0.5 unless "
                    "--iou-thresholds); lvis: LVIS federated evaluation (LVIS ground truth)")
    pr.add_argument("--ap-method", choices=("allpoint", "11point"), default="allpoint",
                    help="VOC AP: all-point (VOC2010+, default) or 11-point (VOC2007)")
    pr.add_argument("--pixel-inclusive", action="store_true",
                    help="VOC devkit box convention: +1 on widths and heights")
    pt = ev.add_argument_group("operating point")
    pt.add_argument("--iou-threshold", type=float, default=0.5, metavar="T",
                    help="IoU a detection needs to be a true positive (default 0.5)")
    pt.add_argument("--score-threshold", type=float, default=0.0, metavar="S",
                    help="detections with score >= S count (default 0)")
    pt.add_argument("--beta", type=float, default=1.0, help="F-beta's beta (default 1)")
    pt.add_argument("--target-recall", type=float, metavar="R",
                    help="also report the threshold with the best precision at recall >= R")
    pt.add_argument("--target-precision", type=float, metavar="P",
                    help="also report the threshold with the best recall at precision >= P")
    pt.add_argument("--confusion", action="store_true", help="add the confusion matrix")
    cl = sub.add_parser(
        "classify", help="classification report of label predictions (scikit-learn's)",
        description="Precision, recall, F1 and support per label, accuracy and averages, for "
        "plain label predictions (one label per sample).")
    cl.add_argument("y_true", type=Path, help="true labels: .csv/.txt (one per line), .json list or .npy")
    cl.add_argument("y_pred", type=Path, help="predicted labels, same forms and length")
    cl.add_argument("--column", help="CSV column name to read (the file then has a header)")
    cl.add_argument("--digits", type=int, default=2)
    cl.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def _read_labels(path: Path, column: str | None) -> Any:
    """Labels from .npy (array), .json (a list) or .csv/.txt (one per line, or the named column
    of a CSV with a header); numeric text becomes numbers."""
    import csv

    import numpy as np

    from .errors import InputError
    from .io._records import read_json

    if not path.is_file():
        raise InputError("file not found", source=str(path))
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".json":
        data, _ = read_json(path)
        if not isinstance(data, list):
            raise InputError(f"is a JSON {type(data).__name__}, expected a list of labels", source=str(path))
        return np.asarray(data)
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if column is not None:
        if not rows or column not in rows[0]:
            raise InputError(f"no column {column!r} in the header", source=str(path))
        i = rows[0].index(column)
        values = [r[i] for r in rows[1:]]
    else:
        values = [r[0] for r in rows]
    try:
        return np.asarray([int(v) for v in values])
    except ValueError:
        return np.asarray([v.strip() for v in values])


def _classify(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .metrics import classification_report

    y_true = _read_labels(args.y_true, args.column)
    y_pred = _read_labels(args.y_pred, args.column)
    if len(y_true) != len(y_pred):
        raise InputError(f"{len(y_true)} true labels but {len(y_pred)} predicted ({args.y_pred})",
                         source=str(args.y_true))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.format == "json":
            report = classification_report(y_true, y_pred, output_dict=True, digits=args.digits)
            text = json.dumps({"schema_version": SCHEMA_VERSION, "report": report}, indent=2) + "\n"
        else:
            text = classification_report(y_true, y_pred, digits=args.digits)
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"detrecall: warning: {message}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .pipeline import evaluate
    from .report.table import result_text

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate(
            args.gt, args.dt, args.iou_type, iou_thresholds=args.iou_thresholds,
            max_dets=args.max_dets, class_agnostic=args.class_agnostic,
            iou_threshold=args.iou_threshold, score_threshold=args.score_threshold, beta=args.beta,
            target_recall=args.target_recall, target_precision=args.target_precision,
            confusion=args.confusion, angle_unit=args.angle_unit, protocol=args.protocol,
            ap_method=args.ap_method, pixel_inclusive=args.pixel_inclusive,
        )
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"detrecall: warning: {message}", file=sys.stderr)
    payload = {"schema_version": SCHEMA_VERSION, **result.to_dict()}
    if args.output is not None:
        args.output.write_text(json.dumps(payload, indent=2) + "\n")
    if args.format == "json":
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(result_text(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit status 0 on success, 2 on bad input or usage (one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        return _classify(args) if args.command == "classify" else _evaluate(args)
    except DetrecallError as e:
        print(f"detrecall: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. --output to a folder that does not exist
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
