"""Fuzzing of the COCO results and ground-truth read paths: detrecall/_native.c (the results and
ground-truth parsers, argsort), detrecall/_kernels.c's mask_iou, and the Python paths behind them.

Valid results files made from the bundled fixtures (fixtures/dt_bbox.json, dt_segm.json) are
edited record by record (duplicates, dropped keys, odd values, huge sizes, malformed RLEs) and
byte by byte (flips, inserts, deletes, splices, truncation, duplicated records, huge numbers,
deep nesting), then read with read_coco_results (box and segm, from the file and parsed) and
evaluated with evaluate. Each must return or raise a DetrecallError; the compiled parser, when
it accepts a file, must read what orjson reads. Ground-truth files made from fixtures/gt.json are
edited the same way (annotation fields, ids, flags, areas, images and categories, then bytes) and
read with read_coco_gt through the compiled parser and without it: the same Dataset, field for
field, or the same error text. Between the files, the compiled kernels are
called directly: mask_iou with edge-case blocks (bounds near the int64 limits), rows and
RLEs (equal to pycocotools whenever it answers), argsort (equal to numpy's stable argsort).

    python tests/fuzz_results.py --seconds 60 --seed 1       # 60 s of cases from seed 1
    python tests/fuzz_results.py --seed 1 --case 417         # replay one case

Case i of a seed is the same on every run. A failure writes the case (failure-*.json, the
input file, and failure-*.txt, what was done and the traceback) to --out and exits 1; before
each case its file and description are in --out as case.json and case.txt, so that a crash
(a sanitizer report, .ci/sanitize) leaves the case behind too.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import faulthandler
import functools
import json
import math
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

import detrecall
from detrecall import Dataset, DetrecallError, _compiled, evaluate, read_coco_gt, read_coco_results
from detrecall.errors import DataWarning, GeometryRepairWarning, UndefinedMetricWarning
from detrecall.geometry import masks as M
from detrecall.io import coco
from detrecall.types import RleMasks

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
CASE_TIMEOUT = 60.0  # seconds: a case stuck longer (in C, say) dumps the tracebacks and exits 1

native = _compiled.native
kernels = _compiled.kernels


class Failure(Exception):
    """A case that did something other than return or raise what it may."""


# ---------------------------------------------------------------- the corpus and its edits

WEIRD_VALUES: list[Any] = [
    0,
    -1,
    1,
    999_999_999,
    2**31,
    2**53 + 1,
    INT64_MAX,
    INT64_MIN,
    2**63,
    2**64,
    10**30,
    -(10**30),
    0.5,
    -0.0,
    1e308,
    -1e308,
    5e-324,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    "",
    "1",
    'x\u00e9\\"/',
    [],
    {},
    [1],
    [0, 0, 1, 1],
    [0, 0, -1, 1],
    [1e308, 1e308, 1e308, 1e308],
    [0, 0, 1e308, 1e308],
    [[0, 0, 1, 0, 1, 1]],
    {"size": [1, 1], "counts": "1"},
    {"a": [1, {"b": None}]},
]
WEIRD_SIZES: list[Any] = [
    [0, 0],
    [1, 1],
    [360, 640],
    [640, 360],
    [-1, 5],
    [2**29, 1],
    [2**29 - 1, 1],
    [2**15, 2**14],
    [2**31, 2**31],
    [1, 2**62],
    [INT64_MAX, INT64_MAX],
    [2**64, 1],
    [1.5, 2],
    ["360", "640"],
    [360],
    [360, 640, 1],
    None,
    {},
]
RLE_CHARS = "".join(chr(c) for c in range(48, 112))
TOKENS: list[bytes] = [
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b'"',
    b"\\",
    b"\\\\",
    b"\\u0000",
    b"\\ud800",
    b"-",
    b"0",
    b"1e999",
    b"NaN",
    b"null",
    b"true",
    b"\xff",
    b"\x00",
    b"\xc3\xa9",
    b" ",
    b"\n",
    b'"image_id"',
    b'"category_id":',
    b'"score":0.5',
    b'"bbox":[0,0,1,1]',
    b'"segmentation":',
    b'"size":[360,640]',
    b'"counts":"',
    b"},{",
    b'{"image_id":1000,"category_id":1,"bbox":[0,0,1,1],"score":1}',
]
HUGE_NUMBERS: list[bytes] = [
    *b"""9223372036854775807 9223372036854775808 -9223372036854775808 -9223372036854775809
    18446744073709551616 999999999999999999 1000000000000000000 1111111111111111111
    1e308 1.7976931348623157e308 1.7976931348623159e308 1e309 -1e309 4.9e-324
    2.4703282292062327e-324 1e-400 123456789012345678.5 1e-99999999 1e+99999999999999999999
    -0 -0.0 0e0 00 1. .5 +1 0x10 Infinity -Infinity NaN""".split(),
    b"1" * 400,
    b"1" + b"0" * 400,
    b"0." + b"0" * 300 + b"1",
]
NUMBER = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
RECORD = re.compile(rb"\{[^{}]*(?:\{[^{}]*\}[^{}]*)?\}")


def rle_string(runs: Sequence[int]) -> str:
    """pycocotools' compressed RLE string of `runs` (its rleToString)."""
    out = []
    for i, run in enumerate(runs):
        x = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


def _mutate_counts(rng: random.Random, counts: Any) -> Any:
    if not isinstance(counts, str) or not counts:
        return rng.choice(["", "0", "1", RLE_CHARS, [0, 1], [-1, 2]])
    i = rng.randrange(len(counts))
    op = rng.randrange(7)
    if op == 0:
        return counts[:i]
    if op == 1:
        return counts[:i] + rng.choice(RLE_CHARS) + counts[i + 1 :]
    if op == 2:
        return counts[:i] + rng.choice(["p", "~", " ", "\\", "/", "\u00e9", "\x00", "/0"]) + counts[i:]
    if op == 3:
        return counts + "".join(rng.choice(RLE_CHARS) for _ in range(rng.randint(1, 8)))
    if op == 4:  # a run of 6+ characters, or a long negative one
        return counts[:i] + rng.choice(["oooooo0", "_____O", "ooooo?", "P"]) + counts[i:]
    if op == 5:  # the runs of another size, or of a huge one
        h, w = rng.choice([(1, 1), (360, 640), (2**29 - 1, 1), (2**15, 2**14)])
        return rle_string([h * w]) if rng.random() < 0.5 else rle_string([0, h * w])
    return counts[::-1]


def _edit_record(rng: random.Random, rec: dict[str, Any], other: list[dict[str, Any]]) -> str:
    """One edit of one record, in place; what it was."""
    key = rng.choice([*rec.keys(), "image_id", "bbox", "segmentation", "extra"])
    op = rng.randrange(10)
    if op == 0 and key in rec:
        del rec[key]
        return f"del {key}"
    if op == 1:
        rec[key] = copy.deepcopy(rng.choice(WEIRD_VALUES))
        return f"{key}={rec[key]!r:.40}"
    if op == 2 or (op == 3 and not isinstance(rec.get("segmentation"), dict)):
        seg = rec.setdefault("segmentation", {"size": [360, 640], "counts": "0"})
        if isinstance(seg, dict):
            seg["size"] = copy.deepcopy(rng.choice(WEIRD_SIZES))
            return f"size={seg['size']!r}"
        rec["segmentation"] = {"size": [360, 640], "counts": rle_string([360 * 640])}
        return "segmentation=empty mask"
    if op == 3:
        seg = rec["segmentation"]
        seg["counts"] = _mutate_counts(rng, seg.get("counts"))
        return f"counts={seg['counts']!r:.40}"
    if op == 4:  # a box on a mask result, or a box of another shape
        rec["bbox"] = rng.choice([[1.5, 2.0, 3.0, 4.0], [0, 0, 0, 0], [1, 2, 3], [], None, [0, 0, -5, 1]])
        return f"bbox={rec['bbox']!r}"
    if op == 5:  # a deeply nested extra value
        depth = rng.choice([1, 10, 64, 65, 200])  # deeper ones: byte edits (deepcopy recurses)
        rec[f"deep{depth}"] = json.loads("[" * depth + "]" * depth)
        return f"deep{depth}"
    if op == 6 and other:  # a field of another file's record
        donor = rng.choice(other)
        k = rng.choice(list(donor))
        rec[k] = copy.deepcopy(donor[k])
        return f"{k} from the other file"
    if op == 7:
        rec["segmentation"] = rng.choice(
            [
                [[10, 10, 20, 10, 20, 20]],
                [[10, 10, 20]],
                [[1e308, 0, 0, 1e308, -1e308, 0]],
                {"size": [360, 640], "counts": [0, 360 * 640]},
                {"size": [360, 640], "counts": [-5, 10]},
                {"size": [360, 640], "counts": [2**40]},
            ]
        )
        return f"segmentation={rec['segmentation']!r:.40}"
    if op == 8:  # an id another record's, or not in the ground truth
        rec[rng.choice(["image_id", "category_id"])] = rng.choice([1000, 1007, 1, 4, 9, 10**12, -1000])
        return "id changed"
    rec["score"] = rng.choice([0.0, 1.0, -1.0, 1e-300, 1e300, 0.5, 2**53, 7])
    return f"score={rec['score']}"


def _render(rng: random.Random, recs: list[Any]) -> bytes:
    style = rng.randrange(4)
    if style == 0:
        try:
            return orjson.dumps(recs)
        except orjson.JSONEncodeError:  # an int past 64 bits: orjson does not write those
            style = 1
    if style == 1:
        return json.dumps(recs, indent=rng.choice([None, 1, 2, "\t"])).encode()
    if style == 2:
        seps = (rng.choice([",", ", ", " ,\n"]), rng.choice([":", ": ", " :\t"]))
        return json.dumps(recs, separators=seps, ensure_ascii=rng.random() < 0.5).encode()
    text = json.dumps(recs)
    return (rng.choice(["", " ", "\n\t"]) + text.replace("/", "\\/") + rng.choice(["", "\n", "  "])).encode()


def _mutate_bytes(rng: random.Random, data: bytearray, donors: Sequence[bytes]) -> str:
    """One byte-level edit of `data`, in place; what it was."""
    n = len(data)
    i = rng.randrange(n + 1)
    op = rng.randrange(10)
    if op == 0 and n:
        i = min(i, n - 1)
        data[i] ^= 1 << rng.randrange(8)
        return f"flip@{i}"
    if op == 1:
        token = rng.choice(TOKENS)
        data[i:i] = token
        return f"insert {token!r}@{i}"
    if op == 2:
        k = rng.choice([1, 2, 3, 8, 40, 400])
        del data[i : i + k]
        return f"delete {k}@{i}"
    if op == 3:  # a piece of this file or another, inserted or written over
        donor = rng.choice([bytes(data), *donors])
        j = rng.randrange(len(donor) + 1)
        piece = donor[j : j + rng.choice([1, 5, 30, 200, 2000])]
        k = len(piece) if rng.random() < 0.5 else 0
        data[i : i + k] = piece
        return f"splice {len(piece)}@{i} over {k}"
    if op == 4:
        del data[i:]
        return f"truncate@{i}"
    if op == 5:  # a record twice, or many times, with or without the comma
        spans = [m.span() for m in RECORD.finditer(data)]
        if spans:
            a, b = rng.choice(spans)
            times = rng.choice([1, 1, 2, 10, 300])
            sep = rng.choice([b",", b",", b"", b" , "])
            data[b:b] = (sep + data[a:b]) * times
            return f"duplicate record@{a} x{times} sep {sep!r}"
    if op in (5, 6):
        numbers = [m.span() for m in NUMBER.finditer(data)]
        if numbers:
            a, b = rng.choice(numbers)
            huge = rng.choice(HUGE_NUMBERS)
            data[a:b] = huge
            return f"number@{a}={huge[:30]!r}"
    if op == 7:  # deep nesting: a value, the whole file, or unbalanced
        depth = rng.choice([2, 64, 65, 66, 500, 1100, 5000, 100_000])
        opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        inner = opener * depth + (b"1" if opener != b"[" else b"") + closer * depth
        where = rng.randrange(3)
        if where == 0:
            data[:] = inner
        elif where == 1:
            data[i:i] = opener * depth
        else:
            j = data.find(b"{", i)
            if j >= 0:
                data[j + 1 : j + 1] = b'"x":' + inner + b","
        return f"nesting {opener!r} x{depth} ({['file', 'unbalanced', 'value'][where]})"
    if op == 8 and n:  # one byte set to a structural or odd one
        i = min(i, n - 1)
        data[i] = rng.choice(b'{}[]",:0123456789.-+eE \\/ntf\x00\x7f\x80\xff')
        return f"set@{i}"
    if op == 9:  # whitespace JSON allows, and some it does not
        ws = rng.choice([b" ", b"\n", b"\r\n", b"\t", b"\x0b", b"\x0c", b"\xc2\xa0"])
        data[i:i] = ws
        return f"whitespace {ws!r}@{i}"
    return "none"


# ---------------------------------------------------------------- ground-truth files

GT_VALUES: dict[str, list[Any]] = {
    "id": [0, -1, 1, 1000, INT64_MAX, 2**63, -(2**63), 1.0, None, "1"],
    "iscrowd": [0, 1, 2, -1, True, False, None, 1.0, -0.0, "1", [1]],
    "area": [None, -1, 0, -0.0, 1e308, 5e-324, 2**64, 10**30, "1", True, [1]],
    "bbox": [[0, 0, 1, 1], [1.5, 2, 3, 4.25], [0, 0, -1, 1], [1e300, 0, 1e300, 1e300], [2**64, 0, 1, 1]],
}


def _edit_annotation(rng: random.Random, ann: dict[str, Any], images: list[Any], cats: list[Any]) -> str:
    """One edit of one ground-truth annotation, in place; what it was."""
    op = rng.randrange(7)
    key = rng.choice([*ann.keys(), "id", "image_id", "category_id", "bbox", "area", "iscrowd", "ignore"])
    if op == 0 and key in ann:
        del ann[key]
        return f"del {key}"
    if op == 1:
        ann[key] = copy.deepcopy(rng.choice(WEIRD_VALUES))
        return f"{key}={ann[key]!r:.40}"
    if op == 2:
        field = rng.choice(list(GT_VALUES))
        if field == "iscrowd":
            field = rng.choice(["iscrowd", "ignore"])
        ann[field] = copy.deepcopy(rng.choice(GT_VALUES["iscrowd" if field == "ignore" else field]))
        return f"{field}={ann[field]!r:.40}"
    if op == 3:  # an id of another image or category, or of none
        field = rng.choice(["image_id", "category_id"])
        pool = images if field == "image_id" else cats
        ann[field] = rng.choice([rng.choice(pool)["id"] if pool else 1, 999_999, -5, 0])
        return f"{field}={ann[field]}"
    if op == 4:  # what bbox evaluation skips: masks, keypoints, extra fields
        field = rng.choice(["segmentation", "keypoints", "attributes", "note"])
        ann[field] = copy.deepcopy(
            rng.choice([[[1, 2, 3, 4, 5, 6]], {"size": [3, 3], "counts": "0\\9"}, [0, 0, 2] * 4, "é", {}])
        )
        return f"{field} set"
    if op == 5:  # the keys in another order
        items = list(ann.items())
        rng.shuffle(items)
        ann.clear()
        ann.update(items)
        return "keys shuffled"
    ann["id"] = rng.choice([1, 2, 3])  # an id another annotation may have
    return f"id={ann['id']}"


def _edit_tables(rng: random.Random, data: dict[str, Any]) -> str:
    """One edit of the images, the categories or the top-level keys; what it was."""
    op = rng.randrange(6)
    table = data.get("images" if op == 0 else "categories")
    rows = [r for r in table if isinstance(r, dict)] if isinstance(table, list) else []
    if op in (0, 1) and rows:  # a field of an image or category: odd, or another one's id
        row = rng.choice(rows)
        key = rng.choice(["id", "width", "height", "file_name"] if op == 0 else ["id", "name"])
        row[key] = copy.deepcopy(rng.choice([*WEIRD_VALUES, rows[0].get("id")]))
        return f"{'image' if op == 0 else 'category'} {key}={row[key]!r:.40}"
    if op == 2:
        key = rng.choice(["images", "annotations", "categories", "info"])
        data.pop(key, None)
        return f"del {key}"
    if op == 3:
        key = rng.choice(["images", "annotations", "categories"])
        data[key] = copy.deepcopy(rng.choice(WEIRD_VALUES))
        return f"{key}={data[key]!r:.40}"
    if op == 4:  # the top-level keys in another order
        items = list(data.items())
        rng.shuffle(items)
        data.clear()
        data.update(items)
        return "top-level keys shuffled"
    data["info"] = {"text": 'é \\ " ]}', "deep": json.loads("[" * 70 + "]" * 70)}
    return "info set"


def dataset_fields(ds: Dataset) -> dict[str, Any]:
    """Everything a Dataset holds, in a form == compares exactly (-0.0 and 0.0 differ)."""

    def arr(a: np.ndarray | None) -> Any:
        return None if a is None else (a.dtype.str, a.shape, a.tobytes())

    return {
        "rows": [
            arr(getattr(ds, f)) for f in ("image_id", "category_id", "box", "area", "iscrowd", "ann_id")
        ],
        "ignore": arr(ds.ignore),
        "images": (arr(ds.images.ids), arr(ds.images.width), arr(ds.images.height), ds.images.file_names),
        "categories": (arr(ds.categories.ids), ds.categories.names),
        "rest": (ds.masks, ds.source, arr(ds.shapes), arr(ds.keypoints)),
    }


def check_gt_parser(ctx: Context, data: bytes) -> None:
    """native.ground_truth: None, or the annotations as orjson reads them, found where orjson
    finds them (the rest of the file with the annotations cut out is valid JSON exactly when the
    whole file is). Read from a buffer of the file's exact size (see check_parsers) and from
    the bytes: the same either way."""
    if native is None:
        return
    exact = np.frombuffer(data, np.uint8).copy()
    read_ignore = len(data) % 2 == 0
    try:
        got, again = native.ground_truth(exact, read_ignore), native.ground_truth(data, read_ignore)
    except Exception as exc:
        raise Failure(f"native.ground_truth raised {type(exc).__name__}: {exc}") from exc
    if got != again:
        raise Failure("native.ground_truth read a numpy buffer and bytes differently")
    if got is None:
        return
    ctx.count("native.ground_truth: accepted")
    n, start, end, ids, image, category, box, area, crowd, ignore, present, table = got
    try:
        ref = orjson.loads(data[start:end])
        images = None if table is None else orjson.loads(data[table[0] : table[1]])
    except orjson.JSONDecodeError as exc:
        raise Failure(f"native.ground_truth accepted annotations or images orjson refuses ({exc})") from exc
    rest_ok = whole_ok = True
    cut, at, pieces = sorted([(start, end)] + ([] if table is None else [table[:2]])), 0, []
    for a, b in cut:
        pieces += [data[at:a], b"[]"]
        at = b
    try:
        orjson.loads(b"".join([*pieces, data[at:]]))
    except orjson.JSONDecodeError:
        rest_ok = False
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        whole_ok = False
    if rest_ok != whole_ok:
        raise Failure(
            f"the file without its annotations is {'' if rest_ok else 'not '}valid JSON, the file is"
        )
    if whole_ok and whole.get("annotations") != ref:
        raise Failure("native.ground_truth found annotations other than orjson's")
    if whole_ok and images is not None and whole.get("images") != images:
        raise Failure("native.ground_truth found images other than orjson's")
    if images is not None:
        ctx.count("native.ground_truth: images read too")
        names = ["" if im.get("file_name") is None else im["file_name"] for im in images]
        if (
            np.frombuffer(table[2], np.int64).tolist() != [im["id"] for im in images]
            or np.frombuffer(table[3], np.int64).tolist() != [im.get("width", 0) for im in images]
            or np.frombuffer(table[4], np.int64).tolist() != [im.get("height", 0) for im in images]
            or table[5] != names
        ):
            raise Failure("native.ground_truth: the images differ from orjson's")
    if n != len(ref) or not all(isinstance(r, dict) for r in ref):
        raise Failure(f"native.ground_truth read {n} annotations, orjson {len(ref)}")
    flags = np.frombuffer(present, np.uint8)
    want_area = [float(r["area"]) if r.get("area") is not None else 0.0 for r in ref]
    checks = {
        "image_id": np.frombuffer(image, np.int64).tolist() == [r["image_id"] for r in ref],
        "category_id": np.frombuffer(category, np.int64).tolist() == [r["category_id"] for r in ref],
        "id": np.frombuffer(ids, np.int64).tolist() == [r.get("id", -1) for r in ref],
        "has id": (flags & 1).astype(bool).tolist() == ["id" in r for r in ref],
        "has area": (flags & 2).astype(bool).tolist() == [r.get("area") is not None for r in ref],
        "bbox": _same_floats(np.frombuffer(box).tolist(), [float(v) for r in ref for v in r["bbox"]]),
        "area": _same_floats(np.frombuffer(area).tolist(), want_area),
        "iscrowd": list(crowd) == [int(r.get("iscrowd", 0)) for r in ref],
        "ignore": list(ignore) == [int(r.get("ignore", 0)) if read_ignore else 0 for r in ref],
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise Failure(f"native.ground_truth: {', '.join(bad)} differ from orjson's")


def gt_outcome(ctx: Context, what: str, compiled: Any, path: str, read_ignore: bool) -> Any:
    """read_coco_gt(path) with coco.native set to `compiled`: the Dataset's fields, or the error's
    type and text; a Failure for any other exception."""
    saved = coco.native
    coco.native = compiled
    try:
        return dataset_fields(coco.read_ground_truth(path, read_ignore=read_ignore))
    except DetrecallError as exc:
        ctx.count(f"{what}: refused")
        return (type(exc).__name__, str(exc))
    except Exception as exc:
        kind, where = signature(exc)
        raise Failure(f"{what} raised {kind} in {where}: {exc}") from exc
    finally:
        coco.native = saved


def gt_case(ctx: Context, rng: random.Random, log: list[str]) -> None:
    data = copy.deepcopy(ctx.gt_corpus)
    anns = data["annotations"]
    k = rng.choice([0, 1, 2, 5, 30, len(anns)])
    start = rng.randrange(len(anns))
    data["annotations"] = anns = (anns + anns)[start : start + k]
    log.append(f"gt: {len(anns)} annotations from {start}")
    for _ in range(rng.choice([0, 0, 1, 1, 2, 4]) if anns else 0):
        i = rng.randrange(len(anns))
        if rng.random() < 0.05:
            anns[i] = rng.choice([None, 1, "x", [], [anns[i]]])
            log.append(f"annotation {i} = {anns[i]!r:.40}")
        elif isinstance(anns[i], dict):
            log.append(
                f"annotation {i}: {_edit_annotation(rng, anns[i], data['images'], data['categories'])}"
            )
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        log.append(_edit_tables(rng, data))
    raw = bytearray(_render(rng, data))
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
        log.append(_mutate_bytes(rng, raw, [ctx.gt_blob, *ctx.blobs]))
    blob = bytes(raw)
    ctx.case_file.write_bytes(blob)
    ctx.case_text.write_text("\n".join(log) + "\n")
    check_gt_parser(ctx, blob)
    read_ignore = rng.random() < 0.8
    path = str(ctx.case_file)
    fast = gt_outcome(ctx, "read_coco_gt(file)", native, path, read_ignore)
    general = gt_outcome(ctx, "read_coco_gt(file) without the native module", None, path, read_ignore)
    if fast != general:
        raise Failure(
            f"read_coco_gt: the compiled path gives {str(fast):.300}, the general path {str(general):.300}"
        )
    ctx.count(
        f"read_coco_gt: the same on both paths ({'a Dataset' if isinstance(fast, dict) else 'an error'})"
    )


# ---------------------------------------------------------------- running a case


class Context:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.case_file = out / "case.json"
        self.case_text = out / "case.txt"
        gt_path = FIXTURES / "gt.json"
        self.gt_box: Dataset = read_coco_gt(gt_path)
        self.gt_segm: Dataset = read_coco_gt(gt_path, masks=True)
        self.corpus = {
            "bbox": json.loads((FIXTURES / "dt_bbox.json").read_bytes()),
            "segm": json.loads((FIXTURES / "dt_segm.json").read_bytes()),
        }
        self.blobs = [(FIXTURES / "dt_bbox.json").read_bytes(), (FIXTURES / "dt_segm.json").read_bytes()]
        self.gt_blob = gt_path.read_bytes()
        self.gt_corpus = json.loads(self.gt_blob)
        self.counts: dict[str, int] = {}
        self.skip_known = True

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def outcome(ctx: Context, what: str, call: Callable[[], Any]) -> Any:
    """call(): its value, or None when it raised a DetrecallError; a Failure for anything else."""
    try:
        value = call()
    except DetrecallError:
        ctx.count(f"{what}: refused")
        return None
    except Exception as exc:
        kind, where = signature(exc)
        issue = KNOWN_RAISES.get((kind, where))
        if issue is None or not ctx.skip_known:
            raise Failure(f"{what} raised {kind} in {where}: {exc}") from exc
        ctx.count(f"{what}: {kind}, known issue {issue!r}")
        return None
    ctx.count(f"{what}: read")
    return value


PACKAGE = Path(detrecall.__file__).resolve().parent


def signature(exc: BaseException) -> tuple[str, str]:
    """The exception's type and where in detrecall it was raised ('io/coco.py:function', the
    innermost frame in the package; else the innermost frame at all)."""
    frames = list(traceback.extract_tb(exc.__traceback__))
    inside = [f for f in frames if Path(f.filename).resolve().is_relative_to(PACKAGE)]
    if not frames:
        return type(exc).__name__, "?"
    frame = (inside or frames)[-1]
    path = Path(frame.filename).resolve()
    where = path.relative_to(PACKAGE).as_posix() if inside else path.name
    return type(exc).__name__, f"{where}:{frame.name}"


def check_parsers(ctx: Context, data: bytes) -> None:
    """The compiled parsers: None, or what orjson reads. They read the file from a buffer of its
    exact size on the heap (numpy's), where AddressSanitizer sees a read one byte past the end
    (a bytes object has a NUL there), and from the bytes: the same either way."""
    if native is None:
        return
    exact = np.frombuffer(data, np.uint8).copy()
    for name in ("box_results", "mask_results"):
        try:
            got, again = getattr(native, name)(exact), getattr(native, name)(data)
        except Exception as exc:
            raise Failure(f"native.{name} raised {type(exc).__name__}: {exc}") from exc
        if got != again:
            raise Failure(f"native.{name} read a numpy buffer and bytes differently")
        if got is None:
            continue
        ctx.count(f"native.{name}: accepted")
        try:
            ref = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise Failure(f"native.{name} accepted what orjson refuses ({exc})") from exc
        n = got[0]
        if n != len(ref):
            raise Failure(f"native.{name} read {n} records, orjson {len(ref)}")
        ids = np.frombuffer(got[1], np.int64).tolist()
        scores = np.frombuffer(got[3]).tolist()
        if ids != [r["image_id"] for r in ref] or not _same_floats(scores, [r["score"] for r in ref]):
            raise Failure(f"native.{name}: ids or scores differ from orjson's")
        if name == "mask_results":
            rles = [{"size": r["segmentation"]["size"], "counts": r["segmentation"]["counts"]} for r in ref]
            sizes = np.frombuffer(got[4], np.int64).reshape(-1, 2)
            cols = [np.frombuffer(c, t) for c, t in zip(got[6:9], (np.uint8, np.int64, np.int64))]
            if list(RleMasks(*cols, sizes)) != rles:
                raise Failure("native.mask_results: RLEs differ from orjson's")
        else:
            boxes = np.frombuffer(got[4]).tolist()
            if not _same_floats(boxes, [float(v) for r in ref for v in r["bbox"]]):
                raise Failure("native.box_results: boxes differ from orjson's")


def _same_floats(a: Sequence[float], b: Sequence[Any]) -> bool:
    return np.array_equal(np.array(a, np.float64).view(np.int64), np.array(b, np.float64).view(np.int64))


def file_case(ctx: Context, rng: random.Random, log: list[str]) -> None:
    kind = rng.choice(["bbox", "segm"])
    base = ctx.corpus[kind]
    k = rng.choice([0, 1, 2, 3, 8, 30, len(base)])
    start = rng.randrange(len(base))
    recs = copy.deepcopy((base + base)[start : start + k])
    log.append(f"{kind}: {len(recs)} records from {start}")
    other = ctx.corpus["segm" if kind == "bbox" else "bbox"]
    for _ in range(rng.choice([0, 0, 1, 1, 2, 4]) if recs else 0):
        i = rng.randrange(len(recs))
        if rng.random() < 0.1:
            recs.insert(i, copy.deepcopy(recs[i]))
            log.append(f"record {i} twice")
        elif rng.random() < 0.05:
            recs[i] = rng.choice([None, 1, "x", [], [recs[i]]])
            log.append(f"record {i} = {recs[i]!r:.40}")
        elif isinstance(recs[i], dict):
            log.append(f"record {i}: {_edit_record(rng, recs[i], other)}")
    data = bytearray(_render(rng, recs))
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3, 6])):
        log.append(_mutate_bytes(rng, data, ctx.blobs))
    raw = bytes(data)
    ctx.case_file.write_bytes(raw)
    ctx.case_text.write_text("\n".join(log) + "\n")

    check_parsers(ctx, raw)
    path = str(ctx.case_file)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    masks = rng.random() < 0.5
    calls: list[tuple[str, set[str], Callable[[], Any]]] = [
        ("read_coco_results(file)", {"polygon", "rle-cut"}, lambda: read_coco_results(path, ctx.gt_box)),
        (
            "read_coco_results(file, masks=True)",
            {"polygon", "box", "rle-cut"},
            lambda: read_coco_results(path, ctx.gt_segm, masks=True),
        ),
    ]
    if parsed is not None:
        gt = ctx.gt_segm if masks else ctx.gt_box
        calls.append(
            (
                "read_coco_results(parsed)",
                {"polygon", "box", "rle-cut"} if masks else {"polygon", "rle-cut"},
                functools.partial(read_coco_results, parsed, gt, masks=masks),
            )
        )
    for iou_type in [kind] + (["bbox" if kind == "segm" else "segm"] if rng.random() < 0.25 else []):
        gt = ctx.gt_segm if iou_type == "segm" else ctx.gt_box
        sensitive = {"polygon", "box", "rle-sum", "rle-cut"} if iou_type == "segm" else {"polygon", "rle-cut"}
        calls.append((f"evaluate({iou_type})", sensitive, functools.partial(evaluate, gt, path, iou_type)))
    wanted = set().union(*(sensitive for _, sensitive, _ in calls))
    known = (known_issues(parsed, wanted) & set(KNOWN_ISSUES)) if ctx.skip_known else set()
    if known:
        log.append(f"known issues: {sorted(known)}")
        ctx.case_text.write_text("\n".join(log) + "\n")
    for what, sensitive, call in calls:
        if known & sensitive:
            for issue in sorted(known & sensitive):
                ctx.count(f"{what}: skipped, known issue {issue!r}")
            continue
        outcome(ctx, what, call)


# Inputs on which the read path, past detrecall/_native.c, is known to fail and not fixed yet
# (run with --no-known-skips to see them): the calls they would crash or hang are skipped (see
# known_issues), the exceptions in KNOWN_RAISES let pass; each counted, and shown at the end.
# None now: the six families found at first (nesting, ragged columns, polygons and boxes far
# outside the image, RLE strings cut short, RLE runs not adding up to h * w) are refused with
# located errors by the readers (issue 16); add an entry only for a failure not fixed yet.
KNOWN_ISSUES: dict[str, str] = {}
KNOWN_RAISES: dict[tuple[str, str], str] = {}  # (exception type, where in detrecall): its issue
COORDINATE_LIMIT = 1e6  # pixels: past this, "far outside any image"


def known_issues(recs: Any, wanted: set[str]) -> set[str]:
    """Which of the `wanted` KNOWN_ISSUES the parsed results file `recs` would run into."""
    found: set[str] = set()
    for r in recs if isinstance(recs, list) else []:
        if not isinstance(r, dict):
            continue
        seg, box = r.get("segmentation"), r.get("bbox")
        if isinstance(seg, list) and _far(seg):
            found.add("polygon")
        if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
            x, y, w, h = (float(v) for v in box)
            corners = (x, y, x + w, y + h)
            if all(map(math.isfinite, (x, y, w, h))) and max(map(abs, corners)) > COORDINATE_LIMIT:
                found.add("box")
        if isinstance(seg, dict) and isinstance(seg.get("counts"), (str, bytes)):
            raw = seg["counts"].encode() if isinstance(seg["counts"], str) else seg["counts"]
            if raw and not raw.translate(None, RLE_CHARS.encode()) and (raw[-1] - 48) & 0x20:
                found.add("rle-cut")
        if (
            "rle-sum" in wanted - found
            and isinstance(seg, dict)
            and isinstance(seg.get("counts"), (str, bytes))
        ):
            size = seg.get("size")
            if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size):
                if _rle_iou_may_hang(seg["counts"], size[0] * size[1]):
                    found.add("rle-sum")
    return found


def _far(value: Any) -> bool:
    if isinstance(value, list):
        return any(_far(v) for v in value)
    return isinstance(value, float | int) and math.isfinite(value) and abs(value) > COORDINATE_LIMIT


def _rle_iou_may_hang(counts: str | bytes, pixels: int) -> bool:
    """Whether pycocotools' rleFrString reads runs from `counts` that do not sum to `pixels`
    (or runs it does not read well-defined: past the string's end, or shifted past an int).
    Strings of other characters than '0'..'o' are refused before pycocotools sees them."""
    s = counts.encode() if isinstance(counts, str) else counts
    if s.translate(None, RLE_CHARS.encode()):
        return False
    runs: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s) or k >= 6:
                return True
            c = s[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x & 0xFFFFFFFF)
    return sum(runs) != pixels


# ---------------------------------------------------------------- the kernels, directly


def _rle(h: int, w: int, runs: Sequence[int], as_str: bool) -> dict[str, Any]:
    s = rle_string(runs)
    return {"size": [h, w], "counts": s if as_str else s.encode()}


def _random_rle(rng: random.Random, h: int, w: int) -> dict[str, Any]:
    """A well-formed RLE of an h x w mask, built from random runs (any h * w < 2**29)."""
    total, runs = h * w, list[int]()
    left = total
    while left > 0 and len(runs) < 40:
        run = min(left, rng.choice([0, 1, 2, rng.randint(0, max(1, total // 4)), left]))
        runs.append(run)
        left -= run
    if left:
        runs.append(left)
    return _rle(h, w, runs, rng.random() < 0.5)


def _broken_rle(rng: random.Random, rle: dict[str, Any]) -> Any:
    op = rng.randrange(8)
    counts = rle["counts"]
    text = counts.decode() if isinstance(counts, bytes) else counts
    if op == 0:
        return {"size": rng.choice(WEIRD_SIZES), "counts": counts}
    if op == 1:
        return {"size": rle["size"], "counts": _mutate_counts(rng, text)}
    if op == 2:
        return {"size": rle["size"], "counts": _mutate_counts(rng, text).encode("utf-8", "replace")}
    if op == 3:
        return {"size": rle["size"]}
    if op == 4:
        return {"counts": counts}
    if op == 5:
        return rng.choice([None, 1, "x", [rle], (rle["size"], counts)])
    if op == 6:
        return {"size": tuple(rle["size"]), "counts": bytearray(counts if isinstance(counts, bytes) else b"")}
    return {"size": [np.int64(rle["size"][0]), rle["size"][1]], "counts": counts}


def _twin_iou(dt: Sequence[Any], gt: Sequence[Any], rows: tuple[np.ndarray, ...]) -> np.ndarray:
    """mask_iou_blocks' pure-Python path (pycocotools, one call a block)."""
    saved = M.native
    M.native = None
    try:
        return M.mask_iou_blocks(dt, gt, *rows)
    finally:
        M.native = saved


def iou_case(ctx: Context, rng: random.Random, log: list[str]) -> None:
    h, w = rng.choice([(1, 1), (3, 2), (7, 5), (40, 33), (360, 640), (2**14, 2**14 - 1), (2**29 - 1, 1)])
    n_dt, n_gt = rng.randint(0, 12), rng.randint(0, 8)
    dt = [_random_rle(rng, h, w) for _ in range(n_dt)]
    gt = [_random_rle(rng, h, w) for _ in range(n_gt)]
    broken = 0
    for masks in (dt, gt):
        for i in range(len(masks)):
            if rng.random() < 0.08:
                masks[i] = _broken_rle(rng, masks[i])
                broken += 1
    dt_rows = np.array([rng.randrange(n_dt) for _ in range(rng.randint(0, 16))] if n_dt else [], np.int64)
    gt_rows = np.array([rng.randrange(n_gt) for _ in range(rng.randint(0, 10))] if n_gt else [], np.int64)
    for rows, n in ((dt_rows, n_dt), (gt_rows, n_gt)):
        if len(rows) and rng.random() < 0.05:
            rows[rng.randrange(len(rows))] = rng.choice([-1, n, INT64_MAX, INT64_MIN])
    blocks = []
    for _ in range(rng.randint(0, 4)):
        d0 = rng.randint(0, len(dt_rows))
        g0 = rng.randint(0, len(gt_rows))
        blocks.append([d0, rng.randint(0, len(dt_rows) - d0), g0, rng.randint(0, len(gt_rows) - g0)])
    if blocks and rng.random() < 0.1:
        blocks[rng.randrange(len(blocks))][rng.randrange(4)] = rng.choice(
            [-1, len(dt_rows) + 1, 2**62, INT64_MAX, INT64_MIN]
        )
    blocks_arr = np.array(blocks, np.int64).reshape(-1, 4)
    crowd = np.array(
        [rng.random() < 0.3 for _ in range(n_gt if rng.random() < 0.95 else max(0, n_gt - 1))], np.uint8
    )
    log.append(f"mask_iou: {h}x{w}, {n_dt} dt, {n_gt} gt, {broken} broken, blocks {blocks}")
    ctx.case_text.write_text("\n".join(log) + "\n")
    args = (dt_rows, gt_rows, blocks_arr, crowd)
    assert kernels is not None  # run_case picks the kernel cases only where it is built
    try:
        got = kernels.mask_iou(tuple(dt), tuple(gt), *args, rng.choice((1, 2, 3)))
    except (IndexError, ValueError) as exc:
        ctx.count(f"mask_iou: {type(exc).__name__}")
        return
    except Exception as exc:
        raise Failure(f"mask_iou raised {type(exc).__name__}: {exc}") from exc
    if got is None:
        ctx.count("mask_iou: left to pycocotools")
        return
    ctx.count("mask_iou: computed")
    want = _twin_iou(dt, gt, args)
    if not np.array_equal(np.frombuffer(got), want):
        raise Failure(f"mask_iou {np.frombuffer(got).tolist()} != pycocotools {want.tolist()}")


def argsort_case(ctx: Context, rng: random.Random, log: list[str]) -> None:
    n = rng.choice([0, 1, 2, 17, 1000, 20_000])
    nrng = np.random.default_rng(rng.randrange(2**32))
    keys: np.ndarray
    if rng.random() < 0.5:
        keys = nrng.normal(size=n) * rng.choice([1, 1e-300, 1e300])
        for special in (0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, np.finfo(float).max):
            keys[nrng.random(n) < 0.03] = special
        want_desc = np.argsort(-keys, kind="stable")
    else:
        keys = nrng.integers(INT64_MIN, INT64_MAX, n, endpoint=True) // rng.choice([1, 2**40, 2**62])
        for special in (INT64_MIN, INT64_MAX, 0, -1):
            keys[nrng.random(n) < 0.03] = special
        want_desc = np.argsort(~keys, kind="stable")  # ~k = -k - 1: decreasing, never overflows
    descending = rng.random() < 0.5
    log.append(f"argsort: {n} {keys.dtype}, descending={descending}")
    ctx.case_text.write_text("\n".join(log) + "\n")
    assert native is not None
    got = np.frombuffer(native.argsort(keys, descending), np.int64)
    want = want_desc if descending else np.argsort(keys, kind="stable")
    if not np.array_equal(got, want):
        raise Failure("argsort differs from numpy's stable argsort")
    ctx.count("argsort: equal")


def flush_case(ctx: Context, rng: random.Random, log: list[str]) -> None:
    """_stream.flush_boxes on a random batch of per-image boxes: equal to its twin (the tables
    and match_batch); then on the same columns with one of them broken, where it must raise
    ValueError or TypeError."""
    from detrecall._flush import coco_pass
    from detrecall.evaluate import make_config, match_batch
    from detrecall.io.arrays import build_arrays, check_arrays

    nrng = np.random.default_rng(rng.randrange(2**32))
    classes = sorted(rng.sample([1, 2, 3, 7, 90, 2**21, 2**40], rng.randint(1, 4)))
    targets, preds = [], []
    for image_id in nrng.permutation(rng.randint(0, 9) + 1)[: rng.randint(0, 8)].tolist():
        n_gt, n_dt = rng.choice([0, 1, 3, 20]), rng.choice([0, 1, 5, 40])
        gt_box = nrng.integers(0, 5, (n_gt, 4)) * 6.0
        dt_box = (
            np.abs(gt_box[nrng.integers(0, n_gt, n_dt)] + nrng.integers(-1, 2, (n_dt, 4)))
            if n_gt
            else nrng.integers(0, 9, (n_dt, 4)) * 1.0
        )
        targets.append(
            {
                "boxes": gt_box,
                "labels": nrng.choice(classes, n_gt),
                "iscrowd": nrng.integers(0, 2, n_gt),
                "image_id": image_id,
            }
        )
        preds.append(
            {
                "boxes": dt_box,
                "scores": nrng.integers(0, 4, n_dt) / 3.0,
                "labels": nrng.choice(classes, n_dt),
                "image_id": image_id,
            }
        )
    names = {c: str(c) for c in classes}
    options = rng.choice(
        [{}, {"iou_thresholds": [rng.choice([0.1, 0.5, 1.0])], "max_dets": [rng.randint(1, 5)]}]
    )
    log.append(f"flush_boxes: {len(targets)} images, classes {classes}, {options}")
    ctx.case_text.write_text("\n".join(log) + "\n")
    config = make_config("bbox", categories=names, **options)
    batch = check_arrays(targets, preds, box_format="xywh", categories=names)
    done = coco_pass(batch, config)
    assert done is not None
    twin = match_batch(*build_arrays([batch], warn=False), config, with_score_order=False).coco
    for f in dataclasses.fields(twin):
        if not np.array_equal(getattr(done.coco, f.name), getattr(twin, f.name)):
            raise Failure(f"flush_boxes: {f.name} is not the twin's")
    ctx.count("flush_boxes: equal")
    cols = batch.columns
    args = [
        cols.image_ids,
        cols.n_gt,
        cols.n_dt,
        cols.gt_cat,
        cols.gt_box,
        cols.area,
        cols.iscrowd,
        cols.ignore,
        cols.dt_cat,
        cols.dt_box,
        cols.dt_area,
        cols.score,
        batch.categories.ids,
        np.asarray(config.params.iou_thresholds),
        config.params.area_ranges,
        config.params.max_dets[-1],
    ]
    k = rng.randrange(len(args))
    if k == len(args) - 1:
        args[k] = rng.choice([0, -1, 2**62])
    else:
        a = np.asarray(args[k])
        args[k] = rng.choice(
            [
                a[:-1] if len(a) else a[:0],
                np.concatenate([a, a[:1]]),
                a.astype(np.float32),
                a[::-1].copy(),
                np.full_like(a, rng.choice([-1, 2**31]) if a.dtype.kind in "iu" else np.nan),
            ]
        )
    log.append(f"broken argument {k}")
    ctx.case_text.write_text("\n".join(log) + "\n")
    assert _compiled.stream is not None
    try:
        _compiled.stream.flush_boxes(*args)
    except (ValueError, TypeError) as exc:
        ctx.count(f"flush_boxes: {type(exc).__name__}")
        return
    ctx.count("flush_boxes: broken input read")


def kernel_edges(ctx: Context) -> int:
    """Fixed edge cases of the kernels, once: blocks of every combination of values near 0, the
    row counts and the int64 limits; products of nd and ng past a buffer's size; bad arguments.
    The number of calls made."""
    if native is None or kernels is None:
        return 0
    ctx.case_text.write_text("kernel edges\n")
    calls = 0
    one = _rle(2, 3, [1, 4, 1], as_str=False)
    dt, gt = (one, _rle(2, 3, [0, 6], as_str=True)), (one, _rle(2, 3, [6], as_str=False), one)
    n = 3
    rows_d, rows_g = np.array([1, 0, 1], np.int64), np.array([2, 0, 1], np.int64)
    crowd = np.array([0, 1, 0], np.uint8)
    values = [0, 1, 2, n, n + 1, 2**31, 2**32, 2**62, INT64_MAX - 1, INT64_MAX, -1, INT64_MIN, INT64_MIN + 1]
    for d0 in values:
        for nd in values:
            for g0 in values:
                for ng in values:
                    blocks = np.array([[d0, nd, g0, ng]], np.int64)
                    inside = min(d0, nd, g0, ng) >= 0 and d0 + nd <= n and g0 + ng <= n
                    calls += 1
                    try:
                        got = kernels.mask_iou(dt, gt, rows_d, rows_g, blocks, crowd, 2)
                    except IndexError:
                        if inside:
                            raise Failure(f"mask_iou refused the block {[d0, nd, g0, ng]}") from None
                        continue
                    if not inside:
                        raise Failure(f"mask_iou took the block {[d0, nd, g0, ng]}")
                    want = _twin_iou(dt, gt, (rows_d, rows_g, blocks, crowd))
                    if not np.array_equal(np.frombuffer(got), want):
                        raise Failure(f"mask_iou block {[d0, nd, g0, ng]}: not pycocotools' IoUs")
    # nd * ng past PY_SSIZE_T_MAX / 8 doubles: rows of a sparse 16 GiB file, never read
    big = 2**31
    with tempfile.TemporaryFile(dir=ctx.out) as f:
        f.truncate(8 * big)
        rows = np.memmap(f, np.int64, mode="r", shape=(big,))
        for spec in (
            [[0, 2**30, 0, 2**30]],
            [[0, big, 0, big]],
            [[1, big - 1, 0, big]],
            [[0, big, 0, 2**29]] * 2,
        ):
            calls += 1
            try:
                kernels.mask_iou(dt, gt, rows, rows, np.array(spec, np.int64), crowd, 2)
            except ValueError:
                continue
            raise Failure(f"mask_iou took {spec} over {big} rows")
        del rows
    # arguments of the wrong kind: a Python error, never a crash
    good = (dt, gt, rows_d, rows_g, np.array([[0, 1, 0, 1]], np.int64), crowd)
    bad_args: list[tuple[Any, ...]] = [
        (list(dt), *good[1:]),
        (dt, gt, rows_d.astype(np.int32), *good[3:]),
        (dt, gt, rows_d, rows_g.astype(np.float64), *good[4:]),
        (dt, gt, rows_d, rows_g, good[4].astype(np.uint64), crowd),
        (dt, gt, rows_d, rows_g, np.array([0, 1, 0], np.int64), crowd),
        (dt, gt, rows_d, rows_g, np.zeros((4, 2), np.int64)[:, 0], crowd),
        (dt, gt, np.arange(6, dtype=np.int64)[::2], *good[3:]),
        (dt, gt, rows_d, rows_g, good[4], crowd[:2]),
        (dt, gt, rows_d, rows_g, good[4], "crowd"),
        (dt, gt, b"12345678", *good[3:]),
        (dt, gt, rows_d, rows_g, good[4]),
    ]
    for args in bad_args:
        calls += 1
        try:
            kernels.mask_iou(*args, 2)
        except (TypeError, ValueError, IndexError, BufferError):
            continue
        raise Failure(f"mask_iou took bad arguments {args!r:.200}")
    calls += _box_candidate_edges(values)
    odd: list[Any] = ["[]", 1, None, np.zeros(3, np.float32), b"", bytearray(b"[]"), memoryview(b"[ ]")[1:]]
    for arg in odd:
        for name in ("box_results", "mask_results"):
            calls += 1
            try:
                getattr(native, name)(arg)
            except TypeError:
                pass
    for arg in ["{}", 1, None, np.zeros(3, np.float32), b"", bytearray(b"{}"), memoryview(b"{ }")[1:]]:
        calls += 1
        try:
            native.ground_truth(arg, True)
        except TypeError:
            pass
    odd = [np.zeros(3, np.float32), np.zeros(3, np.int32), np.zeros(6)[::2], b"x" * 8, "x", None]
    for arg in odd:
        calls += 1
        try:
            native.argsort(arg)
        except (TypeError, ValueError, BufferError):
            continue
        raise Failure(f"argsort took {arg!r}")
    return calls


def _box_candidate_edges(values: list[int]) -> int:
    """box_candidates with each of `values` as a detection's row, its pairs' start and count and
    a ground-truth row: refused (ValueError) when out of bounds, else the twin's IoUs."""
    assert kernels is not None
    from detrecall.geometry.boxes import box_iou_pairs

    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 2.0, 10.0, 9.0], [1e150, -1e150, 1e150, 0.0]])
    crowd = np.array([0, 1, 0], np.uint8)
    calls = 0
    for row in values:
        for start in values:
            for count in values:
                for g_row in (0, 2, 3, -1, INT64_MAX):
                    dt_rows, gt_rows = np.array([row], np.int64), np.array([1, g_row, 0], np.int64)
                    inside = (
                        0 <= row < 3 and 0 <= start and 0 <= count and start + count <= 3 and 0 <= g_row < 3
                    )
                    empty = count == 0 and 0 <= g_row < 3  # a detection without pairs: nothing read
                    calls += 1
                    try:
                        got = kernels.box_candidates(
                            boxes,
                            boxes,
                            crowd,
                            dt_rows,
                            gt_rows,
                            np.array([start], np.int64),
                            np.array([count], np.int64),
                            0.0,
                            False,
                            2,
                        )
                    except ValueError:
                        if inside or empty:
                            raise Failure(f"box_candidates refused {[row, start, count, g_row]}") from None
                        continue
                    if not (inside or empty):
                        raise Failure(f"box_candidates took {[row, start, count, g_row]}")
                    if empty:
                        continue
                    g = gt_rows[start : start + count]
                    want = box_iou_pairs(boxes[[row] * count], boxes[g], crowd[g].astype(bool))
                    if not np.array_equal(np.frombuffer(got[2]), want):
                        raise Failure(f"box_candidates {[row, start, count, g_row]}: not the twin's IoUs")
    return calls


# ---------------------------------------------------------------- the loop

KINDS: list[tuple[str, Callable[[Context, random.Random, list[str]], None], float]] = [
    ("file", file_case, 0.55),
    ("gt", gt_case, 0.2),
    ("flush", flush_case, 0.05),
    ("mask_iou", iou_case, 0.15),
    ("argsort", argsort_case, 0.05),
]


def run_case(ctx: Context, seed: int, index: int) -> str:
    rng = random.Random(f"{seed}:{index}")
    r, kind = rng.random(), KINDS[0]
    for kind in KINDS:
        if r < kind[2]:
            break
        r -= kind[2]
    if (native is None or kernels is None or _compiled.stream is None) and kind[0] != "file":
        kind = KINDS[0]
    log = [f"seed {seed} case {index}: {kind[0]}"]
    ctx.case_file.unlink(missing_ok=True)
    ctx.case_text.write_text(log[0] + "\n")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for category in (DataWarning, GeometryRepairWarning, UndefinedMetricWarning):
                warnings.simplefilter("ignore", category)  # detrecall's own: for odd input, on purpose
            warnings.filterwarnings(  # pycocotools under numpy 2, as in pyproject
                "ignore", "__array__ implementation doesn't accept a copy keyword", DeprecationWarning
            )
            kind[1](ctx, rng, log)
        for w in caught:  # not failures (the brief is: return or raise DetrecallError), but shown
            where = f"{Path(w.filename).parent.name}/{Path(w.filename).name}:{w.lineno}"
            ctx.count(f"warning {w.category.__name__} at {where}: {w.message}")
    except Failure as failure:
        raise Failure("\n".join([*log, str(failure)])) from failure.__cause__
    except Exception as exc:
        raise Failure("\n".join([*log, f"{type(exc).__name__}: {exc}"])) from exc
    return kind[0]


def write_failure(ctx: Context, seed: int, index: int, failure: BaseException) -> Path:
    stem = ctx.out / f"failure-seed{seed}-case{index}"
    if ctx.case_file.exists():
        stem.with_suffix(".json").write_bytes(ctx.case_file.read_bytes())
    text = "".join(traceback.format_exception(failure))
    replay = f"--seed {seed} --case {index}" if index >= 0 else "--seconds 0 (the kernel edge cases)"
    stem.with_suffix(".txt").write_text(f"replay: python tests/fuzz_results.py {replay}\n\n{text}")
    return stem.with_suffix(".txt")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to generate cases (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the cases (default 0)")
    parser.add_argument("--case", type=int, default=None, help="run this one case of the seed only")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the case files (default: a temporary one)"
    )
    parser.add_argument("--require-native", default=None, help="fail unless detrecall._native is this file")
    parser.add_argument(
        "--keep-going", action="store_true", help="go on after a failure (one case kept for each kind)"
    )
    parser.add_argument(
        "--no-known-skips", action="store_true", help="also make the calls KNOWN_ISSUES would fail (or hang)"
    )
    args = parser.parse_args(argv)
    if args.require_native is not None and (native is None or native.__file__ != args.require_native):
        where = None if native is None else native.__file__
        print(f"fuzz_results: detrecall._native is {where}, not {args.require_native}", file=sys.stderr)
        return 1
    out = args.out or Path(tempfile.mkdtemp(prefix="fuzz-results-"))  # kept after a failure
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(out)
    ctx.skip_known = not args.no_known_skips
    status = fuzz(ctx, args.seed, args.seconds, args.case, args.keep_going)
    if status == 0 and args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return status


def fuzz(ctx: Context, seed: int, seconds: float, only: int | None, keep_going: bool = False) -> int:
    """The cases of `seed` for `seconds` (or case `only`); 0, or 1 after a failure (after the
    time is up when `keep_going`, with one case written for each different failure)."""
    start = time.monotonic()
    kinds: dict[str, int] = {}
    failures: dict[tuple[str, str], int] = {}
    index, edge_calls = -1, 0  # case -1: the fixed edge cases (replay: --seconds 0)
    while True:
        faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True)
        try:
            if index < 0:
                edge_calls = kernel_edges(ctx) if only is None else 0
            else:
                kind = run_case(ctx, seed, index)
                kinds[kind] = kinds.get(kind, 0) + 1
        except Exception as failure:
            sig = signature(failure.__cause__ or failure)
            failures[sig] = failures.get(sig, 0) + 1
            if failures[sig] == 1:
                path = write_failure(ctx, seed, index, failure)
                print(f"fuzz_results: FAILED: seed {seed} case {index}: {failure}", file=sys.stderr)
                print(f"fuzz_results: the case: {path} (and its .json)", file=sys.stderr)
            if not keep_going:
                break
        if only is not None:
            if index >= only:
                break
            index = only
        elif time.monotonic() - start >= seconds:
            break
        else:
            index += 1
    faulthandler.cancel_dump_traceback_later()
    cases = sum(kinds.values())
    for what, n in sorted(ctx.counts.items()):
        print(f"  {what}: {n}")
    passed_over = sum(n for what, n in ctx.counts.items() if "known issue" in what)
    for issue, text in KNOWN_ISSUES.items():
        if any(f"known issue {issue!r}" in what for what in ctx.counts):
            print(f"  known issue {issue!r}: {text}")
    for (kind, where), n in failures.items():
        print(f"  FAILED: {kind} in {where}: {n} case(s)")
    parts = ", ".join(f"{n} {k}" for k, n in kinds.items())
    print(
        f"fuzz_results: {cases} cases ({parts}) and {edge_calls} kernel edge calls in "
        f"{time.monotonic() - start:.1f} s, seed {seed}: {sum(failures.values())} failures, "
        f"{passed_over} calls passed over for known issues"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
