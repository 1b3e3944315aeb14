"""`detrecall evaluate` on inputs that are not what they should be: every bad record and a hint,
`--only-gt-images`, and one warning naming each suspicion (xyxy or normalized boxes, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from numpy.testing import assert_allclose

from detrecall.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GT = FIXTURES / "gt.json"
RESULTS: list[dict[str, Any]] = json.loads((FIXTURES / "dt_bbox.json").read_text())


def _run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, list[str]]:
    code = main(["evaluate", *map(str, args), "--format", "json"])
    out = capsys.readouterr()
    return code, out.out, out.err.splitlines()


def _write(tmp_path: Path, records: list[dict[str, Any]], name: str = "dt.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_results_on_other_images_all_named_then_only_gt_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = [dict(r, image_id=r["image_id"] + 10**6) if k % 5 == 0 else r for k, r in enumerate(RESULTS)]
    dt = _write(tmp_path, moved)
    code, out, err = _run(capsys, GT, dt)
    n = len(moved[::5])
    assert code == 2 and out == ""
    assert err[0] == (
        f"detrecall: error: {dt}: result 0: image_id: {moved[0]['image_id']} not found in the ground "
        f"truth's images ({GT})"
    )
    assert err[20] == f"detrecall: error: ... and {n - 20} more problem(s) not shown"
    assert err[21].startswith(f"detrecall: error: {dt}: hint: {n} result(s) on ")
    assert err[21].endswith("use only_gt_images=True (--only-gt-images)") and len(err) == 22
    code, out, err = _run(capsys, GT, dt, "--only-gt-images")
    assert code == 0
    assert len(err) == 1 and err[0].startswith(f"detrecall: warning: {dt}: {n} result(s) on ")
    assert "does not have left out (only_gt_images)" in err[0]
    kept = _write(tmp_path, [r for k, r in enumerate(RESULTS) if k % 5], "kept.json")
    code, want, err = _run(capsys, GT, kept)
    assert code == 0 and err == []
    assert_allclose(list(json.loads(out)["coco"].values()), list(json.loads(want)["coco"].values()), atol=0)


def _sizes() -> dict[int, tuple[int, int]]:
    return {i["id"]: (i["width"], i["height"]) for i in json.loads(GT.read_text())["images"]}


def _xyxy(r: dict[str, Any]) -> dict[str, Any]:
    x, y, w, h = r["bbox"]
    return dict(r, bbox=[x, y, x + w, y + h])


def _normalized(r: dict[str, Any]) -> dict[str, Any]:
    width, height = _sizes()[r["image_id"]]
    x, y, w, h = r["bbox"]
    return dict(r, bbox=[x / width, y / height, w / width, h / height])


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda: [_xyxy(r) for r in RESULTS],
            f"{len(RESULTS)} box(es) shaped like [x1, y1, x2, y2], not [x, y, w, h]: every 3rd value >= "
            "the 1st and 4th >= the 2nd, and 150 of them reach far outside their image (by more than 10% "
            "of its width or height) read as x, y, w, h (likely xyxy: COCO results are [x, y, x2 - x1, "
            "y2 - y1]) (first: result 0)",
        ),
        (
            lambda: [_normalized(r) for r in RESULTS],
            f"{len(RESULTS)} box(es), all within [0, 1]: likely normalized coordinates, not pixels (COCO "
            "results are [x, y, w, h] in pixels: multiply x and w by the image's width, y and h by its "
            "height) (first: result 0)",
        ),
        (lambda: [], "no results (an empty list): no predictions, every AP is 0"),
        (
            lambda: [dict(r, category_id=r["category_id"] + 1) for r in RESULTS if r["category_id"] < 3],
            "96 of 124 results have ground truth of their category id minus 1 on their image, 39 of their "
            "own category: the category ids look shifted by one (1-based ids against a 0-based ground "
            "truth?) (first: result 1, category_id 2)",
        ),
    ],
    ids=["xyxy", "normalized", "empty", "shifted"],
)
def test_suspicious_results_give_one_warning_naming_it(
    make: Any, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dt = _write(tmp_path, make())
    code, out, err = _run(capsys, GT, dt)
    assert code == 0 and json.loads(out)["coco"]
    assert err == [f"detrecall: warning: {dt}: {says}"]


def test_mask_results_evaluated_as_boxes_say_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dt = FIXTURES / "dt_segm.json"  # segmentation only, no bbox
    code, _, err = _run(capsys, GT, dt)
    assert code == 0
    assert err == [
        f"detrecall: warning: {dt}: 232 result(s) with a 'segmentation' and no 'bbox', evaluated by their "
        "masks' boxes (bbox): for mask AP, iou_type='segm' (--iou-type segm) (first: result 0)"
    ]
    code, _, err = _run(capsys, GT, dt, "--iou-type", "segm")
    assert code == 0 and err == []


@pytest.mark.parametrize(("dt", "iou_type"), [("dt_bbox.json", "bbox"), ("dt_segm.json", "segm")])
def test_the_bundled_example_gives_no_warning(
    dt: str, iou_type: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, GT, FIXTURES / dt, "--iou-type", iou_type)
    assert code == 0 and err == []
