"""The orchestration's shortcuts equal the long way."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detrecall.evaluate import make_config, read_inputs
from detrecall.matching import EVERYWHERE, match, pair_ious, plan
from detrecall.protocols.coco import point_from
from tests.oracle import random_coco


@pytest.mark.parametrize("seed", range(12))
def test_point_matches_cut_from_coco_equal_a_second_match(seed: int) -> None:
    config = make_config("bbox", iou_threshold=[0.5, 0.75][seed % 2])
    gt, dt = read_inputs(*random_coco(seed), config)
    params = config.params
    p = plan(gt, dt, params)
    iou = pair_ious("bbox", p, gt, dt)
    coco = match(
        p,
        iou,
        gt,
        dt,
        iou_thresholds=params.iou_thresholds,
        area_ranges=params.area_ranges,
        max_det=params.max_dets[-1],
    )
    cut = point_from(coco, p, gt, dt, config.params, config.point)
    again = match(
        p, iou, gt, dt, iou_thresholds=np.array([config.point.iou_threshold]), area_ranges=EVERYWHERE
    )
    assert cut is not None
    for f in dataclasses.fields(again):
        np.testing.assert_array_equal(getattr(cut, f.name), getattr(again, f.name), err_msg=f.name)
    # not taken when a group is cut by max_dets, or the IoU is not a COCO threshold
    small = make_config("bbox", max_dets=[1])
    assert point_from(coco, p, gt, dt, small.params, small.point) is None or (
        len(p.dt_rank) == 0 or p.dt_rank.max() == 0
    )
    odd = make_config("bbox", iou_threshold=0.42)
    assert point_from(coco, p, gt, dt, odd.params, odd.point) is None


@pytest.mark.parametrize("seed", range(16))
def test_plan_score_order_equals_a_fresh_sort_of_the_kept_detections(seed: int) -> None:
    """Score ties (random_coco draws scores from 3 levels in some seeds) and max-dets cuts."""
    from detrecall.aggregate import by_score
    from detrecall.matching import score_order

    gt, dt = read_inputs(*random_coco(seed), make_config("bbox"))
    for max_dets, agnostic in (([100], False), ([1, 2], False), ([3], True)):
        params = make_config("bbox", max_dets=max_dets, class_agnostic=agnostic).params
        p = plan(gt, dt, params)
        m = match(
            p,
            pair_ious("bbox", p, gt, dt),
            gt,
            dt,
            iou_thresholds=params.iou_thresholds,
            area_ranges=params.area_ranges,
            max_det=params.max_dets[-1],
        )
        np.testing.assert_array_equal(score_order(p, params.max_dets[-1]), by_score(m.det_score))
