"""The image-level bootstrap: a replicate is the evaluation of a dataset with images copied.

Oracles: the evaluation itself (every image once), pycocotools and detrecall.evaluate on a
physically duplicated dataset (image i copied w_i times with new ids), np.nanquantile, and a
coverage simulation with a known true recall.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import detrecall
from detrecall import bootstrap
from detrecall.analysis import bootstrap as bs
from detrecall.analysis.bootstrap import METRICS, percentile_interval, replicate, tape_of
from detrecall.errors import DetrecallError
from tests.oracle import random_coco, reference

VARIANTS: list[dict[str, Any]] = [
    {},
    {"area_ranges": {"all": (150.0, 4000.0), "wide": (0.0, 1e9)}, "max_dets": [1, 3, 5]},
    {"class_agnostic": True, "iou_threshold": 0.7},
    {"iou_thresholds": [0.5, 0.6, 0.75], "score_threshold": 0.3, "beta": 2.0},
]


def evaluation_values(r: detrecall.EvaluationResult) -> tuple[np.ndarray, np.ndarray]:
    """METRICS of an evaluation, (M,) and (K, M), as it reports them."""
    p = r.point
    overall = np.array(
        [r.coco.AP, r.coco.AP50, r.coco.AP75, r.coco.AR100, p.micro.precision, p.micro.recall, p.micro.f1]
    )
    per_class = np.column_stack(
        [np.array([[c.AP, c.AP50, c.AP75, c.AR100] for c in r.per_class]), p.precision, p.recall, p.f1]
    )
    return overall, per_class


def continuous_scores(dt: list[dict[str, Any]], seed: int, cross_image_ties: bool = False) -> None:
    """Scores without ties, or with ties only between different images."""
    rng = np.random.default_rng(seed)
    rank: dict[int, int] = {}
    for r in dt:
        if cross_image_ties:
            rank[r["image_id"]] = rank.get(r["image_id"], 0) + 1
            r["score"] = float(rng.integers(0, 2)) + 0.01 * rank[r["image_id"]]
        else:
            r["score"] = float(rng.random())


def duplicated(
    gt: dict[str, Any], dt: list[dict[str, Any]], image_ids: np.ndarray, weights: np.ndarray
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Image i copied weights[i] times, copy j with id 10 * i + j (right after i, as the
    bootstrap orders ties between images); annotations renumbered."""
    times = dict(zip(image_ids.tolist(), weights.tolist()))
    out = {**copy.deepcopy(gt), "images": [], "annotations": []}
    out["images"] = [{**im, "id": 10 * im["id"] + j} for im in gt["images"] for j in range(times[im["id"]])]
    for a in gt["annotations"]:
        for j in range(times[a["image_id"]]):
            out["annotations"].append(
                {**a, "image_id": 10 * a["image_id"] + j, "id": len(out["annotations"]) + 1}
            )
    dets = [{**r, "image_id": 10 * r["image_id"] + j} for r in dt for j in range(times[r["image_id"]])]
    return out, dets


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize("seed", range(12))
def test_a_replicate_of_every_image_once_is_the_evaluation(seed: int, variant: int) -> None:
    gt, dt = random_coco(seed)
    r = detrecall.evaluate(gt, dt, **VARIANTS[variant])
    tape = tape_of(r)
    overall, per_class = replicate(tape, np.ones((1, len(tape.image_ids)), np.int64))
    want, want_class = evaluation_values(r)
    # undefined where the evaluation had to use zero_division: no prediction / no ground truth
    p = r.point
    undefined_class = np.column_stack(
        [p.counts.predicted == 0, p.counts.support == 0, p.counts.predicted + p.counts.support == 0]
    )
    assert_array_equal(np.isnan(per_class[0, :, 4:]), undefined_class)
    assert_array_equal(np.isnan(per_class[0, :, :4]), np.isnan(want_class[:, :4]))
    assert_allclose(
        np.where(np.isnan(per_class[0]), want_class, per_class[0]), want_class, atol=1e-12, rtol=0
    )
    assert_allclose(np.where(np.isnan(overall[0]), want, overall[0]), want, atol=1e-12, rtol=0)
    b = bootstrap(r, n=3)
    assert_array_equal(np.where(np.isnan(b.estimate), want, b.estimate), want)  # to the bit
    assert_array_equal(np.where(np.isnan(b.class_estimate), want_class, b.class_estimate), want_class)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize("seed", range(8))
def test_integer_weights_equal_evaluating_the_duplicated_dataset(seed: int, variant: int, ties: bool) -> None:
    gt, dt = random_coco(seed)
    continuous_scores(dt, seed, cross_image_ties=ties)
    options = VARIANTS[variant]
    tape = tape_of(detrecall.evaluate(gt, dt, **options))
    weights = np.random.default_rng(seed).integers(0, 4, (2, len(tape.image_ids)))
    weights[0, 0] = 0  # an image left out
    overall, per_class = replicate(tape, weights)
    for b in range(len(weights)):
        g2, d2 = duplicated(gt, dt, tape.image_ids, weights[b])
        if not g2["images"]:
            continue
        r2 = detrecall.evaluate(g2, d2, zero_division=math.nan, **options)
        want, want_class = evaluation_values(r2)
        assert_allclose(overall[b], want, atol=1e-12, rtol=0)
        assert_allclose(per_class[b], want_class, atol=1e-12, rtol=0)
        if variant == 0 and b == 0:  # the COCO numbers once more, against pycocotools itself
            ref = reference(g2, d2).stats[[0, 1, 2, 8]]
            assert_allclose(np.nan_to_num(overall[b, :4], nan=-1.0), ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("seed", range(3))
def test_segm_replicates_equal_the_duplicated_dataset(seed: int) -> None:
    gt, dt = random_coco(seed, segm=True)
    continuous_scores(dt, seed)
    tape = tape_of(detrecall.evaluate(gt, dt, "segm"))
    weights = np.random.default_rng(seed).integers(0, 3, (1, len(tape.image_ids)))
    overall, per_class = replicate(tape, weights)
    g2, d2 = duplicated(gt, dt, tape.image_ids, weights[0])
    if g2["images"]:
        want, want_class = evaluation_values(detrecall.evaluate(g2, d2, "segm", zero_division=math.nan))
        assert_allclose(overall[0], want, atol=1e-12, rtol=0)
        assert_allclose(per_class[0], want_class, atol=1e-12, rtol=0)


def test_huge_weights_switch_to_int64_without_overflow() -> None:
    """Every image 2**27 times is the same dataset in other proportions: the same rates (the
    running counts overflow int32, so they must be done in int64)."""
    gt, dt = random_coco(11)
    tape = tape_of(detrecall.evaluate(gt, dt))
    ones = np.ones((1, len(tape.image_ids)), np.int64)
    for got, want in zip(replicate(tape, ones << 27), replicate(tape, ones)):
        assert_allclose(got, want, atol=1e-12, rtol=0)


def test_bootstrap_samples_are_replicates_of_the_drawn_images() -> None:
    gt, dt = random_coco(3)
    r = detrecall.evaluate(gt, dt)
    b = bootstrap(r, n=7, seed=5)
    tape = tape_of(r)
    weights = np.concatenate(list(bs.draws(5, 7, len(tape.image_ids), 7)))
    assert_array_equal(weights.sum(axis=1), len(tape.image_ids))
    overall, per_class = replicate(tape, weights)
    assert_array_equal(b.samples, overall)
    assert_array_equal(b.class_samples, per_class)


def test_reproducible_with_a_seed_whatever_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    gt, dt = random_coco(4)
    r = detrecall.evaluate(gt, dt)
    first = bootstrap(r, n=40, seed=11)
    again = bootstrap(r, n=40, seed=11)
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 1)  # one replicate per chunk
    chunked = bootstrap(r, n=40, seed=11)
    for other in (again, chunked):
        assert_array_equal(other.samples, first.samples)
        assert_array_equal(other.class_samples, first.class_samples)
        assert_array_equal(other.low, first.low)
    different = bootstrap(r, n=40, seed=12)
    assert not np.array_equal(np.nan_to_num(different.samples), np.nan_to_num(first.samples))


def test_inputs_are_evaluated_with_evaluates_options() -> None:
    gt, dt = random_coco(6)
    direct = bootstrap(gt, dt, n=20, iou_threshold=0.6, max_dets=[1, 10, 50])
    via = bootstrap(detrecall.evaluate(gt, dt, iou_threshold=0.6, max_dets=[1, 10, 50]), n=20)
    assert_array_equal(direct.samples, via.samples)
    assert detrecall.bootstrap is bootstrap


def test_a_streamed_result_bootstraps_like_one_evaluation() -> None:
    gt, dt = random_coco(8)
    ids = [im["id"] for im in gt["images"]]
    ev = detrecall.Evaluator("bbox")
    for part in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
        keep = set(part)
        ev.update(
            {
                **gt,
                "images": [im for im in gt["images"] if im["id"] in keep],
                "annotations": [a for a in gt["annotations"] if a["image_id"] in keep],
            },
            [d for d in dt if d["image_id"] in keep],
        )
    streamed, whole = bootstrap(ev.compute(), n=30), bootstrap(detrecall.evaluate(gt, dt), n=30)
    assert_allclose(streamed.samples, whole.samples, atol=1e-12, rtol=0)


def test_percentile_interval_is_nanquantile() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(101, 4, 3))
    x[rng.random(x.shape) < 0.2] = np.nan
    low, high = percentile_interval(x, 0.9)
    assert_allclose(low, np.nanquantile(x, 0.05, axis=0), rtol=0, atol=1e-15)
    assert_allclose(high, np.nanquantile(x, 0.95, axis=0), rtol=0, atol=1e-15)
    low, high = percentile_interval(np.full((5, 2), np.nan), 0.95)
    assert np.isnan(low).all() and np.isnan(high).all()
    low, high = percentile_interval(np.array([[3.0], [1.0], [2.0]]), 0.5)  # hand-worked
    assert_allclose([low[0], high[0]], [1.5, 2.5])


def test_interval_lookup_and_json() -> None:
    gt, dt = random_coco(2)
    b = bootstrap(gt, dt, n=25)
    cid = int(b.class_ids[0])
    assert b.interval("ap50").estimate == b.estimate[1]
    assert b.interval("recall", cid).low == b.class_low[0, 5]
    d = b.to_dict()
    assert set(d["overall"]) == set(METRICS)
    assert d["per_class"][0]["category_id"] == cid and d["n"] == 25
    with pytest.raises(DetrecallError, match="unknown metric"):
        b.interval("mAP")
    with pytest.raises(DetrecallError, match="not evaluated"):
        b.interval("AP", 12345)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n \\(bootstrap replicates\\)"),
        ({"n": 2.5}, "n \\(bootstrap"),
        ({"seed": -1}, "seed"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0}, "confidence"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    gt, dt = random_coco(1)
    with pytest.raises(DetrecallError, match=message):
        bootstrap(detrecall.evaluate(gt, dt), **kwargs)


def test_a_result_and_detections_together_are_refused() -> None:
    gt, dt = random_coco(1)
    with pytest.raises(DetrecallError, match="EvaluationResult alone"):
        bootstrap(detrecall.evaluate(gt, dt), dt)
    with pytest.raises(DetrecallError, match="detections are missing"):
        bootstrap(gt)


def simulated_dataset(rng: np.random.Generator, n_images: int, p: float) -> tuple[dict, list]:
    """Images with 1-6 objects on a grid of 20x20 cells; each object found with probability p by
    a perfect box, plus 0-2 false positives on empty cells."""
    images, anns, dets = [], [], []
    for i in range(n_images):
        images.append({"id": i + 1, "width": 100, "height": 100})
        cells = rng.permutation(25)
        n_obj = int(rng.integers(1, 7))
        for c in cells[:n_obj].tolist():
            box = [20.0 * (c % 5), 20.0 * (c // 5), 18.0, 18.0]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": 1,
                    "bbox": box,
                    "area": 324.0,
                    "iscrowd": 0,
                }
            )
            if rng.random() < p:
                dets.append({"image_id": i + 1, "category_id": 1, "bbox": box, "score": float(rng.random())})
        for c in cells[n_obj : n_obj + int(rng.integers(0, 3))].tolist():
            dets.append(
                {
                    "image_id": i + 1,
                    "category_id": 1,
                    "score": float(rng.random()),
                    "bbox": [20.0 * (c % 5), 20.0 * (c // 5), 18.0, 18.0],
                }
            )
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "obj"}]}, dets


def test_recall_intervals_cover_the_true_recall_at_the_stated_rate() -> None:
    """300 simulated datasets of 40 images (~140 objects each), 300 replicates each (fewer than
    the default 1000 to stay fast; enough for the 2.5% and 97.5% percentiles): the 95% interval
    of recall covers the detector's true recall p in 95% +- 4 points of them (measured over 1000
    datasets: 95.2%). The COCO part is evaluated at one IoU threshold only: recall does not
    depend on it, and it is 10x less work."""
    rng = np.random.default_rng(2024)
    p, covered, runs = 0.7, 0, 300
    coco_light = {"iou_thresholds": [0.5], "area_ranges": {"all": (0, 1e10)}, "max_dets": [100]}
    for k in range(runs):
        gt, dt = simulated_dataset(rng, 40, p)
        interval = bootstrap(gt, dt, n=300, seed=k, **coco_light).interval("recall")
        covered += interval.low <= p <= interval.high
    assert abs(covered / runs - 0.95) <= 0.04, covered / runs
