"""Keypoints (OKS) against pycocotools: the 10 numbers, the whole precision/recall arrays, per
class; COCO's 17 sigmas and custom sigmas for any number of keypoints."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detrecall import DetrecallError, evaluate


def random_keypoints(seed: int, n_kpt: int = 17, n_cat: int = 1) -> tuple[dict, list]:
    """People with n_kpt keypoints (some unlabelled, some people with none, a few crowds) and
    detections near some of them, others anywhere."""
    rng = np.random.default_rng(seed)
    images, anns, dts = [], [], []
    for i in range(int(rng.integers(3, 9))):
        images.append({"id": i + 1, "width": 640, "height": 480})
        for _ in range(int(rng.integers(0, 6))):
            x, y = rng.uniform(0, 500), rng.uniform(0, 350)
            w, h = rng.uniform(8, 140), rng.uniform(8, 130)
            kp = np.zeros((n_kpt, 3))
            kp[:, 0] = x + rng.uniform(0, w, n_kpt)
            kp[:, 1] = y + rng.uniform(0, h, n_kpt)
            kp[:, 2] = rng.choice([0, 1, 2], n_kpt, p=[0.3, 0.2, 0.5])
            if rng.uniform() < 0.15:
                kp[:] = 0  # no labelled keypoint: ignored
            kp[kp[:, 2] == 0, :2] = 0
            cat = int(rng.integers(1, n_cat + 1))
            anns.append({
                "id": len(anns) + 1, "image_id": i + 1, "category_id": cat, "bbox": [x, y, w, h],
                "area": float(w * h * rng.uniform(0.5, 1.0)), "iscrowd": int(rng.uniform() < 0.05),
                "keypoints": kp.ravel().tolist(), "num_keypoints": int((kp[:, 2] > 0).sum()),
            })  # fmt: skip
            for _ in range(int(rng.integers(0, 3))):
                d = kp.copy()
                d[:, :2] = np.where(kp[:, 2:3] > 0, kp[:, :2], [x + w / 2, y + h / 2]) + rng.normal(
                    0, 4, (n_kpt, 2)
                )
                d[:, 2] = 1
                dts.append({"image_id": i + 1, "category_id": cat, "keypoints": d.ravel().tolist(),
                            "score": float(rng.choice([0.5, rng.uniform()]))})  # fmt: skip
        for _ in range(int(rng.integers(0, 3))):  # false positives
            d = np.column_stack([rng.uniform(0, 640, n_kpt), rng.uniform(0, 480, n_kpt), np.ones(n_kpt)])
            dts.append({"image_id": i + 1, "category_id": int(rng.integers(1, n_cat + 1)),
                        "keypoints": d.ravel().tolist(), "score": float(rng.uniform())})  # fmt: skip
    cats = [
        {"id": c, "name": f"person{c}", "keypoints": [f"k{j}" for j in range(n_kpt)]}
        for c in range(1, n_cat + 1)
    ]
    return {"images": images, "annotations": anns, "categories": cats}, dts


def reference(gt: dict, dt: list, sigmas: np.ndarray | None = None) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        e = COCOeval(coco, coco.loadRes(copy.deepcopy(dt)), "keypoints")
        if sigmas is not None:
            e.params.kpt_oks_sigmas = sigmas
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


@pytest.mark.parametrize("seed", range(30))
def test_keypoints_equal_pycocotools(seed: int) -> None:
    custom = seed % 3 == 2
    n_kpt = 5 if custom else 17
    gt, dt = random_keypoints(seed, n_kpt, n_cat=1 + seed % 2)
    if not dt:
        dt = random_keypoints(seed + 1000, n_kpt)[1][:1]
        for d in dt:
            d["image_id"] = gt["images"][0]["id"]
    sigmas = np.array([0.3, 0.5, 0.7, 0.9, 1.1])[:n_kpt] / 10 if custom else None
    ref = reference(gt, dt, sigmas)
    ours = evaluate(gt, dt, "keypoints", kpt_oks_sigmas=None if sigmas is None else sigmas.tolist())
    assert len(ours.coco.stats) == 10
    assert_allclose(ours.coco.stats, ref.stats, atol=1e-9, rtol=0)
    assert_allclose(ours.accumulated.precision, ref.eval["precision"], atol=1e-9, rtol=0)
    assert_allclose(ours.accumulated.recall, ref.eval["recall"], atol=1e-9, rtol=0)
    assert_allclose(ours.accumulated.scores, ref.eval["scores"], atol=1e-9, rtol=0)


def test_keypoint_summary_is_named_and_labelled_as_pycocotools_prints_it() -> None:
    gt, dt = random_keypoints(3)
    r = evaluate(gt, dt, "keypoints")
    assert list(r.to_dict()["coco"]) == [
        "AP",
        "AP50",
        "AP75",
        "APm",
        "APl",
        "AR",
        "AR50",
        "AR75",
        "ARm",
        "ARl",
    ]
    out = io.StringIO()
    e = reference(gt, dt)
    with contextlib.redirect_stdout(out):
        e.summarize()
    theirs = [line.rsplit(" = ", 1)[0] for line in out.getvalue().splitlines()]
    assert [f" {d.label()}" for d in r.coco.metrics] == theirs
    assert r.params.max_dets == (20,) and r.params.area_labels == ("all", "medium", "large")


def test_operating_point_counts_on_oks() -> None:
    gt, dt = random_keypoints(4)
    r = evaluate(gt, dt, "keypoints", iou_threshold=0.5)
    e = reference(gt, dt)
    t = list(e.params.iouThrs).index(0.5)
    tp = sum(int(((ev["dtMatches"][t] > 0) & ~ev["dtIgnore"][t].astype(bool)).sum())
             for ev in e.evalImgs if ev is not None and ev["aRng"] == e.params.areaRng[0])  # fmt: skip
    assert int(r.point.counts.tp.sum()) == tp  # 20 per image are pycocotools' cut; ours counts all
    assert r.point.counts.predicted.sum() >= tp


def test_bad_keypoints_are_refused_with_the_record() -> None:
    gt, dt = random_keypoints(5)
    dt[1]["keypoints"] = dt[1]["keypoints"][:-1]
    with pytest.raises(DetrecallError, match="result 1: keypoints: is .* list of 3K finite numbers"):
        evaluate(gt, dt, "keypoints")
    gt2, dt2 = random_keypoints(5)
    with pytest.raises(DetrecallError, match="one per keypoint"):
        evaluate(gt2, dt2, "keypoints", kpt_oks_sigmas=[0.1])
    with pytest.raises(DetrecallError, match="not keypoints"):
        evaluate(gt2, dt2, "keypoints", protocol="voc")
