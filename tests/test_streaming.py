"""Evaluator: random batches and shards, any order, merged == one evaluate, to the bit."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

from detrecall import DetrecallError, Evaluator, evaluate, streaming
from detrecall.errors import DataWarning, InputError
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


def _image_arrays(gt: dict, dt: list) -> tuple[list[dict], list[dict]]:
    """The images as per-image xywh arrays (targets, preds), ids given."""
    targets, preds = [], []
    for im in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
        res = [r for r in dt if r["image_id"] == im["id"]]
        targets.append(
            {
                "boxes": np.array([a["bbox"] for a in anns], float).reshape(-1, 4),
                "labels": np.array([a["category_id"] for a in anns], np.int64),
                "iscrowd": np.array([a["iscrowd"] for a in anns], np.int64),
                "area": np.array([a["area"] for a in anns], float),
                "image_id": im["id"],
            }
        )
        preds.append(
            {
                "boxes": np.array([r["bbox"] for r in res], float).reshape(-1, 4),
                "labels": np.array([r["category_id"] for r in res], np.int64),
                "scores": np.array([r["score"] for r in res], float),
            }
        )
    return targets, preds


@pytest.mark.parametrize("merge_rows", [1, 40, 2**14])
@pytest.mark.parametrize("seed", range(6))
def test_any_batch_size_and_pending_size_equal_one_evaluate(seed, merge_rows, monkeypatch):
    """Batches of 1, 3 and all images, matched every image (1 row), every few or only at
    compute: the same numbers as one evaluate, to the bit, and state_dict/merge carry the
    batches not matched yet."""
    monkeypatch.setattr(streaming, "MERGE_ROWS", merge_rows)
    gt, dt = random_coco(200 + seed)
    names = {c["id"]: c["name"] for c in gt["categories"]}
    targets, preds = _image_arrays(gt, dt)
    options = {"box_format": "xywh", "categories": names, "confusion": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        whole = evaluate(targets, preds, **options)
        for size in (1, 3, len(targets)):
            ev, other = Evaluator(**options), Evaluator(**options)
            for k, start in enumerate(range(0, len(targets), size)):
                (other if k % 2 else ev).update(targets[start : start + size], preds[start : start + size])
            if merge_rows > 2**10:
                assert not ev._parts and ev._pending  # nothing matched before compute
            moved = Evaluator(**options)
            moved.load_state_dict(pickle.loads(pickle.dumps(other.state_dict())))
            ev.merge(moved)
            assert ev.nbytes > 0
            result = ev.compute()
            assert_same(result, whole)
            assert np.array_equal(result.point.confusion, whole.point.confusion)
            assert_same(ev.compute(), whole)  # again, from the state compute left


def test_a_bad_batch_is_refused_by_its_update_and_the_state_stays_as_it_was():
    gt, dt = random_coco(7)
    names = {c["id"]: c["name"] for c in gt["categories"]}
    targets, preds = _image_arrays(gt, dt)
    ev = Evaluator(box_format="xywh", categories=names)
    bad = [dict(p) for p in preds]
    bad[-1] = {**bad[-1], "scores": np.full(len(bad[-1]["labels"]), np.nan)}
    if not len(bad[-1]["labels"]):
        bad[-1] = {"boxes": [[0, 0, 1, 1]], "labels": [int(gt["categories"][0]["id"])], "scores": [np.nan]}
    with pytest.raises(InputError, match=rf"preds\[{len(bad) - 1}\]: scores: row 0 is not finite"):
        ev.update(targets, bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ev.update(targets, preds)  # the refused batch left nothing behind
        assert_same(ev.compute(), evaluate(targets, preds, box_format="xywh", categories=names))


def test_suspicious_rows_are_warned_of_when_matched_naming_update_image_and_row():
    """Rows are built (and warned of) with the other pending batches: a warning names the
    update, the image in its batch and the row, as evaluate names the image and row."""
    box = [[0, 0, 4, 4], [5, 5, 9, 9]]
    targets = [{"boxes": box, "labels": [0, 1]} for _ in range(2)]
    preds = [{"boxes": box, "labels": [0, 1], "scores": [0.5, 0.25]} for _ in range(2)]
    odd = [preds[0], {**preds[1], "scores": [0.5, 1.5]}]
    ev = Evaluator(categories=["a", "b"])
    ev.update(targets, preds)
    ev.update(targets, odd)
    with pytest.warns(DataWarning) as record:
        ev.compute()
    assert [str(w.message) for w in record] == [
        "preds: 1 score(s) outside [0, 1] (first: update 2: preds[1] row 1: 1.5)"
    ]
    with pytest.warns(DataWarning) as one_read:
        evaluate(targets, odd, categories=["a", "b"])
    assert [str(w.message) for w in one_read] == [
        "preds: 1 score(s) outside [0, 1] (first: preds[1] row 1: 1.5)"
    ]


def test_a_warning_raised_as_an_error_leaves_the_batches_in_the_state(monkeypatch):
    """Warnings come once the matches are kept: with DataWarning as an error the state is
    whole all the same (no batch lost, none matched twice)."""
    box = [[0, 0, 4, 4], [5, 5, 9, 9]]
    targets = [{"boxes": box, "labels": [0, 1]} for _ in range(3)]
    preds = [{"boxes": box, "labels": [0, 1], "scores": [0.5, s]} for s in (0.25, 1.5, 0.75)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        whole = evaluate(targets, preds, categories=["a", "b"])
    ev = Evaluator(categories=["a", "b"])
    ev.update(targets[:2], preds[:2])
    with pytest.raises(DataWarning, match="outside"):  # pytest runs with warnings as errors
        ev.compute()
    ev.update(targets[2:], preds[2:])
    assert_same(ev.compute(), whole)
    monkeypatch.setattr(streaming, "MERGE_ROWS", 1)  # matched by the update itself
    ev = Evaluator(categories=["a", "b"])
    with pytest.raises(DataWarning, match="outside"):
        ev.update(targets[:2], preds[:2])
    ev.update(targets[2:], preds[2:])
    assert_same(ev.compute(), whole)


def _many_images(seed: int, n: int = 50) -> tuple[list[dict], list[dict]]:
    """n images of per-image xyxy arrays: overlapping boxes on a coarse grid (IoU ties), scores
    on few levels (score ties), crowds, empty images, 3 classes."""
    rng = np.random.default_rng(seed)
    targets, preds = [], []
    for _ in range(n):
        g, d = int(rng.integers(0, 6)), int(rng.integers(0, 12))
        xy = rng.integers(0, 8, (g + d, 2)) * 4.0
        wh = rng.integers(1, 5, (g + d, 2)) * 4.0
        box = np.hstack([xy, xy + wh])
        targets.append({"boxes": box[:g], "labels": rng.integers(0, 3, g), "iscrowd": rng.random(g) < 0.1})
        preds.append(
            {"boxes": box[g:], "labels": rng.integers(0, 3, d), "scores": rng.choice([0.3, 0.6, 0.9], d)}
        )
    return targets, preds


@pytest.mark.parametrize("merge_rows", [100, 2**14])
@pytest.mark.parametrize("seed", range(3))
def test_batches_of_1_16_and_all_equal_one_evaluate(seed, merge_rows, monkeypatch):
    """50 images streamed 1, 16 or 50 at a time, matched every 100 rows or at compute only."""
    monkeypatch.setattr(streaming, "MERGE_ROWS", merge_rows)
    targets, preds = _many_images(seed)
    options = {"categories": ["a", "b", "c"], "max_dets": [1, 5, 100], "confusion": True}
    whole = evaluate(targets, preds, **options)
    for size in (1, 16, len(targets)):
        ev = Evaluator(**options)
        for start in range(0, len(targets), size):
            ev.update(targets[start : start + size], preds[start : start + size])
        rows = sum(len(t["labels"]) for t in targets + preds)
        assert bool(ev._parts) == (rows >= merge_rows)  # matched while streaming, or all at compute
        result = ev.compute()
        assert_same(result, whole)
        assert np.array_equal(result.point.confusion, whole.point.confusion)


@pytest.mark.parametrize("categories", [{2: "a", 7: "b", 9: "c"}, {-5: "a", 0: "b", 2**40: "c"}])
def test_classes_by_table_or_by_search_warned_of_as_one_evaluate(categories, monkeypatch):
    """Class ids close together (a table) or far apart (a binary search): streamed in batches
    matched every few images, the numbers and the one warning of a class predicted without
    ground truth are those of one evaluate."""
    monkeypatch.setattr(streaming, "MERGE_ROWS", 20)
    rng = np.random.default_rng(0)
    a, b, c = sorted(categories)
    targets, preds = _many_images(1, 30)
    for t, p in zip(targets, preds):  # labels 0, 1, 2 as the ids; c only predicted
        t["labels"] = np.array([a, b, b])[t["labels"]]
        p["labels"] = np.array([a, b, c])[p["labels"]]
        p["scores"] = rng.permutation(p["scores"])
    with pytest.warns(DataWarning) as one_read:
        whole = evaluate(targets, preds, categories=categories)
    ev = Evaluator(categories=categories)
    for start in range(0, len(targets), 4):
        ev.update(targets[start : start + 4], preds[start : start + 4])
    with pytest.warns(DataWarning) as streamed:
        assert_same(ev.compute(), whole)
    assert [str(w.message) for w in streamed] == [
        str(w.message).replace("(first: ", "(first: update 1: ") for w in one_read
    ]
