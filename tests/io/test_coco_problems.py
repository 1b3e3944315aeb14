"""COCO results whose ids are not the ground truth's: every such record named (up to 20, then a
count), hints of what the ids look like, and `only_gt_images` to evaluate a subset of images."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import InputError, evaluate
from detrecall.errors import DataWarning
from detrecall.io import read_detections, read_ground_truth

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GT = read_ground_truth(FIXTURES / "gt.json")  # category ids 1, 2, 3, 5, 9
RESULTS: list[dict[str, Any]] = json.loads((FIXTURES / "dt_bbox.json").read_text())
NAMES = {1: "person", 2: "bicycle", 3: "car", 5: "dog", 9: "kite"}


def _sources(records: list[dict[str, Any]], tmp_path: Path) -> list[Any]:
    """The same results as a file (the compiled / typed fast paths) and parsed (the general path)."""
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(records))
    return [path, records]


def _lines(records: list[dict[str, Any]], tmp_path: Path, **options: Any) -> list[list[str]]:
    out = []
    for source in _sources(records, tmp_path):
        with pytest.raises(InputError) as info:
            read_detections(source, GT, **options)
        out.append(str(info.value).splitlines())
    return out


def test_shifted_category_ids_all_counted_with_a_hint(tmp_path: Path) -> None:
    shifted = [dict(r, category_id=r["category_id"] + 1) for r in RESULTS]
    unknown = [k for k, r in enumerate(shifted) if r["category_id"] not in NAMES]  # 4, 6, 10
    assert len(unknown) > 20
    for lines in _lines(shifted, tmp_path):
        assert len(lines) == 22  # 20 problems, the count of the rest, the hint
        assert lines[0].endswith(
            f"result {unknown[0]}: category_id: {shifted[unknown[0]]['category_id']} not found in the "
            f"ground truth's categories ({FIXTURES / 'gt.json'})"
        )
        assert [int(line.split("result ")[1].split(":")[0]) for line in lines[:20]] == unknown[:20]
        assert lines[20] == f"... and {len(unknown) - 20} more problem(s) not shown"
        assert "hint: the category ids look shifted by one: every result's id minus 1" in lines[21]
        assert "results' ids are 2, 3, 4, 6, 10, the ground truth's 1, 2, 3, 5, 9" in lines[21]


def test_ids_shifted_down_and_class_numbers(tmp_path: Path) -> None:
    down = [
        dict(r, category_id={1: 0, 2: 1, 3: 2}[r["category_id"]]) for r in RESULTS if r["category_id"] <= 3
    ]
    assert "every result's id plus 1 is a ground-truth category" in _lines(down, tmp_path)[0][-1]
    position = {c: k for k, c in enumerate(NAMES)}
    numbers = [dict(r, category_id=position[r["category_id"]]) for r in RESULTS]
    assert "look like class numbers 0..4" in _lines(numbers, tmp_path)[0][-1]


def test_names_as_category_ids_suggest_the_mapping(tmp_path: Path) -> None:
    named = [dict(r, category_id=NAMES[r["category_id"]]) for r in RESULTS]
    for lines in _lines(named, tmp_path):
        first = NAMES[RESULTS[0]["category_id"]]
        assert lines[0].endswith(f"result 0: category_id: is {first!r} (expected an integer)")
        assert len(lines) == 22 and lines[20] == f"... and {len(RESULTS) - 20} more problem(s) not shown"
        assert lines[21].endswith(
            "hint: category_id holds class names (5 of them the ground truth's): map each name to the id "
            "of the ground truth's category of that name ('bicycle': 2, 'car': 3, 'dog': 5, 'kite': 9, "
            "'person': 1)"
        )


def test_images_outside_the_ground_truth_counted_and_hinted(tmp_path: Path) -> None:
    outside = [dict(r, image_id=r["image_id"] + 10**6) if k % 4 == 0 else r for k, r in enumerate(RESULTS)]
    n, images = len(RESULTS[::4]), len({r["image_id"] for r in RESULTS[::4]})
    for lines in _lines(outside, tmp_path):
        assert lines[0].endswith(
            f"result 0: image_id: {outside[0]['image_id']} not found in the ground truth's images "
            f"({FIXTURES / 'gt.json'})"
        )
        assert lines[20] == f"... and {n - 20} more problem(s) not shown"
        assert lines[21].endswith(
            f"hint: {n} result(s) on {images} image(s) that the ground truth does not have: to evaluate "
            "the ground truth's images only, leaving those results out, use only_gt_images=True "
            "(--only-gt-images)"
        )


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_only_gt_images_leaves_the_others_out_with_a_count(iou_type: str, tmp_path: Path) -> None:
    name = "dt_bbox.json" if iou_type == "bbox" else "dt_segm.json"
    records = json.loads((FIXTURES / name).read_text())
    moved = [dict(r, image_id=r["image_id"] + 10**6) if k % 3 == 0 else r for k, r in enumerate(records)]
    kept = [r for k, r in enumerate(records) if k % 3]
    want = evaluate(FIXTURES / "gt.json", kept, iou_type).coco.stats
    images = len({r["image_id"] for r in moved[::3]})
    for source in _sources(moved, tmp_path):
        with pytest.warns(DataWarning) as caught:
            got = evaluate(FIXTURES / "gt.json", source, iou_type, only_gt_images=True).coco.stats
        assert [str(w.message) for w in caught] == [
            f"{source if isinstance(source, Path) else '<in-memory>'}: {len(moved[::3])} result(s) on "
            f"{images} image(s) that the ground truth ({FIXTURES / 'gt.json'}) does not have left out "
            f"(only_gt_images) (first: result 0, image_id {moved[0]['image_id']})"
        ]
        assert_allclose(got, want, atol=0, rtol=0)


def test_only_gt_images_keeps_the_file_numbers_in_messages(tmp_path: Path) -> None:
    records = [dict(r, image_id=-5) for r in RESULTS[:3]] + [dict(r) for r in RESULTS[3:6]]
    records[4]["bbox"] = [1.0, 2.0, -3.0, 4.0]
    for source in _sources(records, tmp_path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            with pytest.raises(InputError, match=r"result 4: bbox: has negative width -3.0"):
                read_detections(source, GT, only_gt_images=True)


def test_only_gt_images_for_the_other_formats(tmp_path: Path) -> None:
    from detrecall.io import write

    dt = read_detections(FIXTURES / "dt_bbox.json", GT)
    for fmt, dst in (("yolo", "yolo"), ("voc", "voc"), ("csv", "dt.csv")):
        write(dt, tmp_path / dst, fmt, ground_truth=GT)
    (tmp_path / "yolo" / "999999.txt").write_text("0 0.5 0.5 0.1 0.1 0.9\n")
    with (tmp_path / "voc" / "comp4_det_test_dog.txt").open("a") as f:
        f.write("999999 0.9 1 1 5 5\n")
    with (tmp_path / "dt.csv").open("a") as f:
        f.write("999999.jpg,dog,1.0,1.0,5.0,5.0,0.9\n999999.jpg,car,1.0,1.0,5.0,5.0,0.8\n")
    for fmt, dst, what in (
        ("yolo", "yolo", "1 label file(s)"),
        ("voc", "voc", "1 prediction(s)"),
        ("csv", "dt.csv", "2 prediction(s)"),
    ):
        with pytest.raises(InputError, match="999999") as info:
            read_detections(tmp_path / dst, GT, fmt)
        assert str(info.value).splitlines()[-1].endswith("use only_gt_images=True (--only-gt-images)")
        with pytest.warns(
            DataWarning, match=re.escape(f"{what} on 1 image(s) that the ground truth does not have left out")
        ):
            back = read_detections(tmp_path / dst, GT, fmt, only_gt_images=True)
        assert len(back) == len(dt) and np.array_equal(back.category_id, dt.category_id)


def test_keypoint_results_named_and_only_gt_images() -> None:
    from tests.protocols.test_keypoints import random_keypoints

    gt, dts = random_keypoints(3)
    moved = [dict(d, image_id=d["image_id"] + 100) if k % 2 == 0 else d for k, d in enumerate(dts)]
    with pytest.raises(InputError) as info:
        evaluate(gt, moved, "keypoints")
    lines = str(info.value).splitlines()
    n = len(moved[::2])
    first = moved[0]["image_id"]
    assert (
        lines[0]
        == f"<in-memory>: result 0: image_id: {first} not found in the ground truth's images (<in-memory>)"
    )
    assert len(lines) == min(n, 20) + (n > 20) + 1 and lines[-1].endswith("(--only-gt-images)")
    with pytest.warns(DataWarning, match=f"{n} result\\(s\\) on .* left out \\(only_gt_images\\)"):
        got = evaluate(gt, moved, "keypoints", only_gt_images=True).coco.stats
    assert_allclose(got, evaluate(gt, dts[1::2], "keypoints").coco.stats, atol=0, rtol=0)


def test_unknown_images_and_categories_listed_together_in_file_order(tmp_path: Path) -> None:
    bad = [dict(r) for r in RESULTS[:60]]
    for k in range(0, 60, 2):  # 30 unknown images at even records
        bad[k]["image_id"] = -1
    for k in range(1, 60, 2):  # 30 unknown categories at odd records
        bad[k]["category_id"] = 77
    bad[0]["category_id"] = 77  # record 0: both
    for lines in _lines(bad, tmp_path):
        records = [line.split(": ")[1:3] for line in lines[:20]]
        assert records[:3] == [
            ["result 0", "image_id"],
            ["result 0", "category_id"],
            ["result 1", "category_id"],
        ]
        assert [int(r.split()[1]) for r, _ in records] == [0, 0, *range(1, 19)]
        assert lines[20] == "... and 41 more problem(s) not shown"  # 30 + 31 in all


def test_ids_far_apart_are_described_without_listing_their_span(tmp_path: Path) -> None:
    """The fuzzer's case: ids 1 and 1111111111111111111 made the hint build a list of the whole
    span (a MemoryError, an abort under ASan)."""
    records = [dict(RESULTS[0], category_id=c) for c in (0, 1, 1111111111111111111)]
    for lines in _lines(records, tmp_path):
        assert any("1111111111111111111 not found" in line for line in lines)
