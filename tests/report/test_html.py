"""The one-file HTML report: no external URLs, the result's numbers, renders in headless Chromium."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from detrecall import evaluate
from detrecall.report.diagnose import diagnose
from detrecall.report.html import render_html, write_report

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, object]:
    result = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", confusion=True)
    path = write_report(
        result,
        tmp_path_factory.mktemp("html") / "report.html",
        size=(640, 480),
        title="dt_bbox.json vs gt.json",
    )
    return path, result


class Collect(HTMLParser):
    """Every src/href, every table as rows of cell texts, the <img> sources."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("src", "href") and v is not None]
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_no_external_urls(report):
    text = report[0].read_text()
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", text)
    assert not re.search(r"@import|url\(", text)
    parsed = Collect()
    parsed.feed(text)
    assert parsed.links and all(link.startswith("data:image/png;base64,") for link in parsed.links)


def test_tables_and_plots_hold_the_result(report):
    path, result = report
    parsed = Collect()
    parsed.feed(path.read_text())
    summary = {row[0]: row[2] for row in parsed.tables[0][1:]}
    assert summary["AP"] == f"{result.coco.AP:.3f}" and summary["ARl"] == f"{result.coco.ARl:.3f}"
    per_class = parsed.tables[1]
    assert per_class[0] == ["id", "class", "AP", "AP50", "AP75", "AR100"]
    assert [row[1] for row in per_class[1:]] == [c.name for c in result.per_class]
    assert [row[2] for row in per_class[1:]] == [f"{c.AP:.3f}" for c in result.per_class]
    point = parsed.tables[2]
    assert [row[2] for row in point[1:]] == [str(c.tp) for c in result.point.per_class] + [
        str(result.point.counts.tp.sum())
    ] * 3
    confusion = parsed.tables[-1]
    assert [[int(v) for v in row[1:]] for row in confusion[1:]] == result.point.confusion.tolist()
    assert len(parsed.images) == 11
    for src in parsed.images:
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (640, 480)
    text = path.read_text()
    for finding in diagnose(result).findings:
        assert finding.message.replace("&", "&amp;").replace(">", "&gt;") in text


def test_names_are_escaped():
    import json

    gt = json.loads((FIXTURES / "gt.json").read_text())
    gt["categories"][0]["name"] = "<script>alert(1)</script>"
    text = render_html(evaluate(gt, FIXTURES / "dt_bbox.json"))
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_renders_in_headless_chromium(report, tmp_path):
    chromium = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if chromium is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install chromium); the HTML report was not rendered"
        )
    path, result = report
    common = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*common, "--window-size=1200,1600", f"--screenshot={shot}", path.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1200, 1600)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    dom = subprocess.run(
        [*common, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert 'data-sortable="ready"' in dom  # the inline script ran to its end without an error
    assert f"{result.coco.AP:.3f}" in dom


def test_sorting_script_in_chromium(tmp_path):
    """Click a header twice in a real browser: rows sort by AP ascending then descending, the
    class without ground truth (AP n/a) last both times, the average rows never move."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    import json

    gt = json.loads((FIXTURES / "gt.json").read_text())
    gt["categories"].append({"id": 99, "name": "zebra"})
    result = evaluate(gt, FIXTURES / "dt_bbox.json")
    clicks = """<script>
var t = document.querySelectorAll("table.sortable")[0], th = t.querySelectorAll("thead th")[2];
function names() { return Array.prototype.map.call(t.tBodies[0].rows, function (r) {
  return r.cells[1].textContent; }).join(","); }
th.click(); document.body.dataset.asc = names();
th.click(); document.body.dataset.desc = names();
var p = document.querySelectorAll("table.sortable")[1];
p.querySelectorAll("thead th")[1].click();
document.body.dataset.foot = Array.prototype.map.call(p.tFoot.rows, function (r) {
  return r.cells[0].textContent; }).join(",");
</script>
</body>"""
    page = tmp_path / "page.html"
    page.write_text(render_html(result).replace("</body>", clicks))
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    by_ap = [c.name for c in sorted((c for c in result.per_class if c.name != "zebra"), key=lambda c: c.AP)]
    assert f'data-asc="{",".join([*by_ap, "zebra"])}"' in dom
    assert f'data-desc="{",".join([*by_ap[::-1], "zebra"])}"' in dom
    assert 'data-foot="micro avg,macro avg,weighted avg"' in dom
