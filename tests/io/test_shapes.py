"""Reading polygons and rotated boxes: areas and boxes, repairs reported, bad input located."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose

from detrecall import DetrecallError, InputError, evaluate
from detrecall.errors import GeometryRepairWarning
from detrecall.io import read_detections, read_ground_truth

SQUARE = [0, 0, 4, 0, 4, 4, 0, 4]
BOW_TIE = [0, 0, 4, 4, 4, 0, 0, 4]


def coco(anns: list[dict[str, Any]]) -> dict[str, Any]:
    records = [{"id": k + 1, "image_id": 1, "category_id": 1, **a} for k, a in enumerate(anns)]
    return {
        "images": [{"id": 1, "width": 50, "height": 50}],
        "annotations": records,
        "categories": [{"id": 1, "name": "thing"}],
    }


def result(**fields: Any) -> dict[str, Any]:
    return {"image_id": 1, "category_id": 1, "score": 0.9, **fields}


def test_areas_and_boxes_come_from_the_shapes() -> None:
    gt = read_ground_truth(
        coco(
            [
                {"segmentation": [SQUARE], "area": 99.0},  # the file's area wins
                {"segmentation": [[10, 10, 14, 10, 10, 13]]},
            ]
        ),
        shapes="polygon",
    )
    assert gt.area.tolist() == [99.0, 6.0]
    assert gt.box.tolist() == [[0, 0, 4, 4], [10, 10, 4, 3]]
    assert gt.shapes is not None and not gt.shapes.flags.writeable
    dt = read_detections(
        [result(rbox=[5, 5, 4, 2, math.pi / 2], bbox=[0, 0, 1, 1])],
        read_ground_truth(coco([{"rbox": [5, 5, 4, 2, 0]}]), shapes="rotated"),
        shapes="rotated",
    )
    assert_allclose(dt.area, [8.0])
    assert_allclose(dt.box, [[4, 3, 2, 4]], atol=1e-12)  # the rbox's bounds, not the given bbox


def test_repairs_are_reported_once_with_count_and_records(tmp_path: Path) -> None:
    path = tmp_path / "gt.json"
    path.write_text(
        json.dumps(
            coco(
                [{"segmentation": [SQUARE]}, {"segmentation": [BOW_TIE]}, {"segmentation": [SQUARE, BOW_TIE]}]
            )
        )
    )
    with pytest.warns(GeometryRepairWarning) as caught:
        gt = read_ground_truth(path, shapes="polygon")
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"{path}: 2 invalid polygon(s) (self-intersecting or without area) repaired with "
        "shapely.make_valid, polygonal parts kept: annotation 1, annotation 2"
    )
    assert_allclose(gt.area, [16, 8, 16])  # the bow-tie keeps both triangles; parts merge
    assert shapely.is_valid(gt.shapes).all()


def test_many_repairs_name_the_first_few() -> None:
    with pytest.warns(
        GeometryRepairWarning,
        match=r"<in-memory>: 7 invalid .*: annotation 0, "
        r"annotation 1, annotation 2, annotation 3, annotation 4 and 2 more$",
    ):
        read_ground_truth(coco([{"segmentation": [BOW_TIE]}] * 7), shapes="polygon")


def test_results_are_checked_and_repaired_too() -> None:
    gt = read_ground_truth(coco([{"segmentation": [SQUARE]}]), shapes="polygon")
    with pytest.warns(GeometryRepairWarning, match=r"1 invalid .*: result 1$"):
        dt = read_detections(
            [result(segmentation=[SQUARE]), result(segmentation=[[0, 0, 1, 1, 2, 2]])], gt, shapes="polygon"
        )
    assert dt.area.tolist() == [16.0, 0.0]  # no area left: IoU 0 with everything
    r = evaluate(gt, dt, "polygon")
    assert r.point.counts.tp.tolist() == [1] and r.point.counts.fp.tolist() == [1]


# (ground truth annotations, results, iou_type, the record and field named, message part)
BAD: list[tuple[list[dict[str, Any]], list[dict[str, Any]], str, str, str]] = [
    ([{"rbox": [1, 2, 3, 4]}], [], "rotated", "annotation 0: rbox", "expected [cx, cy, w, h, angle]"),
    (
        [{"rbox": [1, 1, 2, 2, 0]}, {"rbox": [1, 2, 3, 4, math.nan]}],
        [],
        "rotated",
        "annotation 1: rbox",
        "expected finite [cx, cy, w, h, angle]",
    ),
    ([{"rbox": [1, 2, -3, 4, 0]}], [], "rotated", "annotation 0: rbox", "negative width -3.0"),
    ([{"rbox": [1, 2, 3, 4, True]}], [], "rotated", "annotation 0: rbox", "numbers"),
    ([{"bbox": [1, 2, 3, 4]}], [], "rotated", "annotation 0: rbox", "missing"),
    ([{"rbox": [1, 1, 2, 2, 0]}], [result(rbox="1 1 2 2 0")], "rotated", "result 0: rbox", "expected"),
    (
        [{"rbox": [1, 1, 2, 2, 0]}],
        [result(rbox=[1, 1, 2, 2, math.inf])],
        "rotated",
        "result 0: rbox",
        "finite",
    ),
    (
        [{"segmentation": [[0, 0, 1, 1]]}],
        [],
        "polygon",
        "annotation 0: segmentation",
        "polygon of 4 coordinates (expected an even number, at least 6",
    ),
    (
        [{"segmentation": [SQUARE]}, {"segmentation": [SQUARE, [0, 0, 1, 1, 2]]}],
        [],
        "polygon",
        "annotation 1: segmentation",
        "polygon of 5 coordinates",
    ),
    (
        [{"segmentation": [[0, 0, 1, "a", 2, 2]]}],
        [],
        "polygon",
        "annotation 0: segmentation",
        "coordinate 'a' (expected numbers)",
    ),
    (
        [{"segmentation": [[0, 0, 1, math.nan, 2, 2]]}],
        [],
        "polygon",
        "annotation 0: segmentation",
        "non-finite coordinate nan",
    ),
    (
        [{"segmentation": {"size": [50, 50], "counts": "PPYo1"}}],
        [],
        "polygon",
        "annotation 0: segmentation",
        "is an RLE mask",
    ),
    ([{"segmentation": []}], [], "polygon", "annotation 0: segmentation", "expected polygons"),
    ([{"bbox": [0, 0, 1, 1]}], [], "polygon", "annotation 0: segmentation", "missing"),
    (
        [{"segmentation": [SQUARE]}],
        [result(segmentation=[SQUARE]), result(segmentation=[SQUARE[:4]])],
        "polygon",
        "result 1: segmentation",
        "polygon of 4 coordinates",
    ),
    (
        [{"segmentation": [SQUARE]}],
        [result(bbox=[0, 0, 1, 1])],
        "polygon",
        "result 0: segmentation",
        "missing",
    ),
]


@pytest.mark.parametrize(("anns", "results", "iou_type", "where", "message"), BAD)
def test_bad_input_names_file_record_and_field(
    tmp_path: Path, anns: list, results: list, iou_type: str, where: str, message: str
) -> None:
    gt, dt = coco(anns), results or [result(rbox=[1, 1, 2, 2, 0], segmentation=[SQUARE])]
    with pytest.raises(InputError) as err:
        evaluate(gt, dt, iou_type)
    assert str(err.value).startswith(f"<in-memory>: {where}: ")
    assert message in str(err.value)
    try:
        gt_text, dt_text = json.dumps(gt, allow_nan=False), json.dumps(dt, allow_nan=False)
    except ValueError:
        return  # NaN and infinity are not JSON: they come only from Python
    gt_path, dt_path = tmp_path / "gt.json", tmp_path / "dt.json"
    gt_path.write_text(gt_text)
    dt_path.write_text(dt_text)
    culprit = dt_path if where.startswith("result") else gt_path
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "detrecall.cli",
            "evaluate",
            str(gt_path),
            str(dt_path),
            "--iou-type",
            iou_type,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr == f"detrecall: error: {str(err.value).replace('<in-memory>', str(culprit))}\n"


def test_cli_prints_the_repair_warning_and_evaluates(tmp_path: Path) -> None:
    gt_path, dt_path = tmp_path / "gt.json", tmp_path / "dt.json"
    gt_path.write_text(json.dumps(coco([{"segmentation": [BOW_TIE]}])))
    dt_path.write_text(json.dumps([result(segmentation=[[0, 0, 2, 2, 0, 4]])]))  # the left triangle
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "detrecall.cli",
            "evaluate",
            str(gt_path),
            str(dt_path),
            "--iou-type",
            "polygon",
            "--format",
            "json",
            "--iou-threshold",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == (
        f"detrecall: warning: {gt_path}: 1 invalid polygon(s) (self-intersecting or "
        "without area) repaired with shapely.make_valid, polygonal parts kept: "
        "annotation 0\n"
    )
    data = json.loads(out.stdout)
    # the triangle is one of the bow-tie's two (area 4 of 8): IoU exactly 0.5, a match at 0.5
    assert data["point"]["per_class"][0]["tp"] == 1
    assert data["coco"]["AP50"] == pytest.approx(1.0) and data["coco"]["AP75"] == 0.0


def test_angle_unit_from_the_cli(tmp_path: Path) -> None:
    gt_path, dt_path = tmp_path / "gt.json", tmp_path / "dt.json"
    gt_path.write_text(json.dumps(coco([{"rbox": [10, 10, 8, 2, 90]}])))  # wide, a quarter turn
    dt_path.write_text(json.dumps([result(rbox=[10, 10, 2, 8, 0])]))  # tall

    def ap50(*extra: str) -> float:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "detrecall.cli",
                "evaluate",
                str(gt_path),
                str(dt_path),
                "--iou-type",
                "rotated",
                "--format",
                "json",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["coco"]["AP50"]

    assert ap50("--angle-unit", "degrees") == pytest.approx(1.0)  # the same rectangle
    assert ap50() == 0.0  # 90 radians is 116.6 degrees mod 180: crosses the tall box at 26.6 degrees


@pytest.mark.parametrize(
    ("kind", "rec"), [("polygon", {"segmentation": [SQUARE]}), ("rotated", {"rbox": [2, 2, 4, 4, 0]})]
)
def test_empty_sides(kind: str, rec: dict[str, Any]) -> None:
    no_results = evaluate(coco([rec]), [], kind)
    assert no_results.coco.AP == 0.0 and no_results.point.counts.fn.tolist() == [1]
    no_truth = evaluate({**coco([rec]), "annotations": []}, [result(**rec)], kind)
    assert np.isnan(no_truth.coco.AP) and no_truth.point.counts.fp.tolist() == [1]


def test_a_dataset_read_without_shapes_is_refused() -> None:
    gt = read_ground_truth(coco([{"segmentation": [SQUARE], "bbox": [0, 0, 4, 4]}]))
    with pytest.raises(DetrecallError, match="iou_type='polygon' needs shapes"):
        evaluate(gt, [result(segmentation=[SQUARE])], "polygon")
