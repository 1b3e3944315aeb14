"""torchmetrics' MeanAveragePrecision(backend="pycocotools"), a real client: with
detrecall.compat.install() its results equal those it gets from real pycocotools, for bbox and
segm, class_metrics, extended_summary (ious, precision, recall, scores), custom IoU / recall /
max-dets thresholds, the three box formats (converted by the installed torchvision's
box_convert), crowds and given areas, empty inputs. Each side runs in its own process
(install() replaces the module for the process)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")  # torchmetrics' MeanAveragePrecision needs it (box_convert)
pytest.importorskip("torchmetrics")

from tests.compat._torchmetrics_cases import CASES  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("torchmetrics")
    procs = {}
    for backend in ("pycocotools", "detrecall"):
        cmd = [sys.executable, "-m", "tests.compat._torchmetrics_cases", str(tmp / f"{backend}.pkl"), backend]
        procs[backend] = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    got = {}
    for backend, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        with open(tmp / f"{backend}.pkl", "rb") as f:
            got[backend] = pickle.load(f)
    return got


def test_install_reaches_torchmetrics(outputs: dict[str, dict[str, Any]]) -> None:
    assert outputs["pycocotools"]["__cocoeval__"] == "pycocotools.cocoeval"
    assert outputs["detrecall"]["__cocoeval__"] == "detrecall.compat"
    for backend in outputs.values():  # the installed torchvision, not a module of the tests
        version, path = backend["__torchvision__"]
        assert not Path(path).resolve().is_relative_to(ROOT), (version, path)


def _assert_equal(ours: Any, ref: Any, where: str) -> None:
    assert type(ours) is type(ref), where
    if isinstance(ref, dict):
        assert list(ours) == list(ref), where
        for k in ref:
            _assert_equal(ours[k], ref[k], f"{where}[{k!r}]")
    elif isinstance(ref, np.ndarray):
        assert ours.shape == ref.shape and ours.dtype == ref.dtype, where
        np.testing.assert_array_equal(ours, ref, err_msg=where)
    else:
        assert ours == ref, where


@pytest.mark.parametrize("case", list(CASES))
def test_mean_average_precision_equals_pycocotools(outputs: dict[str, dict[str, Any]], case: str) -> None:
    ref, ours = outputs["pycocotools"][case], outputs["detrecall"][case]
    assert "error" not in ref, ref
    _assert_equal(ours, ref, case)
    assert "map" in ref or "bbox_map" in ref
    if CASES[case][2] == "random":  # the case is not degenerate: AP/AR strictly inside (0, 1)
        stats = [float(v) for k, v in ref.items() if k.split("_")[-1] in {"map", "50", "small", "medium"}]
        assert any(0.05 < v < 1 for v in stats), stats
    if CASES[case][0].get("extended_summary"):
        ious = ref.get("ious", ref.get("segm_ious"))
        assert any(isinstance(v, np.ndarray) and v.size for v in ious.values())
        assert any(isinstance(v, list) for v in ious.values())
