"""The Evaluator's packed state: given back exactly, merged level by level, equal to one pass."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from detrecall import Evaluator, evaluate, streaming
from tests.oracle import random_coco
from tests.test_streaming import assert_same, split


@pytest.mark.parametrize(
    "a",
    [
        np.zeros(0, np.int64),
        np.zeros((4, 0), bool),
        np.array([True, False, True] * 7).reshape(3, 7),
        np.repeat(np.arange(-5, 5, dtype=np.int64), 40),  # runs
        np.arange(100, dtype=np.int64) * 3,  # no runs, fits int16
        np.array([2**40, -(2**40), 7] * 20, np.int64),  # needs int64
        np.array([0.5, 0.25, -0.0, 1.0] * 10),  # exact in float32
        np.array([0.1234, 0.5, np.nan, -np.inf] * 10),  # not
        np.array([0.5] * 100 + [0.1]),  # exact in float32 but for a value past the first 64
        np.array([np.nan] * 3),
        np.array([3, 1, 2], np.int32),
    ],
)
def test_pack_gives_back_the_same_array(a):
    b = streaming._unpack(streaming._pack(a))
    assert b.dtype == a.dtype and b.shape == a.shape
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if a.dtype.kind == "f":
        assert np.array_equal(np.signbit(a), np.signbit(b))


SEEDS = [s for s in range(100, 400) if len(random_coco(s)[0]["images"]) >= 7][:6]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_many_batches_merged_level_by_level_equal_one_pass(seed, iou_type, monkeypatch):
    monkeypatch.setattr(streaming, "MERGE_ROWS", 12)  # so that a few images are merged while streaming
    rng = np.random.default_rng(seed)
    gt, dt = random_coco(seed, segm=iou_type == "segm")
    options = {"confusion": seed % 2 == 0, "score_threshold": 0.2}
    if seed % 3 == 1:
        options["max_dets"] = [1, 2, 3]
    if seed % 3 == 2:
        options["point_max_dets"] = 2  # the point keeps other detections than COCO
    whole = evaluate(copy.deepcopy(gt), copy.deepcopy(dt), iou_type, **options)
    batches = [b for b in split(gt, dt, rng, len(gt["images"])) if b[0]["images"]]
    rng.shuffle(batches)
    ev, other = Evaluator(iou_type, **options), Evaluator(iou_type, **options)
    for i, (g, d) in enumerate(batches):
        (ev if i else other).update(g, d)
    assert ev._parts  # matched and packed while streaming
    moved = Evaluator(iou_type, **options)
    moved.load_state_dict(pickle.loads(pickle.dumps(other.state_dict())))
    ev.merge(moved)
    assert ev.nbytes > 0
    assert_same(ev.compute(), whole)
    assert_same(ev.compute(), whole)  # computing again, from the merged state


def test_packed_state_is_smaller_than_the_matches(monkeypatch):
    monkeypatch.setattr(streaming, "MERGE_ROWS", 1)  # packed at once
    gt, dt = random_coco(3)
    ev = Evaluator("bbox")
    ev.update(gt, dt)
    state = ev.state_dict()
    raw = sum(v.nbytes for part in ("coco", "point") for v in state[part].values())
    assert ev.nbytes < raw / 2


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_one_iou_mode_shares_every_point_column_and_equals_one_pass(seed, monkeypatch):
    """With one IoU threshold (the point's), one area range and max_dets the point's, the point's
    matches are COCO's: every column is kept once, and the result is still one pass's."""
    monkeypatch.setattr(streaming, "MERGE_ROWS", 12)
    gt, dt = random_coco(seed)
    options = {"iou_thresholds": [0.5], "area_ranges": {"all": [0, 1e10]}, "max_dets": [100]}
    whole = evaluate(copy.deepcopy(gt), copy.deepcopy(dt), "bbox", **options)
    ev = Evaluator("bbox", **options)
    for g, d in split(gt, dt, np.random.default_rng(seed), len(gt["images"])):
        if g["images"]:
            ev.update(g, d)
    assert ev._parts
    assert all(p == ("coco",) for part in ev._parts for p in part.point.values())
    assert_same(ev.compute(), whole)
    full = Evaluator("bbox")  # 10 thresholds: the point's hits are its own, its detections COCO's
    full.update(copy.deepcopy(gt), copy.deepcopy(dt))
    full._flush()
    point = full._parts[0].point
    assert point["det_score"] == ("coco",) and point["hit_thr"] != ("coco",)


def test_scores_go_float32_only_when_every_value_is_exact():
    assert streaming._pack(np.array([0.5, 0.25] * 50))[0] == "float32"
    assert streaming._pack(np.array([0.5] * 100 + [0.1]))[0] == "raw"  # past the first 64
    assert streaming._pack(np.array([0.1] + [0.5] * 100))[0] == "raw"
