"""Suspicious COCO results (xyxy or normalized boxes, an empty file, shifted categories, masks
evaluated as boxes): one DataWarning each on the bad exports, none on legitimate data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from detrecall.errors import DataWarning
from detrecall.io import read_detections, read_ground_truth
from tests.oracle import CONFORMANCE, random_coco

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _messages(gt: Any, dt: Any, masks: bool = False) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_detections(dt, read_ground_truth(gt, masks=masks), masks=masks)
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


@pytest.mark.parametrize("segm", [False, True])
def test_no_warning_on_the_oracles_random_cases(segm: bool) -> None:
    for seed in range(200):
        gt, dt = random_coco(seed, segm)
        assert _messages(gt, dt, masks=segm) == [], seed


def test_no_warning_on_the_fixtures(tmp_path: Path) -> None:
    assert _messages(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json") == []
    assert _messages(FIXTURES / "gt.json", FIXTURES / "dt_segm.json", masks=True) == []


def _conformance_coco_cases() -> list[Any]:
    cases = []
    for exp in sorted(CONFORMANCE.glob("*/expected.json")):
        for name, case in json.loads(exp.read_text()).items():
            if isinstance(case, dict) and case.get("iou_type") in ("bbox", "segm"):
                cases.append(pytest.param(exp.parent, case, id=f"{exp.parent.name}/{name}"))
    return cases or [pytest.param(None, None, marks=pytest.mark.skip(reason=f"no {CONFORMANCE}"))]


@pytest.mark.parametrize(("folder", "case"), _conformance_coco_cases())
def test_no_warning_on_the_conformance_data(folder: Path, case: dict[str, Any]) -> None:
    masks = case["iou_type"] == "segm"
    assert _messages(folder / case["gt"], folder / case["dt"], masks=masks) == []


GT = {
    "images": [{"id": k, "width": 100, "height": 100} for k in range(1, 11)],
    "annotations": [
        {"id": k, "image_id": k, "category_id": 1, "bbox": [40, 40, 20, 20], "area": 400, "iscrowd": 0}
        for k in range(1, 11)
    ],
    "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
}


def _results(boxes: list[list[float]], category_id: int = 1) -> list[dict[str, Any]]:
    return [
        {"image_id": k % 10 + 1, "category_id": category_id, "bbox": b, "score": 0.5}
        for k, b in enumerate(boxes)
    ]


def test_a_few_boxes_outside_are_not_suspicious() -> None:
    inside, outside = [50.0, 50, 10, 10], [95.0, 50, 30, 10]  # 125 > 110: far; not xyxy-shaped (w < x)
    assert _messages(GT, _results([outside] * 5 + [inside] * 5)) == []  # half: legitimate unclipped boxes
    assert _messages(GT, _results([outside] * 6 + [inside] * 4)) == [
        "<in-memory>: 6 of 10 boxes reach far outside their image (by more than 10% of its width or "
        "height): are they [x, y, w, h] in pixels of these images? (xyxy or [cx, cy, w, h] boxes, or "
        "boxes of resized images, do this) (first: result 0)"
    ]


def test_boxes_at_the_border_reaching_out_a_little_are_not_suspicious() -> None:
    border = [[-3.0, 20, 40, 40], [70.0, -2, 35, 30], [60.0, 70, 45, 38]]  # out by 2-5 px of 100
    assert _messages(GT, _results(border * 10)) == []


def test_xyxy_needs_every_box_shaped_so() -> None:
    xyxy = [[40.0, 40, 90, 90]] * 9  # 40 + 90 > 110: far outside when read as x, y, w, h
    assert "shaped like [x1, y1, x2, y2]" in _messages(GT, _results([*xyxy, [30.0, 30, 50, 50]]))[0]
    odd = _messages(GT, _results([*xyxy, [60.0, 30, 20, 20]]))  # one box that xyxy cannot be
    assert len(odd) == 1 and odd[0].startswith("<in-memory>: 9 of 10 boxes reach far outside their image")
    quarter = [[40.0, 40, 90, 90]] * 6 + [[10.0, 10, 40, 40]] * 14  # all shaped, 6 of 20 far outside
    assert "shaped like [x1, y1, x2, y2]" in _messages(GT, _results(quarter))[0]
    assert _messages(GT, _results(quarter[2:8] + quarter[-10:])) == []  # 4: too few to tell


def test_normalized_boxes_only_against_a_ground_truth_in_pixels() -> None:
    small = _results([[0.4, 0.4, 0.2, 0.2]] * 3)
    assert "all within [0, 1]: likely normalized" in _messages(GT, small)[0]
    in_units = json.loads(json.dumps(GT))
    for a in in_units["annotations"]:
        a["bbox"] = [0.4, 0.4, 0.2, 0.2]
    assert _messages(in_units, small) == []  # a ground truth in the same units


def test_shifted_categories_need_evidence() -> None:
    assert _messages(GT, _results([[40.0, 40, 20, 20]] * 19, category_id=2)) == []  # 19 < 20 detections
    got = _messages(GT, _results([[40.0, 40, 20, 20]] * 20, category_id=2))
    assert got == [
        "<in-memory>: 20 of 20 results have ground truth of their category id minus 1 on their image, 0 of "
        "their own category: the category ids look shifted by one (1-based ids against a 0-based ground "
        "truth?) (first: result 0, category_id 2)"
    ]


def test_an_empty_list_in_memory_is_not_suspicious(tmp_path: Path) -> None:
    assert _messages(GT, []) == []  # a streaming batch without detections
    (tmp_path / "dt.json").write_text("[]")
    assert _messages(GT, tmp_path / "dt.json") == [
        f"{tmp_path / 'dt.json'}: no results (an empty list): no predictions, every AP is 0"
    ]


def test_mask_results_as_boxes_from_a_file_only(tmp_path: Path) -> None:
    gt, dt = random_coco(3, segm=True)  # segmentations, no bbox
    assert _messages(gt, dt) == []  # in code, iou_type="bbox" is a choice
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    assert _messages(gt, tmp_path / "dt.json") == [
        f"{tmp_path / 'dt.json'}: {len(dt)} result(s) with a 'segmentation' and no 'bbox', evaluated by "
        "their masks' boxes (bbox): for mask AP, iou_type='segm' (--iou-type segm) (first: result 0)"
    ]
    assert _messages(gt, tmp_path / "dt.json", masks=True) == []
