"""COCO ground truth through the compiled parser (io.coco._fast_ground_truth over
_native.ground_truth) against the general path (orjson, then io._records' columns), which is its
twin: the same Dataset, every array bit for bit with its dtype and order, the same image and
category tables, on the bundled and benchmark files, the conformance files, random files in
every JSON spelling, and the same InputError text on every malformed file."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from detrecall import DetrecallError, _compiled
from detrecall.io import coco
from detrecall.io._records import read_file
from detrecall.types import Dataset
from tests.mutation import edited_bytes

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT.parent / "shared" / "conformance"
native = _compiled.native
needs_native = pytest.mark.skipif(native is None, reason="the native module is not built here")


def dataset_fields(ds: Dataset) -> dict[str, Any]:
    """Everything a Dataset holds, in a form == compares exactly (arrays by dtype, shape and
    bytes: -0.0 and 0.0 differ)."""

    def arr(a: np.ndarray | None) -> Any:
        return None if a is None else (a.dtype.str, a.shape, a.tobytes())

    return {
        "image_id": arr(ds.image_id),
        "category_id": arr(ds.category_id),
        "box": arr(ds.box),
        "area": arr(ds.area),
        "iscrowd": arr(ds.iscrowd),
        "ann_id": arr(ds.ann_id),
        "ignore": arr(ds.ignore),
        "images": (arr(ds.images.ids), arr(ds.images.width), arr(ds.images.height), ds.images.file_names),
        "categories": (arr(ds.categories.ids), ds.categories.names),
        "masks": ds.masks,
        "source": ds.source,
        "shapes": arr(ds.shapes),
        "keypoints": arr(ds.keypoints),
    }


def outcome(path: Path, compiled: Any, **options: Any) -> Any:
    """read_ground_truth(path) with the compiled module `compiled` (None: the general path
    only): the Dataset's fields, or the error's type and text."""
    saved = coco.native
    coco.native = compiled
    try:
        return dataset_fields(coco.read_ground_truth(path, **options))
    except DetrecallError as e:
        return (type(e).__name__, str(e))
    finally:
        coco.native = saved


def took_fast_path(path: Path, read_ignore: bool = True) -> bool:
    return coco._fast_ground_truth(read_file(path), str(path), read_ignore) is not None


def assert_same(path: Path, **options: Any) -> Any:
    fast, general = outcome(path, native, **options), outcome(path, None, **options)
    assert fast == general, path
    return fast


BUNDLED = [
    ROOT / "fixtures" / "gt.json",
    *sorted((ROOT / "benchmarks" / "data").glob("*_[0-9][0-9]_*/gt.json")),
    *sorted((ROOT / "benchmarks" / "data").glob("*_[0-9][0-9][0-9]_*/gt.json")),
]


@needs_native
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("read_ignore", [True, False])
def test_bundled_files_read_the_same_on_both_paths(path: Path, read_ignore: bool) -> None:
    got = assert_same(path, read_ignore=read_ignore)
    assert isinstance(got, dict) and took_fast_path(path, read_ignore)
    assert native.ground_truth(read_file(path), read_ignore)[11] is not None  # the images in C too


def test_fixture_values_by_hand() -> None:
    """The fixture's first annotations as the file gives them (the oracle: the file itself)."""
    path = ROOT / "fixtures" / "gt.json"
    data = json.loads(path.read_bytes())
    ds = coco.read_ground_truth(path)
    first = min(data["annotations"], key=lambda a: (a["image_id"], a["category_id"]))
    row = int(np.flatnonzero(ds.ann_id == first["id"])[0])
    assert ds.image_id[row] == first["image_id"] and ds.category_id[row] == first["category_id"]
    assert ds.box[row].tolist() == [float(v) for v in first["bbox"]]
    assert ds.area[row] == first["area"] and ds.iscrowd[row] == bool(first["iscrowd"])
    assert ds.images.ids.tolist() == sorted(im["id"] for im in data["images"])


def _conformance_ground_truths() -> list[Path]:
    if not CONFORMANCE.is_dir():
        return []
    out = []
    for path in sorted(CONFORMANCE.rglob("*.json")):
        data = orjson.loads(path.read_bytes())
        if isinstance(data, dict) and "images" in data and "annotations" in data:
            out.append(path)
    return out


@pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=f"no conformance data at {CONFORMANCE}")
@pytest.mark.parametrize("read_ignore", [True, False])
def test_conformance_ground_truths_read_the_same_on_both_paths(read_ignore: bool) -> None:
    paths = _conformance_ground_truths()
    assert len(paths) >= 8
    fast = 0
    for path in paths:
        assert_same(path, read_ignore=read_ignore)
        fast += native is not None and took_fast_path(path, read_ignore)
    # the rest give string ids (faster_coco_eval's gt_ignore_test), an error either way
    assert native is None or fast >= len(paths) - 1


# ---------------------------------------------------------------- random files


def _number(rng: random.Random, v: float | int, odd: float) -> str:
    """A JSON spelling of v (or of a value near it); an integer as a float with probability `odd`."""
    if isinstance(v, int):
        if rng.random() >= odd:
            return rng.choice([str(v), "-0" if v == 0 else str(v)])
        return rng.choice([f"{v}.0", f"{v}e0", f"{v}E+0", f"{v}.5"])
    return rng.choice(
        [repr(v), f"{v:.2f}", f"{v:.17g}", f"{v:e}", f"{v * 10:.3f}E-1", repr(float(np.float32(v)))]
    )


def _dump(rng: random.Random, value: Any, odd: float = 0.0) -> str:
    """JSON text of `value` with random spacing and number spellings (`odd`: see _number)."""
    ws = rng.choice(["", "", " ", "\n  ", "\t"])
    if isinstance(value, dict):
        items = [f"{json.dumps(k)}{ws}:{ws}{_dump(rng, v, odd)}" for k, v in value.items()]
        return "{" + ws + f",{ws}".join(items) + ws + "}"
    if isinstance(value, list):
        return "[" + ws + f",{ws}".join(_dump(rng, v, odd) for v in value) + ws + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=rng.random() < 0.5)
    return _number(rng, value, odd)


def random_ground_truth(rng: random.Random, n_images: int = 6, n_anns: int = 30) -> dict[str, Any]:
    """A COCO instances dict with fields in any order, optional ones given or not, odd values."""
    images = [
        {"id": i * 3 + 1, "width": rng.randint(1, 900), "height": rng.randint(1, 900)}
        for i in range(n_images)
    ]
    for im in images:
        if rng.random() < 0.5:
            im["file_name"] = rng.choice([f"{im['id']}.jpg", "é.png", ""])
    rng.shuffle(images)
    categories = [
        {"id": c, "name": rng.choice([f"c{c}", "vélo", "a\\b"])} for c in rng.sample(range(1, 20), 4)
    ]
    anns = []
    odd_ids = rng.random() < 0.2  # ids 0, -1 (missing-looking) and 10**17 + k, some repeated
    for k in range(n_anns):
        ann: dict[str, Any] = {
            "image_id": rng.choice(images)["id"],
            "category_id": rng.choice(categories)["id"],
            "bbox": [rng.choice([0, 0.5, rng.uniform(0, 500), rng.randint(0, 500)]) for _ in range(4)],
        }
        if rng.random() < 0.8:
            ann["id"] = rng.choice([k + 1, 0, -1, 10**17 + k]) if odd_ids else k + 1
        if rng.random() < 0.7:
            ann["area"] = rng.choice([rng.uniform(0, 1e5), 0, -0.0, 12, None])
        for flag in ("iscrowd", "ignore"):
            if rng.random() < 0.4:
                ann[flag] = rng.choice([0, 1, True, False])
        if rng.random() < 0.3:
            ann["segmentation"] = rng.choice(
                [
                    [[1.5, 2, 30, 2, 30, 40.25]],
                    {"size": [9, 9], "counts": "0\\\\1"},
                    {"size": [2, 2], "counts": [0, 4]},
                    [],
                ]
            )
        if rng.random() < 0.1:
            ann[rng.choice(["attributes", "keypoints", "note"])] = rng.choice(
                [[0, 0, 2] * 3, {"a": [None, True]}, "x\\y/z", 5]
            )
        items = list(ann.items())
        rng.shuffle(items)
        anns.append(dict(items))
    data = {"info": {"year": 2024}, "images": images, "annotations": anns, "categories": categories}
    if rng.random() < 0.2:
        del data["categories"]
    items = list(data.items())
    rng.shuffle(items)
    return dict(items)


@needs_native
@pytest.mark.parametrize("seed", range(6))
def test_random_files_read_the_same_on_both_paths(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    fast = 0
    for k in range(40):
        path = tmp_path / f"gt{k}.json"
        odd = rng.choice([0.0, 0.0, 0.0, 0.01, 0.3])
        path.write_text(_dump(rng, random_ground_truth(rng), odd), encoding="utf-8")
        read_ignore = rng.random() < 0.7
        got = assert_same(path, read_ignore=read_ignore)
        fast += took_fast_path(path, read_ignore)
        assert isinstance(got, dict) or got[0] == "InputError"
    assert fast >= 10  # most spellings are the compiled parser's; the others its twin's


# ---------------------------------------------------------------- malformed files

BASE: dict[str, Any] = {
    "info": {"description": "base"},
    "images": [
        {"id": 1, "width": 100, "height": 80, "file_name": "a.jpg"},
        {"id": 2, "width": 50, "height": 50, "file_name": "b.jpg"},
    ],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
        {
            "id": 2,
            "image_id": 2,
            "category_id": 2,
            "bbox": [0.5, 0, 5, 5.25],
            "area": 25,
            "iscrowd": 0,
            "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]],
        },
    ],
    "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
}


def _text(data: Any = BASE) -> bytes:
    return json.dumps(data).encode()


def _ann(**change: Any) -> bytes:
    """BASE with annotation 1 changed (a value of ... deletes the field)."""
    data = json.loads(_text())
    for k, v in change.items():
        if v is ...:
            del data["annotations"][1][k]
        else:
            data["annotations"][1][k] = v
    return _text(data)


def _raw_ann(field: str, text: str | bytes) -> bytes:
    """BASE with annotation 1's `field` (another one, after its area) written as `text`."""
    raw = text.encode() if isinstance(text, str) else text
    return _text().replace(b'"area": 25,', b'"area": 25, "' + field.encode() + b'": ' + raw + b",")


def _anns(edit: Callable[[list[Any]], Any]) -> bytes:
    """BASE with edit(annotations) done."""
    data = json.loads(_text())
    edit(data["annotations"])
    return _text(data)


def _top(**change: Any) -> bytes:
    data = json.loads(_text())
    for k, v in change.items():
        if v is ...:
            del data[k]
        else:
            data[k] = v
    return _text(data)


def _images(**change: Any) -> bytes:
    data = json.loads(_text())
    data["images"][1].update(change)
    return _text(data)


# name: (the file, a fragment of the error, or None when it is a valid file)
MALFORMED: dict[str, tuple[Callable[[], bytes], str | None]] = {
    "truncated": (lambda: _text()[:200], "not valid JSON"),
    "truncated in the annotations": (lambda: _text()[: _text().index(b"segmentation")], "not valid JSON"),
    "empty": (lambda: b"", "not valid JSON"),
    "only whitespace": (lambda: b" \n", "not valid JSON"),
    "a BOM": (lambda: b"\xef\xbb\xbf" + _text(), "not valid JSON"),
    "non-UTF-8 in images": (lambda: _text().replace(b"a.jpg", b"\xff.jpg"), "not valid JSON"),
    "non-UTF-8 in an annotation": (lambda: _raw_ann("note", b'"\xff"'), "not valid JSON"),
    "trailing garbage": (lambda: _text() + b" x", "not valid JSON"),
    "a second object": (lambda: _text() + _text(), "not valid JSON"),
    "a list": (lambda: b"[" + _text() + b"]", "is a JSON list"),
    "NaN area": (lambda: _raw_ann("area", "NaN"), "not valid JSON"),
    "infinite area": (lambda: _raw_ann("area", "1e999"), "not valid JSON"),
    "lone surrogate": (lambda: _raw_ann("note", '"\\ud800"'), "not valid JSON"),
    "control character": (lambda: _raw_ann("note", '"a\x01b"'), "not valid JSON"),
    "leading zero": (lambda: _raw_ann("note", "01"), "not valid JSON"),
    "trailing comma": (lambda: _text().replace(b'"iscrowd": 0}', b'"iscrowd": 0,}'), "not valid JSON"),
    "missing images": (lambda: _top(images=...), "missing key 'images'"),
    "missing annotations": (lambda: _top(annotations=...), "missing key 'annotations'"),
    "annotations an object": (lambda: _top(annotations={}), "'annotations' is dict, expected a list"),
    "annotations twice, the second bad": (
        lambda: _text()[:-1] + b', "annotations": [{"image_id": 9}]}',
        "annotation 0",
    ),
    "annotations twice, the second good": (lambda: _text()[:-1] + b', "annotations": []}', None),
    "escaped annotations key": (lambda: _text().replace(b'"annotations"', b'"annot\\u0061tions"'), None),
    "images twice": (
        lambda: _text()[:-1] + b', "images": [{"id": 1}]}',
        "annotation 1: image_id: 2 not found",
    ),
    "duplicate image id": (lambda: _images(id=1), "image 1: id: 1 appears twice"),
    "negative image width": (lambda: _images(width=-5), "image 1: width: is -5"),
    "image id text": (lambda: _images(id="2"), "image 1: id: is '2'"),
    "image id 2.0": (lambda: _images(id=2.0), "image 1: id: is 2.0"),
    "image width null": (lambda: _images(width=None), "image 1: width: is None"),
    "image width float": (lambda: _images(width=50.5), "image 1: width: is 50.5"),
    "image height bool": (lambda: _images(height=True), "image 1: height: is True"),
    "image without id": (lambda: _top(images=[{"width": 1}]), "image 0: id: missing"),
    "image not an object": (lambda: _top(images=[{"id": 1}, [2]]), "image 1: is list"),
    "images an object": (lambda: _top(images={"id": 1}), "'images' is dict, expected a list"),
    "image file_name a number": (lambda: _images(file_name=7), None),
    "image file_name null": (lambda: _images(file_name=None), None),
    "image file_name missing": (lambda: _top(images=[{"id": 1}, {"id": 2}]), None),
    "image file_name unicode": (lambda: _images(file_name="v\u00e9lo/\u732b.jpg"), None),
    "image file_name escaped": (lambda: _images(file_name='a\\b "c".jpg'), None),
    "image field twice": (lambda: _text().replace(b'"width": 50,', b'"width": 50, "width": 7,'), None),
    "image extra fields": (lambda: _images(license=1, neg_category_ids=[1], coco_url="http://x/b.jpg"), None),
    "images unsorted": (lambda: _top(images=[BASE["images"][1], BASE["images"][0]]), None),
    "annotation not an object": (lambda: _anns(lambda a: a.insert(0, 7)), "annotation 0: is int 7"),
    "empty annotation": (lambda: _anns(lambda a: a.insert(0, {})), "annotation 0: image_id: missing"),
    "image_id text": (lambda: _ann(image_id="2"), "annotation 1: image_id: is '2' (expected an integer)"),
    "image_id float": (lambda: _ann(image_id=2.0), "annotation 1: image_id: is 2.0"),
    "image_id 2e0": (lambda: _raw_ann("image_id", "2e0").replace(b'"image_id": 2,', b""), "image_id: is 2.0"),
    "image_id bool": (lambda: _ann(image_id=True), "annotation 1: image_id: is True"),
    "image_id null": (lambda: _ann(image_id=None), "annotation 1: image_id: is None"),
    "image_id 2**63": (lambda: _ann(image_id=2**63), "annotation 1: image_id: is 9223372036854775808"),
    "image_id 2**64": (lambda: _ann(image_id=2**64), "annotation 1: image_id: is 1.8446744073709552e+19"),
    "image_id of 19 digits": (lambda: _ann(image_id=10**18), "image_id: 1000000000000000000 not found"),
    "image_id missing": (lambda: _ann(image_id=...), "annotation 1: image_id: missing (expected an integer)"),
    "image_id unknown": (
        lambda: _ann(image_id=3),
        "annotation 1: image_id: 3 not found in the file's images",
    ),
    "image_id twice": (lambda: _raw_ann("image_id", "1"), None),  # the last one counts, as in orjson
    "image_id twice, the last unknown": (lambda: _raw_ann("image_id", "9"), "image_id: 9 not found"),
    "category_id missing": (lambda: _ann(category_id=...), "annotation 1: category_id: missing"),
    "category_id unknown": (lambda: _ann(category_id=5), "annotation 1: category_id: 5 not found"),
    "category_id -0": (
        lambda: _raw_ann("category_id", "-0").replace(b'"category_id": 2,', b""),
        "0 not found",
    ),
    "id twice": (lambda: _ann(id=1), "annotation 1: id: 1 is also the id of annotation 0"),
    "id -1 twice": (lambda: _anns(lambda a: [r.update(id=-1) for r in a]), "annotation 1: id: -1 is also"),
    "id -1 and none": (lambda: _anns(lambda a: (a[0].update(id=-1), a[1].pop("id"))), None),
    "no ids": (lambda: _anns(lambda a: [r.pop("id") for r in a]), None),
    "id null": (lambda: _ann(id=None), "annotation 1: id: is None"),
    "id float": (lambda: _ann(id=2.5), "annotation 1: id: is 2.5"),
    "id huge": (lambda: _ann(id=10**30), "annotation 1: id: is 1e+30"),
    "iscrowd 2": (lambda: _ann(iscrowd=2), "annotation 1: iscrowd: is 2 (expected 0 or 1)"),
    "iscrowd text": (lambda: _ann(iscrowd="1"), "annotation 1: iscrowd: is '1'"),
    "iscrowd 1.0": (lambda: _ann(iscrowd=1.0), "annotation 1: iscrowd: is 1.0"),
    "iscrowd null": (lambda: _ann(iscrowd=None), "annotation 1: iscrowd: is None"),
    "iscrowd a list": (lambda: _ann(iscrowd=[1]), "annotation 1: iscrowd: is [1]"),
    "iscrowd true": (lambda: _ann(iscrowd=True), None),
    "iscrowd twice": (lambda: _raw_ann("iscrowd", "1"), None),
    "ignore text": (lambda: _ann(ignore="yes"), "annotation 1: ignore: is 'yes' (expected 0 or 1)"),
    "ignore 1": (lambda: _ann(ignore=1), None),
    "bbox missing": (lambda: _ann(bbox=...), "annotation 1: bbox: missing (expected [x, y, w, h])"),
    "bbox null": (lambda: _ann(bbox=None), "annotation 1: bbox: missing"),
    "bbox of 3": (lambda: _ann(bbox=[1, 2, 3]), "annotation 1: bbox: is [1, 2, 3]"),
    "bbox of 5": (lambda: _ann(bbox=[1, 2, 3, 4, 5]), "annotation 1: bbox: is [1, 2, 3, 4, 5]"),
    "bbox text value": (lambda: _ann(bbox=[1, 2, "3", 4]), "annotation 1: bbox: is [1, 2, '3', 4]"),
    "bbox bool value": (lambda: _ann(bbox=[1, 2, True, 4]), "annotation 1: bbox: is [1, 2, True, 4]"),
    "bbox nested": (lambda: _ann(bbox=[[1, 2, 3, 4]]), "annotation 1: bbox: is [[1, 2, 3, 4]]"),
    "bbox negative width": (lambda: _ann(bbox=[1, 2, -3, 4]), "annotation 1: bbox: has negative width -3.0"),
    "bbox negative height": (
        lambda: _ann(bbox=[1, 2, 3, -0.5]),
        "annotation 1: bbox: has negative height -0.5",
    ),
    "bbox overflow": (
        lambda: _ann(bbox=[1e300, 0, 1e300, 1e300]),
        "annotation 1: bbox: is [1e+300, 0.0, 1e+300, 1e+300]: x + w",
    ),
    "bbox big integer": (lambda: _ann(bbox=[2**64, 0, 1, 1]), None),
    "bbox -0": (
        lambda: _raw_ann("bbox", "[-0, -0.0, 0e5, 1E2]").replace(b'"bbox": [0.5, 0, 5, 5.25], ', b""),
        None,
    ),
    "bbox twice": (lambda: _raw_ann("bbox", "[1, 1, 1, 1]"), None),
    "area negative": (lambda: _ann(area=-1), "annotation 1: area: is -1.0 (expected an area >= 0)"),
    "area text": (lambda: _ann(area="25"), "annotation 1: area: is '25' (expected a number)"),
    "area bool": (lambda: _ann(area=False), "annotation 1: area: is False (expected a number)"),
    "area list": (lambda: _ann(area=[25]), "annotation 1: area: is [25] (expected a number)"),
    "area null": (lambda: _ann(area=None), None),
    "area missing": (lambda: _ann(area=...), None),
    "area -0.0": (lambda: _ann(area=-0.0), None),
    "area huge integer": (lambda: _ann(area=10**20), None),
    "area underflow": (lambda: _ann(area=1e-320), None),
    "area 1e-400": (lambda: _raw_ann("area", "1e-400").replace(b'"area": 25, ', b"", 1), None),
    "duplicate category": (
        lambda: _top(categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2}]),
        "category 1: id: 1 appears twice",
    ),
    "category id text": (lambda: _top(categories=[{"id": "1"}]), "category 0: id: is '1'"),
    "no categories": (lambda: _top(categories=...), None),
    "empty categories": (lambda: _top(categories=[]), None),
    "empty annotations": (lambda: _top(annotations=[]), None),
    "escaped field name": (lambda: _text().replace(b'"area": 25', b'"\\u0061rea": 7'), None),
    "escaped extra key": (lambda: _raw_ann("n\\u00f6te", "1"), None),
    "unicode in an extra value": (lambda: _raw_ann("note", '"v\u00e9lo"'), None),
    "escape in an extra value": (lambda: _raw_ann("note", '"a\\u00e9\\n\\"b"'), None),
    "deep extra value": (lambda: _raw_ann("note", "[" * 100 + "]" * 100), None),
    "very deep extra value": (lambda: _raw_ann("note", "[" * 3000 + "]" * 3000), "not valid JSON"),
    "unbalanced extra value": (lambda: _raw_ann("note", "[[1]"), "not valid JSON"),
    "segmentation of any form": (lambda: _ann(segmentation={"size": [1, 2], "counts": "bad"}), None),
    "keypoints": (lambda: _ann(keypoints=[1, 2, 2, 0, 0, 0], num_keypoints=1), None),
    "whitespace everywhere": (
        lambda: json.dumps(BASE, indent="\t", separators=(" ,\r\n", " : ")).encode(),
        None,
    ),
    "non-JSON whitespace": (lambda: _text().replace(b'"area": 25', b'"area":\x0c25'), "not valid JSON"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_files_give_the_same_outcome_on_both_paths(name: str, tmp_path: Path) -> None:
    build, fragment = MALFORMED[name]
    path = tmp_path / "gt.json"
    path.write_bytes(build())
    for read_ignore in (True, False):
        got = assert_same(path, read_ignore=read_ignore)
        if fragment is None:
            assert isinstance(got, dict), got
        elif read_ignore or "ignore" not in name:
            assert got[0] == "InputError" and fragment in got[1] and "gt.json" in got[1], got


@needs_native
def test_valid_base_goes_through_the_compiled_parser(tmp_path: Path) -> None:
    path = tmp_path / "gt.json"
    path.write_bytes(_text())
    assert took_fast_path(path)
    ds = coco.read_ground_truth(path)
    assert ds.ann_id.tolist() == [1, 2] and ds.box.tolist() == [[10, 10, 20, 20], [0.5, 0, 5, 5.25]]
    assert ds.area.tolist() == [400, 25] and ds.images.file_names == ("a.jpg", "b.jpg")


@needs_native
def test_missing_areas_are_the_box_area_and_missing_ids_minus_one(tmp_path: Path) -> None:
    path = tmp_path / "gt.json"
    path.write_bytes(_anns(lambda a: (a[1].pop("id"), a[1].update(area=None, ignore=1))))
    assert took_fast_path(path)
    ds = coco.read_ground_truth(path)
    assert ds.ann_id.tolist() == [1, -1] and ds.area.tolist() == [400.0, 5 * 5.25]
    assert ds.ignore.tolist() == [False, True]
    assert coco.read_ground_truth(path, read_ignore=False).ignore.tolist() == [False, False]


@needs_native
def test_mutated_files_give_the_same_outcome_on_both_paths(tmp_path: Path) -> None:
    """Random byte edits of a valid file: the two paths agree on every one (a Dataset equal
    field for field, or the same error), and many still go through the compiled parser."""
    rng = random.Random(22)
    base = _dump(rng, random_ground_truth(rng, 3, 8)).encode()
    fast = 0
    path = tmp_path / "gt.json"
    for _ in range(600):
        path.write_bytes(bytes(edited_bytes(rng, base, overwrite_below=0.95)))
        assert_same(path)
        fast += took_fast_path(path)
    assert fast > 30


def test_in_memory_and_mask_reads_keep_the_general_path(tmp_path: Path) -> None:
    """A parsed dict, masks=True and shapes are read as before (the compiled parser reads boxes
    only); their Datasets equal the file's where they overlap."""
    path = tmp_path / "gt.json"
    path.write_bytes(_anns(lambda a: a[0].update(segmentation=[[10, 10, 30, 10, 30, 30, 10, 30]])))
    data = json.loads(path.read_bytes())
    from_file, from_dict = coco.read_ground_truth(path), coco.read_ground_truth(data, name=str(path))
    assert dataset_fields(from_file) == dataset_fields(from_dict)
    with_masks = coco.read_ground_truth(path, masks=True)
    assert with_masks.masks is not None and len(with_masks.masks) == 2
    assert with_masks.area.tolist() == [400, 25]  # the file's areas; the masks' are pycocotools'
    assert math.isclose(coco.M.rle_area(list(with_masks.masks))[0], 400)
