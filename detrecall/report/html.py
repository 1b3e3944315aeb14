"""One self-contained HTML file: the report tables, the diagnostics and the plots.

No network requests: styles and the table-sorting script are inline, plots are PNG data URIs.
The per-class tables sort by a click on a column header (numbers numerically, undefined values
last; average rows stay at the bottom). The output is deterministic (no dates).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .formats import COUNT, LABEL, LOW, RATE, TEXT, VERY_LOW, Table, cell_text, result_tables

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..result import EvaluationResult
    from .diagnose import Diagnosis
    from .gallery import Gallery

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #1f2328; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
.sub { color: #59636e; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #d1d9e0; }
th { background: #f6f8fa; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; background: #f6f8fa; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-order="asc"]::after { content: " \\25B2"; }
table.sortable th[data-order="desc"]::after { content: " \\25BC"; }
td.na { color: #8c959f; font-style: italic; }
td.low { color: #b35900; } td.verylow { color: #cf222e; }
ul.findings li { margin: 0.3em 0; } .warning { color: #9a6700; font-weight: 600; }
.info { color: #59636e; font-weight: 600; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1em; }
figure { margin: 0; } figure img { width: 100%; height: auto; border: 1px solid #d1d9e0; }
figcaption { color: #59636e; font-size: 0.9em; }
.scroll { overflow: auto; max-width: 100%; max-height: 80vh; border: 1px solid #d1d9e0; }
.scroll table { margin: 0; } .scroll thead th { position: sticky; top: 0; z-index: 2; }
.scroll tbody td:first-child, .scroll thead th:first-child { position: sticky; left: 0;
  z-index: 1; background: #f6f8fa; font-weight: 600; white-space: nowrap; }
.scroll thead th:first-child { z-index: 3; }
"""

_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.dataset.order !== "asc";
      heads.forEach(function (h) { delete h.dataset.order; });
      th.dataset.order = asc ? "asc" : "desc";
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var v = row.cells[col].dataset.v;
        return v === "" ? null : (isNaN(Number(v)) ? v.toLowerCase() : Number(v));
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.body.dataset.sortable = "ready";
"""


def _cell(value: Any, kind: str, shade: float | None = None) -> str:
    text = html.escape(cell_text(value))
    raw = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    classes = [] if kind in (LABEL, TEXT) else ["num"]
    if raw == "" and value is not None:
        classes.append("na")
    elif kind == RATE and isinstance(value, float):
        classes += ["verylow"] if value < VERY_LOW else ["low"] if value < LOW else []
    style = f' style="background: rgba(9, 105, 218, {shade:.3f})"' if shade else ""
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{cls} data-v="{html.escape(raw)}"{style}>{text}</td>'


def table_html(table: Table, sortable: bool = False, heat: bool = False) -> str:
    """A <table>: the last `table.footer` rows in <tfoot>; `heat` shades count cells by value."""
    top = (
        max(
            [v for row in table.rows for v, k in zip(row, table.kinds) if k == COUNT and isinstance(v, int)]
            + [1]
        )
        if heat
        else 1
    )
    head = "".join(
        f"<th{'' if k in (LABEL, TEXT) else ' class=num'}>{html.escape(h)}</th>"
        for h, k in zip(table.headers, table.kinds)
    )

    def row_html(row: tuple[Any, ...]) -> str:
        return (
            "<tr>"
            + "".join(
                _cell(v, k, 0.6 * v / top if heat and k == COUNT and isinstance(v, int) and v else None)
                for v, k in zip(row, table.kinds)
            )
            + "</tr>"
        )

    split = len(table.rows) - table.footer
    body = "\n".join(row_html(r) for r in table.rows[:split])
    foot = "\n".join(row_html(r) for r in table.rows[split:])
    return (
        f"<table{' class=sortable' if sortable else ''}>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n" + (f"<tfoot>\n{foot}\n</tfoot>\n" if foot else "") + "</table>"
    )


def png_data_uri(fig: Figure) -> str:
    """The figure as a base64 PNG data URI (Agg, no metadata)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_CAPTIONS = {
    "pr_curves": "Precision-recall along the score, per class and pooled, at the operating IoU.",
    "pr_coco": "COCO's interpolated PR curves (101 recall points): per class and per IoU threshold.",
    "threshold": "Precision, recall and F vs the score threshold; the dot marks the best F.",
    "ap_per_class": "AP per class, sorted.",
    "ap_by_size": "AP by object size (COCO's area ranges).",
    "confusion": "Confusion matrix: counts.",
    "confusion_normalized": "Confusion matrix: each true class's row divided by its total.",
    "reliability": "Reliability diagram: fraction of true positives vs mean score, per score bin.",
    "F1_curve": "F1 vs confidence per class (Ultralytics' F1_curve); bold: the mean over the classes.",
    "P_curve": "Precision vs confidence per class (Ultralytics' P_curve); bold: the mean over the classes.",
    "R_curve": "Recall vs confidence per class (Ultralytics' R_curve); bold: the mean over the classes.",
    "errors_dap": "TIDE: the AP fixing each error type recovers (dAP); FP / FN: every false positive / "
    "negative fixed at once.",
}


def render_html(
    result: EvaluationResult,
    *,
    diagnosis: Diagnosis | None = None,
    figures: dict[str, Figure] | None = None,
    title: str = "detrecall report",
    gallery: Gallery | None = None,
) -> str:
    """The report as one HTML string: summary, diagnostics, per-class tables (sortable), chosen
    operating points, confusion matrix, the errors (TIDE's dAP plot below its table), the
    gallery of the worst images (`gallery.gallery`), then the figures (PNG data URIs)."""
    from .._version import __version__

    figures = dict(figures or {})
    errors_plot = figures.pop("errors_dap", None) if result.errors is not None else None
    errors_title = result.errors.table().title if result.errors is not None else None

    p = result.point
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="sub">{html.escape(result.protocol.upper())} protocol, {result.iou_type}; '
        f"{len(p.names)} classes, {int(p.counts.support.sum())} ground truths, "
        f"{len(result.point_matches.det_row) if result.point_matches is not None else 0} "
        f"detections; detrecall {html.escape(__version__)}</p>",
    ]
    for i, table in enumerate(result_tables(result)):
        confusion = table.title.startswith("Confusion")
        sortable = table.title.startswith(("Per class", "Operating point"))
        shown = table_html(table, sortable=sortable, heat=confusion)
        if confusion:  # C+1 columns: scrolls inside its box, headers and class names stay in view
            shown = f'<div class="scroll">\n{shown}\n</div>'
        parts.append(f"<h2>{html.escape(table.title)}</h2>\n" + shown)
        if i == 0 and diagnosis is not None and diagnosis.findings:
            items = "\n".join(
                f'<li><span class="{f.level}">{f.level}</span>: {html.escape(f.message)}</li>'
                for f in diagnosis.findings
            )
            parts.append(f'<h2 id="diagnostics">Diagnostics</h2>\n<ul class="findings">\n{items}\n</ul>')
        if errors_plot is not None and table.title == errors_title:
            parts.append(
                f'<div class="plots" id="errors-plot">\n{_figure_html("errors_dap", errors_plot)}\n</div>'
            )
    if gallery is not None:
        parts.append(gallery_html(gallery))
    if figures:
        cells = "\n".join(
            f'<figure><img alt="{html.escape(stem)}" src="{png_data_uri(fig)}">'
            f"<figcaption>{html.escape(_CAPTIONS.get(stem, stem))}</figcaption></figure>"
            for stem, fig in figures.items()
        )
        parts.append(f'<h2 id="plots">Plots</h2>\n<div class="plots">\n{cells}\n</div>')
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}{_GALLERY_CSS if gallery else ''}</style>\n"
        "</head>\n"
        f"<body>\n{body}\n<script>{_JS}</script>\n</body>\n</html>\n"
    )


def write_report(
    result: EvaluationResult,
    path: str | Path,
    *,
    title: str = "detrecall report",
    size: tuple[int, int] | None = None,
    diagnosis: Diagnosis | None = None,
    gallery: Gallery | None = None,
) -> Path:
    """Diagnose, draw every plot and write the report to `path` (with the `gallery` of the worst
    images when given: `gallery.gallery(result, gt, dt, images_folder)`); returns the path."""
    from .diagnose import diagnose
    from .plots import DEFAULT_SIZE, figures

    diagnosis = diagnose(result) if diagnosis is None else diagnosis
    figs = figures(result, size or DEFAULT_SIZE, diagnosis.calibration)
    path = Path(path)
    page = render_html(result, diagnosis=diagnosis, figures=figs, title=title, gallery=gallery)
    path.write_text(page, encoding="utf-8")
    return path


def _figure_html(stem: str, fig: Figure) -> str:
    return (
        f'<figure><img alt="{html.escape(stem)}" src="{png_data_uri(fig)}">'
        f"<figcaption>{html.escape(_CAPTIONS.get(stem, stem))}</figcaption></figure>"
    )


_GALLERY_CSS = """
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 1em; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.35em;
            vertical-align: -0.1em; border: 3px solid; }
"""


def gallery_html(gallery: Gallery) -> str:
    """The section of the worst images: the operating point they are drawn at, the colour
    legend, and one figure per image (a data URI, JPEG unless drawn otherwise, captioned with its
    counts)."""
    from .gallery import COLORS, LEGEND

    legend = "".join(
        f'<span><i style="border-color: rgb{COLORS[status]}"></i>{html.escape(text)}</span>'
        for status, text in LEGEND
    )
    head = (
        f'<h2 id="gallery">Worst images ({len(gallery.pictures)}, most errors first)</h2>\n'
        f'<p class="sub">Drawn at the operating point: {html.escape(gallery.point_text)} '
        "(detections below the score threshold are not drawn). Dashed: false-negative boxes.</p>\n"
        f'<p class="legend">{legend}</p>'
    )
    if not gallery.pictures:
        return head + "\n<p>No image has an error at the operating point.</p>"
    cells = "\n".join(
        f'<figure><img alt="image {p.image_id}" src="{p.data_uri()}" width="{p.width}" '
        f'height="{p.height}" data-image-id="{p.image_id}">'
        f"<figcaption>{html.escape(p.caption)}</figcaption></figure>"
        for p in gallery.pictures
    )
    return f'{head}\n<div class="gallery">\n{cells}\n</div>'
