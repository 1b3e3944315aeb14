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
    ev.add_argument("gt", type=Path, help="ground truth: COCO instances JSON, YOLO label folder, VOC "
                    "XML folder or CSV (format from the path, or --gt-format)")
    ev.add_argument("dt", type=Path, help="predictions: COCO results JSON, YOLO label folder (with "
                    "scores), VOC devkit result files or CSV (format from the path, or --dt-format)")
    ev.add_argument("--iou-type", choices=("bbox", "segm"), default="bbox")
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
    fm = ev.add_argument_group("input formats (see README: Input formats)")
    fm.add_argument("--gt-format", choices=_FORMATS, help="format of GT (default: from the path)")
    fm.add_argument("--dt-format", choices=_FORMATS, help="format of DT (default: from the path)")
    _input_options(fm)
    fm.add_argument("--dt-names", type=Path, metavar="FILE",
                    help="the model's class names, to map DT's class numbers to GT's classes by name")
    cv = sub.add_parser(
        "convert", help="convert ground truth or predictions between COCO, YOLO, VOC and CSV",
        description="Read SRC (ground truth, or predictions with --kind dt) and write it to DST in "
        "another format. Predictions need the ground truth (--gt) for images and classes.")
    cv.add_argument("src", type=Path, help="file or folder to read")
    cv.add_argument("dst", type=Path, help="file (COCO, CSV) or folder (YOLO, VOC) to write")
    cv.add_argument("--to", dest="to_format", choices=_FORMATS, required=True, help="format to write")
    cv.add_argument("--from", dest="from_format", choices=_FORMATS,
                    help="format of SRC (default: from the path)")
    cv.add_argument("--kind", choices=("gt", "dt"), default="gt",
                    help="SRC holds ground truth (default) or predictions")
    cv.add_argument("--gt", type=Path, help="the ground truth, for --kind dt")
    cv.add_argument("--gt-format", choices=_FORMATS, help="format of --gt (default: from the path)")
    _input_options(cv)
    cv.add_argument("--dt-names", type=Path, metavar="FILE",
                    help="the model's class names, to map class numbers to the ground truth's by name")
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


_FORMATS = ("coco", "yolo", "voc", "csv")


def _input_options(group: Any) -> None:
    group.add_argument("--images", type=Path, metavar="DIR",
                       help="YOLO: folder of the images (their sizes are read from the files)")
    group.add_argument("--sizes", type=Path, metavar="FILE",
                       help="YOLO: image sizes, CSV image,width,height or JSON {image: [w, h]}")
    group.add_argument("--names", type=Path, metavar="FILE",
                       help="class names: data.yaml (names:) or one name per line (line i = class i)")
    group.add_argument("--columns", nargs="+", metavar="OURS=THEIRS", type=_column_pair,
                       help="CSV column names, e.g. image=filename class=label x1=left")
    group.add_argument("--box-format", choices=("xyxy", "xywh", "cxcywh"),
                       help="CSV: which box columns to read (default: the first complete set of x1 y1 "
                       "x2 y2, x y w h, cx cy w h); and to write (default xyxy)")


def _column_pair(text: str) -> tuple[str, str]:
    ours, sep, theirs = text.partition("=")
    if not sep or not ours or not theirs:
        raise argparse.ArgumentTypeError(f"{text!r} is not OURS=THEIRS (e.g. image=filename)")
    return ours, theirs


def _read_options(args: argparse.Namespace, names: Any) -> Any:
    from .io.formats import Options

    return Options(images=args.images, sizes=args.sizes, names=names,
                   columns=dict(args.columns) if args.columns else None, box_format=args.box_format)


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


def _evaluate_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The paths themselves for COCO files (the fast readers, LVIS), else Dataset/Detections."""
    from .io import formats

    gt_format = args.gt_format or formats.detect_format(args.gt, "gt")
    dt_format = args.dt_format or formats.detect_format(args.dt, "dt", gt_format)
    if gt_format == "coco" and dt_format == "coco":
        return args.gt, args.dt
    masks = args.iou_type == "segm"
    gt = formats.read_gt(args.gt, gt_format, _read_options(args, args.names), masks=masks)
    dt = formats.read_dt(args.dt, gt, dt_format, _read_options(args, args.dt_names), masks=masks)
    return gt, dt


def _convert(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .io import formats

    if args.kind == "gt":
        data = formats.read_gt(args.src, args.from_format, _read_options(args, args.names))
        formats.write(data, args.dst, args.to_format, box_format=args.box_format)
        what = f"{len(data)} annotation(s) on {len(data.images.ids)} image(s)"
    else:
        if args.gt is None:
            raise InputError("converting predictions (--kind dt) needs the ground truth: --gt FILE")
        gt_format = args.gt_format or formats.detect_format(args.gt, "gt")
        gt = formats.read_gt(args.gt, gt_format, _read_options(args, args.names))
        data = formats.read_dt(args.src, gt, args.from_format, _read_options(args, args.dt_names),
                               gt_format=gt_format)
        formats.write(data, args.dst, args.to_format, gt=gt, box_format=args.box_format)
        what = f"{len(data)} prediction(s)"
    print(f"wrote {what} to {args.dst} ({args.to_format})")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .pipeline import evaluate
    from .report.table import result_text

    gt, dt = _evaluate_inputs(args)
    result = evaluate(
        gt, dt, args.iou_type, iou_thresholds=args.iou_thresholds,
        max_dets=args.max_dets, class_agnostic=args.class_agnostic,
        iou_threshold=args.iou_threshold, score_threshold=args.score_threshold, beta=args.beta,
        target_recall=args.target_recall, target_precision=args.target_precision,
        confusion=args.confusion, protocol=args.protocol, ap_method=args.ap_method,
        pixel_inclusive=args.pixel_inclusive,
    )
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
    run = {"classify": _classify, "convert": _convert}.get(args.command, _evaluate)
    try:
        if run is _classify:
            return run(args)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return run(args)
            finally:
                for message in dict.fromkeys(str(w.message) for w in caught):
                    print(f"detrecall: warning: {message}", file=sys.stderr)
    except DetrecallError as e:
        for line in str(e).splitlines():  # several collected problems: one line each
            print(f"detrecall: error: {line}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. --output to a folder that does not exist
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
