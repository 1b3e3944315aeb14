"""Classification helpers vs brute force and scikit-learn; the CLI loop on a classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from detrecall.monitor.classify import (
    Finding,
    best_threshold,
    best_thresholds_ovr,
    business_cost,
    diagnostics,
    expected_calibration_error,
)

from .test_loop import main


def _brute(y: np.ndarray, s: np.ndarray, beta: float) -> list[tuple[float, float, float, float]]:
    """(threshold, precision, recall, F-beta) at every distinct score, highest threshold first."""
    out = []
    for t in np.unique(s)[::-1]:
        pred = s >= t
        tp, fp, fn = int(np.sum(pred & y)), int(np.sum(pred & ~y)), int(np.sum(~pred & y))
        p, r = tp / (tp + fp), tp / (tp + fn)
        f = (1 + beta**2) * tp / ((1 + beta**2) * tp + beta**2 * fn + fp)
        out.append((float(t), p, r, f))
    return out


@pytest.mark.parametrize("seed", range(15))
def test_best_threshold_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    y = rng.random(n) < rng.uniform(0.1, 0.7)
    y[0] = True
    s = np.round(rng.random(n) * 0.6 + y * rng.uniform(0, 0.5), int(rng.integers(1, 4)))  # ties
    beta = float(rng.choice([0.5, 1.0, 2.0]))
    table = _brute(y, s, beta)
    best = max(table, key=lambda row: row[3])  # max keeps the first: the highest threshold of ties
    got = best_threshold(y, s, beta=beta, pos_label=True)
    assert got is not None
    assert (got.threshold, got.precision, got.recall, got.fbeta) == pytest.approx(best, abs=1e-12)
    assert got.fbeta == pytest.approx(skm.fbeta_score(y, s >= got.threshold, beta=beta), abs=1e-12)
    target = float(rng.uniform(0.3, 0.95))
    ok = [row for row in table if row[1] >= target]
    got = best_threshold(y, s, objective="precision", target=target, pos_label=True)
    if not ok:
        assert got is None
    else:
        want = max(ok, key=lambda row: row[2])
        assert got is not None and (got.threshold, got.recall) == pytest.approx((want[0], want[2]), abs=1e-12)
    ok = [row for row in table if row[2] >= target]
    want = max(ok, key=lambda row: row[1])
    got = best_threshold(y, s, objective="recall", target=target, pos_label=True)
    assert got is not None and (got.threshold, got.precision) == pytest.approx((want[0], want[1]), abs=1e-12)


def test_best_thresholds_one_vs_rest() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 120)
    s = rng.random((120, 3)) + np.eye(3)[y] * 0.4
    got = best_thresholds_ovr(y, s, [0, 1, 2])
    for k in range(3):
        want = max(_brute(y == k, s[:, k], 1.0), key=lambda row: row[3])
        assert got[k] is not None and got[k].threshold == want[0] and got[k].fbeta == pytest.approx(want[3])


@pytest.mark.parametrize("seed", range(10))
def test_business_cost_equals_confusion_times_costs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    y, p = rng.integers(0, k, 80), rng.integers(0, k, 80)
    costs = rng.integers(-2, 10, (k, k)).astype(float)
    got = business_cost(y, p, costs, labels=list(range(k)))
    brute = sum(costs[t, q] for t, q in zip(y, p))
    assert got.total == pytest.approx(brute) and got.per_prediction == pytest.approx(brute / 80)
    np.testing.assert_array_equal(got.confusion, skm.confusion_matrix(y, p, labels=list(range(k))))


def test_binary_cost_layout() -> None:
    # [[TN, FP], [FN, TP]] costs: 2 TN, 1 FP, 1 FN, 1 TP
    got = business_cost([0, 0, 0, 1, 1], [0, 0, 1, 0, 1], [[0, 5], [50, -1]])
    assert got.total == 0 * 2 + 5 * 1 + 50 * 1 - 1 * 1 and got.per_prediction == pytest.approx(54 / 5)


@pytest.mark.parametrize("seed", range(10))
def test_calibration_error_from_scikit_learn_bins(seed: int) -> None:
    rng = np.random.default_rng(seed)
    prob = rng.random(300)
    y = rng.random(300) < prob**2
    frac, mean = calibration_curve(y, prob, n_bins=10)
    counts = np.histogram(prob, np.linspace(0, 1, 11))[0]
    counts = counts[counts > 0]
    want = float(np.sum(counts / 300 * np.abs(frac - mean)))
    assert expected_calibration_error(y, prob, n_bins=10, pos_label=True) == pytest.approx(want, abs=1e-12)


def test_diagnostics_findings() -> None:
    y = np.array([0] * 95 + [1] * 5)
    biased = np.zeros(100, int)
    d = diagnostics(y, biased)
    assert d.imbalance_ratio == 19.0 and Finding.IMBALANCED in d.findings
    assert d.predicted_share == {"0": 1.0, "1": 0.0} and d.max_share_excess == pytest.approx(0.05)
    d = diagnostics([0, 1, 0, 1], [1, 1, 1, 1])
    assert d.max_share_excess == 0.5 and Finding.BIASED in d.findings
    d = diagnostics([0, 1, 0, 1], [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    assert Finding.PERFECT in d.findings and d.accuracy == 1.0
    assert d.calibration_error == pytest.approx((0.1 + 0.2 + 0.1 + 0.2) / 4)
    d = diagnostics([0, 1, 0, 1], [0, 0, 0, 1], [0.9, 0.4, 0.3, 0.6])
    assert Finding.PERFECT not in d.findings


def test_monitor_run_alerts_on_a_degraded_classifier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    good = np.where(rng.random(400) < 0.9, y, rng.integers(0, 3, 400))
    bad = np.where(rng.random(400) < 0.6, y, rng.integers(0, 3, 400))
    files = {}
    for name, values in (("y", y), ("good", good), ("bad", bad)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(values.tolist()))
    store = tmp_path / "c.sqlite"
    common = ("--store", store, "--model", "clf", "--task", "classification")
    assert main("baseline", *common, files["y"], files["good"]) == 0
    rules = ("--max-drop", "accuracy=0.05", "--max-drop", "MCC=10%")
    assert main("run", *common, files["y"], files["good"], *rules) == 0
    capsys.readouterr()
    assert main("run", *common, files["y"], files["bad"], *rules, "--format", "json") == 1
    alerts = {
        a["metric"]: a for a in json.loads(capsys.readouterr().out)["alerts"] if a["rule"].startswith("max")
    }
    assert alerts["accuracy"]["baseline"] == pytest.approx(skm.accuracy_score(y, good))
    assert alerts["accuracy"]["current"] == pytest.approx(skm.accuracy_score(y, bad))
    mcc_good, mcc_bad = skm.matthews_corrcoef(y, good), skm.matthews_corrcoef(y, bad)
    assert alerts["MCC"]["rule"] == "max_relative_drop"
    assert alerts["MCC"]["drop"] == pytest.approx((mcc_good - mcc_bad) / mcc_good)
    capsys.readouterr()
    assert main("history", "--store", store, "--model", "clf", "--format", "json") == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["accuracy"] for r in runs] == pytest.approx(
        [skm.accuracy_score(y, good), skm.accuracy_score(y, good), skm.accuracy_score(y, bad)]
    )
