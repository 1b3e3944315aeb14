"""The `detrecall` command: a thin front end over the public API."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__
from .errors import DetrecallError
from .report.formats import SCHEMA_VERSION


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detrecall", description="Exact, fast evaluation of object detectors.")
    parser.add_argument("--version", action="version", version=f"detrecall {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser(
        "evaluate", help="COCO AP/AR of a results file against a ground-truth file",
        description="Evaluate a COCO results file against a COCO instances file: pycocotools' "
        "12 numbers and per-class AP.")
    _add_evaluation_args(ev)
    ev.add_argument("--format", choices=("table", "json", "csv", "markdown"), default="table",
                    help="what to print on standard output: table (rich on a terminal, plain "
                    "text otherwise), json, csv (per class) or markdown (default: table)")
    ev.add_argument("--output", type=Path, metavar="FILE",
                    help="also write the full result as JSON to FILE")
    ev.add_argument("--diagnose", action="store_true",
                    help="add diagnostics: class imbalance, classes never or over-predicted, images "
                    "with most errors, AP = 1, score calibration (ECE)")
    ev.add_argument("--plots", type=Path, metavar="DIR",
                    help="also write every plot as DIR/<name>.png (adds the confusion matrix)")
    ev.add_argument("--plot-size", default="800x600", metavar="WxH",
                    help="plot size in pixels (default 800x600)")
    ev.add_argument("--quiet", action="store_true", help="no progress indication on stderr")
    pl = sub.add_parser(
        "plot", help="write the plots of an evaluation as PNG files",
        description="Evaluate as `evaluate` does and write PR curves, P/R/F1 vs score, AP per "
        "class, AP by size, confusion matrices and a reliability diagram as PNG files.")
    _add_evaluation_args(pl)
    pl.add_argument("-o", "--output", type=Path, metavar="DIR", required=True,
                    help="folder for the PNG files (created if missing)")
    pl.add_argument("--plot-size", default="800x600", metavar="WxH",
                    help="plot size in pixels (default 800x600)")
    pl.add_argument("--quiet", action="store_true", help="no progress indication on stderr")
    rp = sub.add_parser(
        "report", help="write a self-contained HTML report of an evaluation",
        description="Evaluate as `evaluate` does and write one HTML file (no external resources): "
        "summary, diagnostics, sortable per-class tables, operating points, confusion matrix, plots.")
    _add_evaluation_args(rp)
    rp.add_argument("-o", "--output", type=Path, metavar="FILE", required=True,
                    help="the HTML file to write")
    rp.add_argument("--plot-size", default="800x600", metavar="WxH",
                    help="plot size in pixels (default 800x600)")
    rp.add_argument("--quiet", action="store_true", help="no progress indication on stderr")
    cl = sub.add_parser(
        "classify", help="classification report of label predictions (scikit-learn's)",
        description="Precision, recall, F1 and support per label, accuracy and averages, for "
        "plain label predictions (one label per sample).")
    cl.add_argument("y_true", type=Path, help="true labels: .csv/.txt (one per line), .json list or .npy")
    cl.add_argument("y_pred", type=Path, help="predicted labels, same forms and length")
    cl.add_argument("--column", help="CSV column name to read (the file then has a header)")
    cl.add_argument("--digits", type=int, default=2)
    cl.add_argument("--format", choices=("table", "json", "csv", "markdown"), default="table")
    return parser


def _add_evaluation_args(p: argparse.ArgumentParser) -> None:
    """GT, DT and the evaluation options shared by evaluate, plot and report."""
    p.add_argument("gt", type=Path, help="COCO instances (ground-truth) JSON file")
    p.add_argument("dt", type=Path, help="COCO results JSON file (a list of detections)")
    p.add_argument("--iou-type", choices=("bbox", "segm", "polygon", "rotated"), default="bbox",
                   help="bbox: boxes; segm: masks; polygon: polygon segmentations as exact shapes; "
                   "rotated: 'rbox': [cx, cy, w, h, angle] (default: bbox)")
    p.add_argument("--angle-unit", choices=("radians", "degrees"), default="radians",
                   help="unit of the rbox angle (default: radians; positive = clockwise on screen)")
    p.add_argument("--iou-thresholds", type=float, nargs="+", metavar="T",
                   help="IoU thresholds (default: 0.50:0.05:0.95)")
    p.add_argument("--max-dets", type=int, nargs="+", metavar="N",
                   help="detections per image and class (default: 1 10 100)")
    p.add_argument("--class-agnostic", action="store_true",
                   help="ignore categories when matching (pycocotools' useCats=0)")
    pr = p.add_argument_group("protocol")
    pr.add_argument("--protocol", choices=("coco", "voc", "lvis"), default="coco",
                    help="coco (default); voc: Pascal VOC AP per class (IoU 0.5 unless "
                    "--iou-thresholds); lvis: LVIS federated evaluation (LVIS ground truth)")
    pr.add_argument("--ap-method", choices=("allpoint", "11point"), default="allpoint",
                    help="VOC AP: all-point (VOC2010+, default) or 11-point (VOC2007)")
    pr.add_argument("--pixel-inclusive", action="store_true",
                    help="VOC devkit box convention: +1 on widths and heights")
    pt = p.add_argument_group("operating point")
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
        if args.format in ("json", "csv", "markdown"):
            from .report.formats import report_csv, report_markdown

            report = classification_report(y_true, y_pred, output_dict=True, digits=args.digits)
            text = (report_csv(report) if args.format == "csv" else report_markdown(report)
                    if args.format == "markdown" else
                    json.dumps({"schema_version": SCHEMA_VERSION, "report": report}, indent=2) + "\n")
        else:
            text = classification_report(y_true, y_pred, digits=args.digits)
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"detrecall: warning: {message}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


@contextmanager
def _status(args: argparse.Namespace, message: str) -> Iterator[None]:
    """A spinner with `message` on stderr while a stage runs: only on a terminal, not --quiet."""
    if getattr(args, "quiet", False) or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def _run_evaluation(args: argparse.Namespace, confusion: bool) -> Any:
    """evaluate() with the command's options; its warnings printed once each on stderr."""
    from .pipeline import evaluate

    with _status(args, f"evaluating {args.dt} against {args.gt} ..."), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate(
            args.gt, args.dt, args.iou_type, iou_thresholds=args.iou_thresholds,
            max_dets=args.max_dets, class_agnostic=args.class_agnostic,
            iou_threshold=args.iou_threshold, score_threshold=args.score_threshold, beta=args.beta,
            target_recall=args.target_recall, target_precision=args.target_precision,
            confusion=confusion, angle_unit=args.angle_unit, protocol=args.protocol,
            ap_method=args.ap_method, pixel_inclusive=args.pixel_inclusive,
        )
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"detrecall: warning: {message}", file=sys.stderr)
    return result


def _evaluate(args: argparse.Namespace) -> int:
    import os

    from .report import formats
    from .report.table import diagnostics_text, result_text, use_rich

    size = None
    if args.plots is not None:
        from .report.plots import parse_size

        size = parse_size(args.plot_size)  # refuse a bad size before the work
    result = _run_evaluation(args, args.confusion or args.plots is not None)
    diagnosis = None
    if args.diagnose or args.plots is not None:
        from .report.diagnose import diagnose

        diagnosis = diagnose(result)
    shown = diagnosis if args.diagnose else None
    if args.output is not None:
        args.output.write_text(formats.to_json(result, shown))
    if args.plots is not None:
        from .report.plots import write_plots

        assert diagnosis is not None and size is not None
        with _status(args, f"drawing plots into {args.plots} ..."):
            write_plots(result, args.plots, size, diagnosis.calibration)
    if args.format == "json":
        sys.stdout.write(formats.to_json(result, shown))
    elif args.format == "csv":
        sys.stdout.write(formats.to_csv(result))
    elif args.format == "markdown":
        sys.stdout.write(formats.to_markdown(result, shown))
    elif use_rich(sys.stdout, os.environ):
        from rich.console import Console

        from .report.table import print_rich

        print_rich(result, Console(), shown)
    else:
        sys.stdout.write(result_text(result))
        if shown is not None:
            sys.stdout.write("\n" + diagnostics_text(shown) + "\n")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from .report.diagnose import calibration
    from .report.plots import parse_size, write_plots

    size = parse_size(args.plot_size)
    result = _run_evaluation(args, True)
    with _status(args, f"drawing plots into {args.output} ..."):
        paths = write_plots(result, args.output, size, calibration(result))
    sys.stdout.write("".join(f"{path}\n" for path in paths))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report.html import write_report
    from .report.plots import parse_size

    size = parse_size(args.plot_size)
    if not args.output.parent.is_dir():  # say so before the work
        raise DetrecallError(f"{args.output.parent}: no such folder (for the report {args.output.name})")
    result = _run_evaluation(args, True)
    with _status(args, f"writing {args.output} ..."):
        write_report(result, args.output, title=f"{args.dt.name} vs {args.gt.name}", size=size)
    if not args.quiet:
        print(f"detrecall: wrote {args.output}", file=sys.stderr)
    return 0


_COMMANDS = {"evaluate": _evaluate, "classify": _classify, "plot": _plot, "report": _report}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit status 0 on success, 2 on bad input or usage (one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except DetrecallError as e:
        print(f"detrecall: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. --output to a folder that does not exist
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
