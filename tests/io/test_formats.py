"""Formats behind one door: detection from the path, the COCO writer (read back by pycocotools),
`detrecall convert` and `detrecall evaluate` on every format, and the data warnings."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detrecall import evaluate
from detrecall.cli import main
from detrecall.errors import DataWarning, InputError
from detrecall.io import coco, detect_format, read_detections, read_ground_truth, write
from tests.oracle import random_coco, reference

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_detect_format(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("")
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "a.xml").write_text("")
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "comp4_det_test_cat.txt").write_text("")
    assert detect_format(FIXTURES / "gt.json") == "coco"
    assert detect_format(tmp_path / "x.csv") == "csv"
    assert detect_format(tmp_path / "a.XML") == "voc"
    assert detect_format(tmp_path / "labels") == "yolo"
    assert detect_format(tmp_path / "labels", "dt") == "yolo"
    assert detect_format(tmp_path / "labels", "dt", gt_format="voc") == "voc"
    assert detect_format(tmp_path / "res", "dt") == "voc"
    assert detect_format(tmp_path / "ann") == "voc"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .xml or .txt files"):
        detect_format(tmp_path / "empty")


def test_one_vocabulary_reads_and_writes_every_format(tmp_path: Path) -> None:
    parsed = json.loads((FIXTURES / "gt.json").read_text())
    gt, from_dict = read_ground_truth(FIXTURES / "gt.json"), read_ground_truth(parsed)
    assert np.array_equal(gt.box, from_dict.box) and np.array_equal(gt.ann_id, from_dict.ann_id)
    dt = read_detections(json.loads((FIXTURES / "dt_bbox.json").read_text()), gt)
    assert coco.read_coco_gt is coco.read_ground_truth  # the names before, the same functions
    assert coco.read_coco_results is coco.read_detections
    for fmt, gt_path, dt_path in (("yolo", "g", "d"), ("voc", "a", "r"), ("csv", "g.csv", "d.csv")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # YOLO: the crowds are left out
            write(gt, tmp_path / gt_path, fmt)
            write(dt, tmp_path / dt_path, fmt, ground_truth=gt)
            back = read_ground_truth(tmp_path / gt_path)
        assert detect_format(tmp_path / gt_path) == fmt
        assert len(read_detections(tmp_path / dt_path, back, gt_format=fmt)) == len(dt)
    with pytest.raises(InputError, match="yolo is read from a path, not from a dict"):
        read_ground_truth(parsed, "yolo")
    with pytest.raises(InputError, match=r"masks \(iou_type='segm'\) are read from COCO files only, not csv"):
        read_ground_truth(tmp_path / "g.csv", masks=True)
    with pytest.raises(InputError, match="shapes .* are read from COCO files only, not voc"):
        read_detections(tmp_path / "r", gt, "voc", shapes="polygon")
    with pytest.raises(InputError, match="unknown format 'txt'"):
        write(gt, tmp_path / "x", "txt")
    with pytest.raises(InputError, match="writing predictions as csv needs the ground truth"):
        write(dt, tmp_path / "x.csv", "csv")


def _pycocotools(gt_path: Path, dt_path: Path, iou_type: str) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        ev = COCOeval(coco_gt, coco_gt.loadRes(str(dt_path)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize(
    ("seed", "iou_type"), [(s, "bbox") for s in range(5)] + [(s, "segm") for s in range(3)]
)
def test_coco_writer_read_back_by_pycocotools(seed: int, iou_type: str, tmp_path: Path) -> None:
    gt, dt = random_coco(seed, segm=iou_type == "segm")
    if not dt:
        pytest.skip("no detections")
    masks = iou_type == "segm"
    g = read_ground_truth(gt, masks=masks)
    write(g, tmp_path / "gt.json", "coco")
    write(read_detections(dt, g, masks=masks), tmp_path / "dt.json", "coco")
    assert_allclose(
        _pycocotools(tmp_path / "gt.json", tmp_path / "dt.json", iou_type).stats,
        reference(gt, dt, iou_type).stats,
        atol=1e-12,
        rtol=0,
    )
    written = json.loads((tmp_path / "gt.json").read_text())
    assert [a["id"] for a in written["annotations"]] == g.ann_id.tolist()


def test_ignored_rows_are_written_with_an_ignore_flag(tmp_path: Path) -> None:
    gt = {
        "images": [{"id": 1, "width": 9, "height": 9}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "ignore": 1},
            {"id": 0, "image_id": 1, "category_id": 1, "bbox": [4, 4, 2, 2]},
        ],
    }
    write(read_ground_truth(gt), tmp_path / "gt.json", "coco")
    anns = json.loads((tmp_path / "gt.json").read_text())["annotations"]
    assert [a["id"] for a in anns] == [1, 2]  # an id 0 (pycocotools: unmatched) gets renumbered
    assert [a.get("ignore", 0) for a in anns] == [1, 0]
    assert read_ground_truth(tmp_path / "gt.json").ignore.tolist() == [True, False]


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_converts_and_evaluates_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, dt = FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"
    _, want, _ = _run(capsys, "evaluate", gt, dt, "--format", "json")
    want_coco = json.loads(want)["coco"]
    targets = (("voc", "ann", "res"), ("csv", "gt.csv", "dt.csv"), ("coco", "g.json", "d.json"))
    for fmt, gt_dst, dt_dst in targets:
        code, out, _ = _run(capsys, "convert", gt, tmp_path / gt_dst, "--to", fmt)
        assert code == 0 and out.startswith("wrote 108 annotation(s) on 36 image(s)")
        code, out, _ = _run(capsys, "convert", dt, tmp_path / dt_dst, "--to", fmt, "--kind", "dt", "--gt", gt)
        assert code == 0 and out.startswith("wrote 232 prediction(s)")
        code, out, err = _run(capsys, "evaluate", tmp_path / gt_dst, tmp_path / dt_dst, "--format", "json")
        assert code == 0, err
        got = json.loads(out)["coco"]
        assert got.keys() == want_coco.keys()
        assert_allclose([got[k] for k in got], [want_coco[k] for k in got], atol=1e-9, rtol=0)
    # YOLO has no crowds: the CLI says so, once, as a warning
    code, _, err = _run(capsys, "convert", gt, tmp_path / "labels", "--to", "yolo")
    assert code == 0 and err == (
        "detrecall: warning: "
        + str(tmp_path / "labels")
        + ": 2 crowd or ignored annotation(s) have no YOLO form and were left out "
        "(first: annotation id 9)\n"
    )
    assert _run(capsys, "convert", dt, tmp_path / "preds", "--to", "yolo", "--kind", "dt", "--gt", gt)[0] == 0
    code, out, err = _run(capsys, "evaluate", tmp_path / "labels", tmp_path / "preds", "--format", "json")
    assert code == 0 and err == ""
    assert json.loads(out)["coco"]["AP"] > 0.3


def test_cli_format_flags_override_detection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gt.dat").write_text("image,class,x,y,w,h\na,cat,0,0,10,10\n")
    (tmp_path / "dt.dat").write_text("image,class,x,y,w,h,score\na,cat,0,0,10,10,0.5\n")
    code, _, err = _run(capsys, "evaluate", tmp_path / "gt.dat", tmp_path / "dt.dat")
    assert code == 2 and "cannot tell the format" in err
    code, out, err = _run(
        capsys,
        "evaluate",
        tmp_path / "gt.dat",
        tmp_path / "dt.dat",
        "--gt-format",
        "csv",
        "--dt-format",
        "csv",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["coco"]["AP50"] == pytest.approx(1.0, abs=1e-15)


def test_data_warnings_once_each_with_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gt.csv").write_text(
        "image,class,x1,y1,x2,y2,width,height\na,cat,0,0,10,10,20,20\na,dog,12,12,25,15,20,20\n"
    )
    (tmp_path / "names.txt").write_text("cat\ndog\nbird\n")
    (tmp_path / "dt.csv").write_text(
        "image,class,x1,y1,x2,y2,score\n"
        "a,cat,0,0,10,10,1.5\n"  # score above 1
        "a,cat,0,0,10,10,0.5\n"
        "a,cat,0,0,10,10,0.5\n"  # duplicate
        "a,cat,0,0,10,10,0.5\n"  # duplicate
        "a,bird,-3,0,10,10,0.4\n"  # outside the image; no bird in the ground truth
        "a,bird,0,0,30,10,0.3\n"
    )  # outside; bird
    with pytest.warns(DataWarning, match=r"1 box\(es\) reach outside their image \(first: .*csv: line 3\)"):
        gt = read_ground_truth(tmp_path / "gt.csv", "csv", names=tmp_path / "names.txt")
    with pytest.warns(DataWarning) as record:
        read_detections(tmp_path / "dt.csv", gt, "csv")
    messages = [str(w.message) for w in record]
    assert len(messages) == 4
    assert "2 box(es) reach outside their image (first: " in messages[0] and "line 6" in messages[0]
    assert "1 score(s) outside [0, 1] (first: " in messages[1] and "line 2: 1.5" in messages[1]
    assert "2 duplicate detection(s)" in messages[2] and "line 4" in messages[2]
    assert "2 detection(s) of 1 class(es) without any ground truth (2)" in messages[3]
    code, out, err = _run(
        capsys,
        "evaluate",
        tmp_path / "gt.csv",
        tmp_path / "dt.csv",
        "--names",
        tmp_path / "names.txt",
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out)["coco"]
    lines = err.splitlines()
    assert len(lines) == 5 and all(line.startswith("detrecall: warning: ") for line in lines)


def test_the_bundled_example_raises_no_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json")
