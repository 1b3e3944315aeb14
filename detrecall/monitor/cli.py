"""`detrecall monitor baseline | run | history`: the monitoring loop from the command line.

Exit status of `run`: 0 no alert, 1 at least one alert, 2 bad input (one line on stderr; nothing
written). `detrecall/cli.py` wires this in with `add_parser(subparsers)` and `run(args)`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DetrecallError, InputError
from .errors import MonitorInputError
from .monitor import HistoryPoint, Monitor
from .notify import Webhook
from .rules import DEFAULT_DRIFT_RULES, Rule, RuleKind
from .runs import RunData, Task, classification_run, detection_run, saved_detection_run, unlabelled_run
from .stats import stats_of_detections, stats_of_records
from .store import Store, StoredRun

_DRIFT_KINDS = {r.kind.value: r.kind for r in DEFAULT_DRIFT_RULES}


def add_parser(subparsers: Any) -> None:
    """Add `monitor` and its subcommands to the CLI's subparsers."""
    mon = subparsers.add_parser(
        "monitor",
        help="production monitoring: baselines, runs checked for drops and drift, history",
        description="Store evaluation runs of a model, check each against its baseline, alert.",
    )
    sub = mon.add_subparsers(dest="monitor_command", required=True, metavar="{baseline,run,history}")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--store", required=True, help="SQLite file (created on first use) or postgresql:// URL"
        )
        p.add_argument("--model", required=True, help="the model's name in the store")

    def inputs(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "inputs",
            nargs="*",
            type=Path,
            help=f"GT DT (detection) or Y_TRUE Y_PRED (classification); {what}",
        )
        p.add_argument(
            "--task",
            choices=[t.value for t in Task],
            default=Task.DETECTION.value,
            help="detection (default: GT DT files) or classification (Y_TRUE Y_PRED label files)",
        )
        p.add_argument("--iou-type", choices=("bbox", "segm"), default="bbox", help="bbox (default) or segm")
        p.add_argument("--proba", type=Path, help="classification: scores (.npy or .json; (n,) or (n, K))")
        p.add_argument("--column", help="classification: the CSV column of the labels")
        p.add_argument("--version", help="the model version evaluated (e.g. a release tag)")
        p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="e.g. dataset=week-32")

    bl = sub.add_parser("baseline", help="set the model's baseline (recorded now, or a stored run)")
    common(bl)
    inputs(bl, "or --saved FILE, or --run ID")
    bl.add_argument("--saved", type=Path, metavar="FILE", help="a saved `detrecall evaluate --output` JSON")
    bl.add_argument("--run", type=int, metavar="ID", help="a stored run of the model")

    rn = sub.add_parser("run", help="record a run, check it against the baseline, alert (exit 1)")
    common(rn)
    inputs(rn, "DT (or Y_PRED) alone: drift only")
    rn.add_argument(
        "--max-drop",
        action="append",
        default=[],
        metavar="METRIC[@CLASS]=AMOUNT[%]",
        help="alert when METRIC falls by more than AMOUNT (or AMOUNT%% of the baseline), e.g. AP=0.02",
    )
    rn.add_argument(
        "--significant",
        action="append",
        default=[],
        metavar="METRIC",
        help="alert when METRIC falls significantly under the paired bootstrap (same ground truth)",
    )
    rn.add_argument("--alpha", type=float, default=0.05, help="significance level of --significant")
    rn.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates of --significant")
    rn.add_argument(
        "--drift-threshold",
        action="append",
        default=[],
        metavar="KIND=VALUE|off",
        help="drift rule thresholds ("
        + ", ".join(f"{r.kind.value}={r.threshold:g}" for r in DEFAULT_DRIFT_RULES)
        + ")",
    )
    rn.add_argument("--webhook", metavar="URL", help="POST each alert's JSON to URL")
    rn.add_argument("--webhook-timeout", type=float, default=5.0, help="seconds per attempt (default 5)")
    rn.add_argument("--webhook-attempts", type=int, default=3, help="attempts per alert (default 3)")
    rn.add_argument("--format", choices=("text", "json"), default="text", help="what to print on stdout")

    hi = sub.add_parser("history", help="the model's runs, oldest first, with a metric")
    common(hi)
    hi.add_argument("--metric", help="the metric to list (default: AP for detection, accuracy otherwise)")
    hi.add_argument("--class", dest="class_id", metavar="CLASS", help="the metric of one class")
    hi.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="table (default), json or csv"
    )
    hi.add_argument(
        "--plot", type=Path, metavar="FILE", help="also draw the metric over time to FILE (.png, .svg)"
    )


# -- parsing ------------------------------------------------------------------------------------


def parse_max_drop(items: Sequence[str]) -> list[Rule]:
    """`METRIC[@CLASS]=AMOUNT` (absolute) or `...=AMOUNT%` (relative to the baseline) rules."""
    rules = []
    for item in items:
        name, sep, amount = item.partition("=")
        metric, _, category = name.strip().partition("@")
        relative = amount.strip().endswith("%")
        try:
            value = float(amount.strip().rstrip("%"))
        except ValueError:
            value = math.nan
        if not sep or not metric or not math.isfinite(value) or value < 0:
            raise MonitorInputError(
                f"--max-drop expects METRIC[@CLASS]=AMOUNT[%], e.g. AP=0.02; got {item!r}"
            )
        kind = RuleKind.MAX_RELATIVE_DROP if relative else RuleKind.MAX_DROP
        rules.append(Rule(kind, value / 100 if relative else value, metric, category or None))
    return rules


def parse_drift(items: Sequence[str]) -> list[Rule]:
    """The default drift rules with the thresholds given as KIND=VALUE (KIND=off drops a rule)."""
    thresholds: dict[RuleKind, float | None] = {r.kind: r.threshold for r in DEFAULT_DRIFT_RULES}
    for item in items:
        name, sep, value = item.partition("=")
        kind = _DRIFT_KINDS.get(name.strip())
        if kind is None or not sep:
            raise MonitorInputError(
                f"--drift-threshold expects KIND=VALUE, KIND one of {', '.join(_DRIFT_KINDS)}; got {item!r}"
            )
        if value.strip() == "off":
            thresholds[kind] = None
            continue
        try:
            thresholds[kind] = float(value)
        except ValueError:
            raise MonitorInputError(f"--drift-threshold {name}: {value!r} is not a number (or off)") from None
    return [Rule(k, t) for k, t in thresholds.items() if t is not None]


def parse_tags(items: Sequence[str]) -> dict[str, str]:
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MonitorInputError(f"--tag expects KEY=VALUE, e.g. dataset=week-32; got {item!r}")
        tags[key.strip()] = value.strip()
    return tags


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _describe(paths: Mapping[str, Path]) -> dict[str, Any]:
    return {k: {"path": str(p.resolve()), "sha256": _sha256(p)} for k, p in paths.items()}


# -- reading runs --------------------------------------------------------------------------------


def _read_scores(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    if not path.is_file():
        raise InputError("file not found", source=str(path))
    try:
        scores = np.load(path) if path.suffix == ".npy" else np.asarray(json.loads(path.read_text()), float)
    except (ValueError, OSError) as e:
        raise InputError(f"not readable scores ({e})", source=str(path)) from None
    if scores.ndim not in (1, 2) or not np.isfinite(scores).all():
        raise InputError("scores must be finite, (n,) or (n, K)", source=str(path))
    return scores


def read_run(args: argparse.Namespace) -> tuple[RunData, dict[str, Any]]:
    """The run the arguments describe and the files it came from (path and SHA-256 each)."""
    files: list[Path] = list(args.inputs)
    if len(files) not in (1, 2):
        what = "GT DT or DT" if args.task == Task.DETECTION.value else "Y_TRUE Y_PRED or Y_PRED"
        raise MonitorInputError(f"monitor {args.monitor_command} takes {what}, got {len(files)} file(s)")
    for f in files:
        if not f.exists():
            raise InputError("file not found", source=str(f))
    if args.task == Task.CLASSIFICATION.value:
        from ..io.labels import read_labels

        y_pred = read_labels(files[-1], args.column)
        y_true = read_labels(files[0], args.column) if len(files) == 2 else None
        scores = _read_scores(args.proba)
        if scores is not None and len(scores) != len(y_pred):
            raise InputError(
                f"{len(scores)} score rows for {len(y_pred)} predictions", source=str(args.proba)
            )
        names = {"y_true": files[0], "y_pred": files[-1]} if y_true is not None else {"y_pred": files[0]}
        return classification_run(y_true, y_pred, scores), _describe(names)
    if len(files) == 1:
        from ..io._records import read_json

        records, _ = read_json(files[0], use_orjson=False)
        return unlabelled_run(stats_of_records(records, source=str(files[0]))), _describe({"dt": files[0]})
    return detection_files(files[0], files[1], args.iou_type), _describe({"gt": files[0], "dt": files[1]})


def detection_files(gt: Path, dt: Path, iou_type: str) -> RunData:
    """Evaluate DT against GT; the prediction statistics over every GT image."""
    from ..evaluate import evaluate
    from ..io import read_detections, read_ground_truth

    masks = iou_type == "segm"
    gt_set = read_ground_truth(gt, masks=masks)
    dt_set = read_detections(dt, gt_set, masks=masks)
    result = evaluate(gt_set, dt_set, iou_type)
    return detection_run(result, stats_of_detections(dt_set, gt_set.images.ids.tolist()))


def _baseline_evaluation(base: StoredRun, current_inputs: Mapping[str, Any], iou_type: str) -> Any:
    """The baseline re-evaluated from its files, when it shares the run's ground truth (same
    SHA-256) and its detections are unchanged on disk; None otherwise."""
    gt, dt = base.inputs.get("gt"), base.inputs.get("dt")
    if (
        not gt
        or not dt
        or not gt.get("sha256")
        or gt.get("sha256") != current_inputs.get("gt", {}).get("sha256")
    ):
        return None
    path = Path(dt["path"])
    if _sha256(path) != dt.get("sha256"):
        return None
    run = detection_files(Path(gt["path"]), path, iou_type)
    return run.evaluation


# -- commands ------------------------------------------------------------------------------------


def _baseline(args: argparse.Namespace) -> int:
    tags = parse_tags(args.tag)
    given = sum(x for x in (bool(args.inputs), args.saved is not None, args.run is not None))
    if given != 1:
        raise MonitorInputError("monitor baseline takes GT DT, or --saved FILE, or --run ID (one of them)")
    if args.run is not None:
        with Store(args.store, create=False) as store:
            Monitor(store, args.model).set_baseline(args.run)
        print(f"detrecall: {args.model}: baseline is run {args.run}", file=sys.stderr)
        return 0
    if args.saved is not None:
        from ..io._records import read_json

        data, _ = read_json(args.saved, use_orjson=False)
        run, inputs = saved_detection_run(data, str(args.saved)), _describe({"saved": args.saved})
    else:
        run, inputs = read_run(args)
    with Store(args.store) as store:  # opened only once the inputs are read: bad input writes nothing
        run_id = Monitor(store, args.model).set_baseline(run, version=args.version, tags=tags, inputs=inputs)
    print(f"detrecall: {args.model}: baseline is run {run_id}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    rules = [*parse_max_drop(args.max_drop), *parse_drift(args.drift_threshold)]
    rules += [Rule(RuleKind.SIGNIFICANT_DROP, args.alpha, m) for m in args.significant]
    tags = parse_tags(args.tag)
    webhook = None
    if args.webhook:
        webhook = Webhook(args.webhook, timeout=args.webhook_timeout, attempts=max(1, args.webhook_attempts))
    with Store(args.store, create=False) as store:
        monitor = Monitor(
            store, args.model, rules=rules, webhook=webhook, stderr=sys.stderr, bootstrap=args.bootstrap
        )
        base = monitor.baseline()  # an unknown model fails before the inputs are read
        run, inputs = read_run(args)
        baseline_evaluation = None
        if args.significant and run.evaluation is not None:
            baseline_evaluation = _baseline_evaluation(base, inputs, args.iou_type)
        recorded = monitor.record(
            run, version=args.version, tags=tags, inputs=inputs, baseline_evaluation=baseline_evaluation
        )
    for note in recorded.notes:
        print(f"detrecall: note: {note}", file=sys.stderr)
    failed = [o for o in recorded.outcomes if not o.delivered]
    for o in failed:
        print(
            f"detrecall: warning: webhook {o.target}: not delivered after {o.attempts} attempt(s): "
            f"{o.error} (recorded in the store)",
            file=sys.stderr,
        )
    if args.format == "json":
        body = {
            "run_id": recorded.run_id,
            "model": args.model,
            "alerts": [a.to_dict() for a in recorded.alerts],
            "notes": list(recorded.notes),
            "metrics": run.metrics.get("overall", {}),
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        state = f"{len(recorded.alerts)} alert(s)" if recorded.alerts else "no alert"
        sys.stdout.write(
            f"{args.model}: run {recorded.run_id} recorded against baseline run {base.id}: {state}\n"
        )
        for a in recorded.alerts:
            sys.stdout.write(f"  ALERT {a.message}\n")
    return 1 if recorded.alerts else 0


def _history(args: argparse.Namespace) -> int:
    with Store(args.store, create=False) as store:
        monitor = Monitor(store, args.model)
        runs = store.runs(args.model)
        metric = args.metric or ("accuracy" if runs and runs[0].task == Task.CLASSIFICATION.value else "AP")
        points = monitor.history(metric, args.class_id)
    if args.plot is not None:
        plot_history(points, metric, args.plot, title=args.model)
    sys.stdout.write(history_text(points, metric, args.format))
    return 0


def history_text(points: Sequence[HistoryPoint], metric: str, fmt: str) -> str:
    """The history as a table, JSON or CSV."""
    rows = [
        {
            "run": p.run_id,
            "time": p.at,
            "version": p.version,
            metric: p.value,
            "baseline": p.baseline,
            "alerts": p.alerts,
            "tags": p.tags,
        }
        for p in points
    ]
    if fmt == "json":
        return json.dumps({"metric": metric, "runs": rows}, indent=2) + "\n"
    out = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["run", "time", "version", metric, "baseline", "alerts", "tags"])
        for p in points:
            tags = ";".join(f"{k}={v}" for k, v in p.tags.items())
            value = "" if p.value is None else repr(p.value)
            writer.writerow([p.run_id, p.at, p.version or "", value, int(p.baseline), p.alerts, tags])
        return out.getvalue()
    header = f"{'run':>5}  {'time':<32}  {'version':<12}  {metric:>10}  {'alerts':>6}  tags"
    lines = [header]
    for p in points:
        value = "-" if p.value is None else f"{p.value:.4f}"
        mark = " (baseline)" if p.baseline else ""
        tags = " ".join(f"{k}={v}" for k, v in p.tags.items())
        lines.append(
            f"{p.run_id:>5}  {p.at:<32}  {p.version or '-':<12}  {value:>10}  {p.alerts:>6}  {tags}{mark}"
        )
    return "\n".join(lines) + "\n"


def plot_history(points: Sequence[HistoryPoint], metric: str, path: Path, title: str = "") -> Path:
    """The metric over time, the baseline's value as a line, runs with alerts in red."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    xs = list(range(len(points)))
    ys = [math.nan if p.value is None else p.value for p in points]
    ax.plot(xs, ys, marker="o", label=metric)
    base = [(p.run_id, p.value) for p in points if p.baseline and p.value is not None]
    if base:
        ax.axhline(base[0][1], linestyle="--", color="gray", label=f"baseline (run {base[0][0]})")
    alerted = [(x, y) for x, y, p in zip(xs, ys, points) if p.alerts]
    if alerted:
        ax.scatter(*zip(*alerted), color="red", zorder=3, label="alert")
    ax.set_xticks(xs, [f"{p.run_id}\n{p.at[:10]}" for p in points], fontsize=7)
    ax.set_ylabel(metric)
    ax.set_xlabel("run")
    ax.set_title(f"{title} {metric}".strip())
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path)
    return path


_COMMANDS = {"baseline": _baseline, "run": _run, "history": _history}


def run(args: argparse.Namespace) -> int:
    """Run a parsed `monitor` command: 0 ok, 1 alert (run), 2 bad input (one line per problem on stderr)."""
    try:
        return _COMMANDS[args.monitor_command](args)
    except DetrecallError as e:
        for line in str(e).splitlines():
            print(f"detrecall: error: {line}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"detrecall: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
