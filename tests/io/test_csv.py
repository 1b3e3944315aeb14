"""CSV, one row per box: column names and aliases, box formats, classes by name or number,
images without objects, and the COCO -> CSV -> back round trip against pycocotools."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from detrecall.errors import DataWarning, InputError
from detrecall.io import read_detections, read_ground_truth, write
from tests.oracle import random_coco, reference


def test_tensorflow_style_csv_by_hand(tmp_path: Path) -> None:
    # the TF object detection API's export: filename,width,height,class,xmin,ymin,xmax,ymax
    (tmp_path / "gt.csv").write_text(
        "filename,width,height,class,xmin,ymin,xmax,ymax\n"
        "b.jpg,640,480,dog,10,20,110,70\n"
        "a.jpg,320,240,cat,0,0,32,24\n"
        "a.jpg,320,240,dog,5,5,6,8\n"
        "c.jpg,100,100,,,,,\n"
    )  # an image without objects
    gt = read_ground_truth(tmp_path / "gt.csv", "csv")
    assert gt.images.file_names == ("a.jpg", "b.jpg", "c.jpg") and gt.images.ids.tolist() == [0, 1, 2]
    assert gt.images.width.tolist() == [320, 640, 100]
    assert gt.categories.names == ("cat", "dog")
    assert gt.image_id.tolist() == [0, 0, 1] and gt.category_id.tolist() == [0, 1, 1]
    assert_allclose(gt.box, [[0, 0, 32, 24], [5, 5, 1, 3], [10, 20, 100, 50]])
    (tmp_path / "dt.csv").write_text(
        "Image,Label,Left,Top,Right,Bottom,Confidence\na,cat,0,0,32,24,0.9\nb.jpg,dog,10,20,110,70,0.8\n"
    )
    dt = read_detections(tmp_path / "dt.csv", gt, "csv")  # image by stem or file name
    assert dt.image_id.tolist() == [0, 1] and dt.category_id.tolist() == [0, 1]
    assert [(c.tp, c.fp, c.fn) for c in evaluate(gt, dt).point.per_class] == [(1, 0, 0), (1, 0, 1)]


def test_column_mapping_and_box_format_choice(tmp_path: Path) -> None:
    # both xywh and corner columns: box_format picks; `columns` maps odd names
    (tmp_path / "gt.csv").write_text("img,cls,x,y,w,h,x1,y1,x2,y2,crowd\n7,3,1,2,3,4,0,0,9,9,1\n")
    by_default = read_ground_truth(tmp_path / "gt.csv", "csv", columns={"image": "img", "class": "cls"})
    assert_allclose(by_default.box, [[0, 0, 9, 9]])  # xyxy first
    xywh = read_ground_truth(
        tmp_path / "gt.csv", "csv", columns={"image": "img", "class": "cls"}, box_format="xywh"
    )
    assert_allclose(xywh.box, [[1, 2, 3, 4]])
    assert xywh.images.ids.tolist() == [7] and xywh.category_id.tolist() == [3]  # numbers are ids
    assert xywh.iscrowd.tolist() == [True]
    (tmp_path / "c.csv").write_text("image,class,cx,cy,w,h\nq,1,5,5,4,2\n")
    assert_allclose(read_ground_truth(tmp_path / "c.csv", "csv").box, [[3, 4, 4, 2]])


def test_numeric_classes_named_by_a_names_file(tmp_path: Path) -> None:
    (tmp_path / "names.txt").write_text("bg\ncat\ndog\n")
    (tmp_path / "gt.csv").write_text("image,class,x,y,w,h\na,2,0,0,1,1\n")
    gt = read_ground_truth(tmp_path / "gt.csv", "csv", names=tmp_path / "names.txt")
    assert gt.categories.names == ("bg", "cat", "dog") and gt.category_id.tolist() == [2]
    (tmp_path / "gt2.csv").write_text("image,class,x,y,w,h\na,dog,0,0,1,1\n")
    assert read_ground_truth(
        tmp_path / "gt2.csv", "csv", names=tmp_path / "names.txt"
    ).category_id.tolist() == [2]


@pytest.mark.parametrize("box_format", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("seed", range(8))
def test_round_trip_equals_pycocotools(seed: int, box_format: str, tmp_path: Path) -> None:
    gt, dt = random_coco(seed)
    g = read_ground_truth(gt)
    d = read_detections(dt, g)
    write(g, tmp_path / "gt.csv", "csv", box_format=box_format)
    write(d, tmp_path / "dt.csv", "csv", ground_truth=g, box_format=box_format)
    names = dict(zip(g.categories.ids.tolist(), g.categories.names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # detections of classes without ground truth
        g2 = read_ground_truth(tmp_path / "gt.csv", "csv", names=names)  # classes without objects too
        d2 = read_detections(tmp_path / "dt.csv", g2, "csv")
    assert g2.images.ids.tolist() == g.images.ids.tolist()  # images without objects kept
    assert g2.iscrowd.tolist() == g.iscrowd.tolist()
    assert_allclose(g2.area, g.area, rtol=0, atol=0)
    if dt:
        assert_allclose(evaluate(g2, d2).coco.stats, reference(gt, dt).stats, atol=1e-9, rtol=0)


def test_writer_header(tmp_path: Path) -> None:
    g = read_ground_truth(
        {
            "images": [{"id": 1, "width": 10, "height": 10}],
            "categories": [{"id": 4, "name": "7"}],  # a number as a name: written by id
            "annotations": [{"id": 1, "image_id": 1, "category_id": 4, "bbox": [1, 1, 2, 2]}],
        }
    )
    write(g, tmp_path / "g.csv", "csv")
    assert (tmp_path / "g.csv").read_text() == (
        "image,class,x1,y1,x2,y2,width,height\n1,4,1.0,1.0,3.0,3.0,10,10\n"
    )


def test_an_empty_class_with_a_box_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "gt.csv").write_text(
        "image,class,x1,y1,x2,y2\na.jpg,cat,0,0,1,1\nb.jpg,,0,0,2,2\nc.jpg,,,,,\n"
    )  # c: an image without objects, fine
    with pytest.raises(InputError, match=r"gt.csv: line 3: class: is empty"):
        read_ground_truth(tmp_path / "gt.csv", "csv")
    (tmp_path / "dt.csv").write_text("image,class,x1,y1,x2,y2,score\na.jpg,,0,0,1,1,0.5\n")
    (tmp_path / "ok.csv").write_text("image,class,x1,y1,x2,y2\na.jpg,cat,0,0,1,1\n")
    with pytest.raises(InputError, match=r"dt.csv: line 2: class: class '' is not among"):
        read_detections(tmp_path / "dt.csv", read_ground_truth(tmp_path / "ok.csv", "csv"), "csv")


def test_image_ids_are_the_stems_as_numbers_as_in_yolo(tmp_path: Path) -> None:
    (tmp_path / "gt.csv").write_text("image,class,x1,y1,x2,y2\n000123.jpg,cat,0,0,1,1\n7.png,cat,0,0,2,2\n")
    gt = read_ground_truth(tmp_path / "gt.csv", "csv")
    assert gt.images.ids.tolist() == [7, 123] and gt.images.file_names == ("7.png", "000123.jpg")
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "000123.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (labels / "sizes.csv").write_text("image,width,height\n000123.jpg,10,10\n7.png,10,10\n")
    assert read_ground_truth(labels, "yolo").images.ids.tolist() == gt.images.ids.tolist()
    (tmp_path / "dt.csv").write_text(
        "image,class,x1,y1,x2,y2,score\n123,cat,0,0,1,1,0.5\n000123,cat,0,0,1,1,0.4\n7.png,cat,0,0,2,2,0.5\n"
    )
    assert read_detections(tmp_path / "dt.csv", gt, "csv").image_id.tolist() == [7, 123, 123]


def test_predictions_by_image_id_on_coco_ground_truth(tmp_path: Path) -> None:
    gt = read_ground_truth(
        {
            "images": [
                {"id": 5, "file_name": "a.jpg", "width": 9, "height": 9},
                {"id": 1, "file_name": "5.jpg", "width": 9, "height": 9},
                {"id": 2, "file_name": "b.jpg", "width": 9, "height": 9},
            ],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}],
        }
    )
    (tmp_path / "dt.csv").write_text(
        "image_id,class,x1,y1,x2,y2,score\n2,cat,0,0,1,1,0.5\n5,cat,0,0,1,1,0.4\na,cat,0,0,1,1,0.3\n"
    )
    dt = read_detections(tmp_path / "dt.csv", gt, "csv")  # COCO ids are real: found by id text,
    assert dt.image_id[dt.file_index.argsort()].tolist() == [2, 1, 5]  # after names ("5" is 5.jpg)
