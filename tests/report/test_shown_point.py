"""Issue 20 item 10: without --score-threshold the views show the operating point at the best-F1
threshold of all classes pooled (Ultralytics' per-class P and R), not at score >= 0; the JSON
and CSV keep score >= 0; with --score-threshold given, that point is shown."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detrecall import evaluate
from detrecall.report import formats
from detrecall.report.diagnose import diagnose
from detrecall.report.table import diagnostics_text, result_text
from tests.report.test_cli_report import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GT, DT = FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"


def test_recounted_equals_an_evaluation_at_that_threshold():
    from detrecall.analysis.point import recounted

    base = evaluate(GT, DT, confusion=True, per_image=True, slices={"two": [1000, 1007, 1014]})
    t = base.point.best_f1_overall.threshold
    want = evaluate(
        GT, DT, score_threshold=t, confusion=True, per_image=True, slices={"two": [1000, 1007, 1014]}
    )
    got = recounted(base, t, confusion=want.point.confusion)
    p, q = got.point, want.point
    assert p.score_threshold == t == q.score_threshold
    for name in ("tp", "fp", "fn", "support"):
        assert np.array_equal(getattr(p.counts, name), getattr(q.counts, name))
    assert np.array_equal(p.precision, q.precision) and np.array_equal(p.f1, q.f1)
    assert (p.micro, p.macro, p.weighted) == (q.micro, q.macro, q.weighted)
    assert p.to_dict() == q.to_dict()
    # the pooled best-F1 point is where the micro average is counted
    b = base.point.best_f1_overall
    assert (p.micro.precision, p.micro.recall, p.micro.f1) == (b.precision, b.recall, b.f1)
    assert np.array_equal(got.per_image.tp, want.per_image.tp)
    assert got.slices["two"].point.to_dict()["per_class"] == want.slices["two"].point.to_dict()["per_class"]
    assert got.per_class == base.per_class and got.coco == base.coco  # AP untouched
    assert base.point.score_threshold == 0.0  # the argument is not changed


def test_default_table_shows_the_best_f1_point_and_says_so():
    base = evaluate(GT, DT, confusion=True)
    t = base.point.best_f1_overall.threshold
    at_t = evaluate(GT, DT, score_threshold=t, confusion=True)
    out = run("evaluate", GT, DT, "--confusion", "--diagnose")
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout == result_text(at_t) + "\n" + diagnostics_text(diagnose(at_t)) + "\n"
    assert (
        f"Operating point: IoU >= 0.5, score >= {t:g}, the best F1 of all classes pooled (bbox)" in out.stdout
    )
    assert f"Confusion matrix at IoU >= 0.5, score >= {t:g}, the best F1" in out.stdout
    assert f"(FP+FN at IoU >= 0.5, score >= {t:g})" in out.stdout  # the diagnostics say which
    # markdown: the same view
    md = run("evaluate", GT, DT, "--confusion", "--format", "markdown").stdout
    assert md == formats.to_markdown(at_t)


def test_json_and_csv_keep_score_0_and_a_given_threshold_is_shown():
    base = evaluate(GT, DT, confusion=True)
    out = run("evaluate", GT, DT, "--confusion", "--diagnose", "--format", "json")
    assert json.loads(out.stdout) == json.loads(formats.to_json(base, diagnose(base)))
    assert run("evaluate", GT, DT, "--format", "csv").stdout == formats.to_csv(evaluate(GT, DT))
    given = run("evaluate", GT, DT, "--score-threshold", "0").stdout
    assert given == result_text(evaluate(GT, DT))
    assert "Operating point: IoU >= 0.5, score >= 0 (bbox)" in given
