"""Evaluator: random batches and shards, any order, merged == one evaluate, to the bit."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from detrecall import DetrecallError, Evaluator, evaluate
from tests.oracle import random_coco


def split(gt: dict, dt: list, rng: np.random.Generator, n: int) -> list[tuple[dict, list]]:
    """The images dealt at random into n batches, each a COCO dict and its results."""
    owner = {im["id"]: int(rng.integers(n)) for im in gt["images"]}
    out = []
    for b in range(n):
        ids = {i for i, o in owner.items() if o == b}
        out.append(
            (
                {
                    "images": [im for im in gt["images"] if im["id"] in ids],
                    "annotations": [a for a in gt["annotations"] if a["image_id"] in ids],
                    "categories": gt["categories"],
                },
                [r for r in dt if r["image_id"] in ids],
            )
        )
    return out


def assert_same(a, b) -> None:
    for name in ("precision", "recall", "scores"):
        assert np.array_equal(getattr(a.accumulated, name), getattr(b.accumulated, name)), name
    assert np.array_equal(a.coco.stats, b.coco.stats)
    assert a.to_dict() == b.to_dict()
    pa, pb = a.point, b.point
    for name in ("tp", "fp", "fn"):
        assert np.array_equal(getattr(pa.counts, name), getattr(pb.counts, name))
    for ca, cb in zip(pa.curves, pb.curves):
        assert np.array_equal(ca.thresholds, cb.thresholds) and np.array_equal(ca.precision, cb.precision)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_batches_and_shards_in_any_order_equal_one_pass(seed, iou_type):
    rng = np.random.default_rng(seed)
    gt, dt = random_coco(40 + seed, segm=iou_type == "segm")
    options = {
        "class_agnostic": seed % 4 == 3,
        "confusion": True,
        "cost": {"tp": 1, "fp": -2, "fn": -5},
        "score_threshold": 0.3,
    }
    if seed % 3 == 1:
        options["max_dets"] = [1, 2, 3]
    whole = evaluate(copy.deepcopy(gt), copy.deepcopy(dt), iou_type, **options)
    batches = split(gt, dt, rng, int(rng.integers(1, 5)))
    rng.shuffle(batches)
    shards = [Evaluator(iou_type, **options) for _ in range(int(rng.integers(1, 4)))]
    for i, (g, d) in enumerate(batches):
        shards[i % len(shards)].update(g, d)
    main = shards[0]
    for other in shards[1:]:  # through state_dict and pickle, as between processes
        moved = Evaluator(iou_type, **options)
        moved.load_state_dict(pickle.loads(pickle.dumps(other.state_dict())))
        main.merge(moved)
    result = main.compute()
    assert_same(result, whole)
    assert np.array_equal(result.point.confusion, whole.point.confusion)
    assert result.point.cost.total == whole.point.cost.total


def test_misuse_is_refused():
    gt, dt = random_coco(3)
    ev = Evaluator()
    with pytest.raises(DetrecallError, match="nothing to compute"):
        ev.compute()
    ev.update(gt, dt)
    with pytest.raises(DetrecallError, match="was already evaluated"):
        ev.update(gt, dt)
    other_cats = copy.deepcopy(gt)
    other_cats["categories"][0]["name"] = "renamed"
    other_cats["images"] = [{"id": 123456, "width": 10, "height": 10}]
    other_cats["annotations"] = []
    with pytest.raises(DetrecallError, match="same categories"):
        ev.update(other_cats, [])
    with pytest.raises(DetrecallError, match="different options"):
        ev.merge(Evaluator(iou_threshold=0.7))
    with pytest.raises(TypeError):
        Evaluator(no_such_option=1)


def test_unknown_image_ids_are_refused_in_one_pass_and_in_streaming():
    """An image id the ground truth lacks is refused by both (it would be a phantom image in
    one pass, counted in image_ids, costs and the bootstrap, and dropped by the Evaluator)."""
    gt, dt = random_coco(4)
    ids = [im["id"] for im in gt["images"]][:3] + [10**9]
    with pytest.raises(DetrecallError, match="1 id\\(s\\) not among the ground truth's images: 1000000000"):
        evaluate(gt, dt, image_ids=ids)
    ev = Evaluator(image_ids=ids)
    ev.update(gt, dt)
    with pytest.raises(DetrecallError, match="not among the ground truth's images"):
        ev.compute()
    known = ids[:3]
    ev = Evaluator(image_ids=known)
    ev.update(gt, dt)
    assert (
        ev.compute().image_ids.tolist()
        == evaluate(gt, dt, image_ids=known).image_ids.tolist()
        == sorted(known)
    )


def test_merging_an_evaluator_into_itself_is_refused_not_a_hang():
    """Issue: merge(self) appended to the list it iterated and never returned."""
    ev = Evaluator()
    with pytest.raises(DetrecallError, match="into itself"):
        ev.merge(ev)
    gt, dt = random_coco(2)
    ev.update(gt, dt)
    with pytest.raises(DetrecallError, match="into itself"):
        ev.merge(ev)
