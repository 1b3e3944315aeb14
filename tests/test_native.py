"""The compiled hot paths (detrecall/_native.c) against their references: orjson for every
parsed number (bit for bit), pycocotools for every RLE string, and the pure-Python path for
whatever the compiled one leaves to it (mask IoU: tests/geometry/test_mask_iou_kernel.py)."""

from __future__ import annotations

import json
import math
import os
import random
from typing import Any

import msgspec
import numpy as np
import orjson
import pytest
from pycocotools import mask as mask_utils

from detrecall import _compiled, read_coco_gt, read_coco_results
from detrecall.geometry import masks as M
from detrecall.io import coco
from detrecall.types import RleMasks
from tests.mutation import edited_bytes
from tests.oracle import mask_rles, random_mask

native = _compiled.native
needs_native = pytest.mark.skipif(native is None, reason="the native module is not built here")


def test_native_module_is_built():
    if os.environ.get("DETRECALL_NO_NATIVE", "") not in ("", "0"):
        pytest.skip("DETRECALL_NO_NATIVE is set: the pure-Python paths are under test")
    assert native is not None, "detrecall._native was not built (is there a C compiler?)"


def _number_texts(rng: random.Random, n: int) -> list[str]:
    """JSON numbers in every spelling a results writer produces, and the awkward ones."""
    fixed = [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "1",
        "1e0",
        "1E+2",
        "2.5e-3",
        "123456789012345678",
        "12345678901234567890123",
        "0.1",
        "0.30000000000000004",
        "9007199254740993",
        "1.7976931348623157e308",
        "4.9e-324",
        "2.2250738585072014e-308",
        "1e-400",
        "1e23",
        "1.7976931348623158e308",
        "8.98846567431158e307",
        "0.000000000000000000000000000001234",
        "100000000000000000000000",
        "3.141592653589793238462643383279",
        "1e22",
        "1e-22",
        "123.456e-5",
        "-987.65E+3",
    ]
    out = list(fixed)
    while len(out) < n:
        x = rng.choice(
            [
                rng.uniform(0, 1),
                rng.uniform(0, 2000),
                rng.expovariate(1e-3),
                rng.uniform(-1e6, 1e6),
                np.float32(rng.uniform(0, 1000)).item(),
                10 ** rng.uniform(-30, 30),
            ]
        )
        out.append(
            rng.choice(
                [
                    repr(x),
                    f"{x:.2f}",
                    f"{x:.4f}",
                    f"{x:.17g}",
                    f"{x:.6e}",
                    f"{x:.25f}",
                    f"{x:.3E}",
                    str(round(x)),
                ]
            )
        )
    return out


def _space(rng: random.Random) -> str:
    return rng.choice(["", "", " ", "\n", "\t ", "\r\n  "])


def _record(rng: random.Random, fields: dict[str, str]) -> str:
    extra = {
        "id": "17",
        "area": "12.5",
        "note": '"a \\"quoted\\" \\\\ \\/ \\t text"',
        "flags": '[true, false, null, {"k": [1, 2.5e3, "x"]}]',
        "empty": "{}",
    }
    items = list(fields.items()) + rng.sample(list(extra.items()), rng.randint(0, 3))
    rng.shuffle(items)
    s = _space
    return "{" + ",".join(f'{s(rng)}"{k}"{s(rng)}:{s(rng)}{v}{s(rng)}' for k, v in items) + "}"


def _box_file(rng: random.Random, n: int) -> bytes:
    nums = _number_texts(rng, 5 * n)
    recs = []
    for i in range(n):
        box = "[" + ",".join(f"{_space(rng)}{v}" for v in nums[5 * i : 5 * i + 4]) + "]"
        recs.append(
            _record(
                rng,
                {
                    "image_id": str(rng.randint(-5, 10**15)),
                    "category_id": str(rng.randint(0, 90)),
                    "bbox": box,
                    "score": nums[5 * i + 4],
                },
            )
        )
    return ("[" + _space(rng) + ("," + _space(rng)).join(recs) + "]" + _space(rng)).encode()


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.int64), np.asarray(b, np.float64).view(np.int64))


@needs_native
@pytest.mark.parametrize("seed", range(20))
def test_box_results_equal_orjson_bit_for_bit(seed):
    rng = random.Random(seed)
    data = _box_file(rng, rng.choice([0, 1, 7, 300]))
    got = native.box_results(bytearray(data))
    assert got is not None
    n, image_id, category_id, score, box = got
    ref = orjson.loads(data)
    assert n == len(ref)
    assert np.frombuffer(image_id, np.int64).tolist() == [r["image_id"] for r in ref]
    assert np.frombuffer(category_id, np.int64).tolist() == [r["category_id"] for r in ref]
    assert _same_bits(np.frombuffer(score), np.array([float(r["score"]) for r in ref]))
    assert _same_bits(np.frombuffer(box), np.array([float(v) for r in ref for v in r["bbox"]]))


@needs_native
def test_number_parsing_matches_orjson_and_msgspec_on_hard_cases():
    texts = _number_texts(random.Random(99), 3000)
    data = ",".join(f'{{"image_id":1,"category_id":1,"bbox":[0,0,0,0],"score":{t}}}' for t in texts)
    got = native.box_results(("[" + data + "]").encode())
    assert got is not None
    assert _same_bits(np.frombuffer(got[3]), np.array([float(orjson.loads(t)) for t in texts]))
    assert _same_bits(np.frombuffer(got[3]), np.array([msgspec.json.decode(t, type=float) for t in texts]))


@needs_native
def test_numbers_next_to_halfway_points_round_correctly():
    """Decimals within a hair of the midpoint between two doubles, at 15-19 significant digits,
    and the 17-digit reprs of float32 values that detectors write: the parser's extended fast
    path must round them exactly as Python's float() does."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    rng = random.Random(3)
    texts = []
    while len(texts) < 14000:
        d = rng.uniform(1, 10) * 10 ** rng.randint(-12, 12)
        mid = (Decimal(d) + Decimal(math.nextafter(d, math.inf))) / 2
        for digits in (15, 16, 17, 18, 19):
            step = Decimal(1).scaleb(-(digits - 1))
            for rounding in ("ROUND_DOWN", "ROUND_UP"):
                q = mid.scaleb(-mid.adjusted()).quantize(step, rounding=rounding)
                texts.append(f"{q}E{mid.adjusted()}")
        texts += [repr(float(np.float32(d))), f"{d:.17g}", f"-{d:.19g}"]
    data = ",".join(f'{{"image_id":1,"category_id":1,"bbox":[0,0,0,0],"score":{t}}}' for t in texts)
    got = native.box_results(("[" + data + "]").encode())
    assert got is not None
    assert _same_bits(np.frombuffer(got[3]), np.array([float(t) for t in texts]))


REFUSED = [
    b'{"image_id": 1}',  # not a list
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]',  # no score
    b'[{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
    b'[{"image_id": 1.0, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
    b'[{"image_id": 1e2, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1, 2], "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": null, "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": true}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": NaN}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1e400}]',  # out of range
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, -2e308], "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 01}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": .5}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": +1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1, "score": 2}]',
    b'[{"image\\u005fid": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1, "n": "\\u00e9"}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1, "n": "\xc3\xa9"}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1, "n": "\\x"}]',
    b'[{"image_id": 12345678901234567890, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}',  # truncated
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}] x',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1},]',
    b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1, "x": [1,]}]',
    b"[{}]",
]


@needs_native
@pytest.mark.parametrize("data", REFUSED)
def test_box_results_refuse_all_but_the_plain_form(data):
    assert native.box_results(data) is None


@needs_native
def test_refused_files_read_as_without_the_native_module(tmp_path, monkeypatch):
    """A form the compiled parser leaves alone reads (or fails) exactly as before."""
    gt = read_coco_gt(
        {
            "images": [{"id": i, "width": 9, "height": 9} for i in (1, 100)],
            "annotations": [],
            "categories": [{"id": 1, "name": "a"}],
        }
    )
    for i, data in enumerate(REFUSED):
        path = tmp_path / f"dt{i}.json"
        path.write_bytes(data)
        outcomes = []
        for which in (native, None):
            monkeypatch.setattr(coco, "native", which)
            try:
                d = read_coco_results(path, gt)
                outcomes.append((d.image_id.tolist(), d.box.tolist(), d.score.tolist()))
            except Exception as exc:  # the same error either way
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[0] == outcomes[1], data


@needs_native
@pytest.mark.parametrize("seed", range(6))
def test_mask_results_equal_the_msgspec_path(tmp_path, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    h, w = 23, 17
    masks = [random_mask(rng, h, w) for _ in range(40)]
    rles = mask_rles(masks, as_str=True)
    assert any("\\" in r["counts"] for r in rles) or seed  # escapes occur in real files
    with_box = seed % 2 == 0
    recs = [
        {
            "image_id": int(rng.integers(1, 4)),
            "category_id": int(rng.integers(1, 3)),
            "segmentation": {"size": [h, w], "counts": r["counts"]},
            "score": float(rng.random()),
            **({"bbox": [1.5, 2.0, 3.25, 4.0]} if with_box else {}),
        }
        for r in rles
    ]
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(recs, indent=seed % 3 or None))
    gt = read_coco_gt(
        {
            "images": [{"id": i, "width": w, "height": h} for i in (1, 2, 3)],
            "annotations": [],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        }
    )
    got = native.mask_results(bytearray(path.read_bytes()))
    assert got is not None and got[0] == len(recs) and got[9] is with_box
    runs = []
    for which in (native, None):
        monkeypatch.setattr(coco, "native", which)
        d = read_coco_results(path, gt, masks=True)
        runs.append(d)
    a, b = runs
    assert isinstance(a.masks, RleMasks) and isinstance(b.masks, RleMasks)
    assert (
        list(a.masks)
        == list(b.masks)
        == [{"size": [h, w], "counts": r["counts"]} for r in np.array(rles)[a.file_index]]
    )
    for field in ("image_id", "category_id", "score", "box", "area", "file_index"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


@needs_native
def test_mask_results_refuse_what_msgspec_or_the_general_path_should_read():
    base = '{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": %s%s}'
    ok = '{"size": [2, 2], "counts": "04"}'
    assert native.mask_results(f"[{base % (ok, '')}]".encode()) is not None
    refused = [
        base % ('{"size": [2, 2], "counts": [0, 4]}', ""),  # uncompressed
        base % ("[[0, 0, 1, 0, 1, 1]]", ""),  # polygons
        base % ('{"size": [2, 2], "counts": "0\\u0034"}', ""),
        base % ('{"size": [2, 2], "counts": "04", "extra": 1}', ""),
        base % (ok, ', "bbox": null'),
        base % (ok, ', "bbox": [0, 0, 1, 1]') + ", " + base % (ok, ""),  # box on some only
    ]
    for text in refused:
        assert native.mask_results(f"[{text}]".encode()) is None, text


@needs_native
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_evaluation_is_the_same_with_and_without_the_native_module(tmp_path, monkeypatch, seed, iou_type):
    """Files in, 12 numbers and every per-class figure out: both paths, bit for bit."""
    from detrecall import evaluate
    from tests.oracle import random_coco

    gt, dt = random_coco(seed, segm=iou_type == "segm")
    if iou_type == "segm":  # results as exported: compressed RLE strings, no boxes
        for d in dt:
            if "segmentation" in d and isinstance(d["segmentation"], dict):
                d.pop("bbox", None)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    runs = []
    for which in (native, None):
        monkeypatch.setattr(coco, "native", which)
        monkeypatch.setattr(M, "native", which)
        res = evaluate(tmp_path / "gt.json", tmp_path / "dt.json", iou_type)
        runs.append(res.to_dict())
    assert runs[0] == runs[1]


@needs_native
@pytest.mark.parametrize("seed", range(8))
def test_argsort_equals_numpy_stable_argsort(seed):
    from detrecall._sort import argsort_stable

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 5000))
    floats = np.round(rng.normal(size=n) * rng.choice([1, 1e-3, 1e12]), int(rng.integers(0, 4)))
    floats[rng.random(n) < 0.1] = 0.0
    floats[rng.random(n) < 0.1] = -0.0
    floats[rng.random(n) < 0.02] = np.inf
    floats[rng.random(n) < 0.02] = -np.inf
    ints = rng.integers(-(2**62), 2**62, n) // rng.choice([1, 2**40, 2**60])
    for keys in (floats, ints, np.abs(ints), np.zeros(n, np.int64)):
        for descending in (False, True):
            want = np.argsort(-keys if descending else keys, kind="stable")
            assert np.array_equal(np.frombuffer(native.argsort(keys, descending), np.int64), want)
            assert np.array_equal(argsort_stable(keys, descending), want)
    with pytest.raises(TypeError):
        native.argsort(np.zeros(3, np.float32))


@needs_native
def test_bad_rle_strings_are_left_to_the_path_that_names_the_record(tmp_path, monkeypatch):
    gt = read_coco_gt(
        {
            "images": [{"id": 1, "width": 2, "height": 2}],
            "annotations": [],
            "categories": [{"id": 1, "name": "a"}],
        }
    )
    good = {"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [2, 2], "counts": "04"}}
    path = tmp_path / "dt.json"
    path.write_text(json.dumps([good, good]))
    got = native.mask_results(path.read_bytes())
    # the strings in one column and where each ends: no Python object per mask
    assert bytes(got[6]) == b"0404" and [np.frombuffer(c, np.int64).tolist() for c in got[7:9]] == [
        [0, 2],
        [2, 4],
    ]
    assert list(coco.read_detections(path, gt, masks=True).masks) == [{"size": [2, 2], "counts": "04"}] * 2
    for counts in ("0p", "0~", "0 4", "0\u00e9"):
        bad = {**good, "segmentation": {"size": [2, 2], "counts": counts}}
        path.write_text(json.dumps([good, bad]))
        assert native.mask_results(path.read_bytes()) is None
        messages = []
        for which in (native, None):
            monkeypatch.setattr(coco, "native", which)
            with pytest.raises(Exception) as info:
                read_coco_results(path, gt, masks=True)
            messages.append(str(info.value))
        assert messages[0] == messages[1] and "result 1" in messages[0] and "counts" in messages[0], messages


@needs_native
def test_mutated_results_files_parse_as_orjson_reads_them_or_not_at_all():
    """Random byte edits of valid files: whatever the parser accepts is valid JSON and reads as
    orjson reads it; nothing crashes (the same loop ran under AddressSanitizer and UBSan)."""
    rng = random.Random(7)
    base = _box_file(rng, 6)
    accepted = 0
    for _ in range(3000):
        data = edited_bytes(rng, base, overwrite_below=0.9)
        got = native.box_results(bytes(data))
        if got is None:
            continue
        accepted += 1
        ref = orjson.loads(bytes(data))
        assert got[0] == len(ref)
        assert np.frombuffer(got[1], np.int64).tolist() == [r["image_id"] for r in ref]
        assert _same_bits(np.frombuffer(got[3]), np.array([float(r["score"]) for r in ref]))
        assert _same_bits(np.frombuffer(got[4]), np.array([float(v) for r in ref for v in r["bbox"]]))
    assert accepted > 50  # the edits that keep a valid file (digits changed, say) are checked


def _mutatedmask_rles(seed: int, n: int) -> list[tuple[bytes, int, int]]:
    """pycocotools' RLE strings of random masks, most of them with a few bytes changed."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        h, w = rng.randint(1, 30), rng.randint(1, 30)
        m = (np.random.default_rng(k).random((h, w)) < rng.random()).astype(np.uint8)
        counts = bytearray(mask_utils.encode(np.asfortranarray(m))["counts"])
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            op = rng.randrange(3)
            if op == 0 and counts:
                counts[rng.randrange(len(counts))] = rng.randint(40, 120)
            elif op == 1 and counts:
                del counts[rng.randrange(len(counts))]
            else:
                counts.insert(rng.randint(0, len(counts)), rng.randint(48, 111))
        out.append((bytes(counts), h, w))
    return out


@needs_native
@pytest.mark.parametrize("seed", range(4))
def test_rle_check_equals_its_python_twin(seed):
    """The first malformed RLE string and why: compiled and pure Python agree, string by string."""
    cases = _mutatedmask_rles(seed, 400)
    for counts, h, w in cases:
        found = native.rle_check([counts], np.array([[h, w]], np.int64))
        assert (0 if found is None else found[1]) == M.rle_counts_problem(counts, h, w), (counts, h, w)
    sizes = np.array([[h, w] for _, h, w in cases], np.int64)
    strings = [c.decode("latin-1") for c, _, _ in cases]
    expected = next(
        (
            (i, M.rle_counts_problem(c, h, w))
            for i, (c, h, w) in enumerate(cases)
            if M.rle_counts_problem(c, h, w)
        ),
        None,
    )
    assert native.rle_check(strings, sizes) == expected


def test_rle_check_reads_pycocotools_strings_as_well_formed():
    masks = [np.eye(5, 7, k, np.uint8) for k in range(-4, 7)] + [
        np.ones((3, 4), np.uint8),
        np.zeros((2, 2), np.uint8),
    ]
    ok = [(mask_utils.encode(np.asfortranarray(m))["counts"], *m.shape) for m in masks]
    assert all(M.rle_counts_problem(c, h, w) == 0 for c, h, w in ok)
    assert M.first_bad_rle([c for c, _, _ in ok], np.array([[h, w] for _, h, w in ok])) is None


@pytest.mark.parametrize(
    ("counts", "code"),
    [("0", 6), ("", 6), ("0@", 4), ("0\\9", 5), ("0`", 2), ("0ooooooo0", 3), ("0~", 1), ("é", 1)],
)
def test_rle_problems_named(counts, code):
    assert M.rle_counts_problem(counts, 10, 20) == code
    assert M.first_bad_rle([counts], np.array([[10, 20]])) == (0, code)


# ---------------------------------------------------------------- ground_truth


def _gt_file(
    annotations: str, before: str = '"images": [{"id": 1}]', after: str = '"categories": []'
) -> bytes:
    return ("{" + before + ', "annotations": ' + annotations + ", " + after + "}").encode()


def _gt_columns(got: tuple) -> dict:
    n, start, end, ids, image, category, box, area, crowd, ignore, present, images = got
    return {
        "n": n,
        "id": np.frombuffer(ids, np.int64).tolist(),
        "image_id": np.frombuffer(image, np.int64).tolist(),
        "category_id": np.frombuffer(category, np.int64).tolist(),
        "bbox": np.frombuffer(box).reshape(-1, 4).tolist(),
        "area": np.frombuffer(area).tolist(),
        "iscrowd": list(crowd),
        "ignore": list(ignore),
        "present": list(present),
        "images": None
        if images is None
        else (
            np.frombuffer(images[2], np.int64).tolist(),
            np.frombuffer(images[3], np.int64).tolist(),
            np.frombuffer(images[4], np.int64).tolist(),
            images[5],
        ),
    }


@needs_native
def test_ground_truth_columns_by_hand():
    anns = (
        '[{"id": 7, "image_id": 1, "category_id": 3, "bbox": [1, 2.5, 3e0, 4E-1], "area": 12, "iscrowd": 1},'
        ' {"image_id": -2, "bbox": [0,0,0,0], "category_id": 0, "area": null, "ignore": true,'
        '  "segmentation": [[1, 2, 3.25, 4, 5, 6]], "iscrowd": false},'
        ' {"image_id": 5, "category_id": 9, "bbox": [-0.0, -0, 1, 1], "id": -1, "ignore": 0,'
        '  "x": {"k": "v"}}]'
    )
    data = _gt_file(anns)
    got = native.ground_truth(data, True)
    start, end = got[1], got[2]
    assert orjson.loads(data[start:end]) == orjson.loads(anns)
    cols = _gt_columns(got)
    assert cols == {
        "n": 3,
        "id": [7, -1, -1],
        "image_id": [1, -2, 5],
        "category_id": [3, 0, 9],
        "bbox": [[1, 2.5, 3, 0.4], [0, 0, 0, 0], [-0.0, 0, 1, 1]],
        "area": [12, 0, 0],
        "iscrowd": [1, 0, 0],
        "ignore": [0, 1, 0],
        "present": [3, 0, 1],  # bit 1: an id given, bit 2: an area given (null is none)
        "images": ([1], [0], [0], [""]),
    }
    assert math.copysign(1, cols["bbox"][2][0]) == -1 and math.copysign(1, cols["bbox"][2][1]) == 1
    assert _gt_columns(native.ground_truth(data, False))["ignore"] == [0, 0, 0]  # not read: not checked
    edge = _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, -1e308, 1, 1e308], "area": 0}]')
    assert _gt_columns(native.ground_truth(edge, True))["bbox"] == [[0, -1e308, 1, 1e308]]
    empty = _gt_file("[ ]", before='"info": {"a": ["}", "\\"]"]}')
    assert _gt_columns(native.ground_truth(empty, True))["n"] == 0


@needs_native
@pytest.mark.parametrize("seed", range(4))
def test_ground_truth_numbers_equal_orjson_bit_for_bit(seed):
    texts = _number_texts(random.Random(seed), 600)
    long_integers = [t for t in texts if t.lstrip("-").isdigit() and len(t.lstrip("-")) > 18]
    kept = [t for t in texts if t not in long_integers]
    # x any number; h and the area >= 0 (else refused: the general path names them)
    row = '{{"image_id": 1, "category_id": 1, "bbox": [{0}, 0, 0, {1}], "area": {1}}}'
    anns = ",".join(row.format(t, t.lstrip("-")) for t in kept)
    got = native.ground_truth(_gt_file("[" + anns + "]"), True)
    assert got is not None
    want = np.array([float(orjson.loads(t)) for t in kept])
    box = np.frombuffer(got[6]).reshape(-1, 4)
    assert _same_bits(box[:, 0].copy(), want)
    assert _same_bits(box[:, 3].copy(), np.abs(want)) and _same_bits(np.frombuffer(got[7]), np.abs(want))
    for t in long_integers:  # orjson's int or float by size, numpy's conversions: the general path's
        assert (
            native.ground_truth(
                _gt_file(f'[{{"image_id": 1, "category_id": 1, "bbox": [{t}, 0, 1, 1]}}]'), True
            )
            is None
        )


GT_REFUSED = [
    b"[]",
    b"{}",
    b'{"images": []}',
    _gt_file("[]")[:-1],
    _gt_file("[]") + b"x",
    b"\xef\xbb\xbf" + _gt_file("[]"),
    _gt_file("{}"),
    _gt_file("[]", after='"annotations": []'),
    _gt_file("[]").replace(b'"annotations"', b'"annot\\u0061tions"'),
    _gt_file("[]", before='"images": [{"id": 1}], "x\\"": 1'),
    _gt_file("[{}]"),
    _gt_file("[7]"),
    _gt_file('[{"image_id": 1, "category_id": 1}]'),
    _gt_file('[{"image_id": 1, "bbox": [0, 0, 1, 1]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "image_id": 1}]'),
    _gt_file('[{"image_id": 1.0, "category_id": 1, "bbox": [0, 0, 1, 1]}]'),
    _gt_file('[{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "id": null}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "id": 1e3}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, true]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1e999]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 12345678901234567890]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": null}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": "1"}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": -1e-300}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, -0.5]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [1e308, 0, 1e308, 1]}]'),  # x + w overflows
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1e200, 1e200]}]'),  # w * h overflows
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 2}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 1.0}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": null}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "ignore": "1"}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "n": "\\u00e9"}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "n": "\xc3\xa9"}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "n\\u00e9": 1}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "n": ' + "[" * 80 + "]" * 80 + "}]"),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "n": [1,]}]'),
    _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "n": tru}]'),
]


@needs_native
@pytest.mark.parametrize("data", GT_REFUSED)
def test_ground_truth_refuses_all_but_the_plain_form(data):
    assert native.ground_truth(data, True) is None


@needs_native
def test_ground_truth_steps_over_the_other_members_loosely():
    """Members other than "annotations" are only stepped over (the caller's JSON parser checks
    them): strings with escaped quotes and brackets, nesting, any bytes."""
    before = '"info": {"a": "]}\\"{[", "b": [[{"c": "\xff"}], 1e999, tru]}, "images": [{"id": 1}]'
    data = _gt_file('[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]', before=before)
    got = native.ground_truth(data, True)
    assert got is not None and got[0] == 1
    assert data[got[1] : got[2]] == b'[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]'


@needs_native
def test_ground_truth_takes_buffers_only():
    for arg in ("{}", 1, None):
        with pytest.raises(TypeError):
            native.ground_truth(arg, True)
    exact = np.frombuffer(_gt_file("[]"), np.uint8).copy()
    assert native.ground_truth(exact, True)[0] == 0
    assert native.ground_truth(memoryview(_gt_file("[]")), False)[0] == 0


@needs_native
def test_ground_truth_images_by_hand():
    images = (
        '[{"id": 3, "width": 640, "height": 480, "file_name": "v\u00e9lo.jpg", "license": 1},'
        ' {"file_name": null, "id": -1, "flickr_url": "http://x/y", "neg_category_ids": [1, 2]},'
        ' {"id": 2, "height": 0, "width": 5}]'
    ).encode()
    data = b'{"images": ' + images + b', "annotations": []}'
    got = native.ground_truth(data, True)
    table = got[11]
    assert data[table[0] : table[1]] == images
    assert _gt_columns(got)["images"] == ([3, -1, 2], [640, 0, 5], [480, 0, 0], ["v\u00e9lo.jpg", "", ""])


@pytest.mark.parametrize(
    "image",
    [
        '{"id": 1.0}',
        '{"width": 5}',
        "{}",
        "7",
        '{"id": 1, "id": 2}',
        '{"id": 1, "width": -1}',
        '{"id": 1, "height": 2.5}',
        '{"id": 1, "width": null}',
        '{"id": 1, "width": true}',
        '{"id": 1, "file_name": 5}',
        '{"id": 1, "file_name": "a\\\\b"}',
        '{"id": 1, "file_name": "\xff"}',
        '{"id": 1, "file_name": "\xed\xa0\x80"}',  # a surrogate in UTF-8: not UTF-8
        '{"id": 1, "note": "\xc3\xa9"}',
        '{"id": 12345678901234567890}',
    ],
)
@needs_native
def test_ground_truth_leaves_odd_images_to_the_json_parser(image):
    """An image the strict parser does not take: the images are stepped over (None), the
    annotations still read."""
    data = ('{"images": [{"id": 9}, ' + image + '], "annotations": []}').encode("latin-1")
    got = native.ground_truth(data, True)
    assert got is not None and got[11] is None and got[0] == 0


@needs_native
def test_ground_truth_refuses_two_image_members():
    assert native.ground_truth(b'{"images": [], "annotations": [], "images": []}', True) is None


def _mask_file(
    rng: np.random.Generator, n: int, bad_share: float = 0.0
) -> tuple[bytes, list[str], np.ndarray]:
    """A plain mask-results file of n records (sizes vary), some of whose RLE strings are random
    characters of pycocotools' code (so most of those are malformed): its bytes, the strings and
    the sizes."""
    counts, sizes, recs = [], [], []
    for _ in range(n):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        if rng.random() < bad_share:
            codes = rng.integers(ord("0"), ord("o") + 1, int(rng.integers(0, 12)))
            text = "".join(chr(int(c)) for c in codes)
        else:
            text = mask_rles([random_mask(rng, h, w)], as_str=True)[0]["counts"]
        counts.append(text)
        sizes.append((h, w))
        seg = {"size": [h, w], "counts": text}
        image = int(rng.integers(1, 9))
        recs.append({"image_id": image, "category_id": 1, "segmentation": seg, "score": 0.5})
    data = json.dumps(recs, indent=int(rng.integers(0, 3)) or None).encode()
    return data, counts, np.array(sizes, np.int64)


@needs_native
@pytest.mark.parametrize("seed", range(6))
def test_results_read_a_window_at_a_time_equal_the_whole_file(seed):
    """A file parsed `step` bytes at a time, every record cut by a window's end somewhere (and
    leading, trailing and inner whitespace longer than a window): the columns of the whole."""
    import io

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    boxes = _box_file(rng, 60)
    masks = _mask_file(nrng, 40)[0]
    for data, parse in ((boxes, native.box_results), (masks, native.mask_results)):
        for text in (data, b" \n" * 40 + data.replace(b",", b" ,  ", 3) + b"\n" * 70):
            whole = parse(text)
            assert whole is not None
            for step in (1, 2, 3, 7, 31, 256, 4096, 1 << 20):
                got = parse(io.BytesIO(text), step=step)
                assert got is not None, step
                assert got[0] == whole[0]
                for a, b in zip(got[1:], whole[1:]):
                    assert (bytes(a) == bytes(b)) if isinstance(a, bytearray) else a == b, step


@needs_native
def test_results_read_a_window_at_a_time_refuse_what_the_whole_file_refuses():
    """Random byte edits: a window at a time, the same verdict and the same columns as the whole
    buffer, for small windows too (a record that fails for what it holds is read again with
    more of the file, to its end, and refused then)."""
    import io

    rng = random.Random(11)
    base = _box_file(rng, 8)
    tails = (b"", b"]", b"[", b"x", b" ")
    for k in range(1500):
        data = bytes(edited_bytes(rng, base, overwrite_below=0.9)) + tails[k % len(tails)]
        whole = native.box_results(data)
        got = native.box_results(io.BytesIO(data), step=rng.choice((1, 5, 64, 1 << 16)))
        assert (got is None) == (whole is None), data
        if got is not None:
            assert [bytes(c) for c in got[1:]] == [bytes(c) for c in whole[1:]]


@needs_native
def test_results_reading_errors_and_steps_are_the_callers():
    import io

    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            return 100 if whence == 2 else 0

        def readinto(self, b) -> int:
            raise OSError(5, "Input/output error")

    with pytest.raises(OSError, match="Input/output"):
        native.box_results(Failing())
    with pytest.raises(ValueError, match="step"):
        native.box_results(io.BytesIO(b"[]"), step=0)
    for odd in ("[]", 1, None):  # neither a buffer nor a file
        with pytest.raises(TypeError, match="buffer or a binary file"):
            native.mask_results(odd)
    assert native.mask_results(io.BytesIO(b" [ ] "), step=1)[0] == 0


@needs_native
@pytest.mark.parametrize("seed", range(8))
def test_mask_results_tell_the_first_rle_that_rle_check_refuses(seed):
    """The parser's own check of every RLE string's runs names the string `rle_check` (and its
    Python twin) names first, with the same problem, or none when all are well-formed."""
    rng = np.random.default_rng(seed)
    data, counts, sizes = _mask_file(rng, 200, bad_share=(0.0, 0.01, 0.05, 0.5)[seed % 4])
    got = native.mask_results(data)
    assert got is not None
    want = native.rle_check(counts, sizes)
    assert got[-1] == want
    problems = [M.rle_counts_problem(c, h, w) for c, (h, w) in zip(counts, sizes.tolist())]
    twin = next(((i, code) for i, code in enumerate(problems) if code), None)
    assert want == twin


@needs_native
def test_mask_results_check_runs_by_hand():
    """2x2 masks: "04" (0 background, 4 foreground) is whole; "03" sums to 3 (short), "05" to 5
    (over), "0" has one run of 0 and no more (short); "0O" is a count whose last character carries
    the sign bit (negative)."""
    rec = '{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [2, 2], "counts": "%s"}}'
    for counts, want in (("04", None), ("03", 6), ("05", 5), ("0", 6), ("0O", 4), ("22", None)):
        got = native.mask_results(("[" + rec % "04" + "," + rec % counts + "]").encode())
        assert got is not None
        assert got[-1] == (None if want is None else (1, want)), counts
        assert native.rle_check(["04", counts], np.array([[2, 2], [2, 2]], np.int64)) == got[-1]


@needs_native
@pytest.mark.parametrize("seed", range(6))
def test_box_results_in_parts_on_threads_equal_one_parse(tmp_path, seed):
    """A file parsed in up to 5 parts at once (parts of 64+ bytes here, so every split guess is
    tried): the columns of one parse; also when a string holds what looks like a record boundary
    ("},{") where a part would start, which the part before refutes (then one parse)."""
    rng = random.Random(seed)
    path = tmp_path / "dt.json"
    trap = '{"image_id": 1, "category_id": 2, "score": 0.5, "bbox": [1, 2, 3, 4], "note": "%s"}'
    for data in (_box_file(rng, 80), b"[" + b", ".join([(trap % ("}, {" * 30)).encode()] * 40) + b"]"):
        path.write_bytes(data)
        whole = native.box_results(data)
        assert whole is not None
        for threads in (2, 3, 5):
            for least in (64, 1000):
                with open(path, "rb") as f:
                    got = native.box_results(f, step=97, threads=threads, part_bytes=least)
                assert got is not None and got[0] == whole[0]
                assert [bytes(c) for c in got[1:]] == [bytes(c) for c in whole[1:]], (threads, least)


@needs_native
def test_box_results_in_parts_refuse_what_one_parse_refuses(tmp_path):
    rng = random.Random(5)
    base = _box_file(rng, 30)
    path = tmp_path / "dt.json"
    for _ in range(600):
        data = bytes(edited_bytes(rng, base, overwrite_below=0.9))
        path.write_bytes(data)
        whole = native.box_results(data)
        with open(path, "rb") as f:
            got = native.box_results(
                f, step=rng.choice((13, 4096)), threads=rng.choice((2, 4)), part_bytes=50
            )
        assert (got is None) == (whole is None), data
        if got is not None:
            assert [bytes(c) for c in got[1:]] == [bytes(c) for c in whole[1:]]


def _mask_parse(source: Any, **kw: Any) -> tuple[Any, ...] | None:
    """mask_results' output as plain, comparable values (its columns as bytes: a file parsed in
    parts has its strings one after another too, as one parse has them)."""
    got = native.mask_results(source, **kw)
    if got is None:
        return None
    n, image, category, score, size, box, chars, starts, ends, all_boxes, bad = got
    columns = (image, category, score, size, box, chars, starts, ends)
    if n:
        assert np.frombuffer(starts, np.int64)[0] == 0 and len(chars) == np.frombuffer(ends, np.int64)[-1]
        assert np.array_equal(np.frombuffer(starts, np.int64)[1:], np.frombuffer(ends, np.int64)[:-1])
    return (n, *(bytes(c) for c in columns), all_boxes, bad)


@needs_native
@pytest.mark.parametrize("seed", range(8))
def test_mask_results_in_parts_on_threads_equal_one_parse(tmp_path, seed):
    """Mask results parsed in up to 5 parts at once: the columns, the masks (escaped backslashes
    in their strings unescaped), whether all have a box, and the first malformed RLE (found in
    a later part, its index counted from the file's start) of one parse."""
    nrng = np.random.default_rng(seed)
    data, _, _ = _mask_file(nrng, 120, bad_share=(0.0, 0.02, 0.3, 1.0)[seed % 4])
    if seed % 2:  # a box on every result
        recs = json.loads(data)
        for r in recs:
            r["bbox"] = [1.5, 2, 3, 4]
        data = json.dumps(recs).encode()
    path = tmp_path / "dt.json"
    path.write_bytes(data)
    whole = _mask_parse(data)
    assert whole is not None and whole[0] == 120
    assert whole[-2] is bool(seed % 2)
    if seed % 4:  # bad RLEs: some after the first part's end
        assert whole[-1] is not None
    for threads in (2, 3, 5):
        for least in (64, 1000):
            with open(path, "rb") as f:
                got = _mask_parse(f, step=97, threads=threads, part_bytes=least)
            assert got == whole, (threads, least)


@needs_native
def test_mask_results_in_parts_a_box_on_some_and_a_later_bad_rle(tmp_path):
    """Parts each of one kind (boxes, or none) but the file mixed: one parse's refusal (None, for
    the general path); a malformed RLE only in the last part: its index in the whole file."""
    rec = '{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [2, 2], '
    rec += '"counts": "%s"}%s}'
    plain = [rec % ("04", "")] * 60
    boxed = [rec % ("04", ', "bbox": [0, 0, 2, 2]')] * 60
    path = tmp_path / "dt.json"
    for records, want_bad in ((plain + boxed, None), (plain + plain[:-1] + [rec % ("03", "")], 119)):
        data = ("[" + ",".join(records) + "]").encode()
        path.write_bytes(data)
        whole = _mask_parse(data)
        with open(path, "rb") as f:
            got = _mask_parse(f, threads=4, part_bytes=64)
        assert got == whole
        if want_bad is None:
            assert whole is None
        else:
            assert whole is not None and whole[-1] == (want_bad, 6)  # RLE_SHORT


@needs_native
def test_mask_results_in_parts_refuse_what_one_parse_refuses(tmp_path):
    rng = random.Random(7)
    base = _mask_file(np.random.default_rng(7), 25, bad_share=0.1)[0]
    path = tmp_path / "dt.json"
    for _ in range(400):
        data = bytes(edited_bytes(rng, base, overwrite_below=0.9))
        path.write_bytes(data)
        whole = _mask_parse(data)
        with open(path, "rb") as f:
            got = _mask_parse(f, step=rng.choice((13, 4096)), threads=rng.choice((2, 4)), part_bytes=50)
        assert got == whole, data


def _twin_first_bad(box: np.ndarray) -> int:
    """The first row io._records.check_boxes' array passes refuse, or -1."""
    from detrecall.io._records import box_overflows

    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~np.isfinite(box).all(axis=1) | (box[:, 2] < 0) | (box[:, 3] < 0) | box_overflows(box)
    return int(np.flatnonzero(bad)[0]) if bad.any() else -1


@needs_native
@pytest.mark.parametrize("seed", range(30))
def test_box_check_passes_exactly_what_check_boxes_takes(seed: int):
    assert native is not None
    rng = np.random.default_rng(seed)
    box = rng.uniform(-50, 500, (int(rng.integers(0, 400)), 4))
    box[:, 2:] = np.abs(box[:, 2:])
    odd = [np.nan, np.inf, -np.inf, -1.0, -0.0, 0.0, 1e154, 1e155, 1e300, 1.7e308, -1e-300]
    for _ in range(int(rng.integers(0, 4))):
        if len(box):
            box[rng.integers(len(box)), rng.integers(4)] = odd[rng.integers(len(odd))]
    want, got = _twin_first_bad(box), native.box_check(box)
    # -1 exactly when every row passes; else a row at or before the first refused one (one whose
    # x + w, y + h and w * h are finite but add up past float64 is handed to the twin)
    assert (got == -1) == (want == -1)
    assert got <= want or want == -1


@needs_native
def test_box_check_by_hand_and_its_refusals():
    assert native is not None
    ok = np.array([[0.0, 0.0, 10.0, 5.0], [1.0, 2.0, 0.0, -0.0]])
    assert native.box_check(ok) == -1
    assert native.box_check(np.zeros((0, 4))) == -1
    for row in ([np.nan, 0, 1, 1], [0, 0, -1, 1], [0, 0, 1e200, 1e200], [1e308, 0, 1e308, 0]):
        assert native.box_check(np.array([ok[0], row])) == 1
    # three finite terms whose sum overflows: a doubt, which the twin settles (nothing refused)
    assert native.box_check(np.array([[1e308, 1e308, 0.0, 0.0]])) == 0
    assert _twin_first_bad(np.array([[1e308, 1e308, 0.0, 0.0]])) == -1
    for arg in (np.zeros((2, 4), np.float32), np.zeros(6), "boxes"):
        with pytest.raises(TypeError):
            native.box_check(arg)
    with pytest.raises(ValueError, match="contiguous"):
        native.box_check(np.zeros((4, 8))[:, ::2])
