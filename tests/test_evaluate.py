"""The orchestration's shortcuts equal the long way."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detrecall.evaluate import make_config, read_inputs
from detrecall.matching import EVERYWHERE, match, pair_ious, plan
from detrecall.protocols.coco import point_from
from tests.oracle import random_coco


@pytest.mark.parametrize("one_iou", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_point_matches_cut_from_coco_equal_a_second_match(seed: int, one_iou: bool) -> None:
    """With one threshold and one range holding every area, the cut is the COCO matches
    themselves (the same objects: a streaming part packs them once)."""
    config = (
        make_config("bbox", iou_thresholds=[0.5], area_ranges={"all": [0, 1e10]}, max_dets=[100])
        if one_iou
        else make_config("bbox", iou_threshold=[0.5, 0.75][seed % 2])
    )
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
    assert (cut is coco) == one_iou
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


def _yolo_pair(tmp_path):
    """The bundled example converted to YOLO label folders (ground truth and scored predictions)."""
    import warnings
    from pathlib import Path

    from detrecall.cli import main

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    gt_dir, dt_dir = tmp_path / "labels", tmp_path / "preds"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # crowds have no YOLO form
        assert main(["convert", str(fixtures / "gt.json"), str(gt_dir), "--to", "yolo"]) == 0
        assert main(["convert", str(fixtures / "dt_bbox.json"), str(dt_dir), "--to", "yolo", "--kind", "dt",
                     "--gt", str(fixtures / "gt.json")]) == 0  # fmt: skip
    return gt_dir, dt_dir


def test_evaluate_takes_yolo_folders_as_the_cli_does(tmp_path, capsys) -> None:
    import json
    import warnings

    import detrecall
    from detrecall.cli import main

    gt_dir, dt_dir = _yolo_pair(tmp_path)
    capsys.readouterr()
    assert main(["evaluate", str(gt_dir), str(dt_dir), "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api = detrecall.evaluate(str(gt_dir), dt_dir)
    assert {k: v for k, v in api.to_dict().items()} == {k: v for k, v in cli.items() if k != "schema_version"}
    assert api.coco.AP > 0.3 and len(api.per_class) == 5


def test_compare_takes_yolo_folders(tmp_path, capsys) -> None:
    import json

    from detrecall.cli import main

    gt_dir, dt_dir = _yolo_pair(tmp_path)
    capsys.readouterr()
    code = main(["compare", str(gt_dir), str(dt_dir), str(dt_dir), "--format", "json", "--bootstrap", "20"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["comparison"]["overall"]["AP"]["delta"] == 0.0 and data["gate"]["passed"]
