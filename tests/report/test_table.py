"""Terminal tables: rich on a terminal (colours for undefined and low values), plain text when
output is not a terminal or NO_COLOR is set."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from detrecall import evaluate
from detrecall.report.diagnose import diagnose
from detrecall.report.table import print_rich, result_text, use_rich

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ROOT = FIXTURES.parent


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "env", "want"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),
        (True, {"TERM": "dumb"}, False),
    ],
)
def test_rich_only_on_a_colour_terminal(tty, env, want):
    assert use_rich(Stream(tty), env) is want


def render(result, diagnosis=None) -> str:
    out = io.StringIO()
    print_rich(result, Console(file=out, force_terminal=True, color_system="standard", width=160), diagnosis)
    return out.getvalue()


def test_rich_tables_hold_the_values_and_colour_undefined_and_low_ones():
    import json

    gt = json.loads((FIXTURES / "gt.json").read_text())
    gt["categories"].append({"id": 99, "name": "zebra"})  # no ground truth: AP undefined
    r = evaluate(gt, FIXTURES / "dt_bbox.json", confusion=True)
    text = render(r, diagnose(r))
    for c in r.per_class:
        if c.name != "zebra":
            assert f"{c.AP:.3f}" in text
    assert re.search(r"\x1b\[2;3m *n/a", text)  # undefined: dim italic
    dog = next(c for c in r.per_class if c.name == "dog")
    assert f"\x1b[33m{dog.AP75:.3f}" in text  # 0.116: below LOW (0.3), yellow
    assert "Confusion matrix" in text and "Diagnostics" in text and "\x1b[1;33mwarning: " in text


def test_rich_colours_by_threshold():
    from detrecall.report.formats import LABEL, RATE, SCORE, Table
    from detrecall.report.table import rich_table

    table = Table(
        "t",
        ("name", "rate", "score"),
        (LABEL, RATE, SCORE),
        (("a", 0.05, 0.05), ("b", 0.2, 0.2), ("c", 0.9, float("nan"))),
    )
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="standard", width=80).print(rich_table(table))
    text = out.getvalue()
    assert "\x1b[31m0.050" in text and "\x1b[33m0.200" in text  # rates: red < 0.1, yellow < 0.3
    assert "\x1b[31m0.900" not in text and "\x1b[33m0.900" not in text
    assert text.count("\x1b[31m") == 1  # the score 0.05 is not coloured
    assert re.search(r"\x1b\[2;3m *n/a", text)


def run_on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """The CLI with stdout on a pseudo-terminal (stderr a pipe); what it printed."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX-only")
    master, slave = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "detrecall.cli", *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=ROOT,
    ) as proc:
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, err
    assert err == b""  # no spinner: stderr is not a terminal
    return b"".join(chunks).decode()


def test_cli_prints_rich_on_a_terminal_and_plain_text_with_no_color():
    gt, dt = str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json")
    env = {"TERM": "xterm-256color", "COLUMNS": "140", "NO_COLOR": "", "PYTHONPATH": str(ROOT)}
    shown = run_on_a_terminal("evaluate", gt, dt, env=env)
    assert "\x1b[" in shown and "Summary (COCO)" in shown
    plain = run_on_a_terminal("evaluate", gt, dt, env={**env, "NO_COLOR": "1"})
    best = evaluate(gt, dt).point.best_f1_overall.threshold  # shown by default (issue 20)
    want = result_text(evaluate(gt, dt, score_threshold=best))
    assert plain.replace("\r\n", "\n") == want


def test_plain_text_shows_every_table_the_other_views_show():
    """Issue: piped output dropped the chosen-thresholds table; one table model renders all."""
    from detrecall.report.formats import result_tables, to_markdown

    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", target_recall=0.7, target_precision=0.8)
    text, md = result_text(r), to_markdown(r)
    for table in result_tables(r)[1:]:  # the summary is pycocotools' 12 lines in plain text
        assert table.title in text and table.title in md
    assert "best precision at recall >= 0.7" in text and "best recall at precision >= 0.8" in text
    o = r.point.at_recall.overall
    assert f"{o.threshold:.3f}" in text.split("best precision at recall >= 0.7", 1)[1].splitlines()[0]
