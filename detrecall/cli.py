"""The `detrecall` command: a thin front end over the public API."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

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
    return parser


def _evaluate(args: argparse.Namespace) -> int:
    from .pipeline import evaluate
    from .report.table import result_text

    result = evaluate(
        args.gt, args.dt, args.iou_type, iou_thresholds=args.iou_thresholds,
        max_dets=args.max_dets, class_agnostic=args.class_agnostic,
        iou_threshold=args.iou_threshold, score_threshold=args.score_threshold, beta=args.beta,
        target_recall=args.target_recall, target_precision=args.target_precision,
        confusion=args.confusion,
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
    try:
        return _evaluate(args)
    except DetrecallError as e:
        print(f"detrecall: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. --output to a folder that does not exist
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
