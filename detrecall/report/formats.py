"""A result as tables of raw values, and those tables as JSON, CSV and GitHub Markdown.

`result_tables` is the one place that decides what a report shows; Markdown, the rich terminal
view and the HTML report all draw these tables. Cells hold raw values: str, int, float (NaN =
undefined, shown "n/a") or None (not applicable, shown empty). JSON is `to_dict()` with a
`schema_version`; CSV is one row per class with full-precision numbers.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..result import EvaluationResult
from ..tables import LOW, VERY_LOW, Kind, Table, cell_text, dumps

if TYPE_CHECKING:
    from .diagnose import Diagnosis

__all__ = ["LOW", "VERY_LOW", "Table", "cell_text"]  # the table model, as the views name it

SCHEMA_VERSION = 1

# column kinds, as the names the views use
LABEL, TEXT, COUNT, RATE, SCORE = Kind.LABEL, Kind.TEXT, Kind.COUNT, Kind.RATE, Kind.SCORE


def summary_table(result: EvaluationResult) -> Table:
    """The protocol's headline numbers: COCO's 12, LVIS's 13, or VOC's mAP per IoU threshold."""
    return result.protocol_summary.summary_table()


def class_table(result: EvaluationResult) -> Table | None:
    """Per-class AP: COCO/LVIS AP, AP50, AP75, AR; VOC ground truths, TP, FP and AP per IoU."""
    return result.protocol_summary.class_table(result.per_class, result.iou_type, result.params.max_dets[-1])


def threshold_text(result: EvaluationResult) -> str:
    """`score >= S`, and when S is the best-F threshold of all classes pooled, that it is."""
    p = result.point
    f = "F1" if p.beta == 1 else f"F{p.beta:g}"
    pooled = p.score_threshold == p.best_f1_overall.threshold
    return f"score >= {p.score_threshold:g}" + (f", the best {f} of all classes pooled" if pooled else "")


def point_table(result: EvaluationResult) -> Table:
    """Per-class counts and rates at the operating point (every column but the last, which is
    each class's own best-F threshold), then micro/macro/weighted rows."""
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
        f"Operating point: IoU >= {p.iou_threshold:g}, {threshold_text(result)} ({result.iou_type})",
        ("class", "support", "TP", "FP", "FN", "precision", "recall", f, f"own best-{f} thr"),
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
        f"Confusion matrix at IoU >= {result.point.iou_threshold:g}, {threshold_text(result)} "
        "(rows: truth, columns: prediction)",
        ("truth \\ pred", *labels),
        (LABEL, *(COUNT,) * len(labels)),
        rows,
    )


def result_tables(result: EvaluationResult) -> list[Table]:
    """Every table of a report, in order."""
    tables = [summary_table(result)]
    per_class = class_table(result)
    if per_class is not None:
        tables.append(per_class)
    tables += [point_table(result), chosen_points_table(result)]
    confusion = confusion_table(result)
    return tables + ([confusion] if confusion is not None else []) + analysis_tables(result)


def analysis_tables(result: EvaluationResult) -> list[Table]:
    """What evaluate(errors=, per_image=, slices=) added: TIDE's errors overall and per class,
    the worst images, and each slice's summary and operating point."""
    out: list[Table] = []
    if result.errors is not None:
        out += [result.errors.table(), result.errors.class_table()]
    if result.per_image is not None:
        out.append(result.per_image.worst(10).table("Worst images (most errors at the operating point)"))
    if result.label_errors is not None:
        out.append(result.label_errors.table(limit=20))
    for name, part in (result.slices or {}).items():
        summary = part.protocol_summary.summary_table()
        out.append(Table(f"Slice {name}: {summary.title}", summary.headers, summary.kinds, summary.rows))
        p = point_table(part)
        out.append(Table(f"Slice {name}: {p.title}", p.headers, p.kinds, p.rows, p.footer))
    return out


def to_json(
    result: EvaluationResult, diagnosis: Diagnosis | None = None, extra: dict[str, Any] | None = None
) -> str:
    """`{"schema_version": 1, **result.to_dict()}`, plus `"diagnostics"` when given, plus the
    `extra` keys (e.g. `"intervals"` of `--ci`)."""
    payload: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **result.to_dict()}
    if diagnosis is not None:
        payload["diagnostics"] = diagnosis.to_dict()
    payload.update(extra or {})
    return dumps(payload)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(v: Any) -> str:
    """Floats in full precision, undefined cells empty; text that a spreadsheet would run as a
    formula (=, +, -, @ first) quoted with a leading apostrophe (OWASP's CSV injection advice)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, str):
        return "'" + v if v.startswith(_FORMULA_START) else v
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
    part = result.protocol_summary.csv_part(result.per_class, result.params.max_dets[-1], len(p.per_class))
    ap_cols, ap_rows, ap_all = part.columns, part.rows, part.overall
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
    """A cell's text kept inside its cell: pipes and backslashes escaped, line breaks as spaces."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


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
