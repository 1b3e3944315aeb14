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


def test_result_repr_is_short_and_summary_says_what_matters() -> None:
    from detrecall import evaluate

    fixtures = ROOT / "fixtures"
    r = evaluate(fixtures / "gt.json", fixtures / "dt_bbox.json", confusion=True, cost={"fp": 1})
    assert len(repr(r)) < 2048
    assert repr(r).startswith("EvaluationResult(protocol='coco', iou_type='bbox', images=36, classes=5, AP=")
    text = r.summary()
    assert str(r) == text and len(text.splitlines()) <= 6
    assert f"AP {r.coco.AP:.3f}" in text and f"recall {r.point.micro.recall:.3f}" in text
    voc = evaluate(fixtures / "gt.json", fixtures / "dt_bbox.json", protocol="voc")
    assert "mAP@0.5" in repr(voc) and len(repr(voc)) < 2048


def test_flat_keywords_name_every_option_group_field() -> None:
    """The flat keywords (one TypedDict) and the option groups cannot drift apart."""
    from dataclasses import fields

    from detrecall.options import CocoParams, InputOptions, Keywords, PointOptions
    from detrecall.protocols import PROTOCOL_OPTIONS

    groups = {f.name for g in (CocoParams, InputOptions) for f in fields(g)}
    groups |= {("point_max_dets" if f.name == "max_dets" else f.name) for f in fields(PointOptions)}
    assert set(Keywords.__annotations__) == groups | set(PROTOCOL_OPTIONS)


def test_option_groups_and_flat_keywords_give_one_result() -> None:
    from detrecall import CocoParams, PointOptions, Voc, evaluate

    fixtures = ROOT / "fixtures"
    gt, dt = fixtures / "gt.json", fixtures / "dt_bbox.json"
    flat = evaluate(gt, dt, iou_thresholds=[0.5, 0.7], iou_threshold=0.7, protocol="voc", ap_method="11point")
    grouped = evaluate(
        gt, dt, protocol=Voc(ap_method="11point"), params=CocoParams(iou_thresholds=[0.5, 0.7]),
        point=PointOptions(iou_threshold=0.7),
    )  # fmt: skip
    assert flat.to_dict() == grouped.to_dict()
    with pytest.raises(detrecall.DetrecallError, match="both as a keyword"):
        evaluate(gt, dt, point=PointOptions(), iou_threshold=0.7)
    with pytest.raises(TypeError, match="unknown option 'iou_thresold'"):
        evaluate(gt, dt, iou_thresold=0.7)  # type: ignore[call-arg]
    with pytest.raises(detrecall.DetrecallError, match="option of protocol='voc'"):
        evaluate(gt, dt, ap_method="11point")


def test_the_point_max_dets_cap_is_its_own_option() -> None:
    """max_dets (COCO's cuts) no longer caps the operating point; point_max_dets does."""
    from detrecall import evaluate

    fixtures = ROOT / "fixtures"
    gt, dt = fixtures / "gt.json", fixtures / "dt_bbox.json"
    every = evaluate(gt, dt)
    assert evaluate(gt, dt, max_dets=[1]).point.counts.fp.tolist() == every.point.counts.fp.tolist()
    capped = evaluate(gt, dt, point_max_dets=1).point.counts
    assert capped.predicted.sum() < every.point.counts.predicted.sum()
    assert (
        capped.predicted.sum()
        == evaluate(gt, dt, point_max_dets=1, max_dets=[1]).point.counts.predicted.sum()
    )


def test_the_command_line_does_not_load_the_serve_stack() -> None:
    """`detrecall --help` and every command but serve work without the serve extra."""
    code = (
        "import sys, detrecall.cli; detrecall.cli._parser(); "
        "print([m for m in ('fastapi', 'starlette', 'uvicorn', 'psycopg') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
