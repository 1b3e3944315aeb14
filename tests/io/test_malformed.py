"""Malformed input of every format: each defect gives an error naming the file, the record (line,
object, result) and the field, through the API and through the CLI (exit 2, `detrecall: error:`
lines on stderr, nothing on stdout, no traceback) — never a number."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from detrecall import InputError, evaluate
from detrecall.cli import main

GT = {
    "images": [
        {"id": 1, "width": 100, "height": 80, "file_name": "a.jpg"},
        {"id": 2, "width": 50, "height": 50, "file_name": "b.jpg"},
    ],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [10, 10, 20, 20],
            "area": 400,
            "iscrowd": 0,
            "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]],
        },
        {
            "id": 2,
            "image_id": 2,
            "category_id": 2,
            "bbox": [0, 0, 5, 5],
            "area": 25,
            "iscrowd": 0,
            "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]],
        },
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
}
DT = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9}]


def _coco(tmp: Path, gt: object = GT, dt: object = DT, raw_gt: bytes | None = None) -> list[str]:
    (tmp / "gt.json").write_bytes(raw_gt if raw_gt is not None else json.dumps(gt).encode())
    (tmp / "dt.json").write_text(json.dumps(dt))
    return [str(tmp / "gt.json"), str(tmp / "dt.json")]


def _yolo(
    tmp: Path,
    *,
    labels: dict[str, bytes] | None = None,
    preds: dict[str, bytes] | None = None,
    sizes: str | None = "image,width,height\na.jpg,100,80\nb.jpg,50,50\n",
    names: str | None = "names: [cat, dog]\n",
    extra: tuple[str, ...] = (),
) -> list[str]:
    gt, dt = tmp / "labels", tmp / "preds"
    gt.mkdir()
    dt.mkdir()
    labels = {"a": b"0 0.2 0.25 0.2 0.25\n", "b": b"1 0.05 0.05 0.1 0.1\n", **(labels or {})}
    preds = {"a": b"0 0.2 0.25 0.2 0.25 0.9\n", **(preds or {})}
    for stem, text in labels.items():
        (gt / f"{stem}.txt").write_bytes(text)
    for stem, text in preds.items():
        (dt / f"{stem}.txt").write_bytes(text)
    if names is not None:
        (gt / "data.yaml").write_text(names)
    args = [str(gt), str(dt)]
    if sizes is not None:
        (tmp / "sizes.csv").write_text(sizes)
        args += ["--sizes", str(tmp / "sizes.csv")]
    return args + list(extra)


_XML = """<annotation><filename>{stem}.jpg</filename>
<size><width>{w}</width><height>{h}</height><depth>3</depth></size>
<object><name>{name}</name><difficult>{difficult}</difficult>
<bndbox><xmin>{x1}</xmin><ymin>10</ymin><xmax>{x2}</xmax><ymax>30</ymax></bndbox></object>
</annotation>"""


def _voc(tmp: Path, *, xml: dict[str, str] | None = None, dets: dict[str, str] | None = None) -> list[str]:
    gt, dt = tmp / "Annotations", tmp / "results"
    gt.mkdir()
    dt.mkdir()
    fields = dict(w=100, h=80, name="cat", difficult=0, x1=10, x2=30)
    files = {"a": _XML.format(stem="a", **fields), **(xml or {})}
    for stem, text in files.items():
        (gt / f"{stem}.xml").write_text(text)
    for name, text in {"comp4_det_test_cat.txt": "a 0.9 10 10 30 30\n", **(dets or {})}.items():
        (dt / name).write_text(text)
    return [str(gt), str(dt)]


def _csv(
    tmp: Path,
    gt: bytes = b"image,class,x1,y1,x2,y2\na.jpg,cat,10,10,30,30\n",
    dt: bytes = b"image,class,x1,y1,x2,y2,score\na.jpg,cat,10,10,30,30,0.9\n",
    extra: tuple[str, ...] = (),
) -> list[str]:
    (tmp / "gt.csv").write_bytes(gt)
    (tmp / "dt.csv").write_bytes(dt)
    return [str(tmp / "gt.csv"), str(tmp / "dt.csv"), *extra]


def _with(base: dict, **change: object) -> dict:
    out = json.loads(json.dumps(base))
    out["annotations"][1].update(change)
    return out


def _result(**change: object) -> list[dict]:
    return [{**DT[0], **change}]


Case = tuple[Callable[[Path], list[str]], tuple[str, ...]]
CASES: dict[str, Case] = {
    # COCO
    "coco truncated file": (
        lambda t: _coco(t, raw_gt=json.dumps(GT).encode()[:50]),
        ("gt.json", "not valid JSON"),
    ),
    "coco empty file": (lambda t: _coco(t, raw_gt=b""), ("gt.json", "not valid JSON")),
    "coco non-UTF-8 bytes": (
        lambda t: _coco(t, raw_gt=json.dumps(GT).encode().replace(b"a.jpg", b"\xff.jpg")),
        ("gt.json", "not valid JSON", "UTF-8"),
    ),
    "coco box of wrong type": (
        lambda t: _coco(t, dt=_result(bbox=[1, 2, "3", 4])),
        ("dt.json", "result 0", "bbox", "expected [x, y, w, h]"),
    ),
    "coco negative width": (
        lambda t: _coco(t, dt=_result(bbox=[1, 2, -3, 4])),
        ("dt.json", "result 0", "negative width"),
    ),
    "coco unknown image id": (
        lambda t: _coco(t, dt=_result(image_id=99)),
        ("dt.json", "result 0", "image_id", "99 not found"),
    ),
    "coco crowd flag 2": (lambda t: _coco(t, gt=_with(GT, iscrowd=2)), ("annotation 1", "iscrowd", "0 or 1")),
    "coco ignore flag text": (
        lambda t: _coco(t, gt=_with(GT, ignore="yes")),
        ("annotation 1", "ignore", "0 or 1"),
    ),
    "coco id as string": (
        lambda t: _coco(t, gt=_with(GT, image_id="2")),
        ("annotation 1", "image_id", "expected an integer"),
    ),
    "coco results object": (
        lambda t: _coco(t, dt={"results": DT}),
        ("dt.json", "expected a list of results"),
    ),
    "coco bad RLE": (
        lambda t: (
            _coco(
                t,
                dt=_result(segmentation={"size": [80, 100], "counts": "!!"}),
            )
            + ["--iou-type", "segm"]
        ),
        ("dt.json", "result 0", "segmentation.counts", "RLE"),
    ),
    "coco NaN literal": (
        lambda t: _coco(t, dt=_result(score=float("nan"))),
        ("dt.json", "not valid JSON", "line 1 column"),
    ),
    "coco score as text": (
        lambda t: _coco(t, dt=_result(score="0.9")),
        ("dt.json", "result 0", "score", "expected a number"),
    ),
    # YOLO
    "yolo 4 values": (
        lambda t: _yolo(t, labels={"b": b"1 0.5 0.5 0.1\n"}),
        ("b.txt", "line 1", "has 4 values", "class cx cy w h"),
    ),
    "yolo not a number": (
        lambda t: _yolo(t, labels={"b": b"\n1 0.5 abc 0.1 0.1\n"}),
        ("b.txt", "line 2", "cy", "'abc' is not a number"),
    ),
    "yolo nan": (
        lambda t: _yolo(t, labels={"b": b"1 0.5 0.5 nan 0.1\n"}),
        ("b.txt", "line 1", "w", "finite"),
    ),
    "yolo negative size": (
        lambda t: _yolo(t, labels={"b": b"1 0.5 0.5 -0.1 0.1\n"}),
        ("b.txt", "line 1", "negative width or height"),
    ),
    "yolo fractional class": (
        lambda t: _yolo(t, labels={"b": b"1.5 0.5 0.5 0.1 0.1\n"}),
        ("b.txt", "line 1", "class", "not a class number"),
    ),
    "yolo unknown class": (
        lambda t: _yolo(t, labels={"b": b"7 0.5 0.5 0.1 0.1\n"}),
        ("b.txt", "line 1", "class 7 is not in the names file"),
    ),
    "yolo label without image": (
        lambda t: _yolo(t, labels={"c": b"0 0.5 0.5 0.1 0.1\n"}),
        ("c.txt", "no image of this name"),
    ),
    "yolo no sizes": (lambda t: _yolo(t, sizes=None), ("labels", "--images", "--sizes")),
    "yolo non-UTF-8": (
        lambda t: _yolo(t, labels={"b": b"1 0.5 0.5 0.1 0.1\n\xff\xfe\n"}),
        ("b.txt", "line 2", "not UTF-8"),
    ),
    "yolo prediction without score": (
        lambda t: _yolo(t, preds={"a": b"0 0.2 0.25 0.2 0.25\n"}),
        ("preds", "a.txt", "line 1", "class cx cy w h score"),
    ),
    "yolo prediction for unknown image": (
        lambda t: _yolo(t, preds={"zzz": b"0 0.2 0.25 0.2 0.25 0.5\n"}),
        ("zzz.txt", "no ground-truth image"),
    ),
    "yolo names without names key": (lambda t: _yolo(t, names="nc: 2\n"), ("data.yaml", "no 'names' key")),
    "yolo invalid yaml": (lambda t: _yolo(t, names="names: [cat, dog\n"), ("data.yaml", "not valid YAML")),
    "yolo negative image size": (
        lambda t: _yolo(t, sizes="image,width,height\na.jpg,-100,80\nb.jpg,50,50\n"),
        ("sizes.csv", "line 2", "positive integers"),
    ),
    "yolo unreadable image": (
        lambda t: (
            (t / "img").mkdir()
            or (t / "img" / "a.jpg").write_bytes(b"garbage")
            and _yolo(t, sizes=None, extra=("--images", str(t / "img")))
        ),
        ("a.jpg", "cannot read the image size"),
    ),
    # VOC
    "voc truncated xml": (
        lambda t: _voc(t, xml={"b": "<annotation><size><width>5"}),
        ("b.xml", "line 1", "not well-formed XML"),
    ),
    "voc empty file": (lambda t: _voc(t, xml={"b": ""}), ("b.xml", "not well-formed XML")),
    "voc missing bndbox": (
        lambda t: _voc(t, xml={"b": "<annotation><object><name>cat</name></object></annotation>"}),
        ("b.xml", "object 0", "bndbox", "missing"),
    ),
    "voc xmax below xmin": (
        lambda t: _voc(t, xml={"b": _XML.format(stem="b", w=9, h=9, name="cat", difficult=0, x1=30, x2=10)}),
        ("b.xml", "object 0", "bndbox", "xmin <= xmax"),
    ),
    "voc difficult 2": (
        lambda t: _voc(t, xml={"b": _XML.format(stem="b", w=9, h=9, name="cat", difficult=2, x1=1, x2=2)}),
        ("b.xml", "object 0", "difficult", "0 or 1"),
    ),
    "voc negative image size": (
        lambda t: _voc(t, xml={"b": _XML.format(stem="b", w=-9, h=9, name="cat", difficult=0, x1=1, x2=2)}),
        ("b.xml", "size", "positive integers"),
    ),
    "voc coordinate not a number": (
        lambda t: _voc(
            t, xml={"b": _XML.format(stem="b", w=9, h=9, name="cat", difficult=0, x1="ten", x2=2)}
        ),
        ("b.xml", "object 0", "xmin", "'ten'"),
    ),
    "voc wrong root": (lambda t: _voc(t, xml={"b": "<html></html>"}), ("b.xml", "root element is <html>")),
    "voc result file of unknown class": (
        lambda t: _voc(t, dets={"comp4_det_test_horse.txt": "a 0.5 1 1 2 2\n"}),
        ("comp4_det_test_horse.txt", "class name"),
    ),
    "voc result on unknown image": (
        lambda t: _voc(t, dets={"comp4_det_test_cat.txt": "zz 0.5 1 1 2 2\n"}),
        ("comp4_det_test_cat.txt", "line 1", "image", "'zz'"),
    ),
    # CSV
    "csv empty file": (lambda t: _csv(t, gt=b""), ("gt.csv", "is empty")),
    "csv wrong column names": (
        lambda t: _csv(t, gt=b"picture,kind,a,b,c,d\nx,y,1,2,3,4\n"),
        ("gt.csv", "line 1", "no column for image, class"),
    ),
    "csv short row": (
        lambda t: _csv(t, gt=b"image,class,x1,y1,x2,y2\na.jpg,cat,10\n"),
        ("gt.csv", "line 2", "has 3 values, the header 6"),
    ),
    "csv not a number": (
        lambda t: _csv(t, gt=b"image,class,x1,y1,x2,y2\na.jpg,cat,10,ten,30,30\n"),
        ("gt.csv", "line 2", "y1", "'ten' is not a number"),
    ),
    "csv infinite value": (
        lambda t: _csv(t, dt=b"image,class,x1,y1,x2,y2,score\na.jpg,cat,10,10,inf,30,0.9\n"),
        ("dt.csv", "line 2", "x2", "finite"),
    ),
    "csv x2 below x1": (
        lambda t: _csv(t, gt=b"image,class,x1,y1,x2,y2\na.jpg,cat,30,10,10,30\n"),
        ("gt.csv", "line 2", "x1 <= x2"),
    ),
    "csv missing score": (
        lambda t: _csv(t, dt=b"image,class,x1,y1,x2,y2\na.jpg,cat,10,10,30,30\n"),
        ("dt.csv", "line 1", "no column for score"),
    ),
    "csv mapped column absent": (
        lambda t: _csv(t, extra=("--columns", "image=filename")),
        ("gt.csv", "has no column 'filename'"),
    ),
    "csv non-UTF-8": (
        lambda t: _csv(t, gt=b"image,class,x1,y1,x2,y2\n\xe9.jpg,cat,10,10,30,30\n"),
        ("gt.csv", "line 2", "not UTF-8"),
    ),
    "csv unknown class in predictions": (
        lambda t: _csv(t, dt=b"image,class,x1,y1,x2,y2,score\na.jpg,cow,10,10,30,30,0.9\n"),
        ("dt.csv", "line 2", "class", "'cow'"),
    ),
    "csv image sizes disagree": (
        lambda t: _csv(
            t, gt=b"image,class,x1,y1,x2,y2,width,height\na,cat,1,1,2,2,10,10\na,cat,1,1,2,2,10,12\n"
        ),
        ("gt.csv", "line 3", "on an earlier line"),
    ),
    # paths
    "file not found": (
        lambda t: [str(t / "nothing.json"), str(t / "dt.json")],
        ("nothing.json", "not found"),
    ),
    "unknown extension": (
        lambda t: (t / "gt.txt").write_text("x") and [str(t / "gt.txt"), str(t / "dt.json")],
        ("gt.txt", "cannot tell the format"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cli_names_the_place(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build, fragments = CASES[name]
    argv = build(tmp_path)
    code = main(["evaluate", *argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert lines and all(line.startswith("detrecall: error: ") for line in lines), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_at_least_thirty_distinct_defects() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    "name", ["coco truncated file", "yolo not a number", "voc truncated xml", "csv wrong column names"]
)
def test_cli_process_has_no_traceback(name: str, tmp_path: Path) -> None:
    argv = CASES[name][0](tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "detrecall.cli", "evaluate", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr and out.stderr.startswith("detrecall: error: ")


def test_errors_of_several_lines_and_files_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _yolo(tmp_path, labels={"a": b"0 0.5 x 0.1 0.1\n0 0.5 0.5 0.1\n", "b": b"9 0.5 0.5 0.1 0.1\n"})
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert "a.txt: line 2: has 4 values" in err[0]
    assert "b.txt: line 1: class: class 9 is not in the names file" in err[1]
    assert "a.txt: line 1: cy: 'x' is not a number" in err[2]


def test_collected_errors_stop_at_twenty_and_count_the_rest(tmp_path: Path) -> None:
    from detrecall.io import read_ground_truth

    rows = "".join(f"a.jpg,cat,{i},1,oops,2\n" for i in range(25))
    (tmp_path / "gt.csv").write_text("image,class,x1,y1,x2,y2\n" + rows)
    with pytest.raises(InputError) as info:
        read_ground_truth(tmp_path / "gt.csv", "csv")
    lines = str(info.value).splitlines()
    assert len(lines) == 21 and len(info.value.problems) == 20
    assert lines[0] == f"{tmp_path / 'gt.csv'}: line 2: x2: 'oops' is not a number"
    assert lines[-1] == "... and 5 more problem(s) not shown"


class _Tensor:
    """Stands for a torch tensor: only __array__."""

    def __init__(self, values: object) -> None:
        self.values = np.asarray(values)

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        return self.values


_T = {"boxes": [[0, 0, 10, 10]], "labels": [1]}
_P = {"boxes": [[0, 0, 10, 10]], "labels": [1], "scores": [0.5]}
ARRAY_CASES = {
    "boxes of 3 columns": (
        [{"boxes": [[0, 0, 10]], "labels": [1]}],
        [_P],
        "targets[0]: boxes: has shape (1, 3)",
    ),
    "NaN box": (
        [_T],
        [{**_P, "boxes": _Tensor([[0, 0, np.nan, 10]])}],
        "preds[0]: boxes: row 0 is not finite",
    ),
    "fractional label": ([{**_T, "labels": [1.5]}], [_P], "targets[0]: labels: has non-integer values"),
    "rows disagree": ([_T], [{**_P, "scores": [0.5, 0.4]}], "preds[0]: scores: has 2 rows but labels has 1"),
    "inverted xyxy box": (
        [{**_T, "boxes": [[10, 0, 0, 10]]}],
        [_P],
        "targets[0]: boxes: row 0 is [10.0, 0.0, 0.0, 10.0]",
    ),
    "image count": ([_T, _T], [_P], "2 targets but 1 preds"),
    "string scores": ([_T], [{**_P, "scores": ["high"]}], "preds[0]: scores: has dtype <U4"),
    "unknown key": ([{**_T, "box": [[0, 0, 1, 1]]}], [_P], "targets[0]: has unknown key(s) ['box']"),
    "crowd flag 3": ([{**_T, "iscrowd": [3]}], [_P], "targets[0]: iscrowd: has values other than 0 and 1"),
    "missing labels": ([{"boxes": [[0, 0, 1, 1]]}], [_P], "targets[0]: labels: missing"),
    "not a dict": ([_T], [[0.5]], "preds[0]: is list"),
}


@pytest.mark.parametrize("name", list(ARRAY_CASES))
def test_arrays_name_the_image_and_field(name: str) -> None:
    targets, preds, expected = ARRAY_CASES[name]
    with pytest.raises(InputError) as info:
        evaluate(targets, preds)
    assert expected in str(info.value)


def test_bad_rle_in_array_masks() -> None:
    t = {**_T, "masks": [{"size": [10, 10], "counts": "!!"}]}
    with pytest.raises(InputError, match=r"targets\[0\]: masks: item 0 is not an RLE"):
        evaluate([t], [{**_P, "masks": np.ones((1, 10, 10), bool)}], "segm")
    t = {**_T, "masks": [{"size": [10, 10], "counts": [50, 49]}]}  # sums to 99, not 100
    with pytest.raises(InputError, match=r"targets\[0\]: masks: item 0"):
        evaluate([t], [{**_P, "masks": np.ones((1, 10, 10), bool)}], "segm")
