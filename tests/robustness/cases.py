"""Malformed and extreme inputs of every format (issue 16), each with what must come out: the
fragments of a located error, or nothing (the input is legal and must evaluate).

A case builds its files in a folder and returns `Inputs`: the CLI arguments and the same
evaluation through the Python API, so that both are held to the same answer.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FLAGS = {"iou_type": "--iou-type", "sizes": "--sizes", "images": "--images", "names": "--names"}


@dataclass
class Inputs:
    argv: list[str]
    api: Callable[[], object]


def ev(gt: Any, dt: Any, **options: Any) -> Inputs:
    """`detrecall evaluate GT DT --flags` and `detrecall.evaluate(GT, DT, **options)`."""
    import detrecall

    argv = ["evaluate", str(gt), str(dt)]
    for key, value in options.items():
        argv += [FLAGS[key], str(value)]
    iou_type = options.pop("iou_type", "bbox")
    return Inputs(argv, lambda: detrecall.evaluate(gt, dt, iou_type, **options))


def classify(y_true: Path, y_pred: Path) -> Inputs:
    from detrecall.io.labels import read_labels

    return Inputs(["classify", str(y_true), str(y_pred)], lambda: (read_labels(y_true), read_labels(y_pred)))


@dataclass
class Case:
    build: Callable[[Path], Inputs]
    expect: tuple[str, ...] = ()  # error fragments; () = must evaluate (exit 0)
    items: tuple[int, ...] = field(default=())  # issue 16's numbered items it covers


# ---------------------------------------------------------------- COCO

GT: dict[str, Any] = {
    "images": [{"id": 1, "width": 100, "height": 80}, {"id": 2, "width": 50, "height": 50}],
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
            "category_id": 1,
            "bbox": [0, 0, 5, 5],
            "area": 25,
            "iscrowd": 0,
            "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]],
        },
    ],
    "categories": [{"id": 1, "name": "cat"}],
}
DT: list[dict[str, Any]] = [
    {"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
    {"image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.8},
]


def rle(h: int, w: int, on: slice | None = None) -> dict[str, Any]:
    """A compressed RLE (text counts) of an h x w mask, `on` its foreground rows."""
    from pycocotools import mask as mask_utils

    m = np.zeros((h, w), np.uint8)
    if on is not None:
        m[on] = 1
    r = mask_utils.encode(np.asfortranarray(m))
    return {"size": [h, w], "counts": r["counts"].decode()}


def coco(
    gt: Any = None,
    dt: Any = None,
    *,
    raw_gt: bytes | None = None,
    raw_dt: bytes | None = None,
    **options: Any,
) -> Callable[[Path], Inputs]:
    def build(t: Path) -> Inputs:
        (t / "gt.json").write_bytes(raw_gt if raw_gt is not None else json.dumps(gt or GT).encode())
        (t / "dt.json").write_bytes(raw_dt if raw_dt is not None else json.dumps(dt or DT).encode())
        return ev(t / "gt.json", t / "dt.json", **options)

    return build


def gt_with(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    out = copy.deepcopy(GT)
    change(out)
    return out


def ann(i: int, **values: Any) -> Callable[[dict[str, Any]], object]:
    return lambda g: g["annotations"][i].update(values)


def results(*records: dict[str, Any]) -> list[dict[str, Any]]:
    return [*copy.deepcopy(DT), *records]


def result(**values: Any) -> dict[str, Any]:
    return {"image_id": 1, "category_id": 1, "score": 0.5, **values}


NO_SIZE_GT = {  # image 1 without width/height: mask sizes have only each other to agree with
    "images": [{"id": 1}],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": rle(100, 100, slice(0, 50)),
            "area": 5000,
            "iscrowd": 0,
        },
    ],
    "categories": [{"id": 1, "name": "cat"}],
}

SEGM_RLE_GT = {
    "images": [{"id": 1, "width": 20, "height": 10}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": rle(10, 20, slice(0, 5)), "area": 100},
    ],
    "categories": [{"id": 1, "name": "cat"}],
}


def mask_result(counts: str, size: tuple[int, int] = (10, 20), **values: Any) -> dict[str, Any]:
    return result(segmentation={"size": list(size), "counts": counts}, **values)


BAD_RUNS = {  # compressed RLE strings of a 10 x 20 mask whose runs do not add up to 200
    "too short": "0",  # one run of 0
    "too long": "0\\9",  # runs 0, 300
    "negative run": "0@",  # runs 0, -16 (the sign bit)
    "empty": "",
}

COCO: dict[str, Case] = {
    "polygon vertex at 5e8 in ground truth": Case(
        coco(gt_with(ann(0, segmentation=[[10, 10, 5e8, 10, 30, 30]])), iou_type="segm"),
        ("gt.json", "annotation 0", "segmentation", "more than one image size outside image 1"),
        (1,),
    ),
    "polygon vertex at 5e8 in results": Case(
        coco(dt=[result(segmentation=[[10, 10, 5e8, 10, 30, 30]])], iou_type="segm"),
        ("dt.json", "result 0", "segmentation", "more than one image size outside image 1"),
        (1,),
    ),
    "polygon vertex at -1e9 in results": Case(
        coco(dt=[result(segmentation=[[10, 10, 20, -1e9, 30, 30]])], iou_type="segm"),
        ("dt.json", "result 0", "segmentation", "outside image 1"),
        (1,),
    ),
    "results box of 1e9 drawn as a mask (segm)": Case(
        coco(dt=results(result(bbox=[0, 0, 1e9, 1e9])), iou_type="segm"),
        (),
        (1,),
    ),
    "RLE of height 0 on an image without size": Case(
        coco(
            {
                "images": [{"id": 1}],
                "annotations": [
                    {
                        "id": 1,
                        "image_id": 1,
                        "category_id": 1,
                        "segmentation": {"size": [0, 5], "counts": [0, 0]},
                    }
                ],
                "categories": [{"id": 1}],
            },
            [result(bbox=[0, 0, 1, 1])],
            iou_type="segm",
        ),
        ("gt.json", "annotation 0", "segmentation.size", "0x5", "expected both >= 1"),
        (2,),
    ),
    "compressed RLE of height 0 in results": Case(
        coco(NO_SIZE_GT, [mask_result("00", (0, 5))], iou_type="segm"),
        ("dt.json", "result 0", "segmentation.size", "0x5"),
        (2,),
    ),
    "RLE size negative": Case(
        coco(SEGM_RLE_GT, [mask_result("0", (-1, 5))], iou_type="segm"),
        ("dt.json", "result 0", "segmentation.size", "-1x5"),
        (2, 17),
    ),
    "uncompressed RLE over 2**32 pixels": Case(
        coco(
            gt_with(ann(0, segmentation={"size": [70000, 70000], "counts": [70000 * 70000]})),
            iou_type="segm",
        ),
        ("gt.json", "annotation 0", "segmentation.size", "2**32 - 1"),
        (17,),
    ),
    **{
        f"ground-truth RLE runs {what}": Case(
            coco(
                {
                    **SEGM_RLE_GT,
                    "annotations": [
                        {
                            **SEGM_RLE_GT["annotations"][0],
                            "segmentation": {"size": [10, 20], "counts": counts},
                        }
                    ],
                },
                [mask_result(rle(10, 20)["counts"])],
                iou_type="segm",
            ),
            ("gt.json", "annotation 0", "segmentation.counts"),
            (8,),
        )
        for what, counts in BAD_RUNS.items()
    },
    **{
        f"results RLE runs {what}": Case(
            coco(SEGM_RLE_GT, [mask_result(counts)], iou_type="segm"),
            ("dt.json", "result 0", "segmentation.counts"),
            (8,),
        )
        for what, counts in BAD_RUNS.items()
    },
    "results RLE runs too short, with boxes (general path)": Case(
        coco(
            SEGM_RLE_GT,
            [
                mask_result("0", bbox=[1, 1, 2, 2]),
                result(bbox=[1, 1, 2, 2], segmentation={"size": [10, 20], "counts": [200]}),
            ],
            iou_type="segm",
        ),
        ("dt.json", "result 0", "segmentation.counts"),
        (8,),
    ),
    "results mask of another size than the ground truth's, image without size": Case(
        coco(NO_SIZE_GT, [mask_result(rle(100, 200, slice(0, 50))["counts"], (100, 200))], iou_type="segm"),
        ("dt.json", "result 0", "segmentation.size", "is [100, 200]", "ground-truth masks are 100x100"),
        (9,),
    ),
    "results masks agreeing with the ground truth, not with the image": Case(
        coco(
            {**NO_SIZE_GT, "images": [{"id": 1, "width": 50, "height": 50}]},
            [mask_result(rle(100, 100, slice(0, 40))["counts"], (100, 100))],
            iou_type="segm",
        ),
        (),
        (9,),
    ),
    "ground-truth masks of two sizes on one image": Case(
        coco(
            {
                **NO_SIZE_GT,
                "annotations": [
                    *NO_SIZE_GT["annotations"],
                    {"id": 2, "image_id": 1, "category_id": 1, "segmentation": rle(100, 200)},
                ],
            },
            [mask_result(rle(100, 100)["counts"], (100, 100))],
            iou_type="segm",
        ),
        ("gt.json", "annotation 1", "100x200 mask but annotation 0 on the same image 1 is 100x100"),
        (9,),
    ),
    "image ids of 2**63 in results": Case(
        coco(dt=[{**DT[0], "image_id": 2**63}, {**DT[1], "image_id": 2**63 + 1}]),
        ("dt.json", "result 0", "image_id", "9223372036854775808", "2**63 - 1"),
        (10,),
    ),
    "one image id of 2**63 among small ones": Case(
        coco(dt=[DT[0], {**DT[1], "image_id": 2**63}]),
        ("dt.json", "result 1", "image_id", "9223372036854775808", "2**63 - 1"),
        (10,),
    ),
    "ground-truth image id of 2**63": Case(
        coco(gt_with(lambda g: g["images"].append({"id": 2**63}))),
        ("gt.json", "image 2", "id", "2**63 - 1"),
        (10,),
    ),
    "duplicate annotation ids": Case(
        coco(gt_with(ann(1, id=1))),
        ("gt.json", "annotation 1", "id", "1 is also the id of annotation 0"),
        (11,),
    ),
    "box whose area overflows": Case(
        coco(dt=results(result(bbox=[0, 0, 1e200, 1e200]))),
        ("dt.json", "result 2", "bbox", "overflows"),
        (12,),
    ),
    "ground-truth box whose right edge overflows": Case(
        coco(gt_with(ann(1, bbox=[1.7e308, 0, 1.7e308, 5]))),
        ("gt.json", "annotation 1", "bbox", "overflows"),
        (12,),
    ),
    "invalid UTF-8 in an unknown field": Case(
        coco(raw_dt=json.dumps(DT).encode().replace(b'"score": 0.9', b'"note": "\xff\xfe", "score": 0.9')),
        ("dt.json", "not valid JSON"),
        (14,),
    ),
    "negative image width": Case(
        coco(gt_with(lambda g: g["images"][1].update(width=-50))),
        ("gt.json", "image 1", "width", "-50"),
        (14,),
    ),
    "negative ground-truth area": Case(
        coco(gt_with(ann(1, area=-25))),
        ("gt.json", "annotation 1", "area", "expected an area >= 0"),
        (14,),
    ),
    "true inside a results bbox": Case(
        coco(dt=results(result(bbox=[1, True, 3, 4]))),
        ("dt.json", "result 2", "bbox", "expected [x, y, w, h] numbers"),
        (14,),
    ),
    "true inside a ground-truth bbox": Case(
        coco(gt_with(ann(0, bbox=[1, 2, True, 4]))),
        ("gt.json", "annotation 0", "bbox"),
        (14,),
    ),
    **{
        f"a list as {where} {fieldname}": Case(
            coco(*make()),
            (file, record, fieldname),
            (17,),
        )
        for where, fieldname, file, record, make in [
            (
                "result",
                "score",
                "dt.json",
                "result 2",
                lambda: (GT, results(result(bbox=[1, 2, 3, 4], score=[0.9]))),
            ),
            (
                "result",
                "image_id",
                "dt.json",
                "result 2",
                lambda: (GT, results(result(bbox=[1, 2, 3, 4], image_id=[1]))),
            ),
            (
                "result",
                "category_id",
                "dt.json",
                "result 2",
                lambda: (GT, results(result(bbox=[1, 2, 3, 4], category_id=[1]))),
            ),
            ("annotation", "iscrowd", "gt.json", "annotation 1", lambda: (gt_with(ann(1, iscrowd=[0])), DT)),
            ("annotation", "area", "gt.json", "annotation 1", lambda: (gt_with(ann(1, area=[25])), DT)),
            (
                "annotation",
                "image_id",
                "gt.json",
                "annotation 1",
                lambda: (gt_with(ann(1, image_id=[2])), DT),
            ),
            (
                "image",
                "width",
                "gt.json",
                "image 1",
                lambda: (gt_with(lambda g: g["images"][1].update(width=[50])), DT),
            ),
        ]
    },
    "an extra field nested 1000 deep": Case(
        coco(
            raw_dt=json.dumps(DT)
            .encode()
            .replace(b'"score": 0.9', b'"x": ' + b"[" * 1000 + b"]" * 1000 + b', "score": 0.9')
        ),
        (),
        (17,),
    ),
}

# ---------------------------------------------------------------- YOLO

SIZES = "image,width,height\na.jpg,100,80\nb.jpg,50,50\n"


def yolo(
    labels: dict[str, bytes | Callable[[Path], object]] | None = None,
    preds: dict[str, bytes | Callable[[Path], object]] | None = None,
    sizes: str | None = SIZES,
    sizes_name: str = "sizes.csv",
    images: dict[str, bytes] | None = None,
) -> Callable[[Path], Inputs]:
    def build(t: Path) -> Inputs:
        gt, dt = t / "labels", t / "preds"
        gt.mkdir()
        dt.mkdir()
        for folder, files in (
            (gt, {"a": b"0 0.2 0.25 0.2 0.25\n", "b": b"0 0.05 0.05 0.1 0.1\n", **(labels or {})}),
            (dt, {"a": b"0 0.2 0.25 0.2 0.25 0.9\n", **(preds or {})}),
        ):
            for stem, content in files.items():
                if callable(content):
                    content(folder / f"{stem}.txt")
                else:
                    (folder / f"{stem}.txt").write_bytes(content)
        options: dict[str, Any] = {}
        if images is not None:
            (t / "img").mkdir()
            for name, content in images.items():
                (t / "img" / name).write_bytes(content)
            options["images"] = t / "img"
        elif sizes is not None:
            (t / sizes_name).write_text(sizes)
            options["sizes"] = t / sizes_name
        return ev(gt, dt, **options)

    return build


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.txt")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()


YOLO: dict[str, Case] = {
    "label file a dangling symbolic link": Case(
        yolo(labels={"b": _dangling}), ("labels", "b.txt", "symbolic link", "does not exist"), (7,)
    ),
    "label file a FIFO": Case(yolo(labels={"b": _fifo}), ("labels", "b.txt", "FIFO"), (4, 7)),
    "label file a folder": Case(yolo(labels={"b": _folder}), ("labels", "b.txt", "is a directory"), (7,)),
    "prediction file a FIFO": Case(yolo(preds={"a": _fifo}), ("preds", "a.txt", "FIFO"), (4, 7)),
    "overflowing pixel box": Case(
        yolo(labels={"b": b"0 1e308 0.5 0.1 0.1\n"}), ("b.txt", "line 1", "overflows"), (12,)
    ),
    "underscore in a number": Case(
        yolo(labels={"b": b"0 0.2_5 0.5 0.1 0.1\n"}),
        ("b.txt", "line 1", "cx", "'0.2_5' is not a number"),
        (14,),
    ),
    "Arabic-Indic digits": Case(
        yolo(labels={"b": "0 0.5 0.5 ٠.١ 0.1\n".encode()}), ("b.txt", "line 1", "w", "is not a number"), (14,)
    ),
    "class of 20 digits": Case(
        yolo(labels={"b": b"99999999999999999999 0.5 0.5 0.1 0.1\n"}),
        ("b.txt", "line 1", "class", "too large"),
        (17,),
    ),
    "negative class": Case(
        yolo(labels={"b": b"-1 0.5 0.5 0.1 0.1\n"}), ("b.txt", "line 1", "class", "negative"), (18,)
    ),
    "negative class in predictions": Case(
        yolo(preds={"a": b"-3 0.5 0.5 0.1 0.1 0.5\n"}), ("a.txt", "line 1", "class", "negative"), (18,)
    ),
    "sizes file width of 1e23": Case(
        yolo(sizes=json.dumps({"a.jpg": [10**23, 80], "b.jpg": [50, 50]}), sizes_name="sizes.json"),
        ("sizes.json", "'a.jpg'", "width/height"),
        (17,),
    ),
    "sizes file width in Arabic-Indic digits": Case(
        yolo(sizes="image,width,height\na.jpg,١٠٠,80\nb.jpg,50,50\n"),
        ("sizes.csv", "line 2", "width/height"),
        (14,),
    ),
    "JPEG segment of length 0": Case(
        yolo(images={"a.jpg": b"\xff\xd8\xff\xe1\x00\x00Exif\x00\x00", "b.png": b""}),
        ("a.jpg", "cannot read the image size"),
        (17,),
    ),
}

# ---------------------------------------------------------------- VOC

XML = """<annotation><filename>{stem}.jpg</filename>
<size><width>100</width><height>80</height><depth>3</depth></size>
<object><name>cat</name><difficult>0</difficult>
<bndbox><xmin>{x1}</xmin><ymin>10</ymin><xmax>{x2}</xmax><ymax>30</ymax></bndbox></object>
</annotation>"""


def voc(
    xml: dict[str, str | Callable[[Path], object]] | None = None,
    dets: dict[str, str | Callable[[Path], object]] | None = None,
) -> Callable[[Path], Inputs]:
    def build(t: Path) -> Inputs:
        gt, dt = t / "Annotations", t / "results"
        gt.mkdir()
        dt.mkdir()
        for folder, suffix, files in (
            (gt, ".xml", {"a": XML.format(stem="a", x1=10, x2=30), **(xml or {})}),
            (dt, ".txt", {"comp4_det_test_cat": "a 0.9 10 10 30 30\n", **(dets or {})}),
        ):
            for stem, content in files.items():
                if callable(content):
                    content(folder / f"{stem}{suffix}")
                else:
                    (folder / f"{stem}{suffix}").write_text(content, encoding="utf-8")
        return ev(gt, dt)

    return build


VOC: dict[str, Case] = {
    "annotation file a dangling symbolic link": Case(
        voc(xml={"b": _dangling}), ("b.xml", "symbolic link"), (7,)
    ),
    "annotation file a FIFO": Case(voc(xml={"b": _fifo}), ("b.xml", "FIFO"), (4, 7)),
    "annotation file a folder": Case(voc(xml={"b": _folder}), ("b.xml", "is a directory"), (7,)),
    "result file a folder": Case(
        voc(dets={"comp4_det_test_cat": _folder}), ("comp4_det_test_cat.txt", "is a directory"), (7,)
    ),
    "box from -1e308 to 1e308": Case(
        voc(xml={"b": XML.format(stem="b", x1=-1e308, x2=1e308)}), ("b.xml", "object 0", "bndbox"), (12,)
    ),
    "result box from -1e308 to 1e308": Case(
        voc(dets={"comp4_det_test_cat": "a 0.9 -1e308 10 1e308 30\n"}),
        ("comp4_det_test_cat.txt", "line 1", "box"),
        (12,),
    ),
    "underscore in a coordinate": Case(
        voc(xml={"b": XML.format(stem="b", x1="1_0", x2=30)}), ("b.xml", "object 0", "xmin", "'1_0'"), (14,)
    ),
    "underscore in a result score": Case(
        voc(dets={"comp4_det_test_cat": "a 0.9_9 10 10 30 30\n"}),
        ("comp4_det_test_cat.txt", "line 1", "score"),
        (14,),
    ),
}

# ---------------------------------------------------------------- CSV


def csv(
    gt: bytes, dt: bytes = b"image,class,x1,y1,x2,y2,score\na.jpg,cat,10,10,30,30,0.9\n"
) -> Callable[[Path], Inputs]:
    def build(t: Path) -> Inputs:
        (t / "gt.csv").write_bytes(gt)
        (t / "dt.csv").write_bytes(dt)
        return ev(t / "gt.csv", t / "dt.csv")

    return build


CSV_GT = b"image,class,x1,y1,x2,y2\na.jpg,cat,10,10,30,30\n"
CSV: dict[str, Case] = {
    "box from -1e308 to 1e308": Case(
        csv(b"image,class,x1,y1,x2,y2\na.jpg,cat,-1e308,10,1e308,30\n"),
        ("gt.csv", "line 2", "x1 y1 x2 y2"),
        (12,),
    ),
    "underscore in a number": Case(
        csv(b"image,class,x1,y1,x2,y2\na.jpg,cat,1_0,10,30,30\n"), ("gt.csv", "line 2", "x1", "'1_0'"), (14,)
    ),
    "Arabic-Indic digits in a score": Case(
        csv(CSV_GT, "image,class,x1,y1,x2,y2,score\na.jpg,cat,10,10,30,30,٠.٩\n".encode()),
        ("dt.csv", "line 2", "score"),
        (14,),
    ),
    "negative class number": Case(
        csv(b"image,class,x1,y1,x2,y2\na.jpg,-1,10,10,30,30\n"),
        ("gt.csv", "line 2", "class", "negative"),
        (18,),
    ),
    "image size of 1e300": Case(
        csv(b"image,class,x1,y1,x2,y2,width,height\na.jpg,cat,10,10,30,30,1e300,80\n"),
        ("gt.csv", "line 2", "width/height"),
        (17,),
    ),
}

# ---------------------------------------------------------------- paths and label files


def _paths_fifo_gt(t: Path) -> Inputs:
    os.mkfifo(t / "gt.json")
    (t / "dt.json").write_text(json.dumps(DT))
    return ev(t / "gt.json", t / "dt.json")


def _paths_fifo_dt(t: Path) -> Inputs:
    (t / "gt.json").write_text(json.dumps(GT))
    os.mkfifo(t / "dt.json")
    return ev(t / "gt.json", t / "dt.json")


def _paths_dev_zero(t: Path) -> Inputs:
    (t / "gt.json").write_text(json.dumps(GT))
    (t / "dt.json").symlink_to("/dev/zero")
    return ev(t / "gt.json", t / "dt.json")


def _labels(true: bytes, pred: bytes, suffix: str = ".txt") -> Callable[[Path], Inputs]:
    def build(t: Path) -> Inputs:
        (t / f"true{suffix}").write_bytes(true)
        (t / f"pred{suffix}").write_bytes(pred)
        return classify(t / f"true{suffix}", t / f"pred{suffix}")

    return build


PATHS: dict[str, Case] = {
    "ground truth a FIFO": Case(_paths_fifo_gt, ("gt.json", "FIFO"), (4,)),
    "results a FIFO": Case(_paths_fifo_dt, ("dt.json", "FIFO"), (4,)),
    "results /dev/zero": Case(_paths_dev_zero, ("dt.json", "character device"), (4,)),
    "label line over 128 KB": Case(
        _labels(b"1\n" + b"x" * 200_000 + b"\n", b"1\n2\n"), ("true.txt", "not valid CSV"), (17,)
    ),
    "JSON label 2**64 - 1": Case(
        _labels(json.dumps([1, 2**64 - 1]).encode(), b"[1, 2]", ".json"), ("true.json", "label 1"), (17,)
    ),
}

FORMATS: dict[str, dict[str, Case]] = {"coco": COCO, "yolo": YOLO, "voc": VOC, "csv": CSV, "paths": PATHS}
ALL: dict[str, Case] = {
    f"{fmt}: {name}": case for fmt, cases in FORMATS.items() for name, case in cases.items()
}
