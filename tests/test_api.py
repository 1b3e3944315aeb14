"""The public surface: one curated __all__, nothing heavy imported, ruff clean."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import detrecall

ROOT = Path(__file__).resolve().parents[1]


def test_all_is_curated_and_importable() -> None:
    assert sorted(detrecall.__all__) == sorted(set(detrecall.__all__))
    for name in detrecall.__all__:
        assert hasattr(detrecall, name), name
    assert "evaluate" in detrecall.__all__ and "InputError" in detrecall.__all__


def test_errors_are_value_errors() -> None:
    assert issubclass(detrecall.InputError, detrecall.DetrecallError)
    assert issubclass(detrecall.DetrecallError, ValueError)


def test_import_pulls_in_no_plotting_or_dataframes() -> None:
    code = (
        "import sys, detrecall; bad = [m for m in ('matplotlib', 'pandas', 'torch', "
        "'sklearn', 'shapely', 'dask', 'rich') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ruff_clean() -> None:
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff not installed (it comes with the test extra)")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_categories_and_no_detections_is_all_undefined(tmp_path) -> None:
    import math

    from detrecall import evaluate

    r = evaluate({"images": [{"id": 1}], "annotations": [], "categories": []}, [])
    assert all(math.isnan(v) for v in r.coco.as_tuple()) and r.per_class == ()
