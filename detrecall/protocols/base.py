"""The interface every protocol implements, and the data it passes to the orchestration.

A protocol decides, on the shared matcher and aggregator: its parameters and their defaults
(`make_params`), what to read beyond ground truth and detections (`read`), what to evaluate
(`prepare`), how to match (`match`) and how to summarize (`summarize`, into a result `Summary`
that knows its own tables and JSON). `evaluate` runs these steps and nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..matching import Candidates, Plan
from ..options import CocoParams, IouType, PointOptions
from ..result import ClassMetrics, Summary
from ..types import Accumulated, Dataset, Detections, EvalParams, Matches

Reader = Callable[..., tuple[Dataset, Detections]]  # (gt, dt[, source name]) -> both read


@dataclass(frozen=True)
class Prepared:
    """What a protocol evaluates: ground truth and detections as it selected them, and what its
    matching and summary need besides."""

    gt: Dataset
    dt: Detections
    ignored: np.ndarray | None = None  # (len(gt),) ground truth neither TP nor FN (VOC's difficult)
    not_exhaustive: np.ndarray | None = None  # (len(dt),) ignored when unmatched (LVIS)
    frequency: np.ndarray | None = None  # (K,) frequency group of each evaluated class (LVIS)


@dataclass(frozen=True)
class BatchMatches:
    """The matcher's output for a set of whole images: all a later summary needs."""

    coco: Matches  # at the protocol's thresholds and area ranges (COCO: max_dets[-1] per group)
    point: Matches  # at the operating point's IoU, one unbounded area range
    confusion: np.ndarray | None
    frequency: np.ndarray | None = None  # LVIS: frequency group of each evaluated class
    score_order: np.ndarray | None = None  # aggregate.by_score(coco.det_score), when known
    point_score_order: np.ndarray | None = None  # aggregate.by_score(point.det_score), when known
    threads: int = 1  # for the compiled accumulation (the same arrays for any count)


@dataclass(frozen=True)
class Summarized:
    """A protocol's summary of matched images."""

    summary: Summary
    per_class: tuple[ClassMetrics, ...]
    accumulated: Accumulated | None


class Protocol(ABC):
    """One evaluation protocol on the shared matcher and aggregator."""

    name: ClassVar[str]
    options: ClassVar[tuple[str, ...]] = ()  # its own options, also accepted as flat keywords
    streaming: ClassVar[bool] = True  # can be evaluated batch by batch (Evaluator)

    @property
    def pixel_inclusive(self) -> bool:
        """Boxes measured with +1 on widths and heights (the VOC devkit's convention)."""
        return False

    @abstractmethod
    def make_params(self, params: CocoParams, iou_type: IouType) -> EvalParams:
        """The checked parameters, the protocol's defaults for what is not given."""

    def read(self, gt: Any, dt: Any, reader: Reader) -> tuple[Dataset, Detections, Any]:
        """Ground truth, detections and the protocol's own labels (None: it has none)."""
        gt_set, dt_set = reader(gt, dt)
        return gt_set, dt_set, None

    def prepare(self, gt: Dataset, dt: Detections, params: EvalParams, labels: Any) -> Prepared:
        """The rows it evaluates (all, unless the protocol selects)."""
        return Prepared(gt, dt)

    @abstractmethod
    def match(
        self,
        p: Plan,
        iou: Candidates,
        prepared: Prepared,
        params: EvalParams,
        point: PointOptions,
        threads: int = 1,
    ) -> tuple[Matches, Matches]:
        """The matches for the summary and those at the operating point (`threads`: for the
        compiled matcher; the matches are the same for any count)."""

    def score_order(self, p: Plan, params: EvalParams) -> np.ndarray | None:
        """The accumulation's score order, when the plan gives it for free."""
        return None

    def point_score_order(self, p: Plan, point: PointOptions) -> np.ndarray | None:
        """The score order of the operating point's matches when `match` matched them apart
        from the summary's, if the plan gives it for free."""
        return None

    @abstractmethod
    def summarize(self, batch: BatchMatches, params: EvalParams, names: Sequence[str]) -> Summarized:
        """The summary numbers and per-class figures of matched images."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.options)
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, k) == getattr(other, k) for k in self.options)

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, k) for k in self.options)))
