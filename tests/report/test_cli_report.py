"""The report flags and commands of the CLI, run as real subprocesses: --format csv|markdown,
--diagnose, --plots, `plot`, `report`; nothing on stderr when it is not a terminal."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from detrecall import evaluate
from detrecall.report import formats
from detrecall.report.diagnose import diagnose
from tests.report.test_plots import png_size

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GT, DT = FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "detrecall.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_evaluate_csv_and_markdown_equal_the_library():
    result = evaluate(GT, DT, score_threshold=0.3)
    out = run("evaluate", GT, DT, "--score-threshold", "0.3", "--format", "csv")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert out.stdout == formats.to_csv(result)
    assert float(next(csv.DictReader(io.StringIO(out.stdout)))["AP"]) == result.per_class[0].AP
    out = run("evaluate", GT, DT, "--score-threshold", "0.3", "--format", "markdown", "--diagnose")
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout == formats.to_markdown(result, diagnose(result))


def test_evaluate_diagnose_json_table_and_output_file(tmp_path):
    result = evaluate(GT, DT)
    want = json.loads(json.dumps(diagnose(result).to_dict()))
    out = run("evaluate", GT, DT, "--diagnose", "--format", "json", "--output", tmp_path / "r.json")
    assert out.returncode == 0 and out.stderr == ""
    assert json.loads(out.stdout)["diagnostics"] == want
    assert json.loads((tmp_path / "r.json").read_text())["diagnostics"] == want
    table = run("evaluate", GT, DT, "--diagnose").stdout  # at the best-F1 threshold (issue 20)
    shown = evaluate(GT, DT, score_threshold=result.point.best_f1_overall.threshold)
    assert table.endswith("Diagnostics\n" + "\n".join(diagnose(shown).lines()) + "\n")
    assert "diagnostics" not in json.loads(run("evaluate", GT, DT, "--format", "json").stdout)


def test_evaluate_plots_and_plot_command(tmp_path):
    out = run("evaluate", GT, DT, "--format", "json", "--plots", tmp_path / "a", "--plot-size", "400x300")
    assert out.returncode == 0 and out.stderr == ""
    assert "confusion" in json.loads(out.stdout)["point"]  # --plots adds the confusion matrix
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == 11 and all(png_size(tmp_path / "a" / f) == (400, 300) for f in files)
    out = run("plot", GT, DT, "-o", tmp_path / "b", "--iou-threshold", "0.6")
    assert out.returncode == 0 and out.stderr == ""
    written = [Path(line) for line in out.stdout.splitlines()]
    assert sorted(p.name for p in written) == files
    assert all(png_size(p) == (800, 600) for p in written)  # the documented default


def test_report_command(tmp_path):
    out = run("report", GT, DT, "-o", tmp_path / "r.html")
    assert out.returncode == 0 and out.stdout == ""
    assert out.stderr == f"detrecall: wrote {tmp_path / 'r.html'}\n"  # no spinner: not a terminal
    text = (tmp_path / "r.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and "https://" not in text and "http://" not in text
    assert "<h1>dt_bbox.json vs gt.json</h1>" in text


def test_bad_plot_size_and_missing_folder_exit_2(tmp_path):
    out = run("plot", GT, DT, "-o", tmp_path, "--plot-size", "big")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (
        "detrecall: error: plot size must be WIDTHxHEIGHT in pixels, e.g. 800x600, got 'big'\n"
    )
    out = run("report", GT, DT, "-o", tmp_path / "no" / "r.html", "--quiet")
    assert out.returncode == 2
    assert out.stderr == f"detrecall: error: {tmp_path / 'no'}: no such folder (for the report r.html)\n"


def test_classify_csv_and_markdown(tmp_path):
    from detrecall.metrics import classification_report

    y_true, y_pred = [0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 1]
    (tmp_path / "t.json").write_text(json.dumps(y_true))
    (tmp_path / "p.json").write_text(json.dumps(y_pred))
    report = classification_report(y_true, y_pred, output_dict=True)
    out = run("classify", tmp_path / "t.json", tmp_path / "p.json", "--format", "csv")
    assert out.returncode == 0 and out.stdout == formats.report_csv(report)
    out = run("classify", tmp_path / "t.json", tmp_path / "p.json", "--format", "markdown")
    assert out.returncode == 0 and out.stdout == formats.report_markdown(report)
    assert out.stdout.splitlines()[0] == "| label | precision | recall | f1-score | support |"
