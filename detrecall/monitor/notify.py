"""Where alerts go: the `detrecall.monitor` logger, stderr, and optionally a webhook.

A webhook receives one HTTP POST per alert, body = the alert's JSON plus the model, run id and
time. Each POST has a timeout and a bounded number of attempts with a short backoff, so a dead
endpoint delays the run by at most attempts x (timeout + backoff) and never fails it; every
outcome (delivered or not, attempts, the last error) is returned for the store to record.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from .rules import Alert

LOG = logging.getLogger("detrecall.monitor")
LOG.addHandler(logging.NullHandler())  # a library logs; the application decides where to


@dataclass(frozen=True)
class Outcome:
    """What became of one alert on one channel."""

    alert_index: int
    channel: str
    target: str
    delivered: bool
    attempts: int
    error: str | None = None


@dataclass(frozen=True)
class Webhook:
    """An HTTP endpoint that takes alert JSON by POST."""

    url: str
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.2  # seconds before the 2nd attempt, doubled for each one after


def payload(alert: Alert, model: str, run_id: int, at: str) -> dict[str, Any]:
    """The JSON a webhook receives for one alert."""
    return {"model": model, "run_id": run_id, "at": at, "alert": alert.to_dict()}


def post(hook: Webhook, body: dict[str, Any]) -> tuple[bool, int, str | None]:
    """POST `body` as JSON; (delivered, attempts made, last error). A 2xx answer is delivered;
    4xx is not retried (the endpoint refused this body), 5xx and network errors are."""
    data = json.dumps(body).encode()
    error: str | None = None
    for attempt in range(1, hook.attempts + 1):
        request = urllib.request.Request(
            hook.url, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=hook.timeout) as response:
                response.read()
                return True, attempt, None
        except urllib.error.HTTPError as e:
            error = f"HTTP {e.code} {e.reason}"
            if e.code < 500:
                return False, attempt, error
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            error = f"{type(reason).__name__}: {reason}"
        if attempt < hook.attempts:
            time.sleep(hook.backoff * 2 ** (attempt - 1))
    return False, hook.attempts, error


def notify(
    alerts: Sequence[Alert],
    model: str,
    run_id: int,
    at: str,
    *,
    webhook: Webhook | None = None,
    stderr: TextIO | None = None,
) -> list[Outcome]:
    """Send every alert to the log, to `stderr` (when given) and to the webhook; the webhook's
    outcomes are returned (the log and stderr cannot fail in a way worth recording)."""
    outcomes: list[Outcome] = []
    for i, alert in enumerate(alerts):
        LOG.warning("%s run %d: %s", model, run_id, alert.message)
        if stderr is not None:
            print(f"detrecall: alert: {model} run {run_id}: {alert.message}", file=stderr)
        if webhook is not None:
            delivered, attempts, error = post(webhook, payload(alert, model, run_id, at))
            if not delivered:
                LOG.error(
                    "%s run %d: webhook %s failed after %d attempt(s): %s",
                    model,
                    run_id,
                    webhook.url,
                    attempts,
                    error,
                )
            outcomes.append(Outcome(i, "webhook", webhook.url, delivered, attempts, error))
    return outcomes
