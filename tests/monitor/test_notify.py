"""Webhook delivery: retries on 5xx, a dead endpoint recorded and never failing the run."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from detrecall.monitor import Monitor, Rule, RuleKind, Webhook
from detrecall.monitor.notify import post
from detrecall.monitor.runs import Task, unlabelled_run
from detrecall.monitor.stats import prediction_stats

from .conftest import Receiver


def test_retries_after_server_errors(webhook: Receiver) -> None:
    webhook.fail_first = 2
    delivered, attempts, error = post(Webhook(webhook.url, timeout=2, attempts=3, backoff=0.01), {"a": 1})
    assert (delivered, attempts, error) == (True, 3, None)
    assert webhook.bodies == [{"a": 1}] and webhook.requests == 3


def test_gives_up_after_the_attempts(webhook: Receiver) -> None:
    webhook.fail_first = 10
    delivered, attempts, error = post(Webhook(webhook.url, timeout=2, attempts=2, backoff=0.01), {"a": 1})
    assert (delivered, attempts, error) == (False, 2, "HTTP 500 Internal Server Error")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_failed_delivery_is_recorded_and_the_run_stored(tmp_path: Path) -> None:
    stats = prediction_stats([1, 2], [1, 1], [0.9, 0.8])
    shifted = prediction_stats([1, 2], [1, 1], [0.1, 0.2])
    hook = Webhook(f"http://127.0.0.1:{_closed_port()}/x", timeout=1, attempts=2, backoff=0.01)
    monitor = Monitor(tmp_path / "s.sqlite", "m", rules=[Rule(RuleKind.SCORE_KS, 0.5)], webhook=hook)
    monitor.set_baseline(unlabelled_run(stats, Task.DETECTION))
    start = time.monotonic()
    recorded = monitor.record(unlabelled_run(shifted))
    assert time.monotonic() - start < 10
    [alert] = recorded.alerts
    assert alert.statistic == 1.0
    [delivery] = monitor.store.deliveries(recorded.run_id)
    assert (delivery.delivered, delivery.attempts, delivery.channel, delivery.target) == (
        False,
        2,
        "webhook",
        hook.url,
    )
    assert delivery.error and "Connection refused" in delivery.error
    assert monitor.store.run(recorded.run_id).stats == shifted.to_dict()
