"""KS against scipy, PSI by hand, chi-square against scipy, the drift rules on hand-made stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from detrecall.monitor.drift import PSI_FLOOR, category_psi, chi2_sf, chi_square, ks_statistic, psi
from detrecall.monitor.rules import Rule, RuleKind, check_rules
from detrecall.monitor.stats import MAX_SCORES, prediction_stats


@pytest.mark.parametrize("seed", range(10))
def test_ks_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.beta(2, 5, int(rng.integers(1, 300)))
    b = np.round(rng.beta(2, 4, int(rng.integers(1, 300))), int(rng.integers(1, 4)))  # ties too
    assert ks_statistic(a, b) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-15)


def test_psi_by_hand() -> None:
    # baseline quartiles of 1..8 cut at 2.75, 4.5, 6.25: bins (≤2.75], (≤4.5], (≤6.25], rest
    expected = np.arange(1, 9, dtype=float)
    actual = np.array([1, 1, 1, 1, 5, 6, 7, 8.0])
    e = np.array([2, 2, 2, 2]) / 8
    a = np.array([4, 0, 2, 2]) / 8
    a_f = np.maximum(a, PSI_FLOOR)
    by_hand = sum((x - y) * math.log(x / y) for x, y in zip(a_f, e))
    assert psi(expected, actual, bins=4) == pytest.approx(by_hand, abs=1e-15)
    assert psi(expected, expected, bins=4) == 0.0


def test_category_psi_by_hand() -> None:
    e, a = {"1": 50, "2": 30, "3": 20}, {"1": 20, "2": 30, "3": 40, "4": 10}
    pe = np.maximum([0.5, 0.3, 0.2, 0.0], PSI_FLOOR)
    pa = np.array([0.2, 0.3, 0.4, 0.1])
    assert category_psi(e, a) == pytest.approx(float(np.sum((pa - pe) * np.log(pa / pe))), abs=1e-15)


@pytest.mark.parametrize("seed", range(10))
def test_chi_square_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    base = {str(i): int(n) for i, n in enumerate(rng.integers(0, 100, k))}
    cur = {str(i): int(n) for i, n in enumerate(rng.integers(1, 100, k))}
    test = chi_square(base, cur)
    e = np.array([base[str(i)] for i in range(k)]) + 0.5
    obs = np.array([cur[str(i)] for i in range(k)], dtype=float)
    ref = sps.chisquare(obs, e / e.sum() * obs.sum())
    assert test.dof == k - 1
    assert test.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert test.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 5, 10, 11, 40])
@pytest.mark.parametrize("x", [0.01, 0.5, 1.0, 3.7, 12.0, 60.0])
def test_chi2_sf_equals_scipy(dof: int, x: float) -> None:
    assert chi2_sf(x, dof) == pytest.approx(sps.chi2.sf(x, dof), rel=1e-10, abs=1e-300)


def test_prediction_stats_counts_empty_images_and_caps_scores() -> None:
    s = prediction_stats(
        np.array([3, 3, 7]), np.array([1, 2, 1]), np.array([0.9, 0.1, 0.5]), image_ids=[1, 3, 7]
    )
    assert s.detections_per_image.tolist() == [0, 2, 1]
    assert s.scores.tolist() == [0.1, 0.5, 0.9] and s.class_counts == {"1": 2, "2": 1}
    n = 3 * MAX_SCORES
    big = prediction_stats(np.zeros(n, np.int64), np.ones(n, np.int64), np.linspace(0, 1, n))
    assert len(big.scores) == MAX_SCORES and big.scores[0] == 0 and big.scores[-1] == 1


def test_drift_rules_fire_with_the_numbers() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.3, 1, 500)
    base = prediction_stats(np.repeat(np.arange(100), 5), np.tile([1, 1, 2, 2, 3], 100), scores)
    cur = prediction_stats(np.repeat(np.arange(100), 3), np.tile([1, 1, 1], 100), scores[:300] * 0.6)
    rules = [
        Rule(k, t)
        for k, t in [
            (RuleKind.DETECTIONS_PER_IMAGE, 0.25),
            (RuleKind.SCORE_KS, 0.2),
            (RuleKind.SCORE_PSI, 0.25),
            (RuleKind.CLASS_PSI, 0.25),
            (RuleKind.CLASS_CHI2, 0.001),
        ]
    ]
    empty = {"overall": {}, "per_class": {}}
    alerts = {a.rule: a for a in check_rules(rules, empty, empty, base, cur).alerts}
    assert set(alerts) == set(RuleKind) - {
        RuleKind.MAX_DROP,
        RuleKind.MAX_RELATIVE_DROP,
        RuleKind.SIGNIFICANT_DROP,
    }
    dpi = alerts[RuleKind.DETECTIONS_PER_IMAGE]
    assert (dpi.baseline, dpi.current, dpi.statistic) == (5.0, 3.0, pytest.approx(0.4))
    ks = alerts[RuleKind.SCORE_KS]
    assert ks.statistic == pytest.approx(sps.ks_2samp(scores, scores[:300] * 0.6).statistic)
    assert ks.baseline == pytest.approx(scores.mean()) and ks.threshold == 0.2
    assert alerts[RuleKind.CLASS_CHI2].statistic == pytest.approx(
        sps.chisquare([300, 0, 0], np.array([200.5, 200.5, 100.5]) / 501.5 * 300).pvalue, rel=1e-9, abs=1e-300
    )
    assert check_rules(rules, empty, empty, base, base).alerts == ()
