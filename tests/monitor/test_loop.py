"""The acceptance walk: baseline, a good run, a degraded run, an unlabelled drifted run, history."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from detrecall import evaluate
from detrecall.monitor import Monitor, Rule, RuleKind, Store
from detrecall.monitor import cli as monitor_cli

from .conftest import Receiver, good_model, write_json


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="detrecall")
    monitor_cli.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def main(*argv: str) -> int:
    return monitor_cli.run(parser().parse_args(["monitor", *map(str, argv)]))


def test_weekly_loop(tmp_path: Path, webhook: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    gt, results, true = good_model(0)
    gt_path = write_json(tmp_path / "gt.json", gt)
    dt_good = write_json(tmp_path / "dt_week0.json", results)
    store = tmp_path / "runs.sqlite"
    rules = ["--max-drop", "AP=0.02", "--max-drop", "recall=0.05", "--webhook", webhook.url]

    assert main("baseline", "--store", store, "--model", "det", gt_path, dt_good, "--version", "1.0") == 0

    # the same model on the same week: nothing moved, no alert
    assert main("run", "--store", store, "--model", "det", gt_path, dt_good, *rules, "--tag", "week=1") == 0
    assert webhook.bodies == []

    # a third of the true detections gone: AP and recall alerts, one webhook JSON per alert
    rng = np.random.default_rng(1)
    true_rows = np.flatnonzero(true)
    dropped = set(rng.choice(true_rows, len(true_rows) // 3, replace=False).tolist())
    degraded = [r for i, r in enumerate(results) if i not in dropped]
    dt_bad = write_json(tmp_path / "dt_week2.json", degraded)
    capsys.readouterr()
    assert main("run", "--store", store, "--model", "det", gt_path, dt_bad, *rules, "--format", "json") == 1
    out = json.loads(capsys.readouterr().out)
    by_metric = {(a["rule"], a["metric"]): a for a in out["alerts"]}
    base_result, bad_result = evaluate(gt_path, dt_good), evaluate(gt_path, dt_bad)
    ap = by_metric[("max_drop", "AP")]
    assert ap["baseline"] == pytest.approx(base_result.coco.AP, abs=1e-12)
    assert ap["current"] == pytest.approx(bad_result.coco.AP, abs=1e-12)
    assert ap["drop"] == pytest.approx(base_result.coco.AP - bad_result.coco.AP, abs=1e-12)
    assert ap["threshold"] == 0.02
    recall = by_metric[("max_drop", "recall")]
    assert recall["baseline"] == pytest.approx(base_result.point.micro.recall, abs=1e-12)
    assert recall["current"] == pytest.approx(bad_result.point.micro.recall, abs=1e-12)
    assert len(webhook.bodies) == len(out["alerts"])
    assert sorted(b["alert"]["message"] for b in webhook.bodies) == sorted(
        a["message"] for a in out["alerts"]
    )
    assert {b["run_id"] for b in webhook.bodies} == {out["run_id"]}

    # unlabelled predictions, scores shifted down: drift alerts only
    shifted = [{**r, "score": r["score"] * 0.5} for r in results]
    dt_shift = write_json(tmp_path / "dt_week3.json", shifted)
    n_before = len(webhook.bodies)
    capsys.readouterr()
    assert main("run", "--store", store, "--model", "det", dt_shift, *rules, "--format", "json") == 1
    out = json.loads(capsys.readouterr().out)
    assert out["alerts"] and {a["rule"] for a in out["alerts"]} <= {"score_ks", "score_psi"}
    assert {a["metric"] for a in out["alerts"]} == {"score"}
    assert len(webhook.bodies) - n_before == len(out["alerts"])

    # history: the four runs in order, with their metrics
    capsys.readouterr()
    assert main("history", "--store", store, "--model", "det", "--metric", "AP", "--format", "json") == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run"] for r in runs] == [1, 2, 3, 4]
    assert [r["baseline"] for r in runs] == [True, False, False, False]
    assert runs[0]["AP"] == runs[1]["AP"] == pytest.approx(base_result.coco.AP, abs=1e-12)
    assert runs[2]["AP"] == pytest.approx(bad_result.coco.AP, abs=1e-12)
    assert runs[3]["AP"] is None
    assert [r["alerts"] for r in runs][:2] == [0, 0] and runs[2]["alerts"] >= 2 and runs[3]["alerts"] >= 1
    assert runs[1]["tags"] == {"week": "1"}
    assert main("history", "--store", store, "--model", "det", "--plot", tmp_path / "ap.png") == 0
    assert (tmp_path / "ap.png").stat().st_size > 1000

    with Store(store) as s:
        assert s.run(3).inputs["dt"]["path"] == str(dt_bad.resolve())
        assert [d.delivered for d in s.deliveries(3)] == [True] * len(s.alerts(3))


def test_significant_drop_on_shared_ground_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, results, true = good_model(2, n_images=30)
    gt_path = write_json(tmp_path / "gt.json", gt)
    dt_good = write_json(tmp_path / "dt.json", results)
    degraded = [r for i, r in enumerate(results) if not (true[i] and i % 2)]
    dt_bad = write_json(tmp_path / "dt_bad.json", degraded)
    store = tmp_path / "s.sqlite"
    assert main("baseline", "--store", store, "--model", "m", gt_path, dt_good) == 0
    args = ("--significant", "AP", "--bootstrap", "200", "--drift-threshold", "detections_per_image=off")
    capsys.readouterr()
    code = main(
        "run",
        "--store",
        store,
        "--model",
        "m",
        gt_path,
        dt_bad,
        *args,
        "--drift-threshold",
        "class_chi2=off",
        "--drift-threshold",
        "score_ks=off",
        "--drift-threshold",
        "score_psi=off",
        "--drift-threshold",
        "class_psi=off",
        "--format",
        "json",
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    [alert] = out["alerts"]
    assert alert["rule"] == "significant_drop" and alert["metric"] == "AP"
    assert alert["statistic"] < 0.05  # the bootstrap p-value
    # the same comparison through the library, same seed and replicates
    from detrecall import compare

    d = compare(evaluate(gt_path, dt_good), evaluate(gt_path, dt_bad), n=200, seed=0).get("AP")
    assert alert["statistic"] == pytest.approx(d.p_value) and alert["drop"] == pytest.approx(-d.delta)


def test_monitor_library(store_url: str) -> None:
    gt, results, _ = good_model(3, n_images=10)
    monitor = Monitor(store_url, "m")
    result = evaluate(gt, results)
    run_id = monitor.set_baseline(result, version="a")
    assert monitor.baseline().id == run_id
    assert monitor.check(result).alerts == ()
    recorded = monitor.record(result, tags={"env": "prod"})
    assert recorded.alerts == ()
    assert [p.value for p in monitor.history("AP")] == [result.coco.AP, result.coco.AP]
    worse = evaluate(gt, results[::2])
    strict = Monitor(monitor.store, "m", rules=[Rule(RuleKind.MAX_DROP, 0.01, "AP")])
    [alert] = strict.record(worse).alerts
    assert (alert.baseline, alert.current) == (result.coco.AP, worse.coco.AP)
    assert [a.message for a in monitor.store.alerts(3)] == [alert.message]
    monitor.store.close()


def test_loop_on_postgres(postgres: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres.new_url()  # type: ignore[attr-defined]
    gt, results, _ = good_model(4, n_images=12)
    gt_path, dt = write_json(tmp_path / "gt.json", gt), write_json(tmp_path / "dt.json", results)
    dt_bad = write_json(tmp_path / "bad.json", results[::2])
    assert main("baseline", "--store", url, "--model", "pg", gt_path, dt) == 0
    assert main("run", "--store", url, "--model", "pg", gt_path, dt, "--max-drop", "AP=0.02") == 0
    assert main("run", "--store", url, "--model", "pg", gt_path, dt_bad, "--max-drop", "AP=0.02") == 1
    capsys.readouterr()
    assert main("history", "--store", url, "--model", "pg", "--format", "json") == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run"] for r in runs] == [1, 2, 3] and runs[2]["AP"] == pytest.approx(
        evaluate(gt, results[::2]).coco.AP
    )
