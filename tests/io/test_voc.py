"""Pascal VOC XML ground truth and devkit result files: hand-worked reading, `difficult` as the
ignore flag, the COCO -> VOC -> back round trip, and rafaelpadilla's published VOC example."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from detrecall.errors import DataWarning
from detrecall.io import read_detections, read_ground_truth, write
from tests.oracle import random_coco, reference

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
TOY = CONFORMANCE / "rafaelpadilla_review_object_detection_metrics" / "toyexample"

XML = """<annotation>
  <folder>VOC2007</folder><filename>000005.jpg</filename>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <object><name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox></object>
  <object><name>chair</name><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>5</xmin><ymin>244</ymin><xmax>67</xmax><ymax>374</ymax></bndbox></object>
  <object><name>person</name>
    <bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>10</xmax><ymax>20</ymax></bndbox></object>
</annotation>"""


def test_reading_by_hand(tmp_path: Path) -> None:
    (tmp_path / "000005.xml").write_text(XML)
    (tmp_path / "000007.xml").write_text("<annotation><filename>000007.jpg</filename></annotation>")
    gt = read_ground_truth(tmp_path, "voc")
    assert gt.images.ids.tolist() == [5, 7]  # numeric stems are the ids
    assert gt.images.file_names == ("000005.jpg", "000007.jpg")
    assert gt.images.width.tolist() == [500, 0]  # no <size>: unknown
    assert gt.categories.names == ("chair", "person") and gt.categories.ids.tolist() == [0, 1]
    assert_allclose(gt.box, [[263, 211, 61, 128], [5, 244, 62, 130], [1.5, 2, 8.5, 18]])  # as given
    assert gt.ignore.tolist() == [False, True, False]  # difficult
    assert not gt.iscrowd.any()
    assert_allclose(gt.area, gt.box[:, 2] * gt.box[:, 3])
    one = read_ground_truth(tmp_path / "000005.xml", "voc", names={3: "person", 4: "chair"})
    assert one.categories.ids.tolist() == [3, 4] and one.category_id.tolist() == [3, 4, 4]


def test_difficult_equals_a_coco_ignore_flag(tmp_path: Path) -> None:
    (tmp_path / "000005.xml").write_text(XML)
    gt = read_ground_truth(tmp_path, "voc")
    dt_dir = tmp_path / "results"
    dt_dir.mkdir()
    (dt_dir / "comp4_det_test_chair.txt").write_text("000005 0.9 5 244 67 374\n000005 0.8 263 211 324 339\n")
    (dt_dir / "comp4_det_test_person.txt").write_text("5 0.7 1 2 10 20\n")
    dt = read_detections(dt_dir, gt, "voc")
    assert dt.image_id.tolist() == [5, 5, 5] and dt.category_id.tolist() == [0, 0, 1]
    coco = {
        "images": [{"id": 5, "width": 500, "height": 375}],
        "categories": [{"id": 0, "name": "chair"}, {"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 5, "category_id": 0, "bbox": [263, 211, 61, 128], "area": 61 * 128},
            {
                "id": 2,
                "image_id": 5,
                "category_id": 0,
                "bbox": [5, 244, 62, 130],
                "area": 62 * 130,
                "ignore": 1,
            },
            {"id": 3, "image_id": 5, "category_id": 1, "bbox": [1.5, 2, 8.5, 18], "area": 8.5 * 18},
        ],
    }
    results = [
        {"image_id": 5, "category_id": 0, "bbox": [5, 244, 62, 130], "score": 0.9},
        {"image_id": 5, "category_id": 0, "bbox": [263, 211, 61, 128], "score": 0.8},
        {"image_id": 5, "category_id": 1, "bbox": [1, 2, 9, 18], "score": 0.7},
    ]
    assert_allclose(evaluate(gt, dt).coco.stats, evaluate(coco, results).coco.stats, atol=1e-15)
    c = evaluate(gt, dt).point.per_class[0]
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)  # the detection on the difficult chair is ignored


def test_result_files_take_the_longest_class_name(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(
        "<annotation><object><name>light</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>5</xmax>"
        "<ymax>5</ymax></bndbox></object><object><name>traffic_light</name><bndbox><xmin>0</xmin>"
        "<ymin>0</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>"
    )
    gt = read_ground_truth(tmp_path, "voc")
    res = tmp_path / "res"
    res.mkdir()
    (res / "comp3_det_val_traffic_light.txt").write_text("a 0.5 0 0 9 9\n")
    (res / "light.txt").write_text("a 0.5 0 0 5 5\n")
    dt = read_detections(res, gt, "voc")
    names = dict(zip(gt.categories.ids.tolist(), gt.categories.names))
    assert sorted(names[c] for c in dt.category_id.tolist()) == ["light", "traffic_light"]
    assert [(c.tp, c.fp) for c in evaluate(gt, dt).point.per_class] == [(1, 0), (1, 0)]


@pytest.mark.parametrize("seed", range(15))
def test_round_trip_gives_the_same_numbers(seed: int, tmp_path: Path) -> None:
    gt, dt = random_coco(seed)
    g = read_ground_truth(gt)
    d = read_detections(dt, g)
    write(g, tmp_path / "Annotations", "voc")
    write(d, tmp_path / "results", "voc", ground_truth=g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # detections of classes without ground truth
        g2 = read_ground_truth(tmp_path / "Annotations", "voc")
        d2 = read_detections(tmp_path / "results", g2, "voc")
    assert g2.iscrowd.tolist() == g.iscrowd.tolist()  # detrecall's own <iscrowd> element
    assert_allclose(g2.area, g.area, rtol=1e-15)  # and <area>
    assert g2.categories.names == g.categories.names  # classes.txt, also classes without objects
    if dt:
        assert_allclose(evaluate(g2, d2).coco.stats, reference(gt, dt).stats, atol=1e-9, rtol=0)


def _toy_as_devkit_results(out: Path) -> None:
    """rafaelpadilla's per-image `class score x1 y1 x2 y2` files as devkit per-class files."""
    out.mkdir()
    rows: dict[str, list[str]] = {}
    for f in sorted((TOY / "dets_classname_abs_xyx2y2").glob("*.txt")):
        for line in f.read_text().splitlines():
            if line.split():
                name, *values = line.split()
                rows.setdefault(name, []).append(" ".join([f.stem, *values]))
    for name, lines in rows.items():
        (out / f"comp4_det_test_{name}.txt").write_text("\n".join(lines) + "\n")


@pytest.mark.skipif(not TOY.is_dir(), reason=f"conformance data not found at {TOY} (../shared/conformance)")
def test_published_voc_example_read_from_its_xml(tmp_path: Path) -> None:
    case = json.loads((TOY.parent / "expected.json").read_text())["toyexample_voc_cat"]
    gt = read_ground_truth(TOY / "gts_vocpascal_format", "voc", names=TOY / "voc.names")
    assert gt.categories.names[7] == "cat"
    _toy_as_devkit_results(tmp_path / "results")
    with pytest.warns(DataWarning, match="2 box.es. reach outside their image"):  # as published
        dt = read_detections(tmp_path / "results", gt, "voc")
    for thr in case["iou_thresholds"]:
        for pixel_inclusive, key in ((True, "pixel_inclusive_iou"), (False, "continuous_iou")):
            r = evaluate(gt, dt, protocol="voc", iou_thresholds=[thr], pixel_inclusive=pixel_inclusive)
            cat = next(c for c in r.voc.classes if c.name == "cat")
            want = case["computed"][str(thr)][key]
            assert_allclose(cat.ap[0], want["ap_all_point"], atol=1e-12, rtol=0)
            assert (cat.tp[0], cat.fp[0]) == (want["tp"], want["fp"])
            if pixel_inclusive:
                assert cat.npos == want["n_gt"]
                assert_allclose(cat.precision[0], want["precision"], atol=1e-12, rtol=0)


def test_writer_output_is_plain_voc(tmp_path: Path) -> None:
    gt = read_ground_truth(
        {
            "images": [{"id": 3, "width": 40, "height": 30, "file_name": "x/img.png"}],
            "categories": [{"id": 9, "name": "a&b"}],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 3,
                    "category_id": 9,
                    "bbox": [1, 2, 3, 4],
                    "area": 12,
                    "iscrowd": 0,
                    "ignore": 1,
                }
            ],
        }
    )
    write(gt, tmp_path, "voc")
    text = (tmp_path / "img.xml").read_text()
    assert "<filename>x/img.png</filename>" in text and "<name>a&amp;b</name>" in text
    assert "<difficult>1</difficult>" in text and "<xmax>4</xmax>" in text and "<ymax>6</ymax>" in text
    assert "<area>" not in text and "<iscrowd>" not in text  # only when they carry information
    back = read_ground_truth(tmp_path, "voc")
    assert back.ignore.tolist() == [True] and np.array_equal(back.box, gt.box)
