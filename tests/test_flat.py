"""result.flat() for experiment trackers and the to_pandas() views: real values, checked against
the result's own numbers."""

from __future__ import annotations

import builtins
import json
import math
from pathlib import Path

import numpy as np
import pytest

from detrecall import evaluate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def result():
    return evaluate(
        FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", errors=True, slices={"two": [1000, 1007]}
    )


def test_flat_holds_the_summary_point_and_classes(result):
    flat = result.flat(prefix="val/")
    assert all(k.startswith("val/") for k in flat) and all(type(v) is float for v in flat.values())
    for name in result.coco.names:
        assert flat[f"val/{name}"] == result.coco[name]
    p = result.point
    assert flat["val/precision"] == p.micro.precision and flat["val/recall"] == p.micro.recall
    assert flat["val/f1"] == p.micro.f1 and flat["val/macro/f1"] == p.macro.f1
    assert flat["val/tp"] == p.counts.tp.sum() and flat["val/fn"] == p.counts.fn.sum()
    assert flat["val/best_f1_threshold"] == p.best_f1_overall.threshold
    for c, cp in zip(result.per_class, p.per_class):
        assert flat[f"val/AP/{c.name}"] == c.AP
        assert flat[f"val/recall/{cp.name}"] == cp.recall and flat[f"val/precision/{cp.name}"] == cp.precision
    e = result.errors
    assert flat["val/errors/dAP/cls"] == e.dap("cls") and flat["val/errors/fn_dAP"] == e.fn_dAP
    part = result.slices["two"]
    assert flat["val/slices/two/AP"] == part.coco.AP
    assert flat["val/slices/two/recall"] == part.point.micro.recall
    assert result.flat() == {k.removeprefix("val/"): v for k, v in flat.items()}
    json.dumps(flat, allow_nan=False)  # no NaN left in: any tracker takes it


def test_flat_leaves_undefined_out_unless_asked(result):
    part = result.slices["two"]  # two images without small or large objects
    assert math.isnan(part.coco.APs) and math.isnan(part.coco.APl)
    assert "val/slices/two/APs" not in result.flat("val/")
    kept = part.flat(keep_undefined=True)
    assert math.isnan(kept["APs"]) and kept["AP"] == part.coco.AP
    assert set(part.flat()) == {k for k, v in kept.items() if not math.isnan(v)}


def test_flat_names_are_what_trackers_accept():
    gt = json.loads((FIXTURES / "gt.json").read_text())
    dt = json.loads((FIXTURES / "dt_bbox.json").read_text())
    names = {1: "traffic/light (x)", 2: "traffic/light (x)", 3: "a@b", 5: "dog", 9: "kite"}
    for c in gt["categories"]:
        c["name"] = names[c["id"]]
    r = evaluate(gt, dt)
    flat = r.flat()
    assert "AP/traffic_light _x__1" in flat and "AP/traffic_light _x__2" in flat and "AP/a_b" in flat
    assert flat["AP/a_b"] == r.per_class[2].AP
    import re

    assert all(re.fullmatch(r"[\w.\- /]+", k) for k in flat)  # MLflow's rule for metric names


def test_voc_flat_names_its_map():
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", protocol="voc")
    flat = r.flat()
    assert flat["mAP_0.5"] == r.voc.mAP[0]
    assert flat["AP/person"] == r.voc.classes[0].ap[0]


def test_to_pandas_tables(result):
    pandas = pytest.importorskip("pandas")
    frame = result.to_pandas()
    assert list(frame.columns) == ["category_id", "name", "AP", "AP50", "AP75", "AR100"]
    assert frame["category_id"].tolist() == [c.category_id for c in result.per_class]
    np.testing.assert_array_equal(frame["AP"].to_numpy(), [c.AP for c in result.per_class])
    point = result.point.to_pandas()
    assert isinstance(point, pandas.DataFrame)
    assert list(point.columns) == [
        "category_id",
        "name",
        "support",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        "best_f1_threshold",
    ]
    assert point["tp"].sum() == result.point.counts.tp.sum() and point["tp"].dtype == np.int64
    np.testing.assert_array_equal(point["recall"].to_numpy(), result.point.recall)
    voc = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", protocol="voc").to_pandas()
    assert list(voc.columns) == ["category_id", "name", "npos", "AP@0.5"]


def test_to_pandas_without_pandas_says_what_to_install(result, monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    for view in (result.to_pandas, result.point.to_pandas):
        with pytest.raises(ImportError, match="pip install pandas"):
            view()
