"""Prometheus counters of the service, exposed as text at GET /metrics (no client library needed).

detrecall_serve_requests_total{method,route,status}      requests answered
detrecall_serve_request_seconds{method,route}            latency histogram
detrecall_serve_evaluations_total{task,outcome}          evaluations: stored, refused, timeout, busy
detrecall_serve_evaluation_seconds                       time in a worker (histogram)
detrecall_serve_alerts_total                              alerts raised on stored runs
detrecall_serve_queue_depth / _in_flight / _workers      the pool right now
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    def __init__(self, buckets: Sequence[float] = BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """The service's counters; `gauges` are read when the exposition is rendered."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: defaultdict[tuple[str, str], Histogram] = defaultdict(Histogram)
        self.evaluations: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.evaluation_seconds = Histogram()
        self.alerts = 0
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        self.latency[(method, route)].observe(seconds)

    def render(self) -> str:
        out: list[str] = []

        def head(name: str, kind: str, text: str) -> None:
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} {kind}")

        def histogram(name: str, names: Sequence[str], values: Sequence[str], h: Histogram) -> None:
            for bound, count in zip(h.buckets, h.counts):
                le = f'le="{bound:g}"'
                out.append(f"{name}_bucket{_labels(names, values, le)} {count}")
            inf = 'le="+Inf"'
            out.append(f"{name}_bucket{_labels(names, values, inf)} {h.count}")
            out.append(f"{name}_sum{_labels(names, values)} {h.sum:.6f}")
            out.append(f"{name}_count{_labels(names, values)} {h.count}")

        head("detrecall_serve_requests_total", "counter", "HTTP requests answered")
        for (method, route, status), n in sorted(self.requests.items()):
            labels = _labels(("method", "route", "status"), (method, route, status))
            out.append(f"detrecall_serve_requests_total{labels} {n}")
        head("detrecall_serve_request_seconds", "histogram", "HTTP request latency")
        for key, h in sorted(self.latency.items()):
            histogram("detrecall_serve_request_seconds", ("method", "route"), key, h)
        head("detrecall_serve_evaluations_total", "counter", "evaluations by task and outcome")
        for (task, outcome), n in sorted(self.evaluations.items()):
            out.append(
                f"detrecall_serve_evaluations_total{_labels(('task', 'outcome'), (task, outcome))} {n}"
            )
        head("detrecall_serve_evaluation_seconds", "histogram", "time of an evaluation, queue included")
        histogram("detrecall_serve_evaluation_seconds", (), (), self.evaluation_seconds)
        head("detrecall_serve_alerts_total", "counter", "alerts raised on stored runs")
        out.append(f"detrecall_serve_alerts_total {self.alerts}")
        for name, (text, read) in sorted(self.gauges.items()):
            head(name, "gauge", text)
            out.append(f"{name} {read():g}")
        return "\n".join(out) + "\n"
