"""The `detrecall` command: a thin front end over the public API."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import DetrecallError
from .options import IouType
from .report.formats import SCHEMA_VERSION
from .tables import dumps


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="detrecall", description="Exact, fast evaluation of object detectors."
    )
    from . import _compiled

    modules = {
        "_native": _compiled.native,
        "_kernels": _compiled.kernels,
        "_raster": _compiled.raster,
        "_stream": _compiled.stream,
    }
    missing = [name for name, module in modules.items() if module is None]
    speed = (
        "compiled hot paths"
        if not missing
        else f"pure Python where {', '.join(missing)} would run (not built or turned off: slower)"
    )
    parser.add_argument("--version", action="version", version=f"detrecall {__version__} ({speed})")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser(
        "evaluate",
        help="AP/AR, recall and precision of predictions against ground truth",
        description="Evaluate predictions (COCO results, YOLO labels, VOC result files or CSV) "
        "against ground truth (COCO, YOLO, VOC or CSV): the protocol's summary (COCO: "
        "pycocotools' 12 numbers), per-class AP, and recall/precision/F1 at an operating point.",
    )
    _add_evaluation_args(ev)
    ev.add_argument(
        "--format",
        choices=("table", "json", "csv", "markdown"),
        default="table",
        help="what to print on standard output: table (rich on a terminal, plain "
        "text otherwise), json, csv (per class) or markdown (default: table)",
    )
    ev.add_argument("--output", type=Path, metavar="FILE", help="also write the full result as JSON to FILE")
    ev.add_argument(
        "--diagnose",
        action="store_true",
        help="add diagnostics: class imbalance, classes never or over-predicted, images "
        "with most errors, AP = 1, score calibration (ECE)",
    )
    ev.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="also write every plot as DIR/<name>.png (adds the confusion matrix)",
    )
    _add_drawing_args(ev)
    ci = ev.add_argument_group("confidence intervals (image-level bootstrap)")
    ci.add_argument(
        "--ci",
        type=float,
        metavar="LEVEL",
        help="add LEVEL (e.g. 0.95) bootstrap intervals of AP, AP50, AP75, AR100, "
        "precision, recall, F1, overall and per class, to the table and JSON",
    )
    _bootstrap_options(ci, required_ci=True)
    cmp = sub.add_parser(
        "compare",
        help="compare two models on one ground truth; exit 1 on a regression",
        description="Compare a candidate with a baseline: GT BASE_DT CAND_DT (paired bootstrap: "
        "delta, its interval, p-value) or BASE.json CAND.json saved by `evaluate --output` (deltas "
        "only). Exit status 1 when a metric given in --max-drop drops by more than allowed, 0 "
        "otherwise, 2 on bad input.",
    )
    cmp.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="GT BASE_DT CAND_DT, or BASE_RESULT.json CAND_RESULT.json",
    )
    cmp.add_argument(
        "--max-drop",
        action="append",
        default=[],
        metavar="METRIC=AMOUNT",
        help="fail when METRIC (AP, AP50, AP75, AR100, precision, recall, F1) drops by "
        "more than AMOUNT, e.g. AP=0.005; repeat for several",
    )
    cmp.add_argument(
        "--significant-only",
        action="store_true",
        help="fail only on drops that are also significant (p < 1 - LEVEL)",
    )
    cmp.add_argument(
        "--ci",
        type=float,
        default=0.95,
        metavar="LEVEL",
        help="confidence level of the intervals and significance (default 0.95)",
    )
    _bootstrap_options(cmp, required_ci=False)
    cmp.add_argument(
        "--per-class", action="store_true", help="add per-class tables for the gated metrics (AP when none)"
    )
    cmp.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json on stdout"
    )
    cmp.add_argument("--quiet", action="store_true", help="no progress indication on stderr")
    cmp.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads for matching and accumulation (default: $DETRECALL_THREADS, else the CPUs this "
        "process may use); the numbers do not depend on it",
    )
    cfm = cmp.add_argument_group("input formats (GT BASE_DT CAND_DT; see README: Input formats)")
    cfm.add_argument("--gt-format", choices=_FORMATS, help="format of GT (default: from the path)")
    cfm.add_argument(
        "--dt-format", choices=_FORMATS, help="format of both predictions (default: from the path)"
    )
    _input_options(cfm)
    cfm.add_argument(
        "--dt-names", type=Path, metavar="FILE", help="the models' class names, to map class numbers by name"
    )
    cmp.add_argument(
        "--iou-type",
        choices=IOU_TYPES,
        default="bbox",
        help="what is compared: " + ", ".join(IOU_TYPES) + " (default: bbox; see evaluate --help)",
    )
    cmp.add_argument(
        "--dilation-ratio", type=float, metavar="R", help="boundary IoU's band width (default: 0.02)"
    )
    cmp.add_argument(
        "--iou-threshold", type=float, default=0.5, metavar="T", help="operating point IoU (default 0.5)"
    )
    cmp.add_argument(
        "--score-threshold",
        type=float,
        default=0.0,
        metavar="S",
        help="operating point score threshold (default 0)",
    )
    pl = sub.add_parser(
        "plot",
        help="write the plots of an evaluation as PNG files",
        description="Evaluate as `evaluate` does and write PR curves, P/R/F1 vs score, AP per "
        "class, AP by size, confusion matrices and a reliability diagram as PNG files.",
    )
    _add_evaluation_args(pl)
    pl.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        required=True,
        help="folder for the PNG files (created if missing)",
    )
    _add_gallery_args(pl, "also write the N worst images drawn as DIR/gallery/worst_<rank>_image_<id>.png")
    _add_drawing_args(pl)
    rp = sub.add_parser(
        "report",
        help="write a self-contained HTML report of an evaluation",
        description="Evaluate as `evaluate` does and write one HTML file (no external resources): "
        "summary, diagnostics, sortable per-class tables, operating points, confusion matrix, plots.",
    )
    _add_evaluation_args(rp)
    rp.add_argument("-o", "--output", type=Path, metavar="FILE", required=True, help="the HTML file to write")
    _add_gallery_args(rp, "add a gallery of the N worst images drawn (embedded in the file)")
    _add_drawing_args(rp)
    cv = sub.add_parser(
        "convert",
        help="convert ground truth or predictions between COCO, YOLO, VOC and CSV",
        description="Read SRC (ground truth, or predictions with --kind dt) and write it to DST in "
        "another format. Predictions need the ground truth (--gt) for images and classes.",
    )
    cv.add_argument("src", type=Path, help="file or folder to read")
    cv.add_argument("dst", type=Path, help="file (COCO, CSV) or folder (YOLO, VOC) to write")
    cv.add_argument("--to", dest="to_format", choices=_FORMATS, required=True, help="format to write")
    cv.add_argument(
        "--from", dest="from_format", choices=_FORMATS, help="format of SRC (default: from the path)"
    )
    cv.add_argument(
        "--kind", choices=("gt", "dt"), default="gt", help="SRC holds ground truth (default) or predictions"
    )
    cv.add_argument("--gt", type=Path, help="the ground truth, for --kind dt")
    cv.add_argument("--quiet", action="store_true", help="no progress indication on stderr")
    cv.add_argument("--gt-format", choices=_FORMATS, help="format of --gt (default: from the path)")
    _input_options(cv)
    cv.add_argument(
        "--dt-names",
        type=Path,
        metavar="FILE",
        help="the model's class names, to map class numbers to the ground truth's by name",
    )
    cl = sub.add_parser(
        "classify",
        help="classification report of label predictions (scikit-learn's)",
        description="Precision, recall, F1 and support per label, accuracy and averages, for "
        "plain label predictions (one label per sample).",
    )
    cl.add_argument("y_true", type=Path, help="true labels: .csv/.txt (one per line), .json list or .npy")
    cl.add_argument(
        "y_pred",
        type=Path,
        nargs="?",
        help="predicted labels, same forms and length (default: the --pred-column of Y_TRUE's CSV)",
    )
    cl.add_argument("--column", help="CSV column name to read in both files (the files then have a header)")
    cl.add_argument("--true-column", help="CSV column of the true labels (e.g. label)")
    cl.add_argument("--pred-column", help="CSV column of the predicted labels (e.g. pred)")
    cl.add_argument("--digits", type=int, default=2, help="decimals in the table (default 2)")
    cl.add_argument(
        "--format",
        choices=("table", "json", "csv", "markdown"),
        default="table",
        help="table (scikit-learn's layout, default), json, csv or markdown",
    )
    from .monitor.cli import add_parser as add_monitor_parser

    add_monitor_parser(sub)
    from .serve.cli import add_parser as add_serve_parser

    add_serve_parser(sub)
    return parser


_FORMATS = ("coco", "yolo", "voc", "csv")
IOU_TYPES = tuple(t.value for t in IouType)


def _input_options(group: Any) -> None:
    group.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help="folder of the images: YOLO reads their sizes; plot and report draw the worst of them",
    )
    group.add_argument(
        "--sizes",
        type=Path,
        metavar="FILE",
        help="YOLO: image sizes, CSV image,width,height or JSON {image: [w, h]}",
    )
    group.add_argument(
        "--names",
        type=Path,
        metavar="FILE",
        help="class names: data.yaml (names:) or one name per line (line i = class i)",
    )
    group.add_argument(
        "--columns",
        nargs="+",
        metavar="OURS=THEIRS",
        type=_column_pair,
        help="CSV column names, e.g. image=filename class=label x1=left",
    )
    group.add_argument(
        "--only-gt-images",
        action="store_true",
        help="leave out predictions on images the ground truth does not have, with a warning "
        "counting them (default: they are an error)",
    )
    group.add_argument(
        "--box-format",
        choices=("xyxy", "xywh", "cxcywh"),
        help="CSV: which box columns to read (default: the first complete set of x1 y1 "
        "x2 y2, x y w h, cx cy w h); and to write (default xyxy)",
    )


def _column_pair(text: str) -> tuple[str, str]:
    ours, sep, theirs = text.partition("=")
    if not sep or not ours or not theirs:
        raise argparse.ArgumentTypeError(f"{text!r} is not OURS=THEIRS (e.g. image=filename)")
    return ours, theirs


def _read_options(args: argparse.Namespace, names: Any) -> dict[str, Any]:
    """The non-COCO reading options of `convert`, as keywords of detrecall.io's readers."""
    columns = dict(args.columns) if args.columns else None
    return {"names": names, "columns": columns, "box_format": args.box_format}


def _inputs(args: argparse.Namespace) -> Any:
    """How the command's inputs are read (formats, names, sizes, CSV columns, angle unit)."""
    from .options import InputOptions

    return InputOptions(
        gt_format=args.gt_format,
        dt_format=args.dt_format,
        box_format=args.box_format,
        angle_unit=getattr(args, "angle_unit", "radians"),
        images=args.images,
        sizes=args.sizes,
        names=args.names,
        dt_names=args.dt_names,
        columns=dict(args.columns) if args.columns else None,
        only_gt_images=args.only_gt_images,
    )


def _protocol(args: argparse.Namespace) -> Any:
    from .protocols import resolve_protocol

    given = {"ap_method": args.ap_method, "pixel_inclusive": args.pixel_inclusive or None}
    return resolve_protocol(args.protocol, **{k: v for k, v in given.items() if v is not None})


def _convert(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .io import detect_format, read_detections, read_ground_truth, write

    sizes = {"images": args.images, "sizes": args.sizes}
    with (
        _status(args, f"converting {args.src} to {args.to_format} ..."),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            if args.kind == "gt":
                data = read_ground_truth(
                    args.src, args.from_format, **sizes, **_read_options(args, args.names)
                )
                write(data, args.dst, args.to_format, box_format=args.box_format)
                what = f"{len(data)} annotation(s) on {len(data.images.ids)} image(s)"
            else:
                if args.gt is None:
                    raise InputError("converting predictions (--kind dt) needs the ground truth: --gt FILE")
                gt_format = args.gt_format or detect_format(args.gt, "gt")
                gt = read_ground_truth(args.gt, gt_format, **sizes, **_read_options(args, args.names))
                options = _read_options(args, args.dt_names)
                dt = read_detections(
                    args.src,
                    gt,
                    args.from_format,
                    gt_format=gt_format,
                    only_gt_images=args.only_gt_images,
                    **options,
                )
                write(dt, args.dst, args.to_format, ground_truth=gt, box_format=args.box_format)
                what = f"{len(dt)} prediction(s)"
        finally:
            for message in dict.fromkeys(str(w.message) for w in caught):
                print(f"detrecall: warning: {message}", file=sys.stderr)
    print(f"wrote {what} to {args.dst} ({args.to_format})")
    return 0


def _bootstrap_options(group: Any, required_ci: bool) -> None:
    after = " (with --ci)" if required_ci else ""
    group.add_argument(
        "--bootstrap", type=int, metavar="N", help=f"bootstrap replicates{after} (default 1000)"
    )
    group.add_argument("--seed", type=int, help=f"seed of the image draws{after} (default 0)")


def _add_drawing_args(p: argparse.ArgumentParser) -> None:
    """--plot-size and --quiet, shared by evaluate, plot and report."""
    p.add_argument(
        "--plot-size", default="800x600", metavar="WxH", help="plot size in pixels (default 800x600)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress indication on stderr")
    p.add_argument(
        "--verbose", action="store_true", help="print each stage with its counts and time on stderr"
    )


def _add_gallery_args(p: argparse.ArgumentParser, what: str) -> None:
    """--gallery, shared by plot and report (with --images DIR, the folder of the images)."""
    g = p.add_argument_group(
        "errors on images (with --images DIR: the images, by the ground truth's file_name)"
    )
    g.add_argument(
        "--gallery",
        type=int,
        default=12,
        metavar="N",
        help=f"with --images: {what}, with ground truth and predictions drawn (TP / FP / FN colours, "
        "class and score) at the operating point; N: how many of the images with the most errors "
        "(FP + FN) (default 12)",
    )


def _gallery_inputs(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """With --images: the ground truth and detections read once (evaluated and then drawn), their
    reading's warnings printed; else None."""
    if args.images is None:
        return None
    if not args.images.is_dir():
        raise DetrecallError(f"{args.images}: no such folder (--images)")
    if args.gallery < 1:
        raise DetrecallError(f"--gallery must be at least 1, got {args.gallery}")
    from .evaluate import make_config, read_inputs

    config = make_config(args.iou_type, protocol=_protocol(args), inputs=_inputs(args))
    read = _drawn(read_inputs, args.gt, args.dt, config)
    try:  # a protocol that reads its own file (LVIS: the federated labels) takes no read inputs
        config.protocol.read(read[0], read[1], lambda gt, dt, source=None: (gt, dt))
    except DetrecallError as e:
        raise DetrecallError(f"--images: {e}, so the gallery cannot draw its evaluation") from None
    return read


def _drawn(step: Any, *arguments: Any) -> Any:
    """step(*arguments) (reading for the gallery, drawing it), its warnings (e.g. missing image
    files) printed once each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = step(*arguments)
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"detrecall: warning: {message}", file=sys.stderr)
    return out


def _add_evaluation_args(p: argparse.ArgumentParser) -> None:
    """GT, DT and the evaluation options shared by evaluate, plot and report."""
    p.add_argument(
        "gt",
        type=Path,
        help="ground truth: COCO instances JSON, YOLO label folder, VOC "
        "XML folder or CSV (format from the path, or --gt-format)",
    )
    p.add_argument(
        "dt",
        type=Path,
        help="predictions: COCO results JSON, YOLO label folder (with "
        "scores), VOC devkit result files or CSV (format from the path, or --dt-format)",
    )
    p.add_argument(
        "--iou-type",
        choices=IOU_TYPES,
        default="bbox",
        help="bbox: boxes; segm: masks; polygon: polygon segmentations as exact shapes; "
        "rotated: 'rbox': [cx, cy, w, h, angle]; keypoints: OKS of 'keypoints'; boundary: "
        "boundary IoU of masks (default: bbox)",
    )
    p.add_argument(
        "--dilation-ratio",
        type=float,
        metavar="R",
        help="boundary IoU: width of the boundary band as a fraction of the image diagonal "
        "(default: 0.02, as faster-coco-eval and the boundary-iou-api)",
    )
    p.add_argument(
        "--angle-unit",
        choices=("radians", "degrees"),
        default="radians",
        help="unit of the rbox angle (default: radians; positive = clockwise on screen)",
    )
    p.add_argument(
        "--iou-thresholds",
        type=float,
        nargs="+",
        metavar="T",
        help="IoU thresholds (default: 0.50:0.05:0.95)",
    )
    p.add_argument(
        "--max-dets",
        type=int,
        nargs="+",
        metavar="N",
        help="COCO's max detections per image and class (default: 1 10 100); the operating "
        "point counts every detection unless --point-max-dets",
    )
    p.add_argument(
        "--class-agnostic",
        action="store_true",
        help="ignore categories when matching (pycocotools' useCats=0)",
    )
    pr = p.add_argument_group("protocol")
    pr.add_argument(
        "--protocol",
        choices=("coco", "voc", "lvis"),
        default="coco",
        help="coco (default); voc: Pascal VOC AP per class (IoU 0.5 unless "
        "--iou-thresholds); lvis: LVIS federated evaluation (LVIS ground truth)",
    )
    pr.add_argument(
        "--ap-method",
        choices=("allpoint", "11point"),
        help="VOC AP: all-point (VOC2010+, default) or 11-point (VOC2007)",
    )
    pr.add_argument(
        "--pixel-inclusive", action="store_true", help="VOC devkit box convention: +1 on widths and heights"
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads for matching and accumulation (default: $DETRECALL_THREADS, else the CPUs this "
        "process may use); the numbers do not depend on it",
    )
    pt = p.add_argument_group("operating point")
    pt.add_argument(
        "--iou-threshold",
        type=float,
        default=0.5,
        metavar="T",
        help="IoU a detection needs to be a true positive (default 0.5)",
    )
    pt.add_argument(
        "--score-threshold",
        type=float,
        metavar="S",
        help="detections with score >= S count (default 0 in the JSON and CSV; the tables, "
        "confusion matrix, diagnostics and plots then show the best-F1 threshold of all classes pooled)",
    )
    pt.add_argument("--beta", type=float, default=1.0, help="F-beta's beta (default 1)")
    pt.add_argument(
        "--target-recall",
        type=float,
        metavar="R",
        help="also report the threshold with the best precision at recall >= R",
    )
    pt.add_argument(
        "--target-precision",
        type=float,
        metavar="P",
        help="also report the threshold with the best recall at precision >= P",
    )
    pt.add_argument("--confusion", action="store_true", help="add the confusion matrix")
    an = p.add_argument_group("where the missing AP went")
    an.add_argument(
        "--errors",
        action="store_true",
        help="TIDE error analysis: the AP each error type costs (cls, loc, both, dupe, bkg, miss)",
    )
    an.add_argument(
        "--per-image",
        type=Path,
        metavar="FILE.csv",
        help="write per-image TP, FP, FN, precision, recall, F1 and AP50 to FILE.csv",
    )
    an.add_argument(
        "--slices",
        type=Path,
        metavar="FILE",
        help="evaluate subsets of images too: JSON {name: [image ids]} or CSV image,slice",
    )
    an.add_argument(
        "--label-errors",
        action="store_true",
        help="list likely missing annotations and wrong labels (confident detections on no ground "
        "truth, or on another class's ground truth at high IoU)",
    )
    pt.add_argument(
        "--point-max-dets",
        type=int,
        metavar="N",
        help="count at most N detections per image and class at the operating point (default: all)",
    )
    fm = p.add_argument_group("input formats (see README: Input formats)")
    fm.add_argument("--gt-format", choices=_FORMATS, help="format of GT (default: from the path)")
    fm.add_argument("--dt-format", choices=_FORMATS, help="format of DT (default: from the path)")
    _input_options(fm)
    fm.add_argument(
        "--dt-names",
        type=Path,
        metavar="FILE",
        help="the model's class names, to map DT's class numbers to GT's classes by name",
    )


def _classify(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .io.labels import read_labels
    from .metrics import classification_report

    if args.digits < 0:
        raise DetrecallError(f"--digits must be >= 0, got {args.digits}")

    if args.column is not None and (args.true_column or args.pred_column):
        raise DetrecallError(
            "--column names the column of both files: give it, or --true-column / --pred-column"
        )
    pred_path = args.y_true if args.y_pred is None else args.y_pred
    if args.y_pred is None and not (args.true_column and args.pred_column):
        raise DetrecallError(
            "one labels file holds both only with --true-column and --pred-column (e.g. label, pred)"
        )
    y_true = read_labels(args.y_true, args.true_column or args.column)
    y_pred = read_labels(pred_path, args.pred_column or args.column)
    if len(y_true) != len(y_pred):
        raise InputError(
            f"{len(y_true)} true labels but {len(y_pred)} predicted ({pred_path})", source=str(args.y_true)
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.format in ("json", "csv", "markdown"):
            from .report.formats import report_csv, report_markdown

            report = classification_report(y_true, y_pred, output_dict=True, digits=args.digits)
            text = (
                report_csv(report)
                if args.format == "csv"
                else report_markdown(report)
                if args.format == "markdown"
                else dumps({"schema_version": SCHEMA_VERSION, "report": report})
            )
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


def _slices(args: argparse.Namespace) -> dict[str, list[int]] | None:
    if args.slices is None:
        return None
    from .analysis.slices import read_slices

    return read_slices(args.slices)


def _run_evaluation(
    args: argparse.Namespace,
    confusion: bool,
    score_threshold: float | None = None,
    extras: bool = True,
    read: tuple[Any, Any] | None = None,
) -> Any:
    """evaluate() with the command's options (at `score_threshold` when given, else at
    --score-threshold or 0; TIDE errors, per-image table, slices, label errors unless not
    `extras`; of `read`, the Dataset and Detections read already, when given); its warnings printed
    once each on stderr."""
    from .evaluate import evaluate
    from .options import CocoParams, PointOptions

    if score_threshold is None:
        score_threshold = _default(args.score_threshold, 0.0)
    with (
        _status(args, f"evaluating {args.dt} against {args.gt} ..."),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            result = evaluate(
                args.gt if read is None else read[0],
                args.dt if read is None else read[1],
                args.iou_type,
                protocol=_protocol(args),
                params=CocoParams(
                    iou_thresholds=args.iou_thresholds,
                    max_dets=args.max_dets,
                    class_agnostic=args.class_agnostic,
                    dilation_ratio=args.dilation_ratio,
                ),
                point=PointOptions(
                    iou_threshold=args.iou_threshold,
                    score_threshold=score_threshold,
                    beta=args.beta,
                    target_recall=args.target_recall,
                    target_precision=args.target_precision,
                    confusion=confusion,
                    max_dets=args.point_max_dets,
                ),
                inputs=_inputs(args),
                threads=args.threads,
                errors=extras and args.errors,
                per_image=extras and args.per_image is not None,
                slices=_slices(args) if extras else None,
                label_errors=extras and args.label_errors,
            )
        except DetrecallError:
            for message in dict.fromkeys(str(w.message) for w in caught):
                print(f"detrecall: warning: {message}", file=sys.stderr)
            raise
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"detrecall: warning: {message}", file=sys.stderr)
    return result


def _shown(args: argparse.Namespace, result: Any, confusion: bool) -> Any:
    """What the tables, the confusion matrix, the diagnostics and the plots show: the result
    itself when --score-threshold is given; otherwise the result counted again at the best-F1
    threshold of all classes pooled (as Ultralytics shows its per-class P and R), its confusion
    matrix from a second pass at that threshold when `confusion`. The JSON and CSV keep score >= 0."""
    from .analysis.point import recounted

    threshold = result.point.best_f1_overall.threshold
    if args.score_threshold is not None or threshold != threshold:  # given, or no detection (NaN)
        return result
    matrix = _run_evaluation(args, True, threshold, extras=False).point.confusion if confusion else None
    return recounted(result, threshold, confusion=matrix)


def _evaluate(args: argparse.Namespace) -> int:
    from .report import formats
    from .report.table import diagnostics_text, result_text, use_rich

    if args.output is not None and not args.output.parent.is_dir():  # say so before the work
        raise DetrecallError(f"{args.output.parent}: no such folder (for --output {args.output.name})")
    if args.ci is None and (args.bootstrap is not None or args.seed is not None):
        raise DetrecallError("--bootstrap and --seed go with --ci LEVEL (e.g. --ci 0.95)")
    if args.ci is not None:
        from .analysis.bootstrap import check_bootstrap_args

        check_bootstrap_args(_default(args.bootstrap, 1000), _default(args.seed, 0), args.ci)
    size = None
    if args.plots is not None:
        from .report.plots import parse_size

        size = parse_size(args.plot_size)  # refuse a bad size before the work
    confusion = args.confusion or args.plots is not None
    result = _run_evaluation(args, confusion)
    if args.per_image is not None:
        result.per_image.to_csv(args.per_image)
    displayed = args.format in ("table", "markdown") or args.plots is not None
    view = _shown(args, result, confusion) if displayed else result
    diagnosis = saved = None
    if args.diagnose or args.plots is not None:
        from .report.diagnose import diagnose

        diagnosis = diagnose(view)
        saved = diagnose(result) if view is not result else diagnosis  # the JSON's, at score >= 0
    shown = diagnosis if args.diagnose else None
    saved = saved if args.diagnose else None
    intervals = None
    if args.ci is not None:
        from .analysis.bootstrap import intervals as bootstrap

        with _status(args, "bootstrapping intervals ..."):
            intervals = bootstrap(
                result, n=_default(args.bootstrap, 1000), seed=_default(args.seed, 0), confidence=args.ci
            )
    extra = None if intervals is None else {"intervals": intervals.to_dict()}
    if args.output is not None:
        args.output.write_text(formats.to_json(result, saved, extra))
    if args.plots is not None:
        from .report.plots import write_plots

        assert diagnosis is not None and size is not None
        with _status(args, f"drawing plots into {args.plots} ..."):
            write_plots(view, args.plots, size, diagnosis.calibration)
    if args.format == "json":
        sys.stdout.write(formats.to_json(result, saved, extra))
    elif args.format == "csv":
        sys.stdout.write(formats.to_csv(result))
    elif args.format == "markdown":
        sys.stdout.write(formats.to_markdown(view, shown))
    elif use_rich(sys.stdout, os.environ):
        from rich.console import Console

        from .report.table import print_rich

        print_rich(view, Console(), shown)
    else:
        sys.stdout.write(result_text(view))
        if shown is not None:
            sys.stdout.write("\n" + diagnostics_text(shown) + "\n")
    if intervals is not None and args.format in ("table", "markdown"):
        from .report.intervals import intervals_text

        text = intervals_text(intervals, score_threshold=result.point.score_threshold)
        sys.stdout.write("\n" + text + "\n")
    return 0


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value


def _parse_max_drop(items: Sequence[str]) -> dict[str, float]:
    from .analysis.compare import parse_max_drop

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
    from .analysis.compare import compare, compare_saved
    from .evaluate import evaluate
    from .io._records import read_json
    from .options import CocoParams, PointOptions
    from .report.intervals import comparison_text

    max_drop = _parse_max_drop(args.max_drop)
    if len(args.inputs) == 3:
        gt, base_dt, cand_dt = args.inputs
        point = PointOptions(iou_threshold=args.iou_threshold, score_threshold=args.score_threshold)
        inputs = _inputs(args)
        params = CocoParams(dilation_ratio=args.dilation_ratio)
        with _status(args, f"evaluating the baseline {base_dt} ..."):
            base = evaluate(
                gt, base_dt, args.iou_type, params=params, point=point, inputs=inputs, threads=args.threads
            )
        with _status(args, f"evaluating the candidate {cand_dt} ..."):
            cand = evaluate(
                gt, cand_dt, args.iou_type, params=params, point=point, inputs=inputs, threads=args.threads
            )
        n = _default(args.bootstrap, 1000)
        with _status(args, f"paired bootstrap, {n} replicates ..."):
            comparison = compare(base, cand, n=n, seed=_default(args.seed, 0), confidence=args.ci)
    elif len(args.inputs) == 2:
        if args.bootstrap is not None or args.seed is not None:
            raise DetrecallError(
                "--bootstrap and --seed need GT BASE_DT CAND_DT: saved results hold no matches to resample"
            )
        base, cand = (read_json(path, use_orjson=False)[0] for path in args.inputs)
        comparison = compare_saved(base, cand, sources=(str(args.inputs[0]), str(args.inputs[1])))
    else:
        raise DetrecallError(
            f"compare takes GT BASE_DT CAND_DT or BASE.json CAND.json, got {len(args.inputs)} files"
        )
    failures = comparison.gate(max_drop, significant_only=args.significant_only)
    if args.format == "json":
        gate = {
            "max_drop": max_drop,
            "significant_only": args.significant_only,
            "passed": not failures,
            "failures": [
                {
                    "metric": f.metric,
                    "drop": f.drop,
                    "allowed": f.allowed,
                    "significant": f.significant if f.tested else None,
                }
                for f in failures
            ],
        }
        payload = {"schema_version": SCHEMA_VERSION, "comparison": comparison.to_dict(), "gate": gate}
        sys.stdout.write(dumps(payload))
    else:
        per_class = (tuple(max_drop) or ("AP",)) if args.per_class else ()
        sys.stdout.write(comparison_text(comparison, max_drop, failures, per_class))
    for f in failures:
        print(f"detrecall: regression: {f}", file=sys.stderr)
    return 1 if failures else 0


def _plot(args: argparse.Namespace) -> int:
    from .report.diagnose import calibration
    from .report.plots import parse_size, write_plots

    size = parse_size(args.plot_size)
    read = _gallery_inputs(args)
    result = _shown(args, _run_evaluation(args, args.score_threshold is not None, read=read), True)
    with _status(args, f"drawing plots into {args.output} ..."):
        paths = write_plots(result, args.output, size, calibration(result))
        if read is not None:
            from .report.gallery import write_gallery

            folder = args.output / "gallery"
            paths += _drawn(write_gallery, result, *read, args.images, folder, args.gallery)
    sys.stdout.write("".join(f"{path}\n" for path in paths))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report.html import write_report
    from .report.plots import parse_size

    size = parse_size(args.plot_size)
    if not args.output.parent.is_dir():  # say so before the work
        raise DetrecallError(f"{args.output.parent}: no such folder (for the report {args.output.name})")
    read = _gallery_inputs(args)
    result = _shown(args, _run_evaluation(args, args.score_threshold is not None, read=read), True)
    with _status(args, f"writing {args.output} ..."):
        drawn = None
        if read is not None:
            from .report.gallery import gallery

            drawn = _drawn(gallery, result, *read, args.images, args.gallery)
        title = f"{args.dt.name} vs {args.gt.name}"
        write_report(result, args.output, title=title, size=size, gallery=drawn)
    if not args.quiet:
        print(f"detrecall: wrote {args.output}", file=sys.stderr)
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from .monitor.cli import run

    return run(args)


def _serve(args: argparse.Namespace) -> int:
    from .serve.cli import run

    return run(args)


_COMMANDS = {
    "evaluate": _evaluate,
    "classify": _classify,
    "plot": _plot,
    "report": _report,
    "compare": _compare,
    "convert": _convert,
    "monitor": _monitor,
    "serve": _serve,
}


def _verbose(on: bool) -> None:
    """--verbose: each stage with its counts and time on stderr (the `detrecall` logger)."""
    import logging

    logger = logging.getLogger("detrecall")
    if on and not any(getattr(h, "_detrecall_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("detrecall: %(message)s"))
        handler._detrecall_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit status 0 on success, 2 on bad input or usage (one line on stderr)."""
    args = _parser().parse_args(argv)
    _verbose(getattr(args, "verbose", False))
    try:
        return _COMMANDS[args.command](args)
    except DetrecallError as e:
        for line in str(e).splitlines():  # several collected problems: one line each
            print(f"detrecall: error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit's flush
        return 0
    except OSError as e:  # e.g. --output to a folder that does not exist
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
