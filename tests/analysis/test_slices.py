"""Slices from the one matching pass equal evaluating each subset with image_ids=, bit for bit."""

from __future__ import annotations

import copy
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detrecall import DetrecallError, read_detections, read_ground_truth
from detrecall.analysis.slices import check_slices, read_slices, slice_batch, slice_confusion, slice_matches
from detrecall.evaluate import class_names, evaluate_with, finish, make_config, match_batch, read_inputs
from detrecall.result import EvaluationResult
from tests.oracle import random_coco


def assert_same_result(got: EvaluationResult, want: EvaluationResult) -> None:
    """Equal bit for bit: every number, table and array (NaN equal to NaN)."""
    assert got.to_dict() == want.to_dict()  # summary, per class, point, params (NaN -> None)
    assert np.array_equal(got.protocol_summary.stats, want.protocol_summary.stats)  # type: ignore[attr-defined]
    assert got.accumulated is not None and want.accumulated is not None
    for f in fields(got.accumulated):
        assert np.array_equal(getattr(got.accumulated, f.name), getattr(want.accumulated, f.name))
    for part in ("matches", "point_matches"):
        a, b = getattr(got, part), getattr(want, part)
        for f in fields(a):
            assert np.array_equal(getattr(a, f.name), getattr(b, f.name)), (part, f.name)
    p, q = got.point, want.point
    for name in ("precision", "recall", "f1"):
        assert np.array_equal(getattr(p, name), getattr(q, name), equal_nan=True)
    assert np.array_equal(p.curve.precision, q.curve.precision, equal_nan=True)
    assert np.array_equal(got.image_ids, want.image_ids)
    if p.confusion is not None or q.confusion is not None:
        assert np.array_equal(p.confusion, q.confusion)


def sliced(gt: Any, dt: Any, slices: dict[str, list[int]], **options: Any) -> dict[str, EvaluationResult]:
    """What evaluate(..., slices=...) would do: one match_batch, then finish per slice."""
    config = make_config(**options)
    g, d = read_inputs(copy.deepcopy(gt), copy.deepcopy(dt), config)
    batch = match_batch(g, d, config)
    names = class_names(g.categories, batch.coco.class_ids, config.params.class_agnostic)
    out = {}
    for name, ids in check_slices(slices, g.images.ids).items():
        part = slice_batch(batch, ids)
        if config.point.confusion:
            params = replace(config.params, image_ids=ids)
            part = replace(
                part, confusion=slice_confusion(g, d, part.point, config.iou_type, params, config.point)
            )
        out[name] = finish(replace(config, params=replace(config.params, image_ids=ids)), part, names, ids)
    return out


def random_slices(seed: int, image_ids: list[int]) -> dict[str, list[int]]:
    rng = np.random.default_rng(seed + 1000)
    out = {}
    for k in range(3):
        n = int(rng.integers(1, len(image_ids) + 1))
        out[f"s{k}"] = sorted(rng.choice(image_ids, n, replace=False).tolist())
    out["all"] = list(image_ids)
    return out


@pytest.mark.parametrize("seed", range(16))
def test_slices_equal_evaluate_on_the_subset(seed: int) -> None:
    gt, dt = random_coco(seed)
    ids = [im["id"] for im in gt["images"]]
    options: dict[str, Any] = {"score_threshold": [0.0, 0.3, 0.6][seed % 3]}
    if seed % 4 == 1:
        options["confusion"] = True
    if seed % 5 == 2:
        options["max_dets"] = [1, 3, 5]  # groups cut: the operating point matched apart
    slices = random_slices(seed, ids)
    results = sliced(gt, dt, slices, **options)
    for name, ids_ in slices.items():
        want = evaluate_with(copy.deepcopy(gt), copy.deepcopy(dt), make_config(image_ids=ids_, **options))
        assert_same_result(results[name], want)


def test_segm_and_class_agnostic_slices() -> None:
    gt, dt = random_coco(4, segm=True)
    ids = [im["id"] for im in gt["images"]]
    slices = random_slices(4, ids)
    for options in ({"iou_type": "segm"}, {"class_agnostic": True}):
        results = sliced(gt, dt, slices, **options)
        for name, ids_ in slices.items():
            want = evaluate_with(copy.deepcopy(gt), copy.deepcopy(dt), make_config(image_ids=ids_, **options))
            assert_same_result(results[name], want)


def test_slice_matches_keeps_the_image_rows() -> None:
    gt, dt = random_coco(2)
    g = read_ground_truth(gt)
    batch = match_batch(g, read_detections(dt, g), make_config())
    ids = g.images.ids[:2]
    m = slice_matches(batch.coco, ids)
    assert set(m.det_image.tolist()) <= set(ids.tolist()) and set(m.gt_image.tolist()) <= set(ids.tolist())
    assert (m.hit_det < len(m.det_row)).all()
    everything = slice_matches(batch.coco, g.images.ids)
    for f in fields(everything):
        assert np.array_equal(getattr(everything, f.name), getattr(batch.coco, f.name))


def test_check_slices() -> None:
    known = np.array([1, 2, 5])
    assert {k: v.tolist() for k, v in check_slices({"a": [5, 1, 1], "b": (2,)}, known).items()} == {
        "a": [1, 5],
        "b": [2],
    }
    with pytest.raises(DetrecallError, match="'night': 1 id"):
        check_slices({"night": [1, 7]}, known)
    with pytest.raises(DetrecallError, match="holds no image"):
        check_slices({"empty": []}, known)
    with pytest.raises(DetrecallError, match="must map a name"):
        check_slices([1, 2], known)  # type: ignore[arg-type]
    with pytest.raises(DetrecallError, match="integers"):
        check_slices({"x": ["a"]}, known)


def test_read_slices(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"night": [1, 2], "rain": [2]}))
    assert read_slices(tmp_path / "s.json") == {"night": [1, 2], "rain": [2]}
    (tmp_path / "s.csv").write_text("image,slice\n1,night\n2,night\n2,rain\n\n")
    assert read_slices(tmp_path / "s.csv") == {"night": [1, 2], "rain": [2]}
    (tmp_path / "bad.csv").write_text("id,name\n1,night\n")
    with pytest.raises(DetrecallError, match="header 'image,slice'"):
        read_slices(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("image,slice\nx,night\n")
    with pytest.raises(DetrecallError, match="line 2"):
        read_slices(tmp_path / "bad2.csv")
    (tmp_path / "bad.json").write_text('{"night": [1.5]}')
    with pytest.raises(DetrecallError, match="integers"):
        read_slices(tmp_path / "bad.json")
