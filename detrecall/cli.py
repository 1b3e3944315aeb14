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
    return parser


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate
    from .report.table import result_text

    result = evaluate(
        args.gt, args.dt, args.iou_type, iou_thresholds=args.iou_thresholds,
        max_dets=args.max_dets, class_agnostic=args.class_agnostic,
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
