"""detrecall: exact, fast evaluation of object detectors and instance segmentation."""

from . import metrics, retrieval
from ._version import __version__ as __version__
from .analysis.bootstrap import BootstrapResult
from .analysis.compare import Comparison, compare
from .errors import DataWarning, DetrecallError, InputError, UndefinedMetricWarning
from .evaluate import bootstrap, evaluate
from .io import read_detections, read_ground_truth
from .io.coco import read_coco_gt, read_coco_results
from .options import CocoParams, InputOptions, IouType, PointOptions
from .protocols import Coco, Lvis, Protocol, Voc
from .result import (
    ClassMetrics,
    ClassPoint,
    CocoSummary,
    EvaluationResult,
    LvisSummary,
    MetricDef,
    OperatingPoint,
    PointResult,
    Summary,
    VocResult,
)
from .streaming import Evaluator
from .types import Dataset, Detections

__all__ = [
    "BootstrapResult",
    "ClassMetrics",
    "ClassPoint",
    "Coco",
    "CocoParams",
    "CocoSummary",
    "Comparison",
    "DataWarning",
    "Dataset",
    "Detections",
    "DetrecallError",
    "EvaluationResult",
    "Evaluator",
    "InputError",
    "InputOptions",
    "IouType",
    "Lvis",
    "LvisSummary",
    "MetricDef",
    "OperatingPoint",
    "PointOptions",
    "PointResult",
    "Protocol",
    "Summary",
    "UndefinedMetricWarning",
    "Voc",
    "VocResult",
    "bootstrap",
    "compare",
    "evaluate",
    "metrics",
    "read_coco_gt",
    "read_coco_results",
    "read_detections",
    "read_ground_truth",
    "retrieval",
]
