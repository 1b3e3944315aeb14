"""`Monitor(store, model)`: one model's loop of baseline, record, check and history.

monitor = Monitor("runs.sqlite", "detector-v3", rules=[Rule(RuleKind.MAX_DROP, 0.02, "AP")])
monitor.set_baseline(evaluate(gt, dt_at_deployment))
recorded = monitor.record(evaluate(gt, dt_this_week), tags={"dataset": "week-32"})
recorded.alerts  # what fired; stored with the run, sent to the log / stderr / webhook
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ..analysis.compare import Comparison, compare
from ..result import EvaluationResult
from .errors import MonitorInputError
from .notify import Outcome, Webhook, notify
from .rules import DEFAULT_DRIFT_RULES, Alert, Check, Rule, check_rules, metric_value, validate_rules
from .runs import RunData, detection_run
from .stats import PredictionStats
from .store import Delivery, NewAlert, Store, StoredRun, now


@dataclass(frozen=True)
class Recorded:
    """A stored run: its id, the alerts it raised, what the notifications did."""

    run_id: int
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...]
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class HistoryPoint:
    """One run's value of one metric (None when the run has no labels or it is undefined)."""

    run_id: int
    at: str
    version: str | None
    value: float | None
    baseline: bool
    alerts: int
    tags: dict[str, str]


def _as_run(run: EvaluationResult | RunData) -> RunData:
    return detection_run(run) if isinstance(run, EvaluationResult) else run


def _stats(run: StoredRun) -> PredictionStats | None:
    return None if run.stats is None else PredictionStats.from_dict(run.stats)


class Monitor:
    """The monitoring loop for one model in one store.

    `rules`: the alert rules (default: the drift rules only; add metric-drop rules per metric);
    `webhook`: where alerts are POSTed; `stderr`: a stream to print alerts on (None: log only);
    `bootstrap`, `seed`, `confidence`: the paired bootstrap of SIGNIFICANT_DROP rules.
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str],
        model: str,
        *,
        rules: Sequence[Rule] = DEFAULT_DRIFT_RULES,
        webhook: Webhook | None = None,
        stderr: TextIO | None = None,
        bootstrap: int = 1000,
        seed: int = 0,
        confidence: float = 0.95,
    ) -> None:
        if not model or not model.strip():
            raise MonitorInputError("a model name must not be empty")
        self.store = store if isinstance(store, Store) else Store(store)
        self.model = model
        self.rules = tuple(rules)
        self.webhook = webhook
        self.stderr = stderr
        self.bootstrap = bootstrap
        self.seed = seed
        self.confidence = confidence
        self._baseline_evaluation: EvaluationResult | None = None

    # -- baseline ------------------------------------------------------------------------------

    def set_baseline(
        self,
        run: int | EvaluationResult | RunData,
        *,
        version: str | None = None,
        tags: Mapping[str, str] | None = None,
        inputs: Mapping[str, Any] | None = None,
        at: str | None = None,
    ) -> int:
        """Make a stored run (by id) the baseline, or record a result as the new baseline.
        Returns the baseline's run id. A result keeps its evaluation in memory, for the paired
        bootstrap of runs checked by this Monitor on the same ground truth."""
        if isinstance(run, int):
            self.store.set_baseline(self.model, run)
            return run
        data = _as_run(run)
        if not data.labelled and data.stats is None:
            raise MonitorInputError("a baseline needs labelled metrics or prediction statistics")
        run_id, _ = self.store.add_run(
            self.model,
            task=data.task.value,
            result=data.result,
            metrics=data.metrics,
            params=data.params,
            stats=None if data.stats is None else data.stats.to_dict(),
            version=version,
            tags=tags,
            inputs=inputs,
            at=at,
            baseline=True,
        )
        self._baseline_evaluation = data.evaluation
        return run_id

    def baseline(self) -> StoredRun:
        """The baseline run; MonitorInputError when the model is unknown or has none."""
        self.store.model_id(self.model)
        run = self.store.baseline(self.model)
        if run is None:
            raise MonitorInputError(f"model {self.model!r} has no baseline (set one first)")
        return run

    # -- checks --------------------------------------------------------------------------------

    def check(
        self, run: EvaluationResult | RunData, *, baseline_evaluation: EvaluationResult | None = None
    ) -> Check:
        """The alerts `run` raises against the baseline, without storing anything.

        `baseline_evaluation`: the baseline's EvaluationResult, for SIGNIFICANT_DROP rules (the
        one this Monitor recorded is used when not given); compared only when both evaluated
        the same images."""
        data = _as_run(run)
        base = self.baseline()
        if data.task.value != base.task:
            raise MonitorInputError(
                f"a {data.task.value} run cannot be checked against a {base.task} baseline"
            )
        validate_rules(self.rules, base.metrics)
        comparison = self._comparison(data, baseline_evaluation or self._baseline_evaluation)
        return check_rules(self.rules, base.metrics, data.metrics, _stats(base), data.stats, comparison)

    def _comparison(self, data: RunData, base: EvaluationResult | None) -> Comparison | None:
        from .rules import RuleKind

        if not any(r.kind is RuleKind.SIGNIFICANT_DROP for r in self.rules):
            return None
        current = data.evaluation
        if base is None or current is None or base.image_ids is None or current.image_ids is None:
            return None
        if len(base.image_ids) != len(current.image_ids) or (base.image_ids != current.image_ids).any():
            return None
        return compare(base, current, n=self.bootstrap, seed=self.seed, confidence=self.confidence)

    def record(
        self,
        run: EvaluationResult | RunData,
        *,
        version: str | None = None,
        tags: Mapping[str, str] | None = None,
        inputs: Mapping[str, Any] | None = None,
        baseline_evaluation: EvaluationResult | None = None,
        at: str | None = None,
    ) -> Recorded:
        """Check `run`, store it with its alerts (one transaction), then notify.

        Notifications come after the commit: a run is never lost to a failing webhook, and each
        delivery's outcome is stored with the run."""
        data = _as_run(run)
        checked = self.check(data, baseline_evaluation=baseline_evaluation)
        at = at or now()
        run_id, alert_ids = self.store.add_run(
            self.model,
            task=data.task.value,
            result=data.result,
            metrics=data.metrics,
            params=data.params,
            stats=None if data.stats is None else data.stats.to_dict(),
            version=version,
            tags=tags,
            inputs=inputs,
            alerts=[
                NewAlert(
                    a.rule.value,
                    a.metric,
                    a.category_id,
                    a.baseline,
                    a.current,
                    a.drop,
                    a.threshold,
                    a.statistic,
                    a.message,
                )
                for a in checked.alerts
            ],
            at=at,
        )
        outcomes = notify(checked.alerts, self.model, run_id, at, webhook=self.webhook, stderr=self.stderr)
        for o in outcomes:
            self.store.add_delivery(
                Delivery(
                    run_id,
                    alert_ids[o.alert_index],
                    o.channel,
                    o.target,
                    o.delivered,
                    o.attempts,
                    o.error,
                    now(),
                )
            )
        return Recorded(run_id, checked.alerts, checked.notes, tuple(outcomes))

    # -- history -------------------------------------------------------------------------------

    def history(self, metric: str | None = None, category_id: str | None = None) -> list[HistoryPoint]:
        """Every run of the model, oldest first, with `metric`'s value (None: no value column).
        MonitorInputError for an unknown model, or a metric no run has."""
        runs = self.store.runs(self.model)
        base = self.store.baseline(self.model)
        if metric is not None and not any(
            metric_value(r.metrics, metric, category_id) is not None or metric in r.metrics.get("overall", {})
            for r in runs
        ):
            known = sorted({k for r in runs for k in r.metrics.get("overall", {})})
            raise MonitorInputError(f"unknown metric {metric!r} (known: {', '.join(known) or 'none'})")
        points = []
        for r in runs:
            value = None if metric is None else metric_value(r.metrics, metric, category_id)
            points.append(
                HistoryPoint(
                    r.id,
                    r.created_at,
                    r.version,
                    value,
                    base is not None and base.id == r.id,
                    len(self.store.alerts(r.id)),
                    r.tags,
                )
            )
        return points
