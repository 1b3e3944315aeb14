"""Terminal views of an EvaluationResult: plain text (pycocotools' 12 lines, then per-class
tables) for pipes and files, rich tables (colours, imported lazily) on a terminal."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ..pipeline import EvaluationResult
from ..protocols.coco import SUMMARY_LABELS
from .formats import LABEL, LOW, RATE, TEXT, VERY_LOW, Table, cell_text, result_tables

if TYPE_CHECKING:
    from .diagnose import Diagnosis


def _num(v: float, width: int = 6) -> str:
    return f"{'n/a':>{width}}" if math.isnan(v) else f"{v:{width}.3f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """The first `left` columns left-aligned (labels), the others right-aligned (numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def summary_text(result: EvaluationResult) -> str:
    """The 12 numbers labelled as pycocotools prints them ('n/a' where it prints -1)."""
    values = dict(zip(SUMMARY_LABELS, result.coco.as_tuple()))
    return "\n".join(f" {SUMMARY_LABELS[name]} = {_num(value, 5)}" for name, value in values.items())


def per_class_text(result: EvaluationResult) -> str:
    rows = [
        [str(c.category_id), c.name, _num(c.AP), _num(c.AP50), _num(c.AP75), _num(c.AR100)]
        for c in result.per_class
    ]
    md = result.params.max_dets[-1]
    return format_table(["id", "class", "AP", "AP50", "AP75", f"AR{md}"], rows, left=2)


def point_text(result: EvaluationResult) -> str:
    """Per-class support, TP, FP, FN, precision, recall, F1 at the operating point, then the
    micro/macro/weighted averages, as scikit-learn's classification_report lays them out."""
    p = result.point
    rows = []
    for c in p.per_class:
        rows.append(
            [
                c.name,
                str(c.support),
                str(c.tp),
                str(c.fp),
                str(c.fn),
                _num(c.precision),
                _num(c.recall),
                _num(c.f1),
                _num(c.best_f1.threshold),
            ]
        )
    c = p.counts
    for kind in ("micro", "macro", "weighted"):
        r = p.average(kind)
        rows.append(
            [
                f"{kind} avg",
                str(int(c.support.sum())),
                str(int(c.tp.sum())),
                str(int(c.fp.sum())),
                str(int(c.fn.sum())),
                _num(r.precision),
                _num(r.recall),
                _num(r.f1),
                _num(p.best_f1_overall.threshold) if kind == "micro" else "",
            ]
        )
    f = "F1" if p.beta == 1 else f"F{p.beta:g}"
    title = f"Operating point: IoU >= {p.iou_threshold:g}, score >= {p.score_threshold:g} ({result.iou_type})"
    return f"{title}\n" + format_table(
        ["class", "support", "TP", "FP", "FN", "precision", "recall", f, f"best-{f} thr"], rows
    )


def confusion_text(result: EvaluationResult) -> str:
    """Rows: true class; columns: predicted class; 'background' = no object / no prediction."""
    m = result.point.confusion
    if m is None:
        return ""
    labels = [*result.point.names, "background"]
    rows = [[labels[i], *map(str, row)] for i, row in enumerate(m.tolist())]
    return "Confusion matrix (rows: truth, columns: prediction)\n" + format_table(
        ["truth \\ pred", *labels], rows
    )


def lvis_text(result: EvaluationResult) -> str:
    """The LVIS summary as the `lvis` package prints its results ('n/a' where it prints -1)."""
    assert result.lvis is not None
    return "\n".join(
        f" {name:<8} = {_num(float('nan') if v is None else v, 5)}"
        for name, v in result.lvis.to_dict().items()
    )


def voc_text(result: EvaluationResult) -> str:
    """Per-class VOC AP at each IoU threshold, counts at the first, and mAP."""
    v = result.voc
    assert v is not None
    thr = [f"AP@{t:g}" for t in v.iou_thresholds]
    rows = [
        [str(c.category_id), c.name, str(c.npos), str(c.tp[0]), str(c.fp[0]), *map(_num, c.ap)]
        for c in v.classes
    ]
    rows.append(["", "mAP", "", "", "", *map(_num, v.mAP)])
    title = (
        f"Pascal VOC AP ({v.ap_method}{', pixel-inclusive boxes' if v.pixel_inclusive else ''}; "
        f"TP/FP at IoU {v.iou_thresholds[0]:g})"
    )
    return f"{title}\n" + format_table(["id", "class", "GT", "TP", "FP", *thr], rows, left=2)


def result_text(result: EvaluationResult) -> str:
    if result.protocol == "voc":
        parts = [voc_text(result), point_text(result)]
    elif result.protocol == "lvis":
        parts = [
            lvis_text(result),
            f"Per class ({result.iou_type}):\n{per_class_text(result)}",
            point_text(result),
        ]
    else:
        parts = [
            summary_text(result),
            f"Per class ({result.iou_type}):\n{per_class_text(result)}",
            point_text(result),
        ]
    if result.point.confusion is not None:
        parts.append(confusion_text(result))
    return "\n\n".join(parts) + "\n"


def diagnostics_text(diagnosis: Diagnosis) -> str:
    """The findings, one line each."""
    return "Diagnostics\n" + "\n".join(diagnosis.lines())


def use_rich(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Rich (coloured) tables only on a terminal, and not when NO_COLOR is set (no-color.org)
    or TERM is 'dumb'; everywhere else (pipes, files, tests) the plain text of result_text."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def _rich_cell(value: Any, kind: str) -> Any:
    from rich.text import Text

    text = cell_text(value)
    if isinstance(value, float) and math.isnan(value):
        return Text(text, style="dim italic")
    if kind == RATE and isinstance(value, float):
        return Text(text, style="red" if value < VERY_LOW else "yellow" if value < LOW else "")
    return text


def rich_table(table: Table) -> Any:
    """A rich.table.Table of a report table: labels left, numbers right, undefined values dim,
    rates below VERY_LOW red and below LOW yellow."""
    from rich import box
    from rich.table import Table as RichTable

    out = RichTable(title=table.title, title_justify="left", box=box.SIMPLE_HEAD, title_style="bold")
    for header, kind in zip(table.headers, table.kinds):
        out.add_column(
            header,
            justify="left" if kind in (LABEL, TEXT) else "right",
            style="bold" if kind == LABEL else None,
        )
    for row in table.rows:
        out.add_row(*(_rich_cell(v, k) for v, k in zip(row, table.kinds)))
    return out


def print_rich(result: EvaluationResult, console: Any, diagnosis: Diagnosis | None = None) -> None:
    """Every report table, then the diagnostics (warnings in yellow), on a rich Console."""
    from rich.text import Text

    for table in result_tables(result):
        console.print(rich_table(table))
    if diagnosis is not None:
        console.print(Text("Diagnostics", style="bold"))
        for f in diagnosis.findings:
            console.print(
                Text.assemble((f"{f.level}: ", "bold yellow" if f.level == "warning" else "dim"), f.message)
            )
