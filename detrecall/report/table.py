"""Terminal views of an EvaluationResult: plain text (pycocotools' 12 lines, then per-class
tables) for pipes and files, rich tables (colours, imported lazily) on a terminal."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from ..result import EvaluationResult
from ..tables import LOW, VERY_LOW, Kind, Table, cell_text, format_table, number_text
from .formats import analysis_tables, chosen_points_table, confusion_table, point_table, result_tables

if TYPE_CHECKING:
    from .diagnose import Diagnosis


def _num(v: float, width: int = 6) -> str:
    return number_text(v, width)


def summary_text(result: EvaluationResult) -> str:
    """The protocol's summary as its reference tool prints it (COCO: pycocotools' 12 lines,
    labelled for the actual parameters; 'n/a' where pycocotools prints -1)."""
    return result.protocol_summary.summary_text()


def table_text(table: Table) -> str:
    """Plain text of a report table: its title, then the columns, labels left and numbers
    right, rates with 3 decimals ('n/a' where undefined)."""
    left = sum(1 for k in table.kinds if k in (Kind.LABEL, Kind.TEXT))
    rows = [[_num(v) if isinstance(v, float) else cell_text(v) for v in row] for row in table.rows]
    return f"{table.title}\n" + format_table(list(table.headers), rows, left=left)


def point_text(result: EvaluationResult) -> str:
    """Per-class support, TP, FP, FN, precision, recall, F1 at the operating point, then the
    micro/macro/weighted averages, as scikit-learn's classification_report lays them out."""
    return table_text(point_table(result))


def confusion_text(result: EvaluationResult) -> str:
    """Rows: true class; columns: predicted class; 'background' = no object / no prediction."""
    table = confusion_table(result)
    return "" if table is None else table_text(table)


def result_text(result: EvaluationResult) -> str:
    """Plain text: the protocol's summary and per-class blocks, then the same tables as every
    other view (operating point, chosen score thresholds, confusion matrix when computed)."""
    parts = result.protocol_summary.text_blocks(result.per_class, result.iou_type, result.params.max_dets[-1])
    parts += [point_text(result), table_text(chosen_points_table(result))]
    if result.point.confusion is not None:
        parts.append(confusion_text(result))
    parts += [table_text(t) for t in analysis_tables(result)]
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
    if kind == Kind.RATE and isinstance(value, float):
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
            justify="left" if kind in (Kind.LABEL, Kind.TEXT) else "right",
            style="bold" if kind == Kind.LABEL else None,
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
