"""Compare two models on one ground truth: paired bootstrap deltas, p-values, a regression gate.

Both evaluations are resampled with the same image draws (paired), so what varies between
replicates is the images, and the spread of candidate - baseline measures how much the
difference depends on which images were drawn, not the sum of two independent spreads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DetrecallError, InputError
from ..result import EvaluationResult
from ..types import Matches
from .bootstrap import (
    METRICS,
    check_bootstrap_args,
    estimates,
    metric_index,
    percentile_interval,
    run,
    tape_of,
)


def p_values(delta: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-value of each column of `delta` (n, ...), over its m defined
    (non-NaN) replicates: p = min(1, 2 * min(1 + #{delta <= 0}, 1 + #{delta >= 0}) / (1 + m)).
    1 when every replicate is 0; never below 2 / (1 + m); NaN when m = 0."""
    defined = ~np.isnan(delta)
    m = defined.sum(axis=0)
    below = (defined & (np.nan_to_num(delta, nan=1.0) <= 0)).sum(axis=0)
    above = (defined & (np.nan_to_num(delta, nan=-1.0) >= 0)).sum(axis=0)
    p = np.minimum(1.0, 2.0 * (1.0 + np.minimum(below, above)) / (1.0 + m))
    return np.where(m > 0, p, np.nan)


@dataclass(frozen=True)
class Delta:
    """One metric of one comparison: both values, their difference and its uncertainty."""

    metric: str
    baseline: float
    candidate: float
    delta: float  # candidate - baseline
    low: float  # percentile interval of the delta (NaN without a bootstrap)
    high: float
    p_value: float
    significant: bool  # p_value < 1 - confidence

    @property
    def drop(self) -> float:
        """baseline - candidate: how much worse the candidate is (every metric: higher is better)."""
        return -self.delta

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Failure:
    """A metric that dropped by more than allowed."""

    metric: str
    drop: float
    allowed: float
    significant: bool
    tested: bool = True  # False: saved results, no bootstrap, so significance is unknown

    def __str__(self) -> str:
        if not self.tested:
            sig = "significance n/a (saved results: no bootstrap)"
        else:
            sig = "significant" if self.significant else "not significant"
        return f"{self.metric} dropped by {self.drop:.4f} (allowed {self.allowed:g}; {sig})"


@dataclass(frozen=True)
class Comparison:
    """Baseline vs candidate for METRICS, overall (K = none) and per class.

    `n` = 0 when the comparison came from two saved results: deltas only, no intervals.
    Arrays: overall (M,), per class (K, M); `delta_samples` (n, M) the paired replicates.
    """

    n: int
    seed: int
    confidence: float
    n_images: int
    metrics: tuple[str, ...]
    class_ids: np.ndarray
    names: tuple[str, ...]
    baseline: np.ndarray
    candidate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    class_baseline: np.ndarray
    class_candidate: np.ndarray
    class_low: np.ndarray
    class_high: np.ndarray
    class_p_value: np.ndarray
    delta_samples: np.ndarray

    @property
    def has_intervals(self) -> bool:
        return self.n > 0

    def _row(self, j: int, k: int | None) -> Delta:
        if k is None:
            b, c, lo, hi, p = self.baseline, self.candidate, self.low, self.high, self.p_value
        else:
            b, c, lo, hi, p = (
                a[k]
                for a in (
                    self.class_baseline,
                    self.class_candidate,
                    self.class_low,
                    self.class_high,
                    self.class_p_value,
                )
            )
        return Delta(
            self.metrics[j],
            float(b[j]),
            float(c[j]),
            float(c[j] - b[j]),
            float(lo[j]),
            float(hi[j]),
            float(p[j]),
            bool(p[j] < 1 - self.confidence),
        )

    def get(self, metric: str, category_id: int | None = None) -> Delta:
        """One metric overall, or of one category."""
        j = metric_index(metric)
        if category_id is None:
            return self._row(j, None)
        k = np.flatnonzero(self.class_ids == category_id)
        if not len(k):
            raise DetrecallError(f"category {category_id} was not evaluated")
        return self._row(j, int(k[0]))

    @property
    def overall(self) -> tuple[Delta, ...]:
        return tuple(self._row(j, None) for j in range(len(self.metrics)))

    def per_class(self, metric: str) -> tuple[Delta, ...]:
        j = metric_index(metric)
        return tuple(self._row(j, k) for k in range(len(self.class_ids)))

    def gate(self, max_drop: Mapping[str, float], significant_only: bool = False) -> tuple[Failure, ...]:
        """The metrics (overall) whose drop baseline - candidate exceeds its allowed amount
        (and, with `significant_only`, is significant). A metric the baseline defines and the
        candidate does not (e.g. precision with no counted detection) fails, as a drop to 0,
        whatever its significance; a metric the baseline leaves undefined never fails."""
        if significant_only and not self.has_intervals:
            raise DetrecallError(
                "significant_only needs a bootstrap: compare evaluations (ground "
                "truth and detections), not saved results"
            )
        least = math.ceil(2 / (1 - self.confidence) - 1e-9)
        if significant_only and self.n < least:
            raise DetrecallError(
                f"with {self.n} replicates no p-value can fall below "
                f"{2 / (1 + self.n):.3g}, so nothing could be significant at "
                f"{self.confidence:g}: use at least {least} replicates"
            )
        failures = []
        for metric, allowed in parse_max_drop(max_drop).items():
            row = self.get(metric)
            if math.isnan(row.candidate) and not math.isnan(row.baseline):
                if row.baseline > allowed:
                    failures.append(Failure(metric, row.baseline, allowed, True, self.has_intervals))
            elif row.drop > allowed and (row.significant or not significant_only):
                failures.append(Failure(metric, row.drop, allowed, row.significant, self.has_intervals))
        return tuple(failures)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per metric its Delta, overall and per class."""
        return {
            "n": self.n,
            "seed": self.seed,
            "confidence": self.confidence,
            "n_images": self.n_images,
            "overall": {d.metric: d.to_dict() for d in self.overall},
            "per_class": [
                {
                    "category_id": int(cid),
                    "name": name,
                    **{self.metrics[j]: self._row(j, k).to_dict() for j in range(len(self.metrics))},
                }
                for k, (cid, name) in enumerate(zip(self.class_ids.tolist(), self.names))
            ],
        }


def parse_max_drop(max_drop: Mapping[str, float]) -> dict[str, float]:
    """{metric name: allowed drop >= 0}, names checked and spelled as in METRICS."""
    out = {}
    for metric, allowed in max_drop.items():
        name = METRICS[metric_index(metric)]
        if isinstance(allowed, bool) or not isinstance(allowed, (int, float)) or not allowed >= 0:
            raise DetrecallError(f"the allowed drop of {name} must be a number >= 0, got {allowed!r}")
        out[name] = float(allowed)
    return out


def _ground_truth_rows(m: Matches) -> np.ndarray:
    """(G, 2 + A) image, class and ignored-per-area-range of each evaluated ground truth, sorted:
    the same for the same ground truth however the evaluation was batched."""
    rows = np.column_stack([m.gt_image, m.gt_class, m.gt_ignored.T.astype(np.int64)])
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


def _check_same_ground_truth(base: EvaluationResult, cand: EvaluationResult) -> None:
    """Both evaluations ran on the same images, classes, ground truth and parameters."""
    pb, pc = base.params, cand.params
    same_params = (
        np.array_equal(pb.iou_thresholds, pc.iou_thresholds)
        and np.array_equal(pb.recall_thresholds, pc.recall_thresholds)
        and np.array_equal(pb.area_ranges, pc.area_ranges)
        and pb.area_labels == pc.area_labels
        and pb.max_dets == pc.max_dets
        and pb.class_agnostic == pc.class_agnostic
        and base.iou_type == cand.iou_type
        and base.point.iou_threshold == cand.point.iou_threshold
        and base.point.beta == cand.point.beta
    )
    if not same_params:
        raise DetrecallError(
            "baseline and candidate were evaluated with different parameters "
            "(iou type, thresholds, area ranges, max dets or operating point IoU/beta)"
        )
    mb, mc = base.matches, cand.matches
    same_gt = (
        base.image_ids is not None
        and cand.image_ids is not None
        and np.array_equal(base.image_ids, cand.image_ids)
        and np.array_equal(mb.class_ids, mc.class_ids)
        and np.array_equal(_ground_truth_rows(mb), _ground_truth_rows(mc))
    )
    if not same_gt:
        raise DetrecallError(
            "baseline and candidate were not evaluated on the same ground truth "
            "(images, categories and annotations must be identical)"
        )


def compare(
    baseline: Any, candidate: Any, *, n: int = 1000, seed: int = 0, confidence: float = 0.95
) -> Comparison:
    """Candidate vs baseline on the same ground truth: per metric (METRICS) and class, both
    values, delta = candidate - baseline, the delta's percentile interval and a two-sided
    p-value from a paired image-level bootstrap (the same n image draws for both models).

    p-value: over the replicates where the delta is defined (m of them),
    p = min(1, 2 * min(1 + #{delta* <= 0}, 1 + #{delta* >= 0}) / (1 + m)); a difference is
    significant when p < 1 - confidence. A model compared with itself has every delta* = 0:
    delta 0, interval [0, 0], p = 1.

    baseline, candidate: EvaluationResults (bootstrapped), or two saved results (the dicts
    `evaluate --output` writes, or EvaluationResult.to_dict()): deltas only, n = 0.
    """
    if isinstance(baseline, Mapping) and isinstance(candidate, Mapping):
        return compare_saved(baseline, candidate)
    if not (isinstance(baseline, EvaluationResult) and isinstance(candidate, EvaluationResult)):
        raise DetrecallError("compare takes two EvaluationResults, or two saved results (dicts)")
    check_bootstrap_args(n, seed, confidence)
    _check_same_ground_truth(baseline, candidate)
    tapes = [tape_of(baseline), tape_of(candidate)]
    (b_all, b_cls), (c_all, c_cls) = (estimates(r, t) for r, t in zip((baseline, candidate), tapes))
    (b_s, b_cs), (c_s, c_cs) = run(tapes, n, seed)
    delta, class_delta = c_s - b_s, c_cs - b_cs
    low, high = percentile_interval(delta, confidence)
    class_low, class_high = percentile_interval(class_delta, confidence)
    return Comparison(
        n=int(n),
        seed=int(seed),
        confidence=float(confidence),
        n_images=len(tapes[0].image_ids),
        metrics=METRICS,
        class_ids=tapes[0].class_ids,
        names=tapes[0].names,
        baseline=b_all,
        candidate=c_all,
        low=low,
        high=high,
        p_value=p_values(delta),
        class_baseline=b_cls,
        class_candidate=c_cls,
        class_low=class_low,
        class_high=class_high,
        class_p_value=p_values(class_delta),
        delta_samples=delta,
    )


def _saved_values(
    d: Mapping[str, Any], source: str
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, tuple[str, ...], np.ndarray, np.ndarray]:
    """(parameters to match, overall (M,), per class (K, M), names, class ids, supports) of a
    saved result; undefined values (null) become NaN."""

    def num(v: Any, field: str) -> float:
        if v is None:
            return math.nan
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"is {v!r}, expected a number or null", source=source, field=field)
        return float(v)

    if not isinstance(d, Mapping):
        raise InputError(
            f"is a JSON {type(d).__name__}, not a saved detrecall result (the JSON that "
            "`detrecall evaluate --output` writes)",
            source=source,
        )
    if d.get("protocol", "coco") != "coco":
        raise InputError(
            f"is a protocol={d['protocol']!r} result; saved results are compared for protocol 'coco' only",
            source=source,
        )
    try:
        coco, point, per_class = d["coco"], d["point"], d["per_class"]
        overall = [num(coco[m], f"coco.{m}") for m in METRICS[:4]]
        micro = point["micro"]
        overall += [num(micro[k], f"point.micro.{k}") for k in ("precision", "recall", "f1")]
        by_id = {int(c["category_id"]): c for c in point["per_class"]}
        ids = [int(c["category_id"]) for c in per_class]
        rows, names, support = [], [], []
        for c in per_class:
            pc = by_id[int(c["category_id"])]
            ar = f"AR{d['params']['max_dets'][-1]}"  # per-class AR at the largest max_dets
            rows.append(
                [num(c[m if m != "AR100" else ar], f"per_class.{m}") for m in METRICS[:4]]
                + [num(pc[k], f"point.per_class.{k}") for k in ("precision", "recall", "f1")]
            )
            names.append(str(c["name"]))
            support.append(int(pc["support"]))
        params = {
            "iou_type": d["iou_type"],
            "params": d["params"],
            "iou_threshold": point["iou_threshold"],
            "beta": point["beta"],
        }
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(
            f"not a saved detrecall result (missing or malformed {e}); expected the JSON "
            "that `detrecall evaluate --output` writes",
            source=source,
        ) from None
    return (
        params,
        np.array(overall),
        np.array(rows, np.float64).reshape(-1, len(METRICS)),
        tuple(names),
        np.array(ids, np.int64),
        np.array(support, np.int64),
    )


def compare_saved(
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
    sources: tuple[str, str] = ("<baseline>", "<candidate>"),
) -> Comparison:
    """Deltas between two saved results (no intervals: the matches are not saved). They must
    have the same parameters, categories and ground-truth counts per category."""
    pb, b, bc, names, ids, sb = _saved_values(baseline, sources[0])
    pc, c, cc, _, ids_c, sc = _saved_values(candidate, sources[1])
    if pb != pc:
        raise InputError(
            f"was made with other parameters than the baseline ({sources[0]}); evaluate both the same way",
            source=sources[1],
        )
    if not (np.array_equal(ids, ids_c) and np.array_equal(sb, sc)):
        raise InputError(
            f"has other categories or ground-truth counts than {sources[0]}: both must "
            "be evaluated on the same ground truth",
            source=sources[1],
        )
    nan, nan_k = np.full(len(METRICS), np.nan), np.full(bc.shape, np.nan)
    return Comparison(
        n=0,
        seed=0,
        confidence=0.95,
        n_images=0,
        metrics=METRICS,
        class_ids=ids,
        names=names,
        baseline=b,
        candidate=c,
        low=nan,
        high=nan,
        p_value=nan,
        class_baseline=bc,
        class_candidate=cc,
        class_low=nan_k,
        class_high=nan_k,
        class_p_value=nan_k,
        delta_samples=np.zeros((0, len(METRICS))),
    )
