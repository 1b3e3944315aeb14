"""What importing detrecall loads: `import detrecall` the package alone, `detrecall.evaluate`
what evaluation needs, the COCO read path what reading needs (issue 22 target 5: the time itself
is measured by benchmarks/bench_import.py, never by a timed test)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# optional or heavy dependencies, and detrecall's layers that evaluation does not use
HEAVY = ("matplotlib", "pandas", "PIL", "shapely", "sklearn", "scipy", "torch", "dask", "rich", "yaml")
NOT_FOR_EVALUATE = tuple(
    f"detrecall.{m}"
    for m in (
        "analysis.bootstrap",
        "analysis.compare",
        "analysis.errors",
        "analysis.label_errors",
        "analysis.per_image",
        "analysis.slices",
        "metrics",
        "retrieval",
        "streaming",
        "compat",
        "dask",
        "report",
        "monitor",
        "serve",
        "cli",
        "geometry.polygons",
        "io.shapes",
        "io.yolo",
        "io.voc",
        "io.csv",
    )
)
NOT_FOR_READING = (
    *NOT_FOR_EVALUATE,
    *(f"detrecall.{m}" for m in ("evaluate", "matching", "aggregate", "result", "protocols", "analysis")),
)


def imported(code: str) -> dict[str, list[str]]:
    """Every module `code` imports in a fresh interpreter (`-X importtime`), with the chain of
    importers that brought it in (outermost first)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "[us]" not in line:
            field = line.split("|")[2]
            name = field.strip()
            rows.append((len(field) - len(field.lstrip()), name))
    # -X importtime prints a module after the modules it imported, one level deeper
    chains: dict[str, list[str]] = {}
    for i, (depth, name) in enumerate(rows):
        parents = []
        for later_depth, later in rows[i + 1 :]:
            if later_depth < depth - len(parents) * 2:
                parents.append(later)
        chains.setdefault(name, [*reversed(parents), name])
    return chains


def loaded(chains: dict[str, list[str]], prefixes: tuple[str, ...]) -> list[str]:
    """The chains of the modules in `chains` that are, or are inside, one of `prefixes`."""
    return [
        " <- ".join(reversed(chain))
        for name, chain in chains.items()
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    ]


def test_import_loads_the_package_alone() -> None:
    chains = imported("import detrecall")
    ours = sorted(m for m in chains if m.split(".")[0] == "detrecall")
    assert ours == ["detrecall", "detrecall._version", "detrecall.errors"]
    assert loaded(chains, ("numpy", "typing", *HEAVY)) == []


def test_evaluate_loads_what_evaluation_needs() -> None:
    chains = imported("import detrecall; detrecall.evaluate")
    assert "detrecall.evaluate" in chains and "numpy" in chains
    assert loaded(chains, (*NOT_FOR_EVALUATE, *HEAVY)) == []


@pytest.mark.parametrize(
    ("code", "reader"),
    [
        ("from detrecall import read_coco_gt, read_coco_results", "detrecall.io.coco"),  # bench_coco's
        ("import detrecall; detrecall.read_ground_truth, detrecall.Dataset", "detrecall.io._formats"),
    ],
)
def test_reading_loads_no_evaluation(code: str, reader: str) -> None:
    chains = imported(code)
    assert reader in chains
    assert loaded(chains, (*NOT_FOR_READING, *HEAVY)) == []


def test_the_chain_names_who_imported_a_module() -> None:
    chains = imported("import detrecall; detrecall.compare")
    assert chains["detrecall.analysis.bootstrap"][0] == "detrecall.analysis.compare"
    assert chains["detrecall.analysis.bootstrap"][-1] == "detrecall.analysis.bootstrap"


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# the eager imports of detrecall/__init__.py before its names were made lazy: the same objects
EAGER = """
from detrecall import metrics, retrieval
from detrecall.analysis.bootstrap import BootstrapResult
from detrecall.analysis.compare import Comparison, compare
from detrecall.errors import DataWarning, DetrecallError, InputError, UndefinedMetricWarning
from detrecall.evaluate import bootstrap, evaluate
from detrecall.io import read_detections, read_ground_truth
from detrecall.io.coco import read_coco_gt, read_coco_results
from detrecall.options import CocoParams, InputOptions, IouType, PointOptions
from detrecall.protocols import Coco, Lvis, Protocol, Voc
from detrecall.result import (ClassMetrics, ClassPoint, CocoSummary, EvaluationResult, LvisSummary,
    MetricDef, OperatingPoint, PointResult, Summary, VocResult)
from detrecall.streaming import Evaluator
from detrecall.types import Dataset, Detections
"""


def test_each_public_name_is_the_object_the_eager_imports_gave() -> None:
    code = (
        "import detrecall\n"
        "lazy = {n: getattr(detrecall, n) for n in detrecall.__all__}\n"
        f"eager = {{}}\nexec({EAGER!r}, eager)\n"
        "del eager['__builtins__']\n"
        "print(sorted(eager) == sorted(lazy), [n for n in lazy if lazy[n] is not eager[n]])"
    )
    assert run(code) == "True []"


def test_evaluate_stays_the_function_when_its_module_is_imported_first() -> None:
    # the import system sets detrecall.evaluate to the submodule when it loads it
    code = (
        "import detrecall.streaming, detrecall\n"
        "from detrecall.evaluate import evaluate, bootstrap\n"
        "print(detrecall.evaluate is evaluate, detrecall.bootstrap is bootstrap)"
    )
    assert run(code) == "True True"
    code = "import detrecall.evaluate as e\nfrom detrecall import evaluate\nprint(e is evaluate, callable(e))"
    assert run(code) == "True True"


def test_dir_and_unknown_names() -> None:
    code = (
        "import detrecall\n"
        "print(set(detrecall.__all__) <= set(dir(detrecall)))\n"
        "try:\n    detrecall.evalute\nexcept AttributeError as e:\n    print(e)\n"
        "print(detrecall.types.Dataset is detrecall.Dataset)"  # a submodule, as eager imports made it
    )
    assert run(code).splitlines() == ["True", "module 'detrecall' has no attribute 'evalute'", "True"]
