"""A result as tables of raw values, and those tables as JSON, CSV and GitHub Markdown.

`result_tables` is the one place that decides what a report shows; Markdown, the rich terminal
view and the HTML report all draw these tables. Cells hold raw values: str, int, float (NaN =
undefined, shown "n/a") or None (not applicable, shown empty). JSON is `to_dict()` with a
`schema_version`; CSV is one row per class with full-precision numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocols.coco import SUMMARY_LABELS

if TYPE_CHECKING:
    from ..pipeline import EvaluationResult
    from .diagnose import Diagnosis

SCHEMA_VERSION = 1

# column kinds: how a cell is shown and coloured
LABEL, TEXT, COUNT, RATE, SCORE = "label", "text", "count", "rate", "score"
LOW, VERY_LOW = 0.3, 0.1  # rates below these are shown yellow / red (terminal, HTML)


@dataclass(frozen=True)
class Table:
    """A titled table of raw values; `kinds` says per column what its values are (a rate in
    [0, 1] is coloured when low, a score threshold is not); the last `footer` rows are
    averages or totals (kept below the others when the HTML table is sorted)."""

    title: str
    headers: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    footer: int = 0


def cell_text(value: Any) -> str:
    """How every text format shows a cell: 3 decimals, 'n/a' for NaN, '' for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def summary_table(result: EvaluationResult) -> Table:
    """The protocol's headline numbers: COCO's 12, LVIS's 13, or VOC's mAP per IoU threshold."""
    if result.coco is not None:
        rows = []
        for name, value in zip(SUMMARY_LABELS, result.coco.as_tuple()):
            where = SUMMARY_LABELS[name].split("@[")[1].rstrip(" ]")
            rows.append((name, " | ".join(re.sub(r"\s+", "", part) for part in where.split("|")), value))
        return Table("Summary (COCO)", ("metric", "definition", "value"), (LABEL, TEXT, RATE), tuple(rows))
    if result.lvis is not None:
        rows = tuple((k, "", _nan(v)) for k, v in result.lvis.to_dict().items())
        return Table("Summary (LVIS)", ("metric", "definition", "value"), (LABEL, TEXT, RATE), rows)
    assert result.voc is not None
    v = result.voc
    rows = tuple((f"mAP@{t:g}", f"{v.ap_method}, IoU={t:g}", m) for t, m in zip(v.iou_thresholds, v.mAP))
    return Table("Summary (Pascal VOC)", ("metric", "definition", "value"), (LABEL, TEXT, RATE), rows)


def class_table(result: EvaluationResult) -> Table:
    """Per-class AP: COCO/LVIS AP, AP50, AP75, AR; VOC ground truths, TP, FP and AP per IoU."""
    if result.voc is not None:
        v = result.voc
        rows = tuple((c.category_id, c.name, c.npos, c.tp[0], c.fp[0], *c.ap) for c in v.classes)
        return Table(
            f"Per class ({result.iou_type}, Pascal VOC {v.ap_method})",
            ("id", "class", "GT", "TP", "FP", *(f"AP@{t:g}" for t in v.iou_thresholds)),
            (LABEL, LABEL, COUNT, COUNT, COUNT, *(RATE,) * len(v.iou_thresholds)),
            rows,
        )
    md = result.params.max_dets[-1]
    rows = tuple((c.category_id, c.name, c.AP, c.AP50, c.AP75, c.AR100) for c in result.per_class)
    return Table(
        f"Per class ({result.iou_type})",
        ("id", "class", "AP", "AP50", "AP75", f"AR{md}"),
        (LABEL, LABEL, RATE, RATE, RATE, RATE),
        rows,
    )


def point_table(result: EvaluationResult) -> Table:
    """Per-class counts and rates at the operating point, then micro/macro/weighted rows."""
    p = result.point
    f = "F1" if p.beta == 1 else f"F{p.beta:g}"
    rows: list[tuple[Any, ...]] = [
        (c.name, c.support, c.tp, c.fp, c.fn, c.precision, c.recall, c.f1, c.best_f1.threshold)
        for c in p.per_class
    ]
    n = p.counts
    totals = (int(n.support.sum()), int(n.tp.sum()), int(n.fp.sum()), int(n.fn.sum()))
    for kind in ("micro", "macro", "weighted"):
        r = p.average(kind)
        rows.append(
            (
                f"{kind} avg",
                *totals,
                r.precision,
                r.recall,
                r.f1,
                p.best_f1_overall.threshold if kind == "micro" else None,
            )
        )
    return Table(
        f"Operating point: IoU >= {p.iou_threshold:g}, score >= {p.score_threshold:g} ({result.iou_type})",
        ("class", "support", "TP", "FP", "FN", "precision", "recall", f, f"best-{f} thr"),
        (LABEL, COUNT, COUNT, COUNT, COUNT, RATE, RATE, RATE, SCORE),
        tuple(rows),
        footer=3,
    )


def chosen_points_table(result: EvaluationResult) -> Table:
    """The chosen operating points over all classes: best F, and the targets when asked."""
    p = result.point
    f = "F1" if p.beta == 1 else f"F{p.beta:g}"
    b = p.best_f1_overall
    rows = [(f"best {f}", b.threshold, b.precision, b.recall, b.f1)]
    if p.at_recall is not None:
        o = p.at_recall[2]
        rows.append(
            (f"best precision at recall >= {p.at_recall[0]:g}", o.threshold, o.precision, o.recall, o.f1)
        )
    if p.at_precision is not None:
        o = p.at_precision[2]
        rows.append(
            (f"best recall at precision >= {p.at_precision[0]:g}", o.threshold, o.precision, o.recall, o.f1)
        )
    return Table(
        f"Chosen score thresholds (all classes pooled, IoU >= {p.iou_threshold:g})",
        ("operating point", "score >=", "precision", "recall", f),
        (LABEL, SCORE, RATE, RATE, RATE),
        tuple(rows),
    )


def confusion_table(result: EvaluationResult) -> Table | None:
    """Rows: true class; columns: predicted class; 'background' = no object / no prediction."""
    m = result.point.confusion
    if m is None:
        return None
    labels = [*result.point.names, "background"]
    rows = tuple((labels[i], *row) for i, row in enumerate(m.tolist()))
    return Table(
        "Confusion matrix (rows: truth, columns: prediction)",
        ("truth \\ pred", *labels),
        (LABEL, *(COUNT,) * len(labels)),
        rows,
    )


def result_tables(result: EvaluationResult) -> list[Table]:
    """Every table of a report, in order."""
    tables = [summary_table(result)]
    if result.voc is not None or result.per_class:
        tables.append(class_table(result))
    tables += [point_table(result), chosen_points_table(result)]
    confusion = confusion_table(result)
    return tables + ([confusion] if confusion is not None else [])


def to_json(
    result: EvaluationResult, diagnosis: Diagnosis | None = None, extra: dict[str, Any] | None = None
) -> str:
    """`{"schema_version": 1, **result.to_dict()}`, plus `"diagnostics"` when given, plus the
    `extra` keys (e.g. `"intervals"` of `--ci`)."""
    payload: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **result.to_dict()}
    if diagnosis is not None:
        payload["diagnostics"] = diagnosis.to_dict()
    payload.update(extra or {})
    return json.dumps(payload, indent=2) + "\n"


def _csv_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return repr(v) if isinstance(v, float) else str(v)


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV; floats in full precision (repr), undefined and not-applicable cells empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([_csv_value(v) for v in row] for row in rows)
    return out.getvalue()


def to_csv(result: EvaluationResult) -> str:
    """One row per class: id, name, the protocol's per-class AP columns, then the operating
    point's support, tp, fp, fn, precision, recall, f1, best_f1_threshold; then a row `all`
    (the summary's AP figures, total counts, micro precision/recall/F1 and the best-F1
    threshold of all classes pooled) and rows `macro avg`, `weighted avg` (precision, recall, F1)."""
    p = result.point
    point_cols = ("support", "tp", "fp", "fn", "precision", "recall", "f1", "best_f1_threshold")
    if result.voc is not None:
        v = result.voc
        ap_cols = ("npos", *(f"AP@{t:g}" for t in v.iou_thresholds))
        ap_rows = [(c.npos, *c.ap) for c in v.classes]
        ap_all: tuple[Any, ...] = (sum(c.npos for c in v.classes), *v.mAP)
    else:
        ap_cols = ("AP", "AP50", "AP75", f"AR{result.params.max_dets[-1]}")
        ap_rows = [(c.AP, c.AP50, c.AP75, c.AR100) for c in result.per_class]
        s = result.coco if result.coco is not None else result.lvis
        ap_all = (
            (math.nan,) * 4
            if s is None
            else (s.AP, s.AP50, s.AP75, s.AR100 if result.coco is not None else s.AR)
        )
        if not ap_rows:
            ap_rows = [(None,) * 4] * len(p.per_class)
    rows: list[tuple[Any, ...]] = [
        (
            c.category_id,
            c.name,
            *ap,
            c.support,
            c.tp,
            c.fp,
            c.fn,
            c.precision,
            c.recall,
            c.f1,
            c.best_f1.threshold,
        )
        for c, ap in zip(p.per_class, ap_rows)
    ]
    n = p.counts
    rows.append(
        (
            None,
            "all",
            *ap_all,
            int(n.support.sum()),
            int(n.tp.sum()),
            int(n.fp.sum()),
            int(n.fn.sum()),
            p.micro.precision,
            p.micro.recall,
            p.micro.f1,
            p.best_f1_overall.threshold,
        )
    )
    blank = (None,) * (len(ap_cols) + 4)
    for kind in ("macro", "weighted"):
        r = p.average(kind)
        rows.append((None, f"{kind} avg", *blank, r.precision, r.recall, r.f1, None))
    return csv_text(("category_id", "name", *ap_cols, *point_cols), rows)


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def markdown_table(table: Table) -> str:
    """A GitHub-flavoured Markdown table: labels left-aligned, numbers right-aligned."""
    align = [":--" if k in (LABEL, TEXT) else "--:" for k in table.kinds]
    lines = ["| " + " | ".join(_md_escape(h) for h in table.headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_md_escape(cell_text(v)) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def to_markdown(result: EvaluationResult, diagnosis: Diagnosis | None = None) -> str:
    """Each table under a `####` heading, then the diagnostics as a list: pastes into a GitHub
    comment."""
    parts = [f"#### {t.title}\n\n{markdown_table(t)}" for t in result_tables(result)]
    if diagnosis is not None:
        parts.append(
            "#### Diagnostics\n\n"
            + "\n".join(f"- **{f.level}**: {_md_escape(f.message)}" for f in diagnosis.findings)
        )
    return "\n\n".join(parts) + "\n"


# classification reports (detrecall classify): scikit-learn's output_dict

_REPORT_COLUMNS = ("precision", "recall", "f1-score", "support")


def _report_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for label, values in report.items():
        if label == "accuracy":  # scikit-learn's dict: accuracy is a bare number
            rows.append((label, None, None, values, None))
        else:
            support = values["support"]  # a float when no sample is right (scikit-learn's way)
            rows.append(
                (
                    label,
                    *(values[c] for c in _REPORT_COLUMNS[:3]),
                    int(support) if float(support).is_integer() else support,
                )
            )
    return rows


def report_csv(report: dict[str, Any]) -> str:
    """A classification report (scikit-learn's dict form) as CSV: label, precision, recall,
    f1-score, support; the accuracy row has only f1-score, as scikit-learn prints it."""
    return csv_text(("label", *_REPORT_COLUMNS), _report_rows(report))


def report_markdown(report: dict[str, Any]) -> str:
    """A classification report as a GitHub Markdown table (support as given: int or float)."""
    table = Table(
        "Classification report",
        ("label", *_REPORT_COLUMNS),
        (LABEL, RATE, RATE, RATE, COUNT),
        tuple(_report_rows(report)),
    )
    return markdown_table(table) + "\n"
