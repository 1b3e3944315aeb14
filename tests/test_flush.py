"""The streaming flush's compiled pass (detrecall/_flush.py, _stream.c) against its twin, the
tables build_arrays makes and match_batch's matches on them: every array of the COCO and the
operating point's matches, dtype, shape and value, and what the warnings read."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pytest

from detrecall import Evaluator, evaluate
from detrecall._compiled import stream
from detrecall._flush import coco_pass, flush_boxes, serves
from detrecall.errors import DataWarning
from detrecall.evaluate import make_config, match_batch
from detrecall.io._problems import repeated_rows
from detrecall.io.arrays import ArrayBatch, build_arrays, check_arrays, join_arrays
from detrecall.streaming import _class_rows

needs_stream = pytest.mark.skipif(stream is None, reason="detrecall._stream is not built here")


def test_the_stream_module_is_built():
    import os

    if os.environ.get("DETRECALL_NO_NATIVE", "") not in ("", "0"):
        pytest.skip("DETRECALL_NO_NATIVE is set: the pure-Python paths are under test")
    assert stream is not None, "detrecall._stream was not built (is there a C compiler?)"


def random_batch(seed: int, class_ids: list[int], n_images: int = 30, dense: bool = False) -> ArrayBatch:
    """Per-image arrays with what the matcher must get right: images in no id order and some
    empty, overlapping boxes on a coarse grid (IoU ties), coarse scores (rank ties, -0.0 and
    0.0), crowds, ignore flags, given areas on the COCO range edges, exact repeats, scores
    outside [0, 1], large (image, class) groups."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1, 4 * n_images))[:n_images]
    targets, preds = [], []
    for k, image_id in enumerate(ids.tolist()):
        n_gt = 0 if k % 7 == 3 else int(rng.integers(0, 40 if dense else 9))
        n_dt = 0 if k % 5 == 2 else int(rng.integers(0, 300 if dense else 40))
        gt_box = np.column_stack([rng.integers(0, 6, (n_gt, 2)) * 8.0, rng.integers(1, 14, (n_gt, 2)) * 8.0])
        area = gt_box[:, 2] * gt_box[:, 3]
        edges = np.array([32.0**2, 96.0**2, 0.0])
        on_edge = rng.random(n_gt) < 0.3
        area[on_edge] = edges[rng.integers(0, 3, int(on_edge.sum()))]
        few = class_ids[: 1 + int(rng.integers(0, len(class_ids)))]
        targets.append(
            {
                "boxes": gt_box,
                "labels": rng.choice(few, n_gt).astype(np.int64),
                "iscrowd": (rng.random(n_gt) < 0.15).astype(np.int64),
                "ignore": (rng.random(n_gt) < 0.1).astype(np.int64),
                "area": area,
                "image_id": image_id,
            }
        )
        dt_box = gt_box[rng.integers(0, n_gt, n_dt)] if n_gt else np.zeros((n_dt, 4))
        dt_box = dt_box + rng.integers(-2, 3, (n_dt, 4)) * 4.0
        dt_box[:, 2:] = np.abs(dt_box[:, 2:]) + 1.0
        score = rng.integers(0, 6, n_dt) / 5.0
        score[rng.random(n_dt) < 0.05] = -0.0
        score[rng.random(n_dt) < 0.03] = 1.5
        labels = rng.choice(few, n_dt).astype(np.int64)
        if n_dt > 4:  # exact repeats of earlier rows
            at = rng.integers(1, n_dt, 3)
            src = rng.integers(0, at)
            dt_box[at], score[at], labels[at] = dt_box[src], score[src], labels[src]
        preds.append({"boxes": dt_box, "scores": score, "labels": labels, "image_id": image_id})
    names = {c: f"c{c}" for c in class_ids}
    return check_arrays(targets, preds, box_format="xywh", categories=names)


CLASSES = ([1, 2, 3], [1, 4, 9, 30, 77], [5, 2**21 + 3])  # a lookup table, and a binary search
OPTIONS: list[dict[str, Any]] = [
    {},  # COCO: 10 thresholds, 4 ranges, max_dets 1, 10, 100
    {"iou_thresholds": [0.5], "area_ranges": {"all": [0, 1e10]}, "max_dets": [100]},
    {"iou_thresholds": [0.3, 0.5, 0.9], "max_dets": [2, 5]},  # groups cut: the point is matched apart
    {"area_ranges": {"mid": [32.0**2, 96.0**2], "all": [0, 1e10]}, "iou_thresholds": [0.3, 0.5]},
    {"iou_threshold": 0.3},  # the point's IoU is none of COCO's: matched apart
]


def assert_same_matches(a: Any, b: Any) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, (f.name, x.dtype, y.dtype, x.shape, y.shape)
        assert np.array_equal(x, y), f.name


@needs_stream
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("options", range(len(OPTIONS)))
@pytest.mark.parametrize("classes", range(len(CLASSES)))
def test_the_pass_equals_the_tables_and_match_batch(seed, options, classes):
    batch = random_batch(seed, CLASSES[classes], dense=seed % 4 == 3)
    config = make_config("bbox", categories={c: f"c{c}" for c in CLASSES[classes]}, **OPTIONS[options])
    gt, dt = build_arrays([batch], warn=False)
    twin = match_batch(gt, dt, config, with_score_order=False)
    done = coco_pass(batch, config)
    assert done is not None
    assert_same_matches(done.coco, twin.coco)
    flushed = flush_boxes(batch, config)
    longest = int(np.max(np.unique(np.c_[dt.image_id, dt.category_id], axis=0, return_counts=True)[1]))
    assert done.longest == longest
    cut = longest > config.params.max_dets[-1]
    if cut or options == 4:
        assert flushed is None  # its point is not a cut of the COCO matches
    else:
        assert flushed is not None
        assert_same_matches(flushed.matches.point, twin.point)
    # what the warnings read, against the functions warn_arrays calls
    cols = batch.columns
    odd = ~((cols.score >= 0) & (cols.score <= 1))
    assert done.odd_scores == (int(odd.sum()), int(np.argmax(odd)) if odd.any() else -1)
    image = np.repeat(cols.image_ids, cols.n_dt)
    assert done.repeats == repeated_rows(image, cols.dt_cat, cols.dt_box, cols.score)
    for got, want in zip(done.counts, _class_rows(batch)):
        assert np.array_equal(got, want)


@needs_stream
def test_long_tie_runs_and_groups():
    """Runs of one score past the insertion sorts' 16 (qsort's paths), repeats among them."""
    rng = np.random.default_rng(7)
    n = 120
    box = np.column_stack([rng.integers(0, 4, (n, 2)) * 10.0, np.full((n, 2), 20.0)])
    targets = [{"boxes": box[:40], "labels": np.ones(40, np.int64), "image_id": 3}]
    preds = [{"boxes": box, "scores": np.full(n, 0.5), "labels": np.ones(n, np.int64), "image_id": 3}]
    batch = check_arrays(targets, preds, box_format="xywh", categories={1: "a"})
    config = make_config("bbox", categories={1: "a"}, max_dets=[200])
    gt, dt = build_arrays([batch], warn=False)
    twin = match_batch(gt, dt, config, with_score_order=False)
    flushed = flush_boxes(batch, config)
    assert flushed is not None
    assert_same_matches(flushed.matches.coco, twin.coco)
    assert_same_matches(flushed.matches.point, twin.point)
    cols = batch.columns
    assert flushed.repeats == repeated_rows(np.full(n, 3), cols.dt_cat, cols.dt_box, cols.score)
    assert flushed.repeats[0] == n - 16  # 16 distinct boxes on the grid


@needs_stream
def test_what_it_does_not_serve():
    batch = random_batch(0, [1, 2, 3])
    names = {1: "a", 2: "b", 3: "c"}
    for options in (
        {"class_agnostic": True},
        {"confusion": True},
        {"image_ids": [1, 2]},
        {"category_ids": [1]},
        {"point_max_dets": 5},
    ):
        config = make_config("bbox", categories=names, **options)
        assert not serves(config) and flush_boxes(batch, config) is None
    assert not serves(make_config("bbox", protocol="voc", categories=names))
    assert not serves(make_config("segm", categories=names))
    assert serves(make_config("bbox", categories=names))


@needs_stream
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: {**c, "gt_cat": c["gt_cat"] + 1000}, "ground-truth label"),
        (lambda c: {**c, "image_ids": np.zeros_like(c["image_ids"])}, "image id given twice"),
        (lambda c: {**c, "n_dt": c["n_dt"] + 1}, "rows per image"),
        (lambda c: {**c, "score": np.full_like(c["score"], np.nan)}, "NaN score"),
    ],
)
def test_the_kernel_refuses_what_it_cannot_read(change, message):
    batch = random_batch(1, [1, 2, 3])
    config = make_config("bbox", categories={1: "a", 2: "b", 3: "c"})
    columns = change({f.name: getattr(batch.columns, f.name) for f in dataclasses.fields(batch.columns)})
    bad = ArrayBatch(type(batch.columns)(**columns), batch.categories)
    with pytest.raises(ValueError, match=message):
        coco_pass(bad, config)


@needs_stream
@pytest.mark.parametrize("seed", range(4))
def test_an_evaluator_flushing_through_the_pass_equals_evaluate_and_warns_alike(seed):
    """Batches of per-image arrays through Evaluator.update (the compiled flush) give evaluate's
    numbers on the same images, and the same warnings (scores outside [0, 1], repeats)."""
    batches = [random_batch(100 * seed + b, [1, 4, 9], n_images=12) for b in range(5)]
    targets, preds = [], []
    for b, batch in enumerate(batches):
        cols = batch.columns
        n_gt, n_dt = np.cumsum(np.r_[0, cols.n_gt]), np.cumsum(np.r_[0, cols.n_dt])
        for i in range(len(cols.image_ids)):
            g, d = slice(n_gt[i], n_gt[i + 1]), slice(n_dt[i], n_dt[i + 1])
            image_id = 1000 * b + int(cols.image_ids[i])  # distinct across the batches
            targets.append(
                {
                    "boxes": cols.gt_box[g],
                    "labels": cols.gt_cat[g],
                    "iscrowd": cols.iscrowd[g],
                    "ignore": cols.ignore[g],
                    "area": cols.area[g],
                    "image_id": image_id,
                }
            )
            preds.append(
                {
                    "boxes": cols.dt_box[d],
                    "scores": cols.score[d],
                    "labels": cols.dt_cat[d],
                    "image_id": image_id,
                }
            )
    names = {1: "a", 4: "b", 9: "c"}
    joined = join_arrays([check_arrays(targets, preds, box_format="xywh", categories=names)])
    assert flush_boxes(joined, make_config("bbox", categories=names)) is not None  # the pass runs
    ev = Evaluator("bbox", box_format="xywh", categories=names)
    with warnings.catch_warnings(record=True) as streamed:
        warnings.simplefilter("always", DataWarning)
        for lo in range(0, len(targets), 7):
            ev.update(targets[lo : lo + 7], preds[lo : lo + 7])
        got = ev.compute()
    with warnings.catch_warnings(record=True) as once:
        warnings.simplefilter("always", DataWarning)
        want = evaluate(targets, preds, "bbox", box_format="xywh", categories=names)
    assert np.array_equal(got.coco.stats, want.coco.stats)
    assert got.to_dict() == want.to_dict()
    kinds = ("outside [0, 1]", "duplicate detection")
    for kind in kinds:
        counted = [str(w.message) for w in streamed if kind in str(w.message)]
        assert counted, kind
        total = sum(int(m.split(": ", 1)[1].split(" ", 1)[0]) for m in counted)
        (whole,) = [str(w.message) for w in once if kind in str(w.message)]
        assert total == int(whole.split(": ", 1)[1].split(" ", 1)[0]), kind


@needs_stream
@pytest.mark.parametrize("big_has", ["nothing", "truth", "detections", "both"])
def test_image_ids_past_int32(big_has):
    """Image ids kept as narrow_ints keeps them: int32 when the ids there fit, else int64 (an
    image past 2**31 with or without rows of either kind), empty ones int64."""
    box = np.array([[0.0, 0.0, 10.0, 10.0]])
    one = {"boxes": box, "labels": np.array([1])}
    none: dict[str, Any] = {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int64)}
    targets = [{**one, "image_id": 5}, {**(one if big_has in ("truth", "both") else none), "image_id": 2**40}]
    preds = [
        {**one, "scores": np.array([0.9]), "image_id": 5},
        {
            **(one if big_has in ("detections", "both") else none),
            "scores": np.array([0.5]) if big_has in ("detections", "both") else np.zeros(0),
            "image_id": 2**40,
        },
    ]
    batch = check_arrays(targets, preds, box_format="xywh", categories={1: "a"})
    config = make_config("bbox", categories={1: "a"})
    twin = match_batch(*build_arrays([batch], warn=False), config, with_score_order=False)
    flushed = flush_boxes(batch, config)
    assert flushed is not None
    assert_same_matches(flushed.matches.coco, twin.coco)
    assert_same_matches(flushed.matches.point, twin.point)
