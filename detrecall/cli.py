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
    ci = ev.add_argument_group("confidence intervals (image-level bootstrap)")
    ci.add_argument("--ci", type=float, metavar="LEVEL",
                    help="add LEVEL (e.g. 0.95) bootstrap intervals of AP, AP50, AP75, AR100, "
                    "precision, recall, F1, overall and per class, to the table and JSON")
    _bootstrap_options(ci, required_ci=True)
    cmp = sub.add_parser(
        "compare", help="compare two models on one ground truth; exit 1 on a regression",
        description="Compare a candidate with a baseline: GT BASE_DT CAND_DT (paired bootstrap: "
        "delta, its interval, p-value) or BASE.json CAND.json saved by `evaluate --output` (deltas "
        "only). Exit status 1 when a metric given in --max-drop drops by more than allowed, 0 "
        "otherwise, 2 on bad input.")
    cmp.add_argument("inputs", nargs="+", type=Path, metavar="FILE",
                     help="GT BASE_DT CAND_DT, or BASE_RESULT.json CAND_RESULT.json")
    cmp.add_argument("--max-drop", action="append", default=[], metavar="METRIC=AMOUNT",
                     help="fail when METRIC (AP, AP50, AP75, AR100, precision, recall, F1) drops by "
                     "more than AMOUNT, e.g. AP=0.005; repeat for several")
    cmp.add_argument("--significant-only", action="store_true",
                     help="fail only on drops that are also significant (p < 1 - LEVEL)")
    cmp.add_argument("--ci", type=float, default=0.95, metavar="LEVEL",
                     help="confidence level of the intervals and significance (default 0.95)")
    _bootstrap_options(cmp, required_ci=False)
    cmp.add_argument("--per-class", action="store_true",
                     help="add per-class tables for the gated metrics (AP when none)")
    cmp.add_argument("--format", choices=("table", "json"), default="table")
    cmp.add_argument("--iou-type", choices=("bbox", "segm"), default="bbox")
    cmp.add_argument("--iou-threshold", type=float, default=0.5, metavar="T",
                     help="operating point IoU (default 0.5)")
    cmp.add_argument("--score-threshold", type=float, default=0.0, metavar="S",
                     help="operating point score threshold (default 0)")
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


def _bootstrap_options(group: Any, required_ci: bool) -> None:
    after = " (with --ci)" if required_ci else ""
    group.add_argument("--bootstrap", type=int, metavar="N",
                       help=f"bootstrap replicates{after} (default 1000)")
    group.add_argument("--seed", type=int, help=f"seed of the image draws{after} (default 0)")


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
    from .protocols.bootstrap import bootstrap, check_bootstrap_args
    from .report.table import result_text

    if args.ci is None and (args.bootstrap is not None or args.seed is not None):
        raise DetrecallError("--bootstrap and --seed go with --ci LEVEL (e.g. --ci 0.95)")
    if args.ci is not None:
        check_bootstrap_args(_default(args.bootstrap, 1000), _default(args.seed, 0), args.ci)
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
    intervals = None
    if args.ci is not None:
        intervals = bootstrap(result, n=_default(args.bootstrap, 1000), seed=_default(args.seed, 0),
                              confidence=args.ci)
        payload["intervals"] = intervals.to_dict()
    if args.output is not None:
        args.output.write_text(json.dumps(payload, indent=2) + "\n")
    if args.format == "json":
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(result_text(result))
        if intervals is not None:
            from .report.intervals import intervals_text

            sys.stdout.write("\n" + intervals_text(intervals) + "\n")
    return 0


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _parse_max_drop(items: Sequence[str]) -> dict[str, float]:
    from .protocols.compare import parse_max_drop

    out: dict[str, float] = {}
    for item in items:
        metric, sep, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = None
        if not sep or value is None:
            raise DetrecallError(f"--max-drop expects METRIC=AMOUNT, e.g. AP=0.005; got {item!r}")
        out[metric.strip()] = value
    return parse_max_drop(out)


def _compare(args: argparse.Namespace) -> int:
    from .io._records import read_json
    from .pipeline import evaluate
    from .protocols.compare import compare, compare_saved
    from .report.intervals import comparison_text

    max_drop = _parse_max_drop(args.max_drop)
    if len(args.inputs) == 3:
        gt, base_dt, cand_dt = args.inputs
        options = dict(iou_threshold=args.iou_threshold, score_threshold=args.score_threshold)
        comparison = compare(evaluate(gt, base_dt, args.iou_type, **options),
                             evaluate(gt, cand_dt, args.iou_type, **options),
                             n=_default(args.bootstrap, 1000), seed=_default(args.seed, 0),
                             confidence=args.ci)
    elif len(args.inputs) == 2:
        if args.bootstrap is not None or args.seed is not None:
            raise DetrecallError("--bootstrap and --seed need GT BASE_DT CAND_DT: saved results "
                                 "hold no matches to resample")
        base, cand = (read_json(path, use_orjson=False)[0] for path in args.inputs)
        comparison = compare_saved(base, cand, sources=(str(args.inputs[0]), str(args.inputs[1])))
    else:
        raise DetrecallError(f"compare takes GT BASE_DT CAND_DT or BASE.json CAND.json, got "
                             f"{len(args.inputs)} files")
    failures = comparison.gate(max_drop, significant_only=args.significant_only)
    if args.format == "json":
        gate = {"max_drop": max_drop, "significant_only": args.significant_only,
                "passed": not failures,
                "failures": [{"metric": f.metric, "drop": f.drop, "allowed": f.allowed,
                              "significant": f.significant} for f in failures]}
        payload = {"schema_version": SCHEMA_VERSION, "comparison": comparison.to_dict(), "gate": gate}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        per_class = (tuple(max_drop) or ("AP",)) if args.per_class else ()
        sys.stdout.write(comparison_text(comparison, max_drop, failures, per_class))
    for f in failures:
        print(f"detrecall: regression: {f}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit status 0 on success, 2 on bad input or usage (one line on stderr)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "compare":
            return _compare(args)
        return _classify(args) if args.command == "classify" else _evaluate(args)
    except DetrecallError as e:
        print(f"detrecall: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. --output to a folder that does not exist
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
