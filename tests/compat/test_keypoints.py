"""compat.COCOeval(iouType="keypoints") equals pycocotools' COCOeval element for element: ious
(computeOks' matrices, [] included), evalImgs, eval, stats and the printed lines, on
faster-coco-eval's keypoint case in ../shared/conformance and on random cases: COCO's 17 sigmas
and custom ones for 17, 5 and 3 keypoints, ground truth with num_keypoints 0 (ignored by the
field, whatever its keypoints say), crowds, several categories, edited params."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pycocotools.cocoeval import COCOeval as ReferenceCOCOeval
from pycocotools.cocoeval import Params as ReferenceParams

from detrecall.compat import COCOeval, Params
from tests.compat._reference import assert_same_run, coco_of, quiet, run
from tests.protocols.test_keypoints import random_keypoints

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
KEYPOINT_CASE = CONFORMANCE / "faster_coco_eval" / "tests" / "keypoints_dataset"

# (number of keypoints, sigmas or None for COCO's 17) by seed % 4
SIGMAS: tuple[tuple[int, np.ndarray | None], ...] = (
    (17, None),
    (5, np.array([0.3, 0.5, 0.7, 0.9, 1.1]) / 10),
    (3, np.array([0.089, 0.035, 0.035])),
    (17, np.linspace(0.2, 1.2, 17) / 10),
)


def keypoint_case(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]], np.ndarray | None]:
    """A random case whose num_keypoints fields sometimes disagree with the keypoints: 0 for a
    labelled person (pycocotools ignores it by the field) and a count for one without labelled
    keypoints (compared by the distance to its doubled box, not ignored)."""
    n_kpt, sigmas = SIGMAS[seed % 4]
    gt, dt = random_keypoints(700 + seed, n_kpt, n_cat=1 + seed % 3)
    rng = np.random.default_rng(seed)
    for a in gt["annotations"]:
        if a["num_keypoints"] and rng.uniform() < 0.1:
            a["num_keypoints"] = 0
        elif not a["num_keypoints"] and rng.uniform() < 0.5:
            a["num_keypoints"] = int(rng.integers(1, n_kpt + 1))
    if not dt:  # loadRes needs a result
        dt = random_keypoints(1700 + seed, n_kpt)[1][:1]
        dt[0]["image_id"] = gt["images"][0]["id"]
    return gt, dt, sigmas


def _inputs(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[Any, Any]:
    return (lambda: coco_of(gt)), (lambda coco: quiet(lambda: coco.loadRes(copy.deepcopy(dt)))[0])


def _set(**values: Any) -> Any:
    def setup(p: Any) -> None:
        for k, v in values.items():
            setattr(p, k, copy.deepcopy(v))

    return setup


def test_params_are_pycocotools_keypoint_params() -> None:
    ours, ref = vars(Params("keypoints")), vars(ReferenceParams("keypoints"))
    assert list(ours) == list(ref)
    for k, r in ref.items():
        assert type(ours[k]) is type(r), k
        assert np.array_equal(np.asarray(ours[k]), np.asarray(r)), k


def test_conformance_case_equals_pycocotools() -> None:
    if not KEYPOINT_CASE.is_dir():
        pytest.skip(f"conformance data not found at {KEYPOINT_CASE} (../shared/conformance)")
    from pycocotools.coco import COCO

    ours, ref = assert_same_run(
        lambda: quiet(lambda: COCO(str(KEYPOINT_CASE / "gt_dataset.json")))[0],
        lambda coco: quiet(lambda: coco.loadRes(str(KEYPOINT_CASE / "dt_dataset.json")))[0],
        "keypoints",
    )
    assert len(ours.stats) == 10 and ref.stats[0] > 0.4
    assert any(isinstance(v, np.ndarray) and v.size for v in ref.ious.values())


@pytest.mark.parametrize("seed", range(20))
def test_random_cases_equal_pycocotools(seed: int) -> None:
    gt, dt, sigmas = keypoint_case(seed)
    setup = None if sigmas is None else _set(kpt_oks_sigmas=sigmas)
    ours, ref = assert_same_run(*_inputs(gt, dt), "keypoints", setup)
    if seed % 4 == 0:  # the case is not degenerate
        assert 0 < ref.stats[0] < 1
    if seed < 4:  # num_keypoints 0 is in play: flagged ignored in evalImgs
        unlabelled = {a["id"] for a in gt["annotations"] if a["num_keypoints"] == 0}
        assert unlabelled
        flagged = {g for e in ref.evalImgs if e is not None for g, ig in zip(e["gtIds"], e["gtIgnore"]) if ig}
        assert unlabelled <= flagged


def test_summarize_prints_pycocotools_lines() -> None:
    gt, dt, _ = keypoint_case(0)
    printed = []
    for cls in (ReferenceCOCOeval, COCOeval):
        ev, _ = run(cls, *_inputs(gt, dt), "keypoints", steps=lambda e: (e.evaluate(), e.accumulate()))
        _, out = quiet(ev.summarize)
        printed.append(out)
    assert printed[0] == printed[1]
    assert len(printed[1].splitlines()) == 10 and "maxDets= 20" in printed[1]


@pytest.mark.parametrize(
    "edit",
    [
        {"maxDets": [1, 5, 20]},
        {"maxDets": [10]},  # no maxDets 20: the summary's -1s
        {"iouThrs": np.array([0.3, 0.5, 0.75])},
        {"recThrs": np.linspace(0, 1, 11)},
        {"areaRng": [[0, 1e10], [0, 2000]], "areaRngLbl": ["all", "medium"]},
        {"catIds": [2]},
        {"imgIds": [1, 2]},
    ],
)
def test_params_edited_after_construction(edit: dict[str, Any]) -> None:
    gt, dt, _ = keypoint_case(4)  # COCO's 17 sigmas, 2 categories
    assert_same_run(*_inputs(gt, dt), "keypoints", _set(**edit))


def test_sigmas_edited_between_evaluations() -> None:
    gt, dt, _ = keypoint_case(8)
    sigmas = np.linspace(0.5, 1.5, 17) / 10

    def steps(e: Any) -> None:
        e.evaluate()
        e.params.kpt_oks_sigmas = sigmas
        e.evaluate()
        e.accumulate()
        e.summarize()

    ours, ref = assert_same_run(*_inputs(gt, dt), "keypoints", steps=steps)
    default, _ = run(ReferenceCOCOeval, *_inputs(gt, dt), "keypoints")
    assert not np.allclose(default.stats, ref.stats)  # the sigmas changed the numbers


def test_accumulate_with_other_params_equals_pycocotools() -> None:
    gt, dt, _ = keypoint_case(0)

    def steps(e: Any) -> None:
        e.evaluate()
        p = copy.deepcopy(e.params)
        p.recThrs = np.linspace(0, 1, 21)
        e.accumulate(p)

    assert_same_run(*_inputs(gt, dt), "keypoints", steps=steps)


def test_class_agnostic_scores_oks_across_categories() -> None:
    """useCats=0: pycocotools' computeOks looks up (imgId, -1), which holds no annotation, so
    nothing ever matches (every number 0). detrecall compares all of an image's keypoints, as
    class-agnostic bbox does: the numbers of pycocotools with one category for all."""
    gt, dt, _ = keypoint_case(16)  # 17 keypoints, 2 categories
    # one category, each image's annotations in the order class-agnostic evaluation takes
    # them: by category, then file order
    gt_one = copy.deepcopy(gt)
    gt_one["annotations"] = [
        dict(a, category_id=1) for a in sorted(gt["annotations"], key=lambda a: a["category_id"])
    ]
    dt_one = [dict(d, category_id=1) for d in sorted(dt, key=lambda d: d["category_id"])]
    agnostic = _set(useCats=0)
    theirs, _ = run(ReferenceCOCOeval, *_inputs(gt, dt), "keypoints", agnostic)
    assert np.all(theirs.stats == 0)
    ours, _ = run(COCOeval, *_inputs(gt, dt), "keypoints", agnostic)
    one, _ = run(ReferenceCOCOeval, *_inputs(gt_one, dt_one), "keypoints", _set(catIds=[1]))
    assert_allclose(ours.stats, one.stats, atol=1e-12, rtol=0)
    assert ours.stats[0] > 0


def test_keypoints_of_another_length_than_the_sigmas_are_refused() -> None:
    gt, dt, _ = keypoint_case(0)
    with pytest.raises(ValueError, match="annotation .*: keypoints has 51 numbers .*expected 15"):
        run(COCOeval, *_inputs(gt, dt), "keypoints", _set(kpt_oks_sigmas=np.full(5, 0.05)))
    with pytest.raises(ValueError):  # pycocotools too (its arrays do not broadcast)
        run(ReferenceCOCOeval, *_inputs(gt, dt), "keypoints", _set(kpt_oks_sigmas=np.full(5, 0.05)))
