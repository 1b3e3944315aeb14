"""detrecall: exact, fast evaluation of object detectors and instance segmentation."""

from . import metrics, retrieval
from .errors import DetrecallError, InputError
from .io.coco import read_coco_gt, read_coco_results
from .pipeline import EvaluationResult, evaluate
from .protocols.bootstrap import bootstrap
from .protocols.coco import ClassMetrics, CocoSummary
from .protocols.compare import compare
from .streaming import Evaluator
from .types import Dataset, Detections

__version__ = "0.1.0"

__all__ = [
    "ClassMetrics",
    "CocoSummary",
    "Dataset",
    "Detections",
    "DetrecallError",
    "EvaluationResult",
    "Evaluator",
    "InputError",
    "bootstrap",
    "compare",
    "evaluate",
    "metrics",
    "retrieval",
    "read_coco_gt",
    "read_coco_results",
]
