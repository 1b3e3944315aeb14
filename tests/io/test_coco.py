"""Reading COCO files: what is accepted, and a one-line located error for everything else."""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import InputError, evaluate
from detrecall.errors import DataWarning
from detrecall.io import read_detections, read_ground_truth
from tests.oracle import random_coco, reference

GT = {
    "images": [{"id": 7, "width": 100, "height": 80}, {"id": 3, "width": 50, "height": 50}],
    "annotations": [
        {
            "id": 1,
            "image_id": 7,
            "category_id": 2,
            "bbox": [10, 10, 20, 20],
            "area": 400,
            "iscrowd": 0,
            "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]],
        },
        {
            "id": 2,
            "image_id": 3,
            "category_id": 1,
            "bbox": [0, 0, 5, 5],
            "area": 25,
            "iscrowd": 0,
            "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]],
        },
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
}
DT = [{"image_id": 7, "category_id": 2, "bbox": [10, 10, 20, 20], "score": 0.9}]


def _error(gt=GT, dt=DT, iou_type="bbox") -> str:
    with pytest.raises(InputError) as info:
        evaluate(copy.deepcopy(gt), copy.deepcopy(dt), iou_type)
    first, *hints = str(info.value).splitlines()  # one problem, then hints of what it suggests
    assert all(": hint: " in line for line in hints), hints
    return first


def test_rows_sorted_by_image_category_and_file_order():
    gt = read_ground_truth(GT)
    assert gt.image_id.tolist() == [3, 7] and gt.category_id.tolist() == [1, 2]
    assert gt.categories.names == ("cat", "dog")
    assert not gt.box.flags.writeable


def test_results_may_be_a_whole_coco_dataset_dict():
    as_dataset = {"images": GT["images"], "annotations": DT, "categories": GT["categories"]}
    assert evaluate(GT, as_dataset).coco.AP == evaluate(GT, DT).coco.AP


def test_mask_results_get_area_and_box_from_the_mask():
    from pycocotools import mask as mask_utils

    rle = mask_utils.frPyObjects([[10, 10, 30, 10, 30, 30, 10, 30]], 80, 100)[0]
    rle["counts"] = rle["counts"].decode()
    dt = read_detections(
        [{"image_id": 7, "category_id": 2, "segmentation": rle, "score": 1.0}],
        read_ground_truth(GT, masks=True),
        masks=True,
    )
    assert dt.area[0] == mask_utils.area(rle)
    assert dt.box[0].tolist() == mask_utils.toBbox(rle).tolist()


def test_polygon_and_uncompressed_rle_results_are_accepted():
    from pycocotools import mask as mask_utils

    m = mask_utils.decode(mask_utils.frPyObjects([[0, 0, 5, 0, 5, 5, 0, 5]], 50, 50))[:, :, 0]
    flat = m.ravel(order="F")
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    counts = np.diff(np.r_[0, changes]).tolist()
    counts[-1] = flat.size - sum(counts[:-1])
    dt = [
        {"image_id": 3, "category_id": 1, "segmentation": {"size": [50, 50], "counts": counts}, "score": 0.5},
        {"image_id": 7, "category_id": 2, "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]], "score": 0.4},
    ]
    r = evaluate(GT, dt, "segm")
    assert r.coco.AP50 > 0.99


def test_polygons_of_numpy_scalars_read_as_their_plain_twins():
    """Dicts built in Python often hold numpy scalars (round(np.float64) stays one); pycocotools
    takes them, so the reader does too, with the same numbers."""
    square = [10, 10, 30, 10, 30, 30, 10, 30]
    plain = [{"image_id": 7, "category_id": 2, "segmentation": [square], "score": 0.4}]
    kinds = (np.float64, np.float32, np.int64, np.int32, np.uint16)
    for kind in kinds:
        numpy = [{**plain[0], "segmentation": [[kind(v) for v in square]]}]
        assert_allclose(evaluate(GT, numpy, "segm").coco.stats, evaluate(GT, plain, "segm").coco.stats)


@pytest.mark.parametrize(
    ("gt_change", "dt_change", "expected"),
    [
        (None, lambda d: d[0].pop("score"), "result 0: score: missing (expected a number)"),
        (None, lambda d: d[0].update(image_id="7"), "result 0: image_id: is '7' (expected an integer)"),
        (
            None,
            lambda d: d[0].update(bbox=[1, 2, -3.0, 4]),
            "result 0: bbox: has negative width -3.0 (expected [x, y, w, h] with w, h >= 0)",
        ),
        (None, lambda d: d[0].update(bbox=[1, 2, 3]), "result 0: bbox: is [1, 2, 3]"),
        (None, lambda d: d[0].update(bbox=[1, math.inf, 3, 4]), "result 0: bbox: is [1.0, inf"),
        (None, lambda d: d[0].update(score=math.nan), "result 0: score: is nan (expected a finite"),
        (None, lambda d: d[0].update(image_id=99), "result 0: image_id: 99 not found in the ground"),
        (
            None,
            lambda d: d[0].update(category_id=5),
            "result 0: category_id: 5 not found in the ground truth's categories",
        ),
        (None, lambda d: d.append("x"), "result 1: is str 'x', expected an object"),
        (
            lambda g: g["annotations"][1].update(image_id=8),
            None,
            "annotation 1: image_id: 8 not found in the file's images",
        ),
        (lambda g: g["annotations"][0].update(iscrowd=2), None, "annotation 0: iscrowd: is 2"),
        (lambda g: g["images"].append({"id": 7}), None, "image 2: id: 7 appears twice"),
        (lambda g: g.pop("images"), None, "missing key 'images'"),
    ],
)
def test_bad_input_is_a_located_one_line_error(gt_change, dt_change, expected):
    gt, dt = copy.deepcopy(GT), copy.deepcopy(DT)
    if gt_change:
        gt_change(gt)
    if dt_change:
        dt_change(dt)
    assert expected in _error(gt, dt)


@pytest.mark.parametrize(
    ("segmentation", "expected"),
    [
        ({"size": [80, 100], "counts": "&&&"}, "segmentation.counts: is not a valid compressed RLE"),
        (
            {"size": [10, 10], "counts": "T3"},
            "segmentation.size: is [10, 10] but image 7's ground-truth masks are 80x100",
        ),
        ({"size": [80, 100], "counts": [5, 5]}, "run lengths sum to 10, expected h*w = 8000"),
        ([[1, 2, 3, 4]], "a polygon of 4 coordinates (expected an even number, at least 6)"),
        ("abc", "segmentation: is 'abc' (expected polygons or an RLE object)"),
    ],
)
def test_undecodable_masks(segmentation, expected):
    dt = [{"image_id": 7, "category_id": 2, "segmentation": segmentation, "score": 0.5}]
    assert expected in _error(GT, dt, "segm")


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="nope.json: file not found"):
        evaluate(tmp_path / "nope.json", DT)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"bad.json: not valid JSON"):
        evaluate(bad, DT)
    res = tmp_path / "res.json"
    res.write_text(json.dumps({"foo": 1}))
    with pytest.raises(InputError, match=r"res.json: is a JSON dict, expected a list of results"):
        evaluate(GT, res)


def test_plain_json_fallback_reads_the_same(tmp_path):
    from detrecall.io._records import read_json

    p = tmp_path / "gt.json"
    p.write_text(json.dumps(GT))
    assert read_json(p, use_orjson=False)[0] == read_json(p)[0] == GT


# --- pycocotools quirks detrecall does not copy ------------------------------------------


def test_annotation_id_zero_is_matched_like_any_other():
    """pycocotools stores matches by annotation id and treats id 0 as 'unmatched', so a
    detection matched to a ground truth with id 0 counts as a false positive. We do not."""
    gt = copy.deepcopy(GT)
    gt["annotations"][0]["id"] = 0
    assert reference(gt, DT).stats[1] == 0.0  # pycocotools: the perfect match is an FP
    assert evaluate(gt, DT).per_class[1].AP50 == evaluate(GT, DT).per_class[1].AP50 > 0.99
    gt, dt = random_coco(4)
    zero = copy.deepcopy(gt)
    for a in zero["annotations"]:
        a["id"] -= 1  # ids 0..n-1: equal to pycocotools on ids 1..n
    assert_allclose(evaluate(zero, dt).coco.stats, reference(gt, dt).stats, atol=1e-9)


def test_detections_of_unknown_categories_are_an_error_not_a_silent_drop():
    gt, dt = random_coco(4)
    dt = dt + [{"image_id": gt["images"][0]["id"], "category_id": 99, "bbox": [0, 0, 5, 5], "score": 0.99}]
    reference(gt, dt)  # pycocotools quietly evaluates without it
    with pytest.raises(InputError, match=r"result \d+: category_id: 99 not found"):
        evaluate(gt, dt)


@pytest.mark.parametrize("seed", range(3))
def test_fast_file_path_reads_exactly_what_the_general_path_reads(seed, tmp_path):
    gt_dict, dt_list = random_coco(seed)
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(dt_list))
    gt = read_ground_truth(gt_dict)
    fast, general = read_detections(path, gt), read_detections(dt_list, gt)
    for field in ("image_id", "category_id", "box", "area", "score"):
        assert np.array_equal(getattr(fast, field), getattr(general, field)), field


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"image_id": "7", "category_id": 2, "bbox": [0, 0, 1, 1], "score": 1}, "image_id: is '7'"),
        ({"image_id": 7, "category_id": 2, "bbox": [0, 0, 1, -1], "score": 1}, "negative height -1.0"),
        ({"image_id": 7, "category_id": 3, "bbox": [0, 0, 1, 1], "score": 1}, "category_id: 3 not found"),
        ({"image_id": 7, "category_id": 2, "bbox": [0, 0, 1, 1], "score": True}, "score: is True"),
    ],
)
def test_file_errors_are_located_on_either_path(record, expected, tmp_path):
    path = tmp_path / "dt.json"
    path.write_text(json.dumps([DT[0], record]))
    with pytest.raises(InputError) as info:
        evaluate(GT, path)
    assert "dt.json: result 1: " in str(info.value) and expected in str(info.value)


def test_fast_mask_file_path_reads_exactly_what_the_general_path_reads(tmp_path):
    gt_dict, dt_list = random_coco(5, segm=True)
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(dt_list))
    gt = read_ground_truth(gt_dict, masks=True)
    fast, general = read_detections(path, gt, masks=True), read_detections(dt_list, gt, masks=True)
    for field in ("image_id", "category_id", "box", "area", "score"):
        assert np.array_equal(getattr(fast, field), getattr(general, field)), field
    assert [m["counts"] for m in fast.masks] == [m["counts"] for m in general.masks]
    assert_allclose(
        evaluate(gt_dict, path, "segm").coco.stats, reference(gt_dict, dt_list, "segm").stats, atol=1e-9
    )


@pytest.mark.parametrize(
    ("segmentation", "expected"),
    [
        ({"size": [80, 100], "counts": "&&&"}, "result 0: segmentation.counts: is not a valid"),
        ({"size": [10, 10], "counts": "T3"}, "result 0: segmentation.size: is [10, 10] but image 7"),
    ],
)
def test_mask_file_errors_are_located(segmentation, expected, tmp_path):
    path = tmp_path / "dt.json"
    path.write_text(
        json.dumps([{"image_id": 7, "category_id": 2, "segmentation": segmentation, "score": 0.5}])
    )
    with pytest.raises(InputError) as info:
        evaluate(GT, path, "segm")
    assert f"dt.json: {expected}" in str(info.value)


@pytest.mark.parametrize("with_box", [True, False])
def test_mask_results_with_boxes_take_pycocotools_box_branch(with_box, tmp_path):
    """Results carrying bbox and segmentation get area = w*h (pycocotools' loadRes), on the fast
    file path too: the size ranges then differ from mask areas."""
    gt_dict, dt_list = random_coco(7, segm=True)
    if with_box:
        from pycocotools import mask as mask_utils

        for r in dt_list:  # a box unlike the mask's, so that w*h and the mask area differ
            x, y, w, h = mask_utils.toBbox(r["segmentation"]).tolist()
            r["bbox"] = [x, y, w * 1.5 + 40, h * 1.5 + 40]
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(dt_list))
    gt = read_ground_truth(gt_dict, masks=True)
    with warnings.catch_warnings():  # the inflated boxes reach outside their images, on purpose
        warnings.simplefilter("ignore", DataWarning)
        fast, general = read_detections(path, gt, masks=True), read_detections(dt_list, gt, masks=True)
        stats = evaluate(gt_dict, path, "segm").coco.stats
    assert np.array_equal(fast.area, general.area) and np.array_equal(fast.box, general.box)
    assert_allclose(stats, reference(gt_dict, dt_list, "segm").stats, atol=1e-9, rtol=0)


@pytest.mark.parametrize("trap", [False, True])
def test_chunked_decoding_reads_what_the_general_path_reads(trap, tmp_path, monkeypatch):
    """Large results files are decoded in chunks split at '}, {'; a split that lands inside a
    record (here: a string holding '},{') falls back to decoding the whole file."""
    import detrecall.io.coco as coco

    monkeypatch.setattr(coco, "_CHUNK_BYTES", 300)
    gt_dict, dt_list = random_coco(9)
    if trap:
        for r in dt_list:
            r["note"] = "x},{y"
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(dt_list))
    buf = bytearray(path.read_bytes())
    original = bytes(buf)
    chunks = coco._decode_in_chunks(buf, bytes)
    assert len(chunks) > 3 and bytes(buf) == original  # cut in place, and put back
    if not trap:
        assert [r for c in chunks for r in json.loads(c)] == dt_list
    gt = read_ground_truth(gt_dict)
    fast, general = read_detections(path, gt), read_detections(dt_list, gt)
    for field in ("image_id", "category_id", "box", "area", "score"):
        assert np.array_equal(getattr(fast, field), getattr(general, field)), field
