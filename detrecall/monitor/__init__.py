"""Production monitoring: stored runs, baselines, alert rules, drift and notifications.

Store(url)                 the run store (SQLite path by default, or postgresql://...)
Monitor(store, model)      set_baseline, check, record, history for one model
Rule, RuleKind, Alert      alert rules as data, the alerts they raise
Webhook                    an HTTP endpoint for alerts (timeout, retries, recorded outcome)
"""

from .errors import MonitorInputError, StoreError
from .monitor import HistoryPoint, Monitor, Recorded
from .notify import Webhook
from .rules import DEFAULT_DRIFT_RULES, Alert, Check, Rule, RuleKind
from .runs import RunData, Task, classification_run, detection_run, saved_detection_run, unlabelled_run
from .stats import PredictionStats, prediction_stats, stats_of_records
from .store import Store, StoredAlert, StoredRun

__all__ = [
    "DEFAULT_DRIFT_RULES",
    "Alert",
    "Check",
    "HistoryPoint",
    "Monitor",
    "MonitorInputError",
    "PredictionStats",
    "Recorded",
    "Rule",
    "RuleKind",
    "RunData",
    "Store",
    "StoreError",
    "StoredAlert",
    "StoredRun",
    "Task",
    "Webhook",
    "classification_run",
    "detection_run",
    "prediction_stats",
    "saved_detection_run",
    "stats_of_records",
    "unlabelled_run",
]
