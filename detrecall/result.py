"""The result types users receive: `EvaluationResult` and its parts.

Below the protocols, so that every stage after evaluation (analysis, reports, compat, the
monitor) reads one typed model. A protocol's headline numbers are a `Summary`: `CocoSummary`
(the 12 numbers, each defined by a `MetricDef` row), `LvisSummary` or `VocResult`; each says
what tables, plain text and JSON it shows, so no view needs to know which protocol ran.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ._arrays import mean_where
from .aggregate import AVERAGES, Counts, Curve, Rates
from .errors import DetrecallError
from .tables import Kind, Table, format_table, import_pandas, json_number, number_text
from .types import Accumulated, EvalParams, Matches

LVIS_MAX_DETS = 300


@dataclass(frozen=True)
class ClassMetrics:
    """COCO figures of one category (area all, the largest max_dets); NaN where undefined.

    `AR100` is the average recall at the largest max_dets (`max_dets`: 100 by default, 300 for
    LVIS); `to_dict` names it for what it is: "AR100", "AR300", "AR5", ...
    """

    category_id: int
    name: str
    AP: float
    AP50: float
    AP75: float
    AR100: float
    max_dets: int = 100

    def to_dict(self) -> dict[str, float | int | str | None]:
        return {
            "category_id": self.category_id,
            "name": self.name,
            "AP": json_number(self.AP),
            "AP50": json_number(self.AP50),
            "AP75": json_number(self.AP75),
            f"AR{self.max_dets}": json_number(self.AR100),
        }


def _class_ap_table(per_class: Sequence[ClassMetrics], iou_type: str, max_dets: int) -> Table:
    rows = tuple((c.category_id, c.name, c.AP, c.AP50, c.AP75, c.AR100) for c in per_class)
    return Table(
        f"Per class ({iou_type})",
        ("id", "class", "AP", "AP50", "AP75", f"AR{max_dets}"),
        (Kind.LABEL, Kind.LABEL, Kind.RATE, Kind.RATE, Kind.RATE, Kind.RATE),
        rows,
    )


def _class_ap_text(per_class: Sequence[ClassMetrics], iou_type: str, max_dets: int) -> str:
    rows = [
        [str(c.category_id), c.name, *(number_text(v) for v in (c.AP, c.AP50, c.AP75, c.AR100))]
        for c in per_class
    ]
    table = format_table(["id", "class", "AP", "AP50", "AP75", f"AR{max_dets}"], rows, left=2)
    return f"Per class ({iou_type}):\n{table}"


@dataclass(frozen=True)
class CsvPart:
    """A protocol's per-class columns of the CSV view, and its row over all classes."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    overall: tuple[Any, ...]


class Summary(ABC):
    """A protocol's headline numbers, and how every view shows them."""

    key: ClassVar[str]  # the protocol's name: the JSON key of this summary
    title: ClassVar[str]

    @abstractmethod
    def rows(self) -> tuple[tuple[str, str, float], ...]:
        """(name, definition, value) of each headline number."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    @abstractmethod
    def headline(self) -> tuple[str, float]:
        """The one number that sums the evaluation up, and its name."""

    def summary_table(self) -> Table:
        return Table(
            f"Summary ({self.title})",
            ("metric", "definition", "value"),
            (Kind.LABEL, Kind.TEXT, Kind.RATE),
            self.rows(),
        )

    def class_table(self, per_class: Sequence[ClassMetrics], iou_type: str, max_dets: int) -> Table | None:
        return _class_ap_table(per_class, iou_type, max_dets) if per_class else None

    def text_blocks(self, per_class: Sequence[ClassMetrics], iou_type: str, max_dets: int) -> list[str]:
        """Plain text, as the protocol's reference tool prints its summary, then per class."""
        return [self.summary_text(), _class_ap_text(per_class, iou_type, max_dets)]

    def summary_text(self) -> str:
        return "\n".join(f" {name:<8} = {number_text(value, 5)}" for name, _, value in self.rows())

    def class_ap(self, per_class: Sequence[ClassMetrics]) -> tuple[list[str], np.ndarray, str]:
        """(names, AP, what AP) per class."""
        return [c.name for c in per_class], np.array([c.AP for c in per_class], float), "AP@[.50:.95]"

    def ap_at_iou(
        self, iou: float, accumulated: Accumulated | None, params: EvalParams
    ) -> tuple[np.ndarray, float] | None:
        """(AP per class (K,), their mean) at IoU threshold `iou`: the interpolated precision at
        area 'all' and the largest max_dets (COCO, LVIS); NaN for classes without ground truth;
        None when `iou` is not among the thresholds."""
        at = np.flatnonzero(np.isclose(params.iou_thresholds, iou))
        if accumulated is None or not len(at):
            return None
        a = params.area_labels.index("all") if "all" in params.area_labels else 0
        prec = accumulated.precision[at[0], :, :, a, -1]  # (R, K)
        ap = mean_where(prec, prec > -1, 0)
        defined = ap[~np.isnan(ap)]
        return ap, float(defined.mean()) if len(defined) else float("nan")

    def csv_part(self, per_class: Sequence[ClassMetrics], max_dets: int, n_classes: int) -> CsvPart:
        rows = tuple((c.AP, c.AP50, c.AP75, c.AR100) for c in per_class) or ((None,) * 4,) * n_classes
        return CsvPart(("AP", "AP50", "AP75", f"AR{max_dets}"), rows, self.csv_overall())

    def csv_overall(self) -> tuple[Any, ...]:
        return (math.nan,) * 4


@dataclass(frozen=True)
class MetricDef:
    """One of COCO's summary numbers: AP or AR, at one IoU threshold or averaged over all of
    them (`iou` None), in one area range, at one max-dets cut (None: the params have no such
    cut, and the number is undefined). `name` says what it is: AP, AP50, AR1, ARs, and
    `@<max dets>` where that is not pycocotools' default (AP50@300, ARs@300)."""

    name: str
    ap: bool
    iou: float | None
    area: str
    max_dets: int | None
    iou_span: tuple[float, float]  # the params' first and last IoU threshold

    def label(self) -> str:
        """The line pycocotools' summarize() prints for this number, before ' = value'."""
        title, kind = ("Average Precision", "(AP)") if self.ap else ("Average Recall", "(AR)")
        iou = f"{self.iou_span[0]:0.2f}:{self.iou_span[1]:0.2f}" if self.iou is None else f"{self.iou:0.2f}"
        md = "n/a" if self.max_dets is None else f"{self.max_dets:>3d}"
        return f"{title:<18} {kind} @[ IoU={iou:<9} | area={self.area:>6s} | maxDets={md} ]"

    def definition(self) -> str:
        """The label's bracket, compact: 'IoU=0.50:0.95 | area=all | maxDets=100'."""
        where = self.label().split("@[")[1].rstrip(" ]")
        return " | ".join("".join(part.split()) for part in where.split("|"))


# pycocotools' stats, by position, named for its default params
STATS_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


@dataclass(frozen=True)
class CocoSummary(Summary):
    """pycocotools' 12 summary numbers, each with its definition (`metrics`), in pycocotools'
    order; NaN where pycocotools prints -1 (undefined). Read by the name of its definition
    (`summary["AP50@300"]`, `summary.AR300` with max_dets 1 10 300) or by the name of its
    position in pycocotools' `stats` (`summary.AR100` is stats[8], whatever the max_dets);
    `to_dict()` and the printed labels say what each number is."""

    key: ClassVar[str] = "coco"
    title: ClassVar[str] = "COCO"
    metrics: tuple[MetricDef, ...]
    values: tuple[float, ...]

    def __getattr__(self, name: str) -> float:
        if name.startswith("_") or name in ("metrics", "values"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{name!r} is not one of this summary's numbers: {self.names}") from None

    def __getitem__(self, name: str) -> float:
        for d, v in zip(self.metrics, self.values):
            if d.name == name:
                return v
        if name in STATS_NAMES and len(self.values) == len(STATS_NAMES):  # by position in pycocotools' stats
            return self.values[STATS_NAMES.index(name)]
        raise KeyError(name)

    def find(self, ap: bool, iou: float | None = None, area: str = "all") -> int | None:
        """The position of the number that is AP (or AR) at `iou` (None: over all thresholds) in
        `area`, at its largest max-dets cut; None when the summary has none."""
        best: int | None = None
        for i, d in enumerate(self.metrics):
            if d.ap == ap and d.iou == iou and d.area == area and d.max_dets is not None:
                if best is None or d.max_dets > (self.metrics[best].max_dets or 0):
                    best = i
        return best

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.metrics)

    @property
    def stats(self) -> np.ndarray:
        """The 12 numbers as pycocotools' `COCOeval.stats`, -1 for undefined."""
        return np.array([-1.0 if math.isnan(v) else v for v in self.values])

    def as_tuple(self) -> tuple[float, ...]:
        return self.values

    def rows(self) -> tuple[tuple[str, str, float], ...]:
        return tuple((d.name, d.definition(), v) for d, v in self._shown())

    def _shown(self) -> list[tuple[MetricDef, float]]:
        """Each distinct number once: a cut the params lack is left out, and a repeated name
        (max_dets=[100]: AR at max_dets[0] and at max_dets[-1]) is the same number."""
        seen: dict[str, tuple[MetricDef, float]] = {}
        for d, v in zip(self.metrics, self.values):
            if d.max_dets is not None and d.name not in seen:
                seen[d.name] = (d, v)
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {d.name: json_number(v) for d, v in self._shown()}

    def summary_text(self) -> str:
        """The 12 lines as pycocotools' summarize() prints them ('n/a' where it prints -1)."""
        return "\n".join(f" {d.label()} = {number_text(v, 5)}" for d, v in zip(self.metrics, self.values))

    def headline(self) -> tuple[str, float]:
        return self.metrics[0].name, self.values[0]

    def csv_overall(self) -> tuple[Any, ...]:
        """AP, AP50, AP75 and AR at the summary's largest cut."""
        found = (self.find(True), self.find(True, 0.5), self.find(True, 0.75), self.find(False))
        return tuple(math.nan if i is None else self.values[i] for i in found)


@dataclass(frozen=True)
class LvisSummary(Summary):
    """The numbers the `lvis` package reports; NaN where undefined (the package prints -1)."""

    key: ClassVar[str] = "lvis"
    title: ClassVar[str] = "LVIS"
    AP: float
    AP50: float
    AP75: float
    APs: float
    APm: float
    APl: float
    APr: float
    APc: float
    APf: float
    AR: float
    ARs: float
    ARm: float
    ARl: float
    max_dets: int = LVIS_MAX_DETS

    def _named(self) -> list[tuple[str, float]]:
        """Named as the package's `results` (AR@300, ARs@300, ...)."""
        out = []
        for f in fields(self):
            if f.name != "max_dets":
                name = f"{f.name}@{self.max_dets}" if f.name.startswith("AR") else f.name
                out.append((name, float(getattr(self, f.name))))
        return out

    def to_dict(self) -> dict[str, float | None]:
        return {k: json_number(v) for k, v in self._named()}

    def rows(self) -> tuple[tuple[str, str, float], ...]:
        return tuple((k, "", v) for k, v in self._named())

    def headline(self) -> tuple[str, float]:
        return "AP", self.AP

    def csv_overall(self) -> tuple[Any, ...]:
        return (self.AP, self.AP50, self.AP75, self.AR)


@dataclass(frozen=True)
class VocClass:
    """One class: its AP, counts, and the precision/recall after each counted detection, per
    IoU threshold (index t of the result's `iou_thresholds`). AP is NaN without ground truth."""

    category_id: int
    name: str
    npos: int
    ap: tuple[float, ...]
    tp: tuple[int, ...]
    fp: tuple[int, ...]
    precision: tuple[np.ndarray, ...]
    recall: tuple[np.ndarray, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category_id": self.category_id,
            "name": self.name,
            "npos": self.npos,
            "ap": [json_number(v) for v in self.ap],
            "tp": list(self.tp),
            "fp": list(self.fp),
            "precision": [p.tolist() for p in self.precision],
            "recall": [r.tolist() for r in self.recall] if self.npos else None,  # undefined
        }


@dataclass(frozen=True)
class VocResult(Summary):
    """Per-class VOC figures and their mean over the classes with ground truth (mAP)."""

    key: ClassVar[str] = "voc"
    title: ClassVar[str] = "Pascal VOC"
    iou_thresholds: tuple[float, ...]
    ap_method: str
    pixel_inclusive: bool
    classes: tuple[VocClass, ...]
    mAP: tuple[float, ...]  # per IoU threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_thresholds": list(self.iou_thresholds),
            "ap_method": self.ap_method,
            "pixel_inclusive": self.pixel_inclusive,
            "mAP": [json_number(v) for v in self.mAP],
            "classes": [c.to_dict() for c in self.classes],
        }

    def rows(self) -> tuple[tuple[str, str, float], ...]:
        return tuple(
            (f"mAP@{t:g}", f"{self.ap_method}, IoU={t:g}", m) for t, m in zip(self.iou_thresholds, self.mAP)
        )

    def headline(self) -> tuple[str, float]:
        return f"mAP@{self.iou_thresholds[0]:g}", self.mAP[0]

    def class_table(self, per_class: Sequence[ClassMetrics], iou_type: str, max_dets: int) -> Table:
        rows = tuple((c.category_id, c.name, c.npos, c.tp[0], c.fp[0], *c.ap) for c in self.classes)
        n_t = len(self.iou_thresholds)
        return Table(
            f"Per class ({iou_type}, Pascal VOC {self.ap_method})",
            ("id", "class", "GT", "TP", "FP", *(f"AP@{t:g}" for t in self.iou_thresholds)),
            (Kind.LABEL, Kind.LABEL, Kind.COUNT, Kind.COUNT, Kind.COUNT, *(Kind.RATE,) * n_t),
            rows,
        )

    def text_blocks(self, per_class: Sequence[ClassMetrics], iou_type: str, max_dets: int) -> list[str]:
        """Per-class VOC AP at each IoU threshold, counts at the first, and mAP."""
        thr = [f"AP@{t:g}" for t in self.iou_thresholds]
        rows = [
            [str(c.category_id), c.name, str(c.npos), str(c.tp[0]), str(c.fp[0]), *map(number_text, c.ap)]
            for c in self.classes
        ]
        rows.append(["", "mAP", "", "", "", *map(number_text, self.mAP)])
        pixel = ", pixel-inclusive boxes" if self.pixel_inclusive else ""
        title = f"Pascal VOC AP ({self.ap_method}{pixel}; TP/FP at IoU {self.iou_thresholds[0]:g})"
        return [f"{title}\n" + format_table(["id", "class", "GT", "TP", "FP", *thr], rows, left=2)]

    def ap_at_iou(
        self, iou: float, accumulated: Accumulated | None, params: EvalParams
    ) -> tuple[np.ndarray, float] | None:
        """VOC's own AP per class and mAP at `iou`; None when it is not among the thresholds."""
        at = np.flatnonzero(np.isclose(self.iou_thresholds, iou))
        if not len(at):
            return None
        return np.array([c.ap[at[0]] for c in self.classes], float), float(self.mAP[at[0]])

    def class_ap(self, per_class: Sequence[ClassMetrics]) -> tuple[list[str], np.ndarray, str]:
        return (
            [c.name for c in self.classes],
            np.array([c.ap[0] for c in self.classes], float),
            f"VOC AP@{self.iou_thresholds[0]:g}",
        )

    def csv_part(self, per_class: Sequence[ClassMetrics], max_dets: int, n_classes: int) -> CsvPart:
        return CsvPart(
            ("npos", *(f"AP@{t:g}" for t in self.iou_thresholds)),
            tuple((c.npos, *c.ap) for c in self.classes),
            (sum(c.npos for c in self.classes), *self.mAP),
        )


@dataclass(frozen=True)
class OperatingPoint:
    """A chosen score threshold and what it gives; all NaN when no threshold qualifies."""

    threshold: float
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: json_number(v) for k, v in self.__dict__.items()}


NO_POINT = OperatingPoint(math.nan, math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class ClassPoint:
    """One class at the operating point."""

    category_id: int
    name: str
    support: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    best_f1: OperatingPoint

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: json_number(v) for k, v in self.__dict__.items() if k != "best_f1"}
        out["best_f1_threshold"] = json_number(self.best_f1.threshold)
        return out


@dataclass(frozen=True)
class Cost:
    """Total cost at the operating point and per image (image ids ascending)."""

    total: float
    image_ids: np.ndarray
    per_image: np.ndarray


@dataclass(frozen=True)
class Target:
    """The chosen points that reach a target recall or precision: per class and pooled."""

    target: float
    per_class: tuple[OperatingPoint, ...]
    overall: OperatingPoint

    def __iter__(self) -> Any:  # (target, per_class, overall), as the tuple it replaced
        return iter((self.target, self.per_class, self.overall))

    def __getitem__(self, i: int) -> Any:
        return (self.target, self.per_class, self.overall)[i]


@dataclass(frozen=True)
class PointResult:
    """Per-class TP/FP/FN and rates at one IoU and score threshold, their averages, the curves
    behind them, chosen operating points, and optionally a confusion matrix and costs.

    Undefined rates (no prediction, or no ground truth) take `zero_division` (default 0, the
    value scikit-learn's "warn" returns). The averages run over the classes with at least one
    ground truth or one counted prediction.
    """

    iou_threshold: float
    score_threshold: float
    beta: float
    class_ids: np.ndarray
    names: tuple[str, ...]
    counts: Counts
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    micro: Rates
    macro: Rates
    weighted: Rates
    curves: tuple[Curve, ...]  # per class
    curve: Curve  # all classes pooled (micro)
    best_f1_per_class: tuple[OperatingPoint, ...]
    best_f1_overall: OperatingPoint
    at_recall: Target | None = None
    at_precision: Target | None = None
    confusion: np.ndarray | None = None  # (C+1, C+1): rows truth, columns prediction, last = background
    cost: Cost | None = None

    @property
    def per_class(self) -> tuple[ClassPoint, ...]:
        c = self.counts
        return tuple(
            ClassPoint(
                int(self.class_ids[k]),
                self.names[k],
                int(c.support[k]),
                int(c.tp[k]),
                int(c.fp[k]),
                int(c.fn[k]),
                float(self.precision[k]),
                float(self.recall[k]),
                float(self.f1[k]),
                self.best_f1_per_class[k],
            )
            for k in range(len(self.class_ids))
        )

    def to_pandas(self) -> Any:  # pandas.DataFrame (pandas is optional)
        """One row per class at the operating point: category_id, name, support, tp, fp, fn,
        precision, recall, f1, best_f1_threshold (the JSON's `point.per_class`; NaN where
        undefined). pandas must be installed (an ImportError says so)."""
        c = self.counts
        return import_pandas().DataFrame(
            {
                "category_id": np.asarray(self.class_ids, np.int64),
                "name": list(self.names),
                **{k: np.asarray(getattr(c, k), np.int64) for k in ("support", "tp", "fp", "fn")},
                "precision": np.asarray(self.precision, np.float64),
                "recall": np.asarray(self.recall, np.float64),
                "f1": np.asarray(self.f1, np.float64),
                "best_f1_threshold": np.array([b.threshold for b in self.best_f1_per_class], np.float64),
            }
        )

    def average(self, kind: str) -> Rates:
        """ "micro", "macro" or "weighted"."""
        if kind not in AVERAGES:
            raise DetrecallError(f"average must be one of {', '.join(AVERAGES)}, got {kind!r}")
        rates: Rates = getattr(self, kind)
        return rates

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "iou_threshold": self.iou_threshold,
            "score_threshold": self.score_threshold,
            "beta": self.beta,
            "per_class": [c.to_dict() for c in self.per_class],
            "micro": self.micro.to_dict(),
            "macro": self.macro.to_dict(),
            "weighted": self.weighted.to_dict(),
            "best_f1": self.best_f1_overall.to_dict(),
        }
        for key, target in (("at_recall", self.at_recall), ("at_precision", self.at_precision)):
            if target is not None:
                out[key] = {
                    "target": target.target,
                    "overall": target.overall.to_dict(),
                    "per_class": [p.to_dict() for p in target.per_class],
                }
        if self.confusion is not None:
            out["confusion"] = {"labels": [*self.names, "background"], "matrix": self.confusion.tolist()}
        if self.cost is not None:
            out["cost"] = {
                "total": self.cost.total,
                "per_image": dict(zip(map(int, self.cost.image_ids), self.cost.per_image.tolist())),
            }
        return out


@dataclass(frozen=True)
class EvaluationResult:
    """Everything one evaluation produced.

    `protocol_summary`: the protocol's headline numbers (`CocoSummary`, `LvisSummary` or `VocResult`;
    also as `coco`, `lvis`, `voc`, None for the others); `per_class`: AP, AP50, AP75 and AR at
    the largest max_dets per category (COCO, LVIS; VOC's per-class figures are in `voc.classes`);
    `point`: TP/FP/FN, precision, recall, F1 at one IoU and score threshold; `accumulated`:
    pycocotools' precision/recall/scores arrays (None for VOC); `matches`: the matcher output;
    `point_matches`: the matcher output at the operating point (its diagnostics, the
    bootstrap); `image_ids`: the images evaluated (ascending), with or without annotations.
    """

    iou_type: str
    params: EvalParams
    protocol_summary: Summary
    per_class: tuple[ClassMetrics, ...]
    accumulated: Accumulated | None
    matches: Matches
    point: PointResult
    point_matches: Matches | None = None
    image_ids: np.ndarray | None = None
    # from evaluate(errors=, per_image=, slices=); their types live in analysis/ (above this
    # module): analysis.errors.ErrorAnalysis, analysis.per_image.PerImage, {name: EvaluationResult}
    errors: Any = None
    per_image: Any = None
    slices: Mapping[str, EvaluationResult] | None = None
    label_errors: Any = None  # analysis.label_errors.LabelErrors

    @property
    def protocol(self) -> str:
        return self.protocol_summary.key

    @property
    def coco(self) -> CocoSummary | None:
        return self.protocol_summary if isinstance(self.protocol_summary, CocoSummary) else None

    @property
    def lvis(self) -> LvisSummary | None:
        return self.protocol_summary if isinstance(self.protocol_summary, LvisSummary) else None

    @property
    def voc(self) -> VocResult | None:
        return self.protocol_summary if isinstance(self.protocol_summary, VocResult) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: `coco` maps the summary's names to numbers (None where undefined; None
        for other protocols, whose summary is under its own key)."""
        out: dict[str, Any] = {
            "iou_type": self.iou_type,
            "protocol": self.protocol,
            "coco": None,
            "per_class": [c.to_dict() for c in self.per_class],
            "point": self.point.to_dict(),
            "params": {
                "iou_thresholds": self.params.iou_thresholds.tolist(),
                "max_dets": list(self.params.max_dets),
                "area_ranges": {
                    lbl: self.params.area_ranges[i].tolist() for i, lbl in enumerate(self.params.area_labels)
                },
                "class_agnostic": self.params.class_agnostic,
            },
        }
        out[self.protocol_summary.key] = self.protocol_summary.to_dict()
        if self.errors is not None:
            out["errors"] = self.errors.to_dict()
        if self.label_errors is not None:
            out["label_errors"] = self.label_errors.to_dict()
        if self.slices is not None:
            out["slices"] = {
                name: {r.protocol: r.protocol_summary.to_dict(), "point": r.point.to_dict()}
                for name, r in self.slices.items()
            }
        return out

    def to_pandas(self) -> Any:  # pandas.DataFrame (pandas is optional)
        """One row per class with the protocol's per-class figures: category_id, name, then
        COCO/LVIS AP, AP50, AP75, AR<max_dets> (VOC: npos, AP@<t> per IoU threshold), as the CSV
        view's columns; NaN where undefined. The operating point's are `point.to_pandas()`, the
        per-image table's `per_image.to_pandas()`. pandas must be installed (an ImportError says so)."""
        p = self.point
        part = self.protocol_summary.csv_part(self.per_class, self.params.max_dets[-1], len(p.class_ids))
        columns = [np.array([math.nan if v is None else v for v in col]) for col in zip(*part.rows)]
        if not part.rows:
            columns = [np.zeros(0)] * len(part.columns)
        return import_pandas().DataFrame(
            {
                "category_id": np.asarray(p.class_ids, np.int64),
                "name": list(p.names),
                **dict(zip(part.columns, columns)),
            }
        )

    def flat(self, prefix: str = "", *, keep_undefined: bool = False) -> dict[str, float]:
        """One flat `{name: float}` dict for experiment trackers (`wandb.log`, `mlflow.log_metrics`,
        TensorBoard's `add_scalar` per item), every name starting with `prefix` (e.g. "val/"):

        - the protocol's summary by its names: `AP`, `AP50`, ..., `ARl` (COCO), LVIS's, VOC's
          `mAP_0.5`;
        - the operating point: `precision`, `recall`, `f1` (micro; F-beta when beta != 1),
          `macro/precision`, `macro/recall`, `macro/f1`, `tp`, `fp`, `fn`, `best_f1`,
          `best_f1_threshold`;
        - per class: `AP/<class>` (VOC: AP at its first IoU threshold), `precision/<class>`,
          `recall/<class>` at the operating point;
        - with errors: `errors/AP`, `errors/dAP/<cls|loc|both|dupe|bkg|miss>`, `errors/fp_dAP`,
          `errors/fn_dAP`; with slices: `slices/<name>/...` (summary and operating point).

        Name parts keep letters, digits, `_`, `-`, `.` and spaces (what MLflow accepts), every
        other character becomes `_` (`AR@300` -> `AR_300`, a class `a/b` -> `a_b`); class names
        equal after that get `_<category id>` appended. Undefined values (NaN: AP of a class
        without ground truth, a best F1 that no threshold reaches) are left out, so that no
        tracker draws a gap or refuses the dict; `keep_undefined=True` keeps them as NaN.
        """
        items = self._flat_items(per_class=True)
        return {prefix + name: float(v) for name, v in items if keep_undefined or not math.isnan(float(v))}

    def _flat_items(self, per_class: bool) -> list[tuple[str, float]]:
        p = self.point
        items = [(_metric_part(name), v) for name, _, v in self.protocol_summary.rows()]
        items += [(k, getattr(p.micro, k)) for k in ("precision", "recall", "f1")]
        items += [(f"macro/{k}", getattr(p.macro, k)) for k in ("precision", "recall", "f1")]
        items += [(k, float(getattr(p.counts, k).sum())) for k in ("tp", "fp", "fn")]
        items += [("best_f1", p.best_f1_overall.f1), ("best_f1_threshold", p.best_f1_overall.threshold)]
        if per_class:
            names, ap, _ = self.protocol_summary.class_ap(self.per_class)
            ids = [int(c) for c in p.class_ids] if len(names) == len(p.class_ids) else list(range(len(names)))
            items += [(f"AP/{n}", v) for n, v in zip(_class_parts(names, ids), ap)]
            point_names = _class_parts(p.names, [int(c) for c in p.class_ids])
            items += [(f"precision/{n}", v) for n, v in zip(point_names, p.precision)]
            items += [(f"recall/{n}", v) for n, v in zip(point_names, p.recall)]
        if self.errors is not None:
            e = self.errors.to_dict()
            items += [("errors/AP", _undefined_nan(e["AP"]))]
            items += [(f"errors/dAP/{k}", _undefined_nan(v)) for k, v in e["dAP"].items()]
            items += [(f"errors/{k}", _undefined_nan(e[k])) for k in ("fp_dAP", "fn_dAP")]
        for name, part in (self.slices or {}).items():
            items += [(f"slices/{_metric_part(name)}/{k}", v) for k, v in part._flat_items(per_class=False)]
        return items

    def summary(self) -> str:
        """A few lines: what was evaluated and the numbers that matter most."""
        name, value = self.protocol_summary.headline()
        p = self.point
        n_images = 0 if self.image_ids is None else len(self.image_ids)
        f = "F1" if p.beta == 1 else f"F{p.beta:g}"
        lines = [
            f"{self.protocol_summary.title} {self.iou_type} evaluation: {n_images} images, "
            f"{len(p.class_ids)} classes, {int(p.counts.support.sum())} ground truths, "
            f"{len(self.matches.det_row)} detections",
            "  " + ", ".join(f"{n} {_short(v)}" for n, _, v in self.protocol_summary.rows()[:6]),
            f"  at IoU >= {p.iou_threshold:g}, score >= {p.score_threshold:g}: precision "
            f"{_short(p.micro.precision)}, recall {_short(p.micro.recall)}, {f} {_short(p.micro.f1)}",
            f"  best {f} {_short(p.best_f1_overall.f1)} at score >= {_short(p.best_f1_overall.threshold)}",
        ]
        if name != self.protocol_summary.rows()[0][0]:
            lines.insert(1, f"  {name} {_short(value)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        name, value = self.protocol_summary.headline()
        n_images = 0 if self.image_ids is None else len(self.image_ids)
        p = self.point.micro
        return (
            f"EvaluationResult(protocol={self.protocol!r}, iou_type={self.iou_type!r}, "
            f"images={n_images}, classes={len(self.point.class_ids)}, {name}={_short(value)}, "
            f"precision={_short(p.precision)}, recall={_short(p.recall)}, f1={_short(p.f1)})"
        )


def _short(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.3f}"


_NOT_IN_NAMES = re.compile(r"[^\w.\- ]")  # MLflow's metric names: letters, digits, _ - . space and /


def _metric_part(name: str) -> str:
    """One part of a flat metric name: characters trackers refuse (and '/') as '_'."""
    return _NOT_IN_NAMES.sub("_", name)


def _class_parts(names: Sequence[str], ids: Sequence[int]) -> list[str]:
    """Class names as name parts; names equal after that get '_<category id>'."""
    parts = [_metric_part(n) for n in names]
    seen: dict[str, int] = {}
    for part in parts:
        seen[part] = seen.get(part, 0) + 1
    return [f"{part}_{i}" if seen[part] > 1 else part for part, i in zip(parts, ids)]


def _undefined_nan(v: float | None) -> float:
    return math.nan if v is None else float(v)
