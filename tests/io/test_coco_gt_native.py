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


def took_fast_path(path: Path, read_ignore: bool = True, masks: bool = False) -> bool:
    return coco._fast_ground_truth(read_file(path), str(path), read_ignore, masks) is not None


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


def test_in_memory_and_mask_reads(tmp_path: Path) -> None:
    """A parsed dict and shapes are read as before (the general path); a file with masks=True
    through the compiled parser; their Datasets equal the file's where they overlap."""
    path = tmp_path / "gt.json"
    path.write_bytes(_anns(lambda a: a[0].update(segmentation=[[10, 10, 30, 10, 30, 30, 10, 30]])))
    data = json.loads(path.read_bytes())
    from_file, from_dict = coco.read_ground_truth(path), coco.read_ground_truth(data, name=str(path))
    assert dataset_fields(from_file) == dataset_fields(from_dict)
    with_masks = coco.read_ground_truth(path, masks=True)
    assert native is None or took_fast_path(path, masks=True)
    assert dataset_fields(with_masks) == dataset_fields(
        coco.read_ground_truth(data, masks=True, name=str(path))
    )
    assert with_masks.masks is not None and len(with_masks.masks) == 2
    assert with_masks.area.tolist() == [400, 25]  # the file's areas; the masks' are pycocotools'
    assert math.isclose(coco.M.rle_area(list(with_masks.masks))[0], 400)


# ---------------------------------------------------------------- masks


def _runs(rng: random.Random, total: int) -> list[int]:
    """Run lengths >= 0 adding up to total (the first may be 0, as COCO's crowds start)."""
    cuts = sorted(rng.randint(0, total) for _ in range(rng.randint(0, 12)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total])]


def _compressed(rng: random.Random, h: int, w: int) -> str:
    """A compressed RLE string of a random h x w mask, as pycocotools writes it."""
    from pycocotools import mask as mask_utils

    m = np.zeros((h, w), np.uint8, order="F")
    for _ in range(rng.randint(0, 3)):
        y, x = rng.randrange(h), rng.randrange(w)
        m[y : y + rng.randint(1, h), x : x + rng.randint(1, w)] = 1
    counts: bytes = mask_utils.encode(m)["counts"]
    return counts.decode()


def _part(rng: random.Random, h: int, w: int) -> list[float | int]:
    """A polygon part on an h x w image, mostly inside it, at times out to the edge of
    masks.polygon_bounds (ints, floats of a few digits, coordinates on the bounds)."""
    x0, x1, y0, y1 = coco.M.polygon_bounds(h, w)
    out: list[float | int] = []
    for _ in range(rng.randint(3, 9)):
        if rng.random() < 0.05:
            out += [rng.choice([x0, x1]), rng.choice([y0, y1])]
        elif rng.random() < 0.3:
            out += [rng.randint(0, w), rng.randint(0, h)]
        else:
            out += [round(rng.uniform(-1, w + 1), rng.choice([0, 2, 5])), round(rng.uniform(-1, h + 1), 2)]
    return out


# one breakage of a segmentation (of an h x w image), each one the general path names
BREAKS: list[Callable[[random.Random, int, int], Any]] = [
    lambda rng, h, w: [],
    lambda rng, h, w: [[]],
    lambda rng, h, w: [_part(rng, h, w)[:5]],
    lambda rng, h, w: [_part(rng, h, w)[:-1]],
    lambda rng, h, w: [[*_part(rng, h, w)[:-1], "1"]],
    lambda rng, h, w: [[*_part(rng, h, w)[:-1], True]],
    lambda rng, h, w: [[*_part(rng, h, w)[:-1], 2 * max(h, w) + w + 1]],
    lambda rng, h, w: [[-2.5 * max(h, w), *_part(rng, h, w)[1:]]],
    lambda rng, h, w: None,
    lambda rng, h, w: "polygon",
    lambda rng, h, w: {"size": [h, w]},
    lambda rng, h, w: {"size": [h], "counts": _compressed(rng, h, w)},
    lambda rng, h, w: {"size": [0, w], "counts": "0"},
    lambda rng, h, w: {"size": [h, w + 1], "counts": _compressed(rng, h, w)},
    lambda rng, h, w: {"size": [h, w], "counts": _compressed(rng, h, w) + "{"},
    lambda rng, h, w: {"size": [h, w], "counts": _compressed(rng, h, w)[:-1]},
    lambda rng, h, w: {"size": [h, w], "counts": [*_runs(rng, h * w), 1]},
    lambda rng, h, w: {"size": [h, w], "counts": [h * w + 1, -1]},
    lambda rng, h, w: {"size": [h, w], "counts": [float(h * w)]},
    lambda rng, h, w: {"size": [h, w], "counts": []},
    lambda rng, h, w: {"size": [h, w], "counts": 5},
    lambda rng, h, w: {"size": [70000, 70000], "counts": [70000**2]},
]


def _segmentation(rng: random.Random, h: int, w: int, broken: float) -> Any:
    """A segmentation of an h x w image: polygons (one part or several), a compressed RLE, an
    uncompressed one (crowds), at times of another size; with probability `broken`, a BREAKS."""
    if rng.random() < broken:
        return rng.choice(BREAKS)(rng, h, w)
    form = rng.choices(["polygons", "compressed", "uncompressed"], [6, 2, 2])[0]
    if form == "polygons":
        return [_part(rng, h, w) for _ in range(rng.choice([1, 1, 1, 2, 4]))]
    if rng.random() < broken:  # an RLE of another size: fine when the image has no other size
        h, w = rng.randint(1, 20), rng.randint(1, 20)
    if form == "compressed":
        return {"size": [h, w], "counts": _compressed(rng, h, w)} | (
            {"x": 1} if rng.random() < broken else {}
        )
    rle = {"counts": _runs(rng, h * w), "size": [h, w]}
    return rle if rng.random() < 0.5 else {"size": rle["size"], "counts": rle["counts"]}


def random_mask_ground_truth(
    rng: random.Random, n_images: int = 5, n_anns: int = 14, broken: float = 0.015
) -> dict[str, Any]:
    """A COCO instances dict for masks=True: every segmentation form on images of a few sizes
    (some shared, at times one of no size), boxes and areas missing or null at times."""
    sizes = [(rng.randint(1, 60), rng.randint(1, 60)) for _ in range(3)]
    images = []
    for i in range(n_images):
        h, w = rng.choice(sizes)
        if rng.random() < 0.03:
            h, w = rng.choice([(0, w), (h, 0)])
        images.append({"id": i + 1, "width": w, "height": h, "file_name": f"{i + 1}.jpg"})
    anns = []
    for k in range(n_anns):
        im = rng.choice(images)
        h, w = im["height"], im["width"]
        ann: dict[str, Any] = {
            "id": k + 1,
            "image_id": im["id"],
            "category_id": rng.choice([1, 2]),
            "segmentation": _segmentation(rng, h, w, broken) if h and w else {"size": [5, 5], "counts": [25]},
        }
        if rng.random() < 0.8:
            ann["bbox"] = None if rng.random() < 0.05 else [round(rng.uniform(0, 50), 2) for _ in range(4)]
        if rng.random() < 0.7:
            ann["area"] = None if rng.random() < 0.05 else round(rng.uniform(0, 900), 2)
        if rng.random() < 0.5:
            ann["iscrowd"] = int(isinstance(ann["segmentation"], dict))
        items = list(ann.items())
        rng.shuffle(items)
        anns.append(dict(items))
    if rng.random() < 0.05:
        del anns[-1]["segmentation"]
    if rng.random() < 0.05:  # a polygon on an image of no size
        anns[0]["segmentation"], anns[0]["image_id"] = [[1, 1, 3, 1, 3, 3]], images[0]["id"]
        images[0]["width"] = 0
    return {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }


@needs_native
@pytest.mark.parametrize("seed", range(8))
def test_random_mask_files_read_the_same_on_both_paths(seed: int, tmp_path: Path) -> None:
    """masks=True: the compiled parser and rasterizer give the general path's Dataset, every
    mask's dict (size list or tuple, counts str or bytes) included, or leave the file to it and
    the error is the same."""
    rng = random.Random(1000 + seed)
    fast = errors = 0
    for k in range(40):
        path = tmp_path / f"gt{k}.json"
        odd = rng.choice([0.0, 0.0, 0.0, 0.0, 0.01])
        path.write_text(_dump(rng, random_mask_ground_truth(rng), odd), encoding="utf-8")
        got = assert_same(path, masks=True)
        fast += took_fast_path(path, masks=True)
        errors += not isinstance(got, dict)
        assert isinstance(got, dict) or got[0] == "InputError", got
    assert fast >= 15 and errors >= 2  # most files compiled, some broken ones named


@needs_native
def test_many_objects_and_sizes(tmp_path: Path) -> None:
    """Hundreds of images of many sizes, thousands of polygons: one flat rasterization, on any
    number of threads."""
    rng = random.Random(7)
    data = random_mask_ground_truth(rng, n_images=300, n_anns=3000, broken=0.0)
    for ann in data["annotations"]:
        ann.setdefault("segmentation", [[1, 1, 3, 1, 3, 3]])
    for im in data["images"]:
        im["width"], im["height"] = im["width"] or 7, im["height"] or 9
    path = tmp_path / "gt.json"
    path.write_bytes(orjson.dumps(data))
    got = assert_same(path, masks=True)
    assert isinstance(got, dict) and took_fast_path(path, masks=True)
    for threads in (2, 5):  # the polygons drawn on threads: the same Dataset
        assert dataset_fields(coco.read_ground_truth(path, masks=True, threads=threads)) == got


def _mask_base(**change: Any) -> bytes:
    """BASE with segmentations on both annotations (image 1: 80x100, image 2: 50x50) and
    annotation 1's fields changed (a value of ... deletes the field)."""
    data = json.loads(_text())
    data["annotations"][0]["segmentation"] = [[10, 10, 30, 10, 30, 30, 10, 30]]
    for k, v in change.items():
        if v is ...:
            del data["annotations"][1][k]
        else:
            data["annotations"][1][k] = v
    return _text(data)


def _mask_raw(text: str) -> bytes:
    """_mask_base with annotation 1's segmentation written as `text`."""
    return _mask_base(segmentation="@").replace(b'"@"', text.encode())


def _full(h: int, w: int) -> str:
    return _compressed(random.Random(0), h, w)


# name: (the file, a fragment of the error or None when valid, whether the compiled path reads it)
MASK_CASES: dict[str, tuple[Callable[[], bytes], str | None, bool]] = {
    "polygons": (lambda: _mask_base(), None, True),
    "two parts": (
        lambda: _mask_base(segmentation=[[0, 0, 5, 0, 5, 5], [1, 1, 4, 1, 4, 4, 1.5, 4]]),
        None,
        True,
    ),
    "compressed": (lambda: _mask_base(segmentation={"size": [50, 50], "counts": _full(50, 50)}), None, True),
    "compressed, counts first": (
        lambda: _mask_base(segmentation={"counts": _full(50, 50), "size": [50, 50]}),
        None,
        True,
    ),
    "compressed with a backslash": (
        lambda: _mask_base(segmentation={"size": [4, 11], "counts": "0\\1"}),  # runs 0, 44
        None,
        True,
    ),
    "compressed, \\u escape": (lambda: _mask_raw('{"size": [1, 1], "counts": "\\u00301"}'), None, False),
    "compressed, extra key": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": _full(50, 50), "x": 1}),
        None,
        False,
    ),
    "compressed, size twice": (
        lambda: _mask_raw('{"size": [9, 9], "size": [1, 1], "counts": "01"}'),
        None,
        False,
    ),
    "uncompressed (a crowd)": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": [0, 1000, 1500]}, iscrowd=1),
        None,
        True,
    ),
    "uncompressed of one run": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": [2500]}),
        None,
        True,
    ),
    "an RLE of another size than its image": (
        lambda: _mask_base(segmentation={"size": [3, 4], "counts": [12]}),
        None,
        True,
    ),
    "bbox missing": (lambda: _mask_base(bbox=...), None, True),
    "bbox null": (lambda: _mask_base(bbox=None), None, True),
    "area missing": (lambda: _mask_base(area=...), None, True),
    "area null, bbox missing, RLE": (
        lambda: _mask_base(area=None, bbox=..., segmentation={"size": [50, 50], "counts": [7, 30, 2463]}),
        None,
        True,
    ),
    "-0 and exponents": (lambda: _mask_raw("[[-0, -0.0, 5e0, 0, 5, 5.0E+0]]"), None, True),
    "coordinate of 20 digits": (
        lambda: _mask_raw("[[0, 0, 5, 0, 5, 10000000000000000000]]"),
        "more than one image size",
        False,
    ),
    "segmentation twice": (
        lambda: _mask_base().replace(b'"segmentation"', b'"segmentation": [], "segmentation"'),
        None,
        False,
    ),
    "segmentation missing": (
        lambda: _mask_base(segmentation=...),
        "annotation 1: segmentation: missing",
        False,
    ),
    "segmentation null": (
        lambda: _mask_base(segmentation=None),
        "annotation 1: segmentation: missing",
        False,
    ),
    "segmentation a number": (lambda: _mask_base(segmentation=7), "annotation 1: segmentation: is", False),
    "segmentation a string": (lambda: _mask_base(segmentation="x"), "annotation 1: segmentation: is", False),
    "no part": (lambda: _mask_base(segmentation=[]), "is an empty polygon list", False),
    "an empty part": (lambda: _mask_base(segmentation=[[]]), "has a polygon of 0 coordinates", False),
    "a short part": (
        lambda: _mask_base(segmentation=[[0, 0, 5, 0]]),
        "has a polygon of 4 coordinates",
        False,
    ),
    "an odd part": (
        lambda: _mask_base(segmentation=[[0, 0, 5, 0, 5, 5, 1]]),
        "has a polygon of 7 coordinates",
        False,
    ),
    "a flat part": (
        lambda: _mask_base(segmentation=[0, 0, 5, 0, 5, 5]),
        "annotation 1: segmentation: has part",
        False,
    ),
    "a text coordinate": (lambda: _mask_base(segmentation=[[0, 0, 5, 0, 5, "5"]]), "has part", False),
    "a bool coordinate": (lambda: _mask_base(segmentation=[[0, 0, 5, 0, 5, True]]), "has part", False),
    "a null coordinate": (lambda: _mask_base(segmentation=[[0, 0, 5, 0, 5, None]]), "has part", False),
    "nested points": (lambda: _mask_base(segmentation=[[[0, 0], [5, 0], [5, 5]]]), "has part", False),
    "a vertex far out": (
        lambda: _mask_base(segmentation=[[0, 0, 5, 0, 5, 101]]),
        "more than one image size",
        False,
    ),
    "a vertex on the bound": (lambda: _mask_base(segmentation=[[-50, 0, 100, 0, 5, 100]]), None, True),
    "a polygon on an image of no size": (
        lambda: _mask_base().replace(b'"width": 50,', b'"width": 0,'),
        "is a polygon but image 2 has no width/height",
        False,
    ),
    "a polygon on a huge image": (
        lambda: _mask_base().replace(b'"width": 50, "height": 50', b'"width": 70000, "height": 70000'),
        "more than the 2**32 - 1",
        False,
    ),
    "RLE size of one": (
        lambda: _mask_base(segmentation={"size": [50], "counts": "0"}),
        "segmentation.size: is [50]",
        False,
    ),
    "RLE size float": (
        lambda: _mask_base(segmentation={"size": [50.0, 50], "counts": [2500]}),
        "segmentation.size",
        False,
    ),
    "RLE size 0": (
        lambda: _mask_base(segmentation={"size": [0, 50], "counts": [0]}),
        "the mask is 0x50",
        False,
    ),
    "RLE size negative": (
        lambda: _mask_base(segmentation={"size": [-1, -5], "counts": [5]}),
        "the mask is -1x-5",
        False,
    ),
    "RLE size huge": (
        lambda: _mask_base(segmentation={"size": [70000, 70000], "counts": [70000**2]}),
        "more than the 2**32 - 1",
        False,
    ),
    "RLE size missing": (
        lambda: _mask_base(segmentation={"counts": [2500]}),
        "segmentation.size: is None",
        False,
    ),
    "RLE counts missing": (
        lambda: _mask_base(segmentation={"size": [50, 50]}),
        "segmentation.counts: is None",
        False,
    ),
    "RLE counts a number": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": 5}),
        "segmentation.counts: is",
        False,
    ),
    "RLE counts null": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": None}),
        "segmentation.counts",
        False,
    ),
    "compressed, a bad character": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": _full(50, 50) + "{"}),
        "is not a valid compressed RLE string",
        False,
    ),
    "compressed, runs short": (
        lambda: _mask_base(segmentation={"size": [50, 51], "counts": _full(50, 50)}),
        "summing to less than h*w",
        False,
    ),
    "compressed, runs over": (
        lambda: _mask_base(segmentation={"size": [50, 49], "counts": _full(50, 50)}),
        "summing to more than h*w",
        False,
    ),
    "compressed, empty": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": ""}),
        "segmentation.counts",
        False,
    ),
    "uncompressed, sum short": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": [1, 2]}),
        "run lengths sum to 3, expected h*w = 2500",
        False,
    ),
    "uncompressed, negative": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": [2501, -1]}),
        "has a non-integer or negative run length",
        False,
    ),
    "uncompressed, float": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": [2500.0]}),
        "non-integer",
        False,
    ),
    "uncompressed, bool": (
        lambda: _mask_base(segmentation={"size": [1, 1], "counts": [True]}),
        "non-integer",
        False,
    ),
    "uncompressed, nested": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": [[2500]]}),
        "non-integer",
        False,
    ),
    "uncompressed, empty": (
        lambda: _mask_base(segmentation={"size": [50, 50], "counts": []}),
        "sum to 0",
        False,
    ),
    "uncompressed, 20 digits": (
        lambda: _mask_raw('{"size": [50, 50], "counts": [2500, 10000000000000000000]}'),
        "segmentation.counts",
        False,
    ),
    "two mask sizes on one image": (
        lambda: _mask_base(image_id=1, segmentation={"size": [10, 10], "counts": [100]}),
        "is a 10x10 mask but annotation 0 on the same image 1 is 80x100",
        False,
    ),
}


@needs_native
@pytest.mark.parametrize("name", list(MASK_CASES))
def test_mask_forms_give_the_same_outcome_on_both_paths(name: str, tmp_path: Path) -> None:
    build, fragment, compiled = MASK_CASES[name]
    path = tmp_path / "gt.json"
    path.write_bytes(build())
    got = assert_same(path, masks=True)
    if fragment is None:
        assert isinstance(got, dict), got
    else:
        assert got[0] == "InputError" and fragment in got[1] and "gt.json" in got[1], got
    assert took_fast_path(path, masks=True) == compiled


@needs_native
def test_mask_values_by_hand(tmp_path: Path) -> None:
    """What the compiled path gives, by hand, each mask read back as {"size": [h, w], "counts":
    str}: the polygon's mask of its image's size, the crowd's as pycocotools compresses it, a
    compressed RLE as the file has it; a missing box the mask's, a missing area the mask's."""
    from pycocotools import mask as mask_utils

    crowd = {"size": [50, 50], "counts": [0, 1000, 1500]}
    path = tmp_path / "gt.json"
    path.write_bytes(_mask_base(segmentation=crowd, bbox=..., area=...))
    assert took_fast_path(path, masks=True)
    ds = coco.read_ground_truth(path, masks=True)
    assert ds.masks is not None
    polygon, rle = ds.masks
    drawn = mask_utils.frPyObjects([[10, 10, 30, 10, 30, 30, 10, 30]], 80, 100)[0]["counts"]
    assert polygon == {"size": [80, 100], "counts": drawn.decode()}
    compressed = mask_utils.frPyObjects(crowd, 50, 50)
    assert rle == {"size": [50, 50], "counts": compressed["counts"].decode()}
    assert ds.box[1].tolist() == [0, 0, 20, 50] and ds.area.tolist() == [400, 1000]
    path.write_bytes(_mask_base(segmentation={"counts": _full(50, 50), "size": [50, 50]}))
    assert coco.read_ground_truth(path, masks=True).masks[1] == {"size": [50, 50], "counts": _full(50, 50)}


@needs_native
def test_mutated_mask_files_give_the_same_outcome_on_both_paths(tmp_path: Path) -> None:
    """Random byte edits of a valid file with masks of every form: no crash, the two paths agree
    on every one, and many still go through the compiled parser."""
    rng = random.Random(23)
    base = _dump(rng, random_mask_ground_truth(rng, 3, 8, broken=0.0)).encode()
    fast = 0
    path = tmp_path / "gt.json"
    path.write_bytes(base)
    assert took_fast_path(path, masks=True)
    for _ in range(800):
        path.write_bytes(bytes(edited_bytes(rng, base, overwrite_below=0.95)))
        assert_same(path, masks=True)
        fast += took_fast_path(path, masks=True)
    assert fast > 30
