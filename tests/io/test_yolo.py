"""YOLO label folders: hand-worked boxes, image sizes from headers, names files, and the COCO ->
YOLO -> back round trip against pycocotools on the de-normalized boxes."""

from __future__ import annotations

import copy
import json
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from detrecall.cli import main
from detrecall.errors import DataWarning, InputError
from detrecall.io import read_detections, read_ground_truth, write
from detrecall.io._images import image_size, sizes_from_folder
from tests.oracle import random_coco, reference

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def png(width: int, height: int) -> bytes:
    """A valid 1-bit grey PNG of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((width + 7) // 8) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    """A JPEG's header: SOI, optional APP1 EXIF with an Orientation tag, APP0 padding, SOF0."""
    out = b"\xff\xd8"
    if orientation is not None:
        ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 274, 3, 1, orientation, 0) + b"\x00" * 4
        tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
        body = b"Exif\x00\x00" + tiff
        out += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    out += b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    out += b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return out + b"\xff\xd9"


def test_image_sizes_from_headers(tmp_path: Path) -> None:
    files = {
        "a.png": png(37, 21),
        "b.jpg": jpeg(640, 480),
        "c.jpeg": jpeg(640, 480, orientation=6),  # shown turned by 90 degrees
        "d.gif": b"GIF89a" + struct.pack("<HH", 12, 34) + b"\x00" * 20,
        "e.bmp": b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, 55, -66) + b"\x00" * 20,
        "f.webp": b"RIFF\x00\x00\x00\x00WEBPVP8X"
        + b"\x00" * 8
        + (99).to_bytes(3, "little")
        + (49).to_bytes(3, "little")
        + b"\x00" * 4,
        "notes.txt": b"not an image",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    sizes = sizes_from_folder(tmp_path)
    assert {k: v[:2] for k, v in sizes.items()} == {
        "a": (37, 21),
        "b": (640, 480),
        "c": (480, 640),
        "d": (12, 34),
        "e": (55, 66),
        "f": (100, 50),
    }
    assert sizes["c"][2] == "c.jpeg"


def test_image_sizes_equal_pillow(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    ops = pytest.importorskip("PIL.ImageOps")
    rng = np.random.default_rng(0)
    for k, fmt in enumerate(["PNG", "JPEG", "GIF", "BMP", "WEBP", "JPEG"]):
        w, h = (int(v) for v in rng.integers(1, 300, 2))
        path = tmp_path / f"{k}.{fmt.lower()}"
        kwargs = {}
        if k == 5:
            exif = image.Exif()
            exif[274] = 8
            kwargs["exif"] = exif
        try:
            image.new("RGB", (w, h)).save(path, fmt, **kwargs)
        except (KeyError, OSError):  # a Pillow built without that codec
            continue
        with image.open(path) as im:
            assert image_size(path) == ops.exif_transpose(im).size


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_boxes_by_hand_and_images_without_labels(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "x.png").write_bytes(png(200, 100))
    (images / "y.jpg").write_bytes(jpeg(50, 40))
    labels = _write(tmp_path / "labels", {"x.txt": "1 0.5 0.5 0.2 0.4\n\n0 0.25 0.75 0.5 0.5\n"})
    gt = read_ground_truth(labels, "yolo", images=images, names={0: "cat", 1: "dog"})
    assert gt.images.file_names == ("x.png", "y.jpg")
    assert gt.images.width.tolist() == [200, 50] and gt.images.height.tolist() == [100, 40]
    assert gt.images.ids.tolist() == [0, 1]  # names are not numbers: positions in sorted order
    assert gt.category_id.tolist() == [0, 1]  # rows sorted by (image, class, line)
    assert_allclose(gt.box, [[0, 50, 100, 50], [80, 30, 40, 40]])
    assert_allclose(gt.area, [5000, 1600])
    assert gt.categories.names == ("cat", "dog")
    preds = _write(tmp_path / "preds", {"x.txt": "1 0.5 0.5 0.2 0.4 0.75\n", "y.txt": "0 0.5 0.5 1 1 0.5\n"})
    dt = read_detections(preds, gt, "yolo")
    assert dt.image_id.tolist() == [0, 1]
    assert_allclose(dt.box, [[80, 30, 40, 40], [0, 0, 50, 40]])
    assert dt.score.tolist() == [0.75, 0.5]
    r = evaluate(gt, dt, iou_thresholds=[0.5])
    assert [c.tp for c in r.point.per_class] == [0, 1]
    assert [c.fp for c in r.point.per_class] == [1, 0]


@pytest.mark.parametrize(
    ("file_name", "text"),
    [
        ("data.yaml", "path: ../datasets\nnames:\n  0: cat\n  1: dog\n"),
        ("data.yaml", "names: [cat, dog]\nnc: 2\n"),
        ("classes.txt", "cat\ndog\n"),
    ],
)
def test_names_files_found_in_the_folder(tmp_path: Path, file_name: str, text: str) -> None:
    labels = _write(tmp_path / "labels", {"x.txt": "1 0.5 0.5 0.2 0.4\n", file_name: text})
    (tmp_path / "sizes.json").write_text('{"x.jpg": [10, 10]}')
    gt = read_ground_truth(labels, "yolo", sizes=tmp_path / "sizes.json")
    assert gt.categories.names == ("cat", "dog") and gt.categories.ids.tolist() == [0, 1]
    assert len(gt) == 1  # the names file is not a label file


def test_without_names_classes_are_the_numbers_seen(tmp_path: Path) -> None:
    labels = _write(tmp_path / "labels", {"3.txt": "7 0.5 0.5 0.2 0.4\n2 0.5 0.5 0.1 0.1\n"})
    (tmp_path / "s.csv").write_text("stem,height,width\n3,20,10\n")
    gt = read_ground_truth(labels, "yolo", sizes=tmp_path / "s.csv")
    assert gt.categories.ids.tolist() == [2, 7] and gt.categories.names == ("2", "7")
    assert gt.images.ids.tolist() == [3]  # numeric stems are the ids
    assert_allclose(gt.box[1], [4, 6, 2, 8])


def test_ultralytics_layout_finds_the_images(tmp_path: Path) -> None:
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "images" / "val" / "a.png").write_bytes(png(64, 32))
    labels = _write(tmp_path / "labels" / "val", {"a.txt": "0 0.5 0.5 0.5 0.5\n"})
    gt = read_ground_truth(labels, "yolo")
    assert_allclose(gt.box, [[16, 8, 32, 16]])


def _rel(box: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """COCO xywh -> YOLO cx cy w h, written with every digit (repr) so read back exactly."""
    return np.stack(
        [(box[:, 0] + box[:, 2] / 2) / w, (box[:, 1] + box[:, 3] / 2) / h, box[:, 2] / w, box[:, 3] / h], 1
    )


def _abs(rel: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.stack(
        [(rel[:, 0] - rel[:, 2] / 2) * w, (rel[:, 1] - rel[:, 3] / 2) * h, rel[:, 2] * w, rel[:, 3] * h], 1
    )


def _through_yolo(gt: dict, dt: list) -> tuple[dict, list]:
    """What a YOLO round trip should give: crowds dropped (YOLO has no crowd), boxes normalized
    and de-normalized in float64, area = w*h of the box (YOLO has no area)."""
    size = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
    out_gt = copy.deepcopy(gt)
    out_gt["annotations"] = [a for a in out_gt["annotations"] if not a["iscrowd"]]
    for recs in (out_gt["annotations"], out_dt := copy.deepcopy(dt)):
        if not recs:
            continue
        box = np.array([r["bbox"] for r in recs], float)
        w = np.array([size[r["image_id"]][0] for r in recs], float)
        h = np.array([size[r["image_id"]][1] for r in recs], float)
        new = _abs(_rel(box, w, h), w, h)
        assert np.abs(new - box).max() < 1e-9  # the rounding is float noise
        for r, b in zip(recs, new.tolist()):
            r["bbox"] = b
            if "area" in r:
                r["area"] = b[2] * b[3]
    return out_gt, out_dt


@pytest.mark.parametrize("seed", range(15))
def test_round_trip_equals_pycocotools_on_the_denormalized_boxes(seed: int, tmp_path: Path) -> None:
    gt, dt = random_coco(seed)
    want_gt, want_dt = _through_yolo(gt, dt)
    if not want_dt:
        pytest.skip("no detections")
    g, d = read_ground_truth(gt), read_detections(dt, read_ground_truth(gt))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # crowds left out; classes without GT
        write(g, tmp_path / "gt", "yolo")
        write(d, tmp_path / "dt", "yolo", ground_truth=g)
        g2 = read_ground_truth(tmp_path / "gt", "yolo")
        d2 = read_detections(tmp_path / "dt", g2, "yolo")
    assert_allclose(evaluate(g2, d2).coco.stats, reference(want_gt, want_dt).stats, atol=1e-9, rtol=0)
    assert g2.images.ids.tolist() == g.images.ids.tolist()


def test_predictions_mapped_by_name_to_sparse_coco_ids(tmp_path: Path) -> None:
    gt = read_ground_truth(FIXTURES / "gt.json")  # category ids 1, 2, 3, 5, 9
    dt = read_detections(FIXTURES / "dt_bbox.json", gt)
    write(dt, tmp_path / "preds", "yolo", ground_truth=gt)  # class numbers 0..4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        write(gt, tmp_path / "labels", "yolo")
    back = read_detections(tmp_path / "preds", gt, "yolo", names=tmp_path / "labels" / "data.yaml")
    assert back.category_id.tolist() == dt.category_id.tolist()
    assert_allclose(back.box, dt.box, atol=1e-9)
    shutil.rmtree(tmp_path / "preds")
    write(dt, tmp_path / "preds", "yolo", ground_truth=gt)
    (tmp_path / "preds" / "data.yaml").unlink()  # a folder of class numbers alone
    with pytest.raises(InputError, match="class 0 is not among the ground truth's categories"):
        read_detections(tmp_path / "preds", gt, "yolo")  # without names: numbers must be GT ids


def _evaluate_cli(gt: Path, dt: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> list[float]:
    assert main(["evaluate", str(gt), str(dt), "--format", "json", *flags]) == 0
    return list(json.loads(capsys.readouterr().out)["coco"].values())


def test_converted_predictions_read_back_as_their_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # category ids 2, 3, 5 of 1, 2, 3, 5, 9: YOLO numbers them 1, 2, 3 and says so in data.yaml
    records = json.loads((FIXTURES / "dt_bbox.json").read_text())
    records = [r for r in records if r["category_id"] in (2, 3, 5)]
    (tmp_path / "dt.json").write_text(json.dumps(records))
    assert (
        main(
            [
                "convert",
                str(tmp_path / "dt.json"),
                str(tmp_path / "yolo"),
                "--to",
                "yolo",
                "--kind",
                "dt",
                "--gt",
                str(FIXTURES / "gt.json"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    want = _evaluate_cli(FIXTURES / "gt.json", tmp_path / "dt.json", capsys)
    got = _evaluate_cli(FIXTURES / "gt.json", tmp_path / "yolo", capsys, "--dt-format", "yolo")
    assert_allclose(got, want, atol=1e-12, rtol=0)
    gt = read_ground_truth(FIXTURES / "gt.json")
    dt = read_detections(tmp_path / "dt.json", gt)
    back = read_detections(tmp_path / "yolo", gt, "yolo")
    assert back.category_id.tolist() == dt.category_id.tolist()
    assert_allclose(back.box, dt.box, atol=1e-9, rtol=0)


def test_round_trip_keeps_classes_of_the_same_name_apart(tmp_path: Path) -> None:
    image = {"id": 1, "width": 100, "height": 100, "file_name": "a.jpg"}
    cats = [{"id": 4, "name": "car"}, {"id": 7, "name": "car"}, {"id": 9, "name": "bus"}]
    anns = [
        {"id": k + 1, "image_id": 1, "category_id": c, "bbox": [10 * k, 0, 10, 10], "area": 100, "iscrowd": 0}
        for k, c in enumerate((4, 7, 9))
    ]
    gt = read_ground_truth({"images": [image], "categories": cats, "annotations": anns})
    dt = read_detections(
        [
            {"image_id": 1, "category_id": c, "bbox": [10 * k, 0, 10, 10], "score": 0.5}
            for k, c in enumerate((7, 4, 9))
        ],
        gt,
    )
    write(dt, tmp_path / "dt", "yolo", ground_truth=gt)
    write(gt, tmp_path / "gt", "yolo")
    back = read_detections(tmp_path / "dt", gt, "yolo")
    assert back.category_id.tolist() == dt.category_id.tolist()
    gt2 = read_ground_truth(tmp_path / "gt", "yolo")  # numbered 0, 1, 2, ids kept in data.yaml
    assert read_detections(tmp_path / "dt", gt2, "yolo").category_id.tolist() == [4, 7, 9]
    assert gt2.category_id.tolist() == [4, 7, 9] and gt2.categories.names == gt.categories.names
    assert gt2.categories.ids.tolist() == [4, 7, 9]
    assert evaluate(gt, back).coco.AP == evaluate(gt, dt).coco.AP


def test_label_file_names_win_over_ids_as_text(tmp_path: Path) -> None:
    labels = _write(
        tmp_path / "labels",
        {"1.txt": "0 0.5 0.5 0.2 0.2\n", "2.txt": "0 0.5 0.5 0.4 0.4\n", "a.txt": "0 0.5 0.5 0.6 0.6\n"},
    )
    (labels / "sizes.csv").write_text("image,width,height\n1.jpg,10,10\n2.jpg,10,10\na.jpg,10,10\n")
    gt = read_ground_truth(labels, "yolo")
    assert gt.images.ids.tolist() == [0, 1, 2]  # positions: "a" is no number
    preds = _write(
        tmp_path / "preds",
        {
            "1.txt": "0 0.5 0.5 0.2 0.2 0.9\n",
            "2.txt": "0 0.5 0.5 0.4 0.4 0.9\n",
            "a.txt": "0 0.5 0.5 0.6 0.6 0.9\n",
        },
    )
    dt = read_detections(preds, gt, "yolo")
    assert dt.image_id.tolist() == [0, 1, 2]
    assert_allclose(dt.box, gt.box)


def test_an_id_made_up_from_positions_is_no_name(tmp_path: Path) -> None:
    labels = _write(tmp_path / "labels", {"10.txt": "0 0.5 0.5 0.2 0.2\n", "x.txt": "0 0.5 0.5 0.4 0.4\n"})
    (labels / "sizes.csv").write_text("image,width,height\n10.jpg,10,10\nx.jpg,10,10\n")
    gt = read_ground_truth(labels, "yolo")
    assert gt.images.ids.tolist() == [0, 1]
    preds = _write(tmp_path / "preds", {"1.txt": "0 0.5 0.5 0.4 0.4 0.9\n"})
    with pytest.raises(InputError, match=r"preds/1.txt: no ground-truth image of this name"):
        read_detections(preds, gt, "yolo")  # image id 1 is "x" by position only, not by name
    preds = _write(tmp_path / "preds2", {"010.txt": "0 0.5 0.5 0.2 0.2 0.9\n"})
    assert read_detections(preds, gt, "yolo").image_id.tolist() == [0]  # "10" zero-padded


def test_a_stem_of_two_images_is_refused(tmp_path: Path) -> None:
    gt = read_ground_truth(
        {
            "images": [
                {"id": 1, "file_name": "a.jpg", "width": 9, "height": 9},
                {"id": 2, "file_name": "a.png", "width": 9, "height": 9},
            ],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [],
        }
    )
    preds = _write(tmp_path / "preds", {"a.txt": "1 0.5 0.5 0.4 0.4 0.9\n"})
    with pytest.raises(InputError, match=r"a.txt: the name of 2 ground-truth images \(ids 1, 2;"):
        read_detections(preds, gt, "yolo")
