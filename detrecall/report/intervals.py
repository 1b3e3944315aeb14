"""Plain-text views of bootstrap intervals and of a comparison of two models."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

from ..analysis.bootstrap import BootstrapResult
from ..analysis.compare import Comparison, Delta, Failure
from .table import format_table


def _num(v: float, digits: int = 3, sign: bool = False) -> str:
    return "n/a" if math.isnan(v) else f"{v:{'+' if sign else ''}.{digits}f}"


def _span(low: float, high: float, digits: int = 3, sign: bool = False) -> str:
    return "n/a" if math.isnan(low) else f"[{_num(low, digits, sign)}, {_num(high, digits, sign)}]"


def _level(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def intervals_text(b: BootstrapResult, width: int = 80, score_threshold: float | None = None) -> str:
    """The estimate and interval of every metric overall, then per class: the metrics in as
    many side-by-side groups as keep each line within `width` characters (a terminal's 80).
    `score_threshold`: the operating point's, named in the title when given."""
    at = "" if score_threshold is None else f" (score >= {score_threshold:g})"
    title = textwrap.fill(
        f"Bootstrap {_level(b.confidence)} intervals: {b.n} replicates of {b.n_images} images "
        f"(seed {b.seed}); precision/recall/F1 at the operating point{at}, overall = pooled",
        width,
    )
    rows = [[m, _num(b.estimate[j]), _num(b.low[j]), _num(b.high[j])] for j, m in enumerate(b.metrics)]
    overall = format_table(["metric", "estimate", "low", "high"], rows)
    labels = [[str(cid), name] for cid, name in zip(b.class_ids.tolist(), b.names)]
    cells = [
        [
            f"{_num(b.class_estimate[k, j])} {_span(b.class_low[k, j], b.class_high[k, j])}"
            for k in range(len(labels))
        ]
        for j in range(len(b.metrics))
    ]
    groups = _column_groups(
        [max([2, *map(len, (r[i] for r in labels))]) + 2 for i in (0, 1)],
        [max([len(m), *map(len, c)]) + 2 for m, c in zip(b.metrics, cells)],
        width,
    )
    parts = [f"{title}\n{overall}"]
    for g, group in enumerate(groups):
        which = (
            f" ({g + 1} of {len(groups)}: {', '.join(b.metrics[j] for j in group)})"
            if len(groups) > 1
            else ""
        )
        table = format_table(
            ["id", "class", *(b.metrics[j] for j in group)],
            [[*label, *(cells[j][k] for j in group)] for k, label in enumerate(labels)],
            left=2,
        )
        parts.append(f"Per class, estimate [{_level(b.confidence)} interval]{which}:\n{table}")
    return "\n\n".join(parts)


def _column_groups(label_widths: Sequence[int], widths: Sequence[int], width: int) -> list[list[int]]:
    """The columns (indices into `widths`, each with its separator) cut into consecutive groups
    that fit in `width` beside the label columns; at least one column per group."""
    room = width - sum(label_widths)
    groups: list[list[int]] = [[]]
    used = 0
    for j, w in enumerate(widths):
        if groups[-1] and used + w > room:
            groups.append([])
            used = 0
        groups[-1].append(j)
        used += w
    return groups


def _delta_row(label: str, d: Delta, allowed: float | None, failed: bool) -> list[str]:
    gate = "" if allowed is None else f"{allowed:g}"
    verdict = "" if allowed is None else ("FAIL" if failed else "ok")
    p = "" if math.isnan(d.p_value) else f"{d.p_value:.3f}"
    sig = "" if math.isnan(d.p_value) else ("yes" if d.significant else "no")
    return [
        label,
        _num(d.baseline, 4),
        _num(d.candidate, 4),
        _num(d.delta, 4, sign=True),
        _span(d.low, d.high, 4, sign=True),
        p,
        sig,
        gate,
        verdict,
    ]


def comparison_text(
    c: Comparison, max_drop: dict[str, float], failures: Sequence[Failure], per_class: Sequence[str] = ()
) -> str:
    """Side by side: baseline, candidate, Δ, Δ's interval, p, significant?, the gate's verdict;
    then per class for the metrics in `per_class`; then one line: PASS or what failed."""
    if c.has_intervals:
        title = (
            f"Paired bootstrap: {c.n} replicates of {c.n_images} images (seed {c.seed}); "
            f"Δ = candidate - baseline, {_level(c.confidence)} interval, two-sided p"
        )
    else:
        title = "Saved results: Δ = candidate - baseline (no intervals without the matches)"
    failed = {f.metric for f in failures}
    headers = [
        "metric",
        "baseline",
        "candidate",
        "Δ",
        f"{_level(c.confidence)} interval" if c.has_intervals else "interval",
        "p",
        "significant",
        "max drop",
        "verdict",
    ]
    rows = [_delta_row(d.metric, d, max_drop.get(d.metric), d.metric in failed) for d in c.overall]
    parts = [f"{title}\n{format_table(headers, rows)}"]
    for metric in per_class:
        class_rows = [
            _delta_row(f"{cid} {name}", d, None, False)[:7]
            for cid, name, d in zip(c.class_ids.tolist(), c.names, c.per_class(metric))
        ]
        parts.append(f"Per class, {metric}:\n" + format_table(["class", *headers[1:7]], class_rows))
    if failures:
        verdict = "FAIL: " + "; ".join(map(str, failures))
    elif max_drop:
        verdict = "PASS: no metric dropped by more than allowed"
    else:
        verdict = "no --max-drop given: nothing gated"
    parts.append(verdict)
    return "\n\n".join(parts) + "\n"
