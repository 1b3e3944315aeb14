"""Per-image figures: sums equal the per-class totals, AP50 equals evaluating the image alone."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import DetrecallError, evaluate, read_detections, read_ground_truth
from detrecall.analysis.per_image import COLUMNS, image_ap, per_image
from tests.analysis.test_errors import CASE_ONE, CASE_TWO
from tests.oracle import random_coco


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("score_threshold", [0.0, 0.5])
def test_sums_equal_the_per_class_totals(seed: int, score_threshold: float) -> None:
    gt, dt = random_coco(seed)  # crowds, empty images, images with only detections
    r = evaluate(gt, dt, score_threshold=score_threshold)
    table = per_image(r)
    c = r.point.counts
    assert (int(table.tp.sum()), int(table.fp.sum()), int(table.fn.sum())) == (
        int(c.tp.sum()),
        int(c.fp.sum()),
        int(c.fn.sum()),
    )
    assert table.image_id.tolist() == sorted(im["id"] for im in gt["images"])


@pytest.mark.parametrize("seed", range(6))
def test_ap50_equals_the_image_evaluated_alone(seed: int) -> None:
    gt, dt = random_coco(seed)
    g = read_ground_truth(copy.deepcopy(gt))
    d = read_detections(copy.deepcopy(dt), g)
    table = per_image(evaluate(g, d))
    alone = [evaluate(g, d, image_ids=[int(i)]).coco["AP50"] for i in table.image_id]
    # the same sampled precisions; their mean is summed in another order than np.mean's
    assert_allclose(table.AP50, alone, rtol=0, atol=1e-12)
    assert np.isnan(table.AP50).tolist() == [math.isnan(v) for v in alone]


def test_by_hand() -> None:
    # CASE_ONE at IoU .5, score >= .55: d1 TP (A1), d2 FP (dupe), d3 FP (loc), d4 FP (cls);
    # d5, d6 below the threshold; A2, B1, A3 missed: 1 TP, 3 FP, 3 FN
    r = evaluate(*copy.deepcopy(CASE_ONE), score_threshold=0.55)
    (row,) = per_image(r).rows()
    assert row == (1, 1, 3, 3, 0.25, 0.25, 0.25, row[-1])
    # CASE_TWO: image 1 has no ground truth and two FPs; image 2 one FP-only class a (A
    # missed at IoU .5: the loc errors) -> 0 TP; the crowd detection is ignored
    table = per_image(evaluate(*copy.deepcopy(CASE_TWO)))
    assert [r[:4] for r in table.rows()] == [(1, 0, 2, 0), (2, 0, 3, 1)]
    assert math.isnan(table.AP50[0]) and table.AP50[1] == 0.0
    assert table.precision.tolist() == [0.0, 0.0] and table.recall.tolist() == [0.0, 0.0]
    nan = per_image(evaluate(*copy.deepcopy(CASE_TWO)), zero_division=math.nan)
    assert math.isnan(nan.recall[0]) and nan.precision[0] == 0.0


def test_worst_csv_pandas(tmp_path: Path) -> None:
    gt, dt = random_coco(3)
    table = per_image(evaluate(gt, dt))
    worst = table.worst(3)
    errors = table.errors
    assert worst.errors.tolist() == sorted(errors.tolist(), reverse=True)[:3]
    assert len(table.worst(100)) == len(table)
    low = table.worst(2, by="AP50")
    assert low.AP50.tolist() == sorted(v for v in table.AP50.tolist() if not math.isnan(v))[:2]
    with pytest.raises(DetrecallError, match="by must be one of"):
        table.worst(by="precision!")

    text = table.to_csv(tmp_path / "per_image.csv")
    assert (tmp_path / "per_image.csv").read_text() == text
    header, *lines = text.splitlines()
    assert header == ",".join(COLUMNS) == "image_id,tp,fp,fn,precision,recall,f1,AP50"
    assert len(lines) == len(table)
    first = lines[0].split(",")
    assert int(first[0]) == table.image_id[0] and float(first[4]) == table.precision[0]

    pandas = pytest.importorskip("pandas")
    frame = table.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(COLUMNS)
    assert frame["tp"].sum() == table.tp.sum()
    assert table.table().headers == COLUMNS
    assert set(table.to_dict()[0]) == set(COLUMNS)


def test_ap50_undefined_without_iou_half() -> None:
    gt, dt = random_coco(1)
    r = evaluate(gt, dt, iou_thresholds=[0.75])
    table = per_image(r)
    assert np.isnan(table.AP50).all() and int(table.tp.sum()) == int(r.point.counts.tp.sum())
    with pytest.raises(DetrecallError, match="needs IoU 0.5"):
        image_ap(r, table.image_id)
