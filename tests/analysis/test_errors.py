"""TIDE error analysis: tidecv as the oracle on random crowd-free cases, counts by hand."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import DetrecallError, evaluate, read_detections, read_ground_truth
from detrecall.analysis.errors import KINDS, ErrorKind, class_ap, tide
from detrecall.types import Dataset, Detections
from tests.oracle import CONFORMANCE, random_coco

TIDE_NAMES = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")  # tidecv's short names, ErrorKind's order


def read(gt: dict[str, Any], dt: list[dict[str, Any]]) -> tuple[Dataset, Detections]:
    g = read_ground_truth(copy.deepcopy(gt))
    return g, read_detections(copy.deepcopy(dt), g)


def analyse(gt: dict[str, Any], dt: list[dict[str, Any]], **kw: Any) -> Any:
    g, d = read(gt, dt)
    return tide(g, d, evaluate(g, d), **kw)


def tidecv_reference(g: Dataset, d: Detections) -> tuple[float, dict[str, float], dict[str, float], dict]:
    """tidecv's AP, main and special dAPs (percentage points) and counts, the inputs passed
    through its Data classes in row order (every image registered, as its COCO loader does)."""
    tidecv = pytest.importorskip("tidecv")
    gt_data, dt_data = tidecv.Data("gt"), tidecv.Data("dt")
    for c, n in zip(g.categories.ids.tolist(), g.categories.names):
        gt_data.add_class(c, n)
        dt_data.add_class(c, n)
    for i in g.images.ids.tolist():
        gt_data.add_image(i, str(i))
    for r in range(len(g)):
        gt_data.add_ground_truth(int(g.image_id[r]), int(g.category_id[r]), g.box[r].tolist())
    for r in range(len(d)):
        dt_data.add_detection(int(d.image_id[r]), int(d.category_id[r]), float(d.score[r]), d.box[r].tolist())
    t = tidecv.TIDE()
    with contextlib.redirect_stdout(io.StringIO()):
        run = t.evaluate(gt_data, dt_data, mode=tidecv.TIDE.BOX)
        main = t.get_main_errors()["dt"]
        special = t.get_special_errors()["dt"]
    counts = {k.short_name: v for k, v in run.count_errors().items()}
    return run.ap, main, special, counts


def crowd_free(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt, dt = random_coco(seed)
    return dict(gt, annotations=[a for a in gt["annotations"] if not a["iscrowd"]]), dt


@pytest.mark.parametrize("seed", range(20))
def test_dap_equals_tidecv(seed: int) -> None:
    g, d = read(*crowd_free(seed))
    e = tide(g, d, evaluate(g, d))
    ap, main, special, counts = tidecv_reference(g, d)
    # tidecv works in percentage points; the same operations in the same order per class, the
    # class mean summed in another order: equal to ~1e-14 (2.2e-14 at most over 400 seeds)
    assert_allclose(100 * e.AP, ap, rtol=0, atol=1e-9)
    assert_allclose([100 * v for v in e.dAP], [main[n] for n in TIDE_NAMES], rtol=0, atol=1e-9)
    assert_allclose(100 * e.fp_dAP, special["FalsePos"], rtol=0, atol=1e-9)
    assert_allclose(100 * e.fn_dAP, special["FalseNeg"], rtol=0, atol=1e-9)
    assert dict(zip(TIDE_NAMES, e.counts)) == counts


def test_the_random_cases_exercise_every_error() -> None:
    """The oracle cases are not vacuous: every error type is counted and recovers AP somewhere."""
    counted, recovered = set(), set()
    for seed in range(20):
        e = analyse(*crowd_free(seed))
        counted |= {k for k in KINDS if e.counts[k]}
        recovered |= {k for k in KINDS if e.dAP[k] > 0}
    assert counted == set(KINDS)
    assert recovered >= {ErrorKind.CLS, ErrorKind.LOC, ErrorKind.DUPE, ErrorKind.BKG, ErrorKind.MISS}


def coco(images: list[int], anns: list[tuple], dets: list[tuple]) -> tuple[dict[str, Any], list[dict]]:
    """anns: (image, category, box[, iscrowd]); dets: (image, category, box, score)."""
    gt = {
        "images": [{"id": i, "width": 100, "height": 100} for i in images],
        "annotations": [
            {
                "id": n + 1,
                "image_id": a[0],
                "category_id": a[1],
                "bbox": list(a[2]),
                "area": float(a[2][2] * a[2][3]),
                "iscrowd": a[3] if len(a) > 3 else 0,
            }
            for n, a in enumerate(anns)
        ],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }
    return gt, [{"image_id": i, "category_id": c, "bbox": list(b), "score": s} for i, c, b, s in dets]


# One image; a = 1, b = 2.
#   A1 a [0,0,10,10]    A2 a [50,0,10,10]    B1 b [0,50,10,10]    A3 a [80,80,10,10]
#   d1 a .9 on A1, IoU 1                      -> TP
#   d2 a .8 on A1 again, IoU 1 (A1 taken)     -> dupe
#   d3 a .7 top of A2, IoU .4                 -> loc (A2 free: fixable)
#   d4 a .6 on B1, IoU 1, wrong class         -> cls (B1 free: fixable)
#   d5 b .5 on nothing                        -> bkg
#   d6 b .4 top of A2, IoU .4, wrong class    -> both
#   A3: nothing near it                       -> miss (A2, B1 are pointed at: not missed)
CASE_ONE = coco(
    [1],
    [(1, 1, (0, 0, 10, 10)), (1, 1, (50, 0, 10, 10)), (1, 2, (0, 50, 10, 10)), (1, 1, (80, 80, 10, 10))],
    [
        (1, 1, (0, 0, 10, 10), 0.9),
        (1, 1, (0, 0, 10, 10), 0.8),
        (1, 1, (50, 0, 10, 4), 0.7),
        (1, 1, (0, 50, 10, 10), 0.6),
        (1, 2, (30, 30, 5, 5), 0.5),
        (1, 2, (50, 0, 10, 4), 0.4),
    ],
)

# Image 1 has no ground truth; image 2 has A a [0,0,20,20] and a crowd a [50,50,40,40].
#   image 1: a .9 and b .3                    -> bkg, bkg (no ground truth at all)
#   image 2: a .8 [0,0,20,8], IoU .4 with A   -> loc, the best pointing at A: fixed
#            a .7 [0,0,8,20], IoU .4 with A   -> loc, not the best: dropped when fixed
#            a .6 inside the crowd            -> ignored by COCO: neither scored nor classified
#            b .5 on A, IoU 1, wrong class    -> cls, but A's fix goes to the .8 loc error
#   A is pointed at                           -> not missed
CASE_TWO = coco(
    [1, 2],
    [(2, 1, (0, 0, 20, 20)), (2, 1, (50, 50, 40, 40), 1)],
    [
        (1, 1, (0, 0, 10, 10), 0.9),
        (1, 2, (5, 5, 10, 10), 0.3),
        (2, 1, (0, 0, 20, 8), 0.8),
        (2, 1, (0, 0, 8, 20), 0.7),
        (2, 1, (55, 55, 10, 10), 0.6),
        (2, 2, (0, 0, 20, 20), 0.5),
    ],
)

# One image: A a [0,0,10,10], B b [20,0,10,10], C b [60,60,10,10].
#   a .9 on A, IoU 1                          -> TP
#   a .85 [0,1,10,10], IoU 90/110 with A      -> dupe
#   a .8 [1,0,10,10], IoU 90/110 with A       -> dupe
#   a .7 on B, IoU 1, wrong class             -> cls
#   b .6 [0,0,10,4], IoU .4 with A (class a)  -> both
#   a .5 [0,0,10,1.05], IoU .105 with A       -> loc (A taken: not fixable)
#   a .4 [0,0,10,.9], IoU .09 with A          -> bkg
#   C: nothing near it                        -> miss
CASE_THREE = coco(
    [7],
    [(7, 1, (0, 0, 10, 10)), (7, 2, (20, 0, 10, 10)), (7, 2, (60, 60, 10, 10))],
    [
        (7, 1, (0, 0, 10, 10), 0.9),
        (7, 1, (0, 1, 10, 10), 0.85),
        (7, 1, (1, 0, 10, 10), 0.8),
        (7, 1, (20, 0, 10, 10), 0.7),
        (7, 2, (0, 0, 10, 4), 0.6),
        (7, 1, (0, 0, 10, 1.05), 0.5),
        (7, 1, (0, 0, 10, 0.9), 0.4),
    ],
)


@pytest.mark.parametrize(
    ("case", "counts"),
    [
        (CASE_ONE, {"cls": 1, "loc": 1, "both": 1, "dupe": 1, "bkg": 1, "miss": 1}),
        (CASE_TWO, {"cls": 1, "loc": 2, "both": 0, "dupe": 0, "bkg": 2, "miss": 0}),
        (CASE_THREE, {"cls": 1, "loc": 1, "both": 1, "dupe": 2, "bkg": 1, "miss": 1}),
    ],
    ids=["one", "two", "three"],
)
def test_counts_by_hand(case: tuple[dict[str, Any], list[dict]], counts: dict[str, int]) -> None:
    e = analyse(*case)
    assert e.to_dict()["counts"] == counts
    assert {k.key: e.count(k) for k in KINDS} == counts


def test_each_error_by_hand() -> None:
    g, d = read(*CASE_ONE)
    e = tide(g, d, evaluate(g, d))
    by_score = {float(d.score[r]): (ErrorKind(k), int(t)) for r, k, t in zip(*_errors(e))}
    ann = {int(a): r for r, a in enumerate(g.ann_id)}  # ann id -> row
    assert by_score == {
        0.8: (ErrorKind.DUPE, ann[1]),
        0.7: (ErrorKind.LOC, ann[2]),
        0.6: (ErrorKind.CLS, ann[3]),
        0.5: (ErrorKind.BKG, -1),
        0.4: (ErrorKind.BOTH, -1),
    }
    assert g.ann_id[e.missed_gt_row].tolist() == [4]


def _errors(e: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return e.error_det_row, e.error_kind, e.error_gt_row


def test_fixes_by_hand() -> None:
    """CASE_TWO: class a holds bkg .9, loc .8, loc .7 and one positive; class b bkg .3 and cls
    .5, no positive: base AP 0 in both. Fixing loc makes .8 a TP after the .9 FP: precision
    1/2 at recall 1, class a AP 0.5, mean 0.25. Fixing cls changes nothing: A's fix goes to
    the .8 loc error (TIDE's one fix per ground truth, whatever the type), so the .5 is dropped
    from class b, whose AP stays 0. Fixing bkg leaves class a's loc errors only (AP 0) and
    empties class b, so the mean is over class a alone: 0. FP: the .8/.7 never become TPs: 0.
    FN: no false negative... A is one: without it class a has no positives, AP 0."""
    e = analyse(*CASE_TWO)
    assert e.AP == 0.0
    assert e.dap("loc") == 0.25
    assert e.dap("cls") == 0.0 and e.dap("bkg") == 0.0 and e.dap("miss") == 0.0
    assert e.fp_dAP == 0.0 and e.fn_dAP == 0.0
    a, b = e.per_class
    assert (a.name, a.AP, a.dAP[ErrorKind.LOC], a.counts) == ("a", 0.0, 0.5, (0, 2, 0, 0, 1, 0))
    assert (b.name, b.counts) == ("b", (1, 0, 0, 0, 1, 0))


@pytest.mark.parametrize("case", [CASE_ONE, CASE_THREE], ids=["one", "three"])
def test_hand_cases_equal_tidecv(case: tuple[dict[str, Any], list[dict]]) -> None:
    g, d = read(*case)
    e = tide(g, d, evaluate(g, d))
    ap, main, special, counts = tidecv_reference(g, d)
    assert_allclose([100 * e.AP, *(100 * v for v in e.dAP)], [ap, *(main[n] for n in TIDE_NAMES)], atol=1e-9)
    assert_allclose([100 * e.fp_dAP, 100 * e.fn_dAP], [special["FalsePos"], special["FalseNeg"]], atol=1e-9)
    assert dict(zip(TIDE_NAMES, e.counts)) == counts


def test_every_false_positive_is_classified_once() -> None:
    for seed in range(5):
        gt, dt = random_coco(seed)  # crowds too: their detections are ignored, not classified
        g, d = read(gt, dt)
        r = evaluate(g, d)
        e = tide(g, d, r)
        m = r.matches
        t, a = 0, r.params.area_labels.index("all")
        matched = m.matched_gt[a, t]
        fp = (matched < 0) & ~m.det_out_of_range[a]
        assert sorted(e.error_det_row.tolist()) == sorted(m.det_row[fp].tolist())
        n_fn = int(m.npos[:, a].sum()) - int((~m.ignored[a, t] & (matched >= 0)).sum())
        assert e.count("miss") <= n_fn
        assert sum(c.counts[k] for c in e.per_class for k in range(6)) == sum(e.counts)


def test_json_shape_and_no_detections() -> None:
    gt, _ = CASE_ONE
    e = analyse(gt, [])
    out = json.loads(json.dumps(e.to_dict()))
    assert set(out) >= {"dAP", "fp_dAP", "fn_dAP", "counts", "per_class"}
    assert list(out["dAP"]) == ["cls", "loc", "both", "dupe", "bkg", "miss"]
    assert out["counts"]["miss"] == 4 and out["AP"] == 0.0
    # fixing every miss leaves no class to average: undefined (tidecv divides by zero)
    assert out["dAP"]["miss"] is None and math.isnan(e.dap("miss"))
    assert e.table().rows[-2][0] == "FP"


def test_thresholds_checked_and_refit() -> None:
    with pytest.raises(DetrecallError, match="background_iou < foreground_iou"):
        analyse(*CASE_ONE, foreground_iou=0.1, background_iou=0.1)
    # at IoU 0.3, d3 (IoU .4 with A2) is a true positive: one error fewer, no loc error
    e = analyse(*CASE_ONE, foreground_iou=0.3)
    assert e.count("loc") == 0 and sum(e.counts) == 5
    with pytest.raises(DetrecallError, match="error kind"):
        e.dap("location")


def test_class_ap_by_hand() -> None:
    # class 0: TP, FP, TP of 2 positives -> precision 1, 1/2, 2/3; envelope 1, 2/3, 2/3
    # recall points 0..0.5 take 1 (51 of them), 0.51..1 take 2/3 (50): (51 + 100/3) / 101
    # class 1: no points, 3 positives -> 0; class 2: one FP, no positives -> 0, but counted
    ap, included = class_ap(np.array([0, 0, 0, 2]), np.array([True, False, True, False]), np.array([2, 3, 0]))
    assert_allclose(ap, [(51 + 50 * (2 / 3)) / 101, 0.0, 0.0], rtol=1e-14)
    assert included.tolist() == [True, True, True]


def test_conformance_case_equals_tidecv() -> None:
    """pycocotools' own 100-image val2014 example with its fake detections, crowds removed."""
    folder = CONFORMANCE / "cocoapi"
    if not folder.is_dir():
        pytest.skip(f"conformance data not found at {CONFORMANCE}")
    gt = json.loads((folder / "annotations" / "instances_val2014_100.json").read_text())
    gt["annotations"] = [a for a in gt["annotations"] if not a.get("iscrowd")]
    dt = json.loads((folder / "results" / "instances_val2014_fakebbox100_results.json").read_text())
    g = read_ground_truth(gt)
    d = read_detections(dt, g)
    e = tide(g, d, evaluate(g, d))
    ap, main, special, counts = tidecv_reference(g, d)
    mine = [100 * e.AP, *(100 * v for v in e.dAP), 100 * e.fp_dAP, 100 * e.fn_dAP]
    assert_allclose(
        mine, [ap, *(main[n] for n in TIDE_NAMES), special["FalsePos"], special["FalseNeg"]], atol=1e-9
    )
    assert dict(zip(TIDE_NAMES, e.counts)) == counts
