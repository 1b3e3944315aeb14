"""Alert rules and the alerts they raise, checked against the model's baseline.

A rule is data: its kind (an enum), the metric it watches (metric-drop kinds), an optional
class, and a threshold. Metric drops compare flat metrics; the significant-drop rule reads the
paired bootstrap (`detrecall.compare`) and needs both evaluations in memory on one ground truth;
drift rules compare prediction statistics and need no labels. A rule whose inputs are missing
does not alert; `Check.notes` says why it was skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..analysis.compare import Comparison
from .drift import category_psi, chi_square, ks_statistic, psi
from .errors import MonitorInputError
from .stats import PredictionStats


class RuleKind(Enum):
    """What a rule measures, and so what its threshold means."""

    MAX_DROP = "max_drop"  # baseline - current > threshold
    MAX_RELATIVE_DROP = "max_relative_drop"  # (baseline - current) / baseline > threshold
    SIGNIFICANT_DROP = "significant_drop"  # current < baseline with bootstrap p < threshold
    DETECTIONS_PER_IMAGE = "detections_per_image"  # |relative change of the mean| > threshold
    SCORE_KS = "score_ks"  # KS statistic of the scores > threshold
    SCORE_PSI = "score_psi"  # PSI of the scores > threshold
    CLASS_PSI = "class_psi"  # PSI of the predicted class mix > threshold
    CLASS_CHI2 = "class_chi2"  # chi-square p-value of the class mix < threshold

    @property
    def is_drift(self) -> bool:
        return self in _DRIFT


_DRIFT = {
    RuleKind.DETECTIONS_PER_IMAGE,
    RuleKind.SCORE_KS,
    RuleKind.SCORE_PSI,
    RuleKind.CLASS_PSI,
    RuleKind.CLASS_CHI2,
}


@dataclass(frozen=True)
class Rule:
    """One alert rule. `metric` and `category_id` only for the metric-drop kinds."""

    kind: RuleKind
    threshold: float
    metric: str | None = None
    category_id: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold) or self.threshold < 0:
            raise MonitorInputError(f"{self.kind.value}: threshold {self.threshold} (expected a number >= 0)")
        if not self.kind.is_drift and not self.metric:
            raise MonitorInputError(f"{self.kind.value} needs a metric")

    @property
    def label(self) -> str:
        if self.kind.is_drift:
            return self.kind.value
        return f"{self.metric}@{self.category_id}" if self.category_id is not None else str(self.metric)


DEFAULT_DRIFT_RULES: tuple[Rule, ...] = (
    Rule(RuleKind.DETECTIONS_PER_IMAGE, 0.25),
    Rule(RuleKind.SCORE_KS, 0.2),
    Rule(RuleKind.SCORE_PSI, 0.25),
    Rule(RuleKind.CLASS_PSI, 0.25),
    Rule(RuleKind.CLASS_CHI2, 0.001),
)


@dataclass(frozen=True)
class Alert:
    """A rule that fired: what it watched, both values, the change, the threshold, the rule.

    `drop` is baseline - current (absolute; relative for MAX_RELATIVE_DROP); `statistic` the
    number compared with the threshold when that is not the drop (KS, PSI, p-value, relative
    change of detections per image)."""

    rule: RuleKind
    metric: str
    baseline: float | None
    current: float | None
    drop: float | None
    threshold: float
    statistic: float | None = None
    category_id: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "metric": self.metric,
            "category_id": self.category_id,
            "baseline": _json(self.baseline),
            "current": _json(self.current),
            "drop": _json(self.drop),
            "threshold": self.threshold,
            "statistic": _json(self.statistic),
            "message": self.message,
        }

    def __str__(self) -> str:
        return self.message


def _json(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else v


@dataclass(frozen=True)
class Check:
    """Every alert of one check, and the rules that could not be checked (with the reason)."""

    alerts: tuple[Alert, ...]
    notes: tuple[str, ...] = ()


def metric_value(metrics: Mapping[str, Any], metric: str, category_id: str | None) -> float | None:
    """A metric of flat metrics (overall, or of one class); None when undefined or absent."""
    table = (
        metrics.get("overall", {}) if category_id is None else metrics.get("per_class", {}).get(category_id)
    )
    if not table:
        return None
    v = table.get(metric)
    return None if v is None or not math.isfinite(v) else float(v)


def validate_rules(rules: Sequence[Rule], baseline_metrics: Mapping[str, Any]) -> None:
    """Refuse a metric rule naming a metric (or class) the baseline does not have."""
    overall = baseline_metrics.get("overall", {})
    per_class = baseline_metrics.get("per_class", {})
    for rule in rules:
        if rule.kind.is_drift:
            continue
        if rule.category_id is not None:
            if rule.category_id not in per_class:
                known = ", ".join(sorted(per_class)[:20]) or "none"
                raise MonitorInputError(
                    f"unknown class {rule.category_id!r} in rule {rule.label} (known: {known})"
                )
            names = per_class[rule.category_id]
        else:
            names = overall
        if rule.metric not in names:
            known = ", ".join(names) or "none: the baseline has no labelled metrics"
            raise MonitorInputError(f"unknown metric {rule.metric!r} (known: {known})")


def _drop_alert(rule: Rule, baseline: Mapping[str, Any], current: Mapping[str, Any]) -> Alert | str | None:
    assert rule.metric is not None
    b = metric_value(baseline, rule.metric, rule.category_id)
    c = metric_value(current, rule.metric, rule.category_id)
    if b is None or c is None:
        return f"{rule.label}: undefined in the {'baseline' if b is None else 'run'}, not checked"
    drop = b - c
    where = f" (class {rule.category_id})" if rule.category_id is not None else ""
    if rule.kind is RuleKind.MAX_RELATIVE_DROP:
        if b <= 0:
            return f"{rule.label}: baseline {b:g}, a relative drop is undefined"
        drop = drop / b
        if drop > rule.threshold:
            return Alert(
                rule.kind,
                rule.metric,
                b,
                c,
                drop,
                rule.threshold,
                None,
                rule.category_id,
                f"{rule.metric}{where} dropped by {drop:.1%} of its baseline: {b:.4f} -> {c:.4f} "
                f"(allowed {rule.threshold:.1%}; rule {rule.kind.value})",
            )
        return None
    if drop > rule.threshold:
        return Alert(
            rule.kind,
            rule.metric,
            b,
            c,
            drop,
            rule.threshold,
            None,
            rule.category_id,
            f"{rule.metric}{where} dropped by {drop:.4f}: {b:.4f} -> {c:.4f} "
            f"(allowed {rule.threshold:g}; rule {rule.kind.value})",
        )
    return None


def _significant_alert(rule: Rule, comparison: Comparison | None) -> Alert | str | None:
    assert rule.metric is not None
    if comparison is None:
        return (
            f"{rule.label}: no paired bootstrap (the run and the baseline need one ground truth), not checked"
        )
    try:
        d = comparison.get(rule.metric, None if rule.category_id is None else int(rule.category_id))
    except ValueError as e:
        return f"{rule.label}: {e}, not checked"
    if d.delta < 0 and d.p_value < rule.threshold:
        return Alert(
            rule.kind,
            rule.metric,
            d.baseline,
            d.candidate,
            -d.delta,
            rule.threshold,
            d.p_value,
            rule.category_id,
            f"{rule.metric} dropped by {-d.delta:.4f}: {d.baseline:.4f} -> {d.candidate:.4f}, "
            f"significant under the paired bootstrap (p = {d.p_value:.4f} < {rule.threshold:g}; "
            f"rule {rule.kind.value})",
        )
    return None


def _drift_alert(
    rule: Rule, baseline: PredictionStats | None, current: PredictionStats | None
) -> Alert | str | None:
    if baseline is None or current is None:
        return (
            f"{rule.kind.value}: no prediction statistics in the {'baseline' if baseline is None else 'run'}"
        )
    k = rule.kind
    if k is RuleKind.DETECTIONS_PER_IMAGE:
        b, c = baseline.mean_detections_per_image, current.mean_detections_per_image
        if not (b > 0 and math.isfinite(c)):
            return f"{k.value}: baseline mean {b:g}, a relative change is undefined"
        change = abs(c - b) / b
        if change > rule.threshold:
            return Alert(
                k,
                "detections_per_image",
                b,
                c,
                b - c,
                rule.threshold,
                change,
                None,
                f"detections per image changed by {change:.1%}: mean {b:.3f} -> {c:.3f} "
                f"(allowed {rule.threshold:.1%}; rule {k.value})",
            )
        return None
    if k in (RuleKind.SCORE_KS, RuleKind.SCORE_PSI):
        if not len(baseline.scores) or not len(current.scores):
            return f"{k.value}: no scores in the {'baseline' if not len(baseline.scores) else 'run'}"
        stat = (ks_statistic if k is RuleKind.SCORE_KS else psi)(baseline.scores, current.scores)
        b, c = baseline.mean_score, current.mean_score
        name = "KS statistic" if k is RuleKind.SCORE_KS else "PSI"
        if stat > rule.threshold:
            return Alert(
                k,
                "score",
                b,
                c,
                b - c,
                rule.threshold,
                stat,
                None,
                f"score distribution drifted: {name} {stat:.4f} > {rule.threshold:g} "
                f"(mean score {b:.4f} -> {c:.4f}; rule {k.value})",
            )
        return None
    if k is RuleKind.CLASS_PSI:
        stat = category_psi(baseline.class_counts, current.class_counts)
        if math.isfinite(stat) and stat > rule.threshold:
            return Alert(
                k,
                "class_mix",
                None,
                None,
                None,
                rule.threshold,
                stat,
                None,
                f"class mix drifted: PSI {stat:.4f} > {rule.threshold:g} (rule {k.value})",
            )
        return None
    test = chi_square(baseline.class_counts, current.class_counts)
    if test.p_value < rule.threshold:
        return Alert(
            k,
            "class_mix",
            None,
            None,
            None,
            rule.threshold,
            test.p_value,
            None,
            f"class mix drifted: chi-square {test.statistic:.2f} on {test.dof} dof, "
            f"p = {test.p_value:.2g} < {rule.threshold:g} (rule {k.value})",
        )
    return None


def check_rules(
    rules: Sequence[Rule],
    baseline_metrics: Mapping[str, Any],
    current_metrics: Mapping[str, Any],
    baseline_stats: PredictionStats | None,
    current_stats: PredictionStats | None,
    comparison: Comparison | None = None,
) -> Check:
    """Every alert the rules raise on a run against its baseline. Metric rules are skipped (with
    a note) when the run has no labels; drift rules when a side has no prediction statistics."""
    alerts: list[Alert] = []
    notes: list[str] = []
    labelled = bool(current_metrics.get("overall"))
    for rule in rules:
        outcome: Alert | str | None
        if rule.kind.is_drift:
            outcome = _drift_alert(rule, baseline_stats, current_stats)
        elif not labelled:
            outcome = f"{rule.label}: the run has no labels, not checked"
        elif rule.kind is RuleKind.SIGNIFICANT_DROP:
            outcome = _significant_alert(rule, comparison)
        else:
            outcome = _drop_alert(rule, baseline_metrics, current_metrics)
        if isinstance(outcome, Alert):
            alerts.append(outcome)
        elif outcome:
            notes.append(outcome)
    return Check(tuple(alerts), tuple(notes))
