"""detrecall: exact, fast evaluation of object detectors and instance segmentation.

The public names are imported when first used (PEP 562 `__getattr__`), so that `import
detrecall` costs little more than numpy and `detrecall.evaluate` loads what evaluation needs,
not bootstrap, compare, metrics or retrieval."""

import sys as _sys
from types import ModuleType as _ModuleType

from ._version import __version__ as __version__
from .errors import DataWarning, DetrecallError, InputError, UndefinedMetricWarning

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms before numpy)
if TYPE_CHECKING:
    from . import metrics, retrieval
    from .analysis.bootstrap import BootstrapResult
    from .analysis.compare import Comparison, compare
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

# public name -> the module that defines it ("" for a submodule that is itself the name)
_HOME = {
    "BootstrapResult": ".analysis.bootstrap",
    "Comparison": ".analysis.compare",
    "compare": ".analysis.compare",
    "bootstrap": ".evaluate",
    "evaluate": ".evaluate",
    "read_detections": ".io",
    "read_ground_truth": ".io",
    "read_coco_gt": ".io.coco",
    "read_coco_results": ".io.coco",
    **dict.fromkeys(("CocoParams", "InputOptions", "IouType", "PointOptions"), ".options"),
    **dict.fromkeys(("Coco", "Lvis", "Protocol", "Voc"), ".protocols"),
    **dict.fromkeys(
        (
            "ClassMetrics",
            "ClassPoint",
            "CocoSummary",
            "EvaluationResult",
            "LvisSummary",
            "MetricDef",
            "OperatingPoint",
            "PointResult",
            "Summary",
            "VocResult",
        ),
        ".result",
    ),
    "Evaluator": ".streaming",
    "Dataset": ".types",
    "Detections": ".types",
    "metrics": "",
    "retrieval": "",
}


if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name stays an error

    def __getattr__(name: str) -> object:
        """Import a public name on first use and keep it in the package (later look-ups are plain
        attribute reads); a submodule not yet imported (`detrecall.types`) is imported too, as the
        eager imports of earlier versions made every one of them an attribute."""
        home = _HOME.get(name)
        if home is None:
            from importlib.util import find_spec

            if name.startswith("__") or find_spec(f"{__name__}.{name}") is None:
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
            home = ""
        full = f"{__name__}{home or '.' + name}"
        __import__(full)  # the import statement's path (importlib's is not reported by -X importtime)
        module = _sys.modules[full]
        value = getattr(module, name) if home else module
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(_ModuleType):
    """The import system sets a package's attribute to each submodule it loads; the function
    `evaluate` shares its name with its module, so keep the function there, as the eager
    `from .evaluate import evaluate` of earlier versions did."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "evaluate" and isinstance(value, _ModuleType):
            value = value.evaluate
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
