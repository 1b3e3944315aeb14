"""detrecall/_raster.c against its twin, pycocotools (frPyObjects of an object's parts, then
merge): the same compressed strings, byte for byte, on polygons of every kind and image sizes
from 1x1 up; the readers' polygon checks told the same records with and without it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import detrecall
from detrecall import read_coco_gt
from detrecall._compiled import raster
from detrecall.errors import DetrecallError, InputError
from detrecall.geometry import masks as M
from tests.oracle import random_coco, reference

pytestmark = pytest.mark.skipif(raster is None, reason="detrecall._raster is not built")

SIZES = [(1, 1), (1, 9), (9, 1), (2, 3), (17, 13), (64, 64), (480, 640), (1000, 37), (2500, 3100)]


def _safe_for_pycocotools(counts: bytes) -> bool:
    """Whether pycocotools writes this string within its buffer: rleToString allocates 6 bytes
    a run and writes its terminating NUL past them when the runs take more (runs from 2^24 on,
    on images of more than 2^24 pixels): a heap overflow there, not an oracle."""
    runs = sum(1 for b in counts if not (b - 48) & 0x20)
    return len(counts) < 6 * runs


def _oracle(objects: list[list[list[float]]], h: int, w: int) -> list[bytes | None]:
    """pycocotools' strings, as detrecall's twin path, one object at a time; None for an object
    whose strings (its parts' or the merged one, as drawn by the compiled path) pycocotools
    cannot write safely."""
    out: list[bytes | None] = []
    for parts in objects:
        strings = raster.polygon_rles([[p] for p in parts] + [parts], h, w)
        if not all(map(_safe_for_pycocotools, strings)):
            out.append(None)
            continue
        rles = mask_utils.frPyObjects(parts, h, w)
        out.append((rles[0] if len(parts) == 1 else mask_utils.merge(rles))["counts"])
    return out


def _assert_equal(got: list[bytes], objects: list[list[list[float]]], h: int, w: int) -> None:
    """got equal to pycocotools' strings where it writes them safely, well-formed everywhere"""
    assert all(M.rle_counts_problem(c, h, w) == 0 for c in got)
    expected = _oracle(objects, h, w)
    assert [g if e is not None else None for g, e in zip(got, expected)] == expected


def _polygon(rng: np.random.Generator, kind: str, h: int, w: int) -> list[float]:
    """One part of a kind, its vertices within masks.polygon_bounds(h, w)."""
    x0, x1, y0, y1 = M.polygon_bounds(h, w)
    k = int(rng.integers(3, 12))
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    size = max(h, w) * rng.uniform(0.05, 0.6)
    if kind == "convex":
        a = np.sort(rng.uniform(0, 2 * math.pi, k))
        xy = np.stack([cx + size * np.cos(a), cy + size * np.sin(a)], 1)
    elif kind == "concave":  # a star: radii alternate
        a = np.linspace(0, 2 * math.pi, 2 * k, endpoint=False)
        r = np.where(np.arange(2 * k) % 2, size, size * rng.uniform(0.1, 0.5))
        xy = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
    elif kind == "self-intersecting":
        xy = np.stack([rng.uniform(0, w, k), rng.uniform(0, h, k)], 1)
    elif kind == "tiny":  # within a pixel or two, often no pixel at all
        xy = np.stack([cx + rng.uniform(-1, 1, k), cy + rng.uniform(-1, 1, k)], 1)
    elif kind == "degenerate":  # repeated and collinear vertices, closed, zero area
        base = np.stack([rng.uniform(0, w, 2), rng.uniform(0, h, 2)], 1)
        t = rng.uniform(0, 1, (k, 1))
        xy = base[0] + t * (base[1] - base[0])
        xy[rng.integers(k)] = xy[0]
        xy = np.vstack([xy, xy[:1], xy[:1]])
    elif kind == "grid":  # on the 1/5-pixel grid rleFrPoly rounds to: ties everywhere
        xy = np.stack([rng.integers(-2, 5 * w + 3, k) / 5, rng.integers(-2, 5 * h + 3, k) / 5], 1)
    elif kind == "half-pixels":
        xy = np.stack([rng.integers(-2, 2 * w + 3, k) / 2, rng.integers(-2, 2 * h + 3, k) / 2], 1)
    elif kind == "steep":  # long edges a little steeper than 45 degrees, or nearly vertical
        y = np.sort(rng.uniform(y0, y1, k))
        slope = rng.choice([0.999, 0.98, 0.5, 0.01, 1e-4], k)
        x = cx + np.cumsum(np.where(np.arange(k) % 2, 1, -1) * slope * np.diff(y, prepend=y[0]))
        xy = np.stack([x, y], 1)
    else:  # "off-image": out to the edge of the allowed bounds
        xy = np.stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)], 1)
        xy[rng.integers(k)] = (x0, y1) if rng.random() < 0.5 else (x1, y0)
    xy[:, 0] = np.clip(xy[:, 0], x0, x1)
    xy[:, 1] = np.clip(xy[:, 1], y0, y1)
    if rng.random() < 0.3:
        xy = np.round(xy, int(rng.integers(0, 3)))
    return [float(c) for c in xy.ravel()]


KINDS = [
    "convex",
    "concave",
    "self-intersecting",
    "tiny",
    "degenerate",
    "grid",
    "half-pixels",
    "steep",
    "off-image",
]


@pytest.mark.parametrize("h, w", SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_strings_equal_pycocotools(kind: str, h: int, w: int) -> None:
    rng = np.random.default_rng([KINDS.index(kind), h, w])
    n = 40 if h * w < 10**6 else 6
    objects = [[_polygon(rng, kind, h, w)] for _ in range(n)]
    _assert_equal(raster.polygon_rles(objects, h, w), objects, h, w)


@pytest.mark.parametrize("h, w", SIZES)
def test_merged_parts_equal_pycocotools(h: int, w: int) -> None:
    rng = np.random.default_rng([99, h, w])
    n = 30 if h * w < 10**6 else 5
    objects = [
        [_polygon(rng, str(rng.choice(KINDS)), h, w) for _ in range(int(rng.integers(1, 9)))]
        for _ in range(n)
    ]
    _assert_equal(raster.polygon_rles(objects, h, w), objects, h, w)


def test_integer_and_exact_coordinates() -> None:
    """ints, negative zero, vertices exactly on pixel centres and edges, a square drawn both ways"""
    objects = [
        [[0, 0, 5, 0, 5, 5, 0, 5]],
        [[0, 5, 5, 5, 5, 0, 0, 0]],
        [[-0.0, -0.0, 2.5, 0.5, 0.5, 2.5]],
        [[-1, -1, 10, -1, 10, 10, -1, 10], [2, 2, 3, 2, 3, 3]],
        [[0.5, 0.5, 0.5, 0.5, 0.5, 0.5]],
        [[-0.1, 3, -0.3, 4, -0.5, 2]],
    ]
    _assert_equal(raster.polygon_rles(objects, 8, 9), objects, 8, 9)


def test_polygons_to_rles_is_its_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    objects = [[_polygon(rng, k, 30, 40) for k in KINDS[: 1 + i % 4]] for i in range(24)]
    compiled = M.polygons_to_rles(objects, 30, 40)
    monkeypatch.setattr(M, "raster", None)
    assert compiled == M.polygons_to_rles(objects, 30, 40)
    assert compiled[0]["size"] == (30, 40) and isinstance(compiled[0]["counts"], bytes)


@pytest.mark.parametrize(
    "objects",
    [
        [[[0, 0, 1e4, 0, 1, 1]]],  # beyond one image size
        [[[0, 0, 1, 0, 1, float("nan")]]],
        [[[0, 0, 1, 0, 1]]],  # odd
        [[[0, 0, 1, 0]]],  # fewer than 3 points
        [[[0, 0, 1, 0, "1", 1]]],
        [[]],  # no part
    ],
)
def test_what_it_does_not_take_goes_to_the_twin(objects: list) -> None:
    assert raster.polygon_rles(objects, 10, 10) is None
    assert raster.polygon_rles([[[0, 0, 1, 0, 1, 1]]], 0, 10) is None
    assert raster.polygon_rles([[[0, 0, 1, 0, 1, 1]]], 2**16, 2**16) is None


def test_far_vertices_raise_the_same_error(monkeypatch: pytest.MonkeyPatch) -> None:
    far = [[[0, 0, 1e4, 0, 1, 1]]]
    with pytest.raises(DetrecallError, match="more than one image size outside the 10x10 image"):
        M.polygons_to_rles(far, 10, 10)
    monkeypatch.setattr(M, "raster", None)
    with pytest.raises(DetrecallError, match="more than one image size outside the 10x10 image"):
        M.polygons_to_rles(far, 10, 10)


@pytest.mark.parametrize("h, w", [(23000, 23000), (65537, 65535)])
def test_large_images(h: int, w: int) -> None:
    """runs near 2^29, and h*w = 2^32 - 1: run starts and the merge at the edge of 32 bits"""
    objects = [
        [[0, 0, 3, 0, 3, h - 0.6]],
        [[w - 1.4, h - 0.4, w - 3, h - 7, w - 1.1, 2]],
        [[1, 1, 4.5, 1, 4.5, 4.5, 1, 4.5]],
        [[1, 1, 1.2, 1, 1.2, 1.2]],  # no pixel: one run of h*w
    ]
    objects.append(objects[0] + objects[1])
    got = raster.polygon_rles(objects, h, w)
    _assert_equal(got, objects, h, w)
    assert _oracle(objects, h, w)[2] is not None  # some compared


@pytest.mark.parametrize("h, w", [(1, 1), (3, 7), (480, 640), (65537, 65535)])
def test_uncompressed_rles_equal_pycocotools(h: int, w: int) -> None:
    """run lengths with zeros (first and inside), single runs, long runs; the string as
    pycocotools' frPyObjects writes it"""
    rng = np.random.default_rng([h, w])
    total = h * w
    cases = [[total], [0, total], [total - 1, 1] if total > 1 else [1], [0] * 5 + [total]]
    for _ in range(20):
        cuts = np.sort(rng.integers(0, total + 1, int(rng.integers(1, 40))))
        runs = np.diff(np.concatenate([[0], cuts, [total]])).tolist()
        cases.append(runs)
    for runs in cases:
        got = M.plain_uncompressed_to_rle(runs, h, w)
        assert got is not None and got["size"] == [h, w]
        assert M.rle_counts_problem(got["counts"], h, w) == 0
        if _safe_for_pycocotools(got["counts"]):
            assert got == mask_utils.frPyObjects({"size": [h, w], "counts": runs}, h, w)


@pytest.mark.parametrize(
    "runs", [[], [5], [7, 5], [13, -1], [6, True], [6.0], [6, np.int64(0)], [2**64, 0], ["6"], [3, 3, 0, 1]]
)
def test_uncompressed_rles_not_plain_are_left_to_the_checks(runs: list) -> None:
    assert M.plain_uncompressed_to_rle(runs, 2, 3) is None


# the readers: records the compiled pass calls plain pass the Python checks, and the others
# raise the same error as without it


def _bad_segmentations() -> list[object]:
    good = [0, 0, 4, 0, 4, 4]
    return [
        [],
        [[]],
        [good, [0, 0, 1]],
        [[0, 0, 4, 0, 4]],
        [[0, 0, 4, 0, 4, float("inf")]],
        [[0, 0, 4, 0, 4, float("nan")]],
        [[0, 0, 4, 0, 4, True]],
        [[0, 0, 4, 0, 4, "4"]],
        [[0, 0, 4, 0, 4, None]],
        [(0, 0, 4, 0, 4, 4)],
        [[0, 0, 4, 0, 4, 10**400]],
        [[0, 0, 4, 0, 4, 10**12]],
        [[0, 0, 1e5, 0, 4, 4]],
        [[0, 0, 4, 0, 4, -1e5]],
    ]


def _gt(segmentations: list[object], width: int = 10, height: int = 8) -> dict:
    anns = [
        {
            "id": i + 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [0, 0, 1, 1],
            "area": 1.0,
            "iscrowd": 0,
            "segmentation": s,
        }
        for i, s in enumerate(segmentations)
    ]
    data = {
        "images": [{"id": 1, "width": width, "height": height}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "a"}],
    }
    return data


@pytest.mark.parametrize("bad", range(len(_bad_segmentations())))
def test_bad_polygons_named_as_without_it(monkeypatch: pytest.MonkeyPatch, bad: int) -> None:
    seg = _bad_segmentations()[bad]
    good = [[1, 1, 5, 1, 5, 5]]
    data = _gt([good, good, seg, good, {"size": [8], "counts": "x"}])
    messages = []
    for which in (raster, None):
        monkeypatch.setattr(M, "raster", which)
        with pytest.raises(InputError) as e:
            read_coco_gt(data, masks=True)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    assert "annotation 2: segmentation: " in messages[0], messages[0]


def test_an_earlier_bad_rle_is_named_first() -> None:
    data = _gt([[[1, 1, 5, 1, 5, 5]], {"size": [8], "counts": "x"}, [[0, 0, 1e5, 0, 4, 4]]])
    with pytest.raises(InputError, match="segmentation.size"):
        read_coco_gt(data, masks=True)


def test_first_odd_polygon_is_sound() -> None:
    """every record the compiled pass calls plain passes the readers' checks; the bad ones and
    the not plainly valid (numpy scalars, a list subclass, no image size) are told"""
    segs = _bad_segmentations() + [
        [[np.float64(1), 1, 5, 1, 5, 5]],
        [[1, 1, 5, 1, 5, 5]],
        {"counts": ""},
        None,
    ]
    n = len(segs)
    hs, ws = np.full(n, 8, np.int64), np.full(n, 10, np.int64)
    found = []
    k = M.first_odd_polygon(segs, hs, ws, 0)
    while k >= 0:
        found.append(k)
        k = M.first_odd_polygon(segs, hs, ws, k + 1)
    assert found == list(range(n - 3))
    hs[n - 3] = 0
    assert M.first_odd_polygon(segs, hs, ws, n - 3) == n - 3


@pytest.mark.parametrize("seed", range(4))
def test_segm_evaluation_equals_pycocotools(seed: int) -> None:
    gt, dt = random_coco(seed, segm=True)
    np.testing.assert_allclose(
        detrecall.evaluate(gt, dt, "segm").coco.stats, reference(gt, dt, "segm").stats, atol=1e-12
    )


SHARED_GENERATOR = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "make_coco.py"


def _segm_files(where: str, tmp_path: Path) -> tuple[Path, Path]:
    """The bundled example, or 50 images of the benchmark generator's segm data (polygon ground
    truth, RLE results) written into tmp_path."""
    if where == "fixtures":
        d = Path(__file__).resolve().parents[2] / "fixtures"
        return d / "gt.json", d / "dt_segm.json"
    if not SHARED_GENERATOR.exists():
        pytest.skip(f"no benchmark data generator at {SHARED_GENERATOR} (../shared is absent)")
    args = ["--images", "50", "--classes", "80", "--seed", "0", "--kind", "segm", "--out", str(tmp_path)]
    subprocess.run([sys.executable, str(SHARED_GENERATOR), *args], check=True, capture_output=True)
    return tmp_path / "gt.json", tmp_path / "dt.json"


@pytest.mark.parametrize("where", ["fixtures", "generated"])
def test_segm_files_equal_pycocotools(where: str, tmp_path: Path) -> None:
    gt_path, dt_path = _segm_files(where, tmp_path)
    gt = json.loads(gt_path.read_text())
    dt = json.loads(dt_path.read_text())
    ours = detrecall.evaluate(str(gt_path), str(dt_path), "segm").coco.stats
    np.testing.assert_allclose(ours, reference(gt, dt, "segm").stats, atol=1e-12)


# flat columns (the compiled ground-truth parser's): the same strings as polygon_rles


def _flat(objects: list[list[list[float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coords, part_lengths, part_counts) of objects as the compiled parser writes them"""
    coords = np.array([c for parts in objects for part in parts for c in part], np.float64)
    part_lengths = np.array([len(part) for parts in objects for part in parts], np.int64)
    return coords, part_lengths, np.array([len(parts) for parts in objects], np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_flat_strings_equal_polygon_rles_and_pycocotools(seed: int) -> None:
    """objects of every kind, each on its own image size (several sizes mixed in one call), one
    part or several; the same strings for any thread count, and as RLEs polygons_to_rles' dicts"""
    rng = np.random.default_rng([7, seed])
    sizes = [SIZES[i] for i in rng.integers(0, len(SIZES) - 1, 300)]  # not the 2500x3100 one
    objects = [
        [_polygon(rng, str(rng.choice(KINDS)), h, w) for _ in range(int(rng.choice([1, 1, 2, 5])))]
        for h, w in sizes
    ]
    hs, ws = (np.array(v, np.int64) for v in zip(*sizes))
    got = raster.flat_polygon_rles(*_flat(objects), hs, ws)
    assert got is not None and len(got) == len(objects)
    for k, (parts, (h, w)) in enumerate(zip(objects, sizes)):
        assert got[k] == raster.polygon_rles([parts], h, w)[0]
    for h, w in set(sizes):
        at = [k for k, s in enumerate(sizes) if s == (h, w)]
        _assert_equal([got[k] for k in at], [objects[k] for k in at], h, w)
    for threads in (2, 3, 8, 300, 1000):
        assert raster.flat_polygon_rles(*_flat(objects), hs, ws, threads) == got
    rles = M.flat_polygons_to_rles(*_flat(objects), hs, ws, 3)
    assert rles == [M.polygons_to_rles([parts], h, w)[0] for parts, (h, w) in zip(objects, sizes)]
    assert rles is not None and all(type(r["size"]) is tuple and type(r["counts"]) is bytes for r in rles)


def test_flat_with_many_objects_on_threads() -> None:
    """thousands of objects split over threads: the same strings as one thread, and as
    polygon_rles of each; the RLE dicts left alone by the garbage collector"""
    import gc

    rng = np.random.default_rng(11)
    objects = [[_polygon(rng, str(rng.choice(KINDS)), 480, 640)] for _ in range(3000)]
    hs, ws = np.full(3000, 480, np.int64), np.full(3000, 640, np.int64)
    one = raster.flat_polygon_rles(*_flat(objects), hs, ws, 1)
    assert one == raster.polygon_rles(objects, 480, 640)
    assert raster.flat_polygon_rles(*_flat(objects), hs, ws, 4) == one
    rles = M.flat_polygons_to_rles(*_flat(objects), hs, ws, 4)
    assert rles == M.polygons_to_rles(objects, 480, 640)
    assert rles is not None and not any(map(gc.is_tracked, rles)) and not gc.is_tracked(rles[0]["size"])


@pytest.mark.parametrize(
    "objects, h, w",
    [
        ([[[0, 0, 1e4, 0, 1, 1]]], 10, 10),  # beyond one image size
        ([[[0, 0, 1, 0, 1, -11]]], 10, 10),
        ([[[0, 0, 1, 0, 1, float("nan")]]], 10, 10),
        ([[[0, 0, 1, 0, 1, float("inf")]]], 10, 10),
        ([[[0, 0, 1, 0, 1]]], 10, 10),  # odd
        ([[[0, 0, 1, 0]]], 10, 10),  # fewer than 3 points
        ([[]], 10, 10),  # no part
        ([[[0, 0, 1, 0, 1, 1]]], 0, 10),
        ([[[0, 0, 1, 0, 1, 1]]], 10, -1),
        ([[[0, 0, 1, 0, 1, 1]]], 2**16, 2**16),
    ],
)
def test_flat_refuses_what_polygon_rles_refuses(objects: list, h: int, w: int) -> None:
    good = [[[0, 0, 1, 0, 1, 1]]] * 300
    for placed in ([*good, *objects], [*objects, *good], [*good[:150], *objects, *good[150:]]):
        n = len(placed)
        hs = np.full(n, 10, np.int64)
        ws = np.full(n, 10, np.int64)
        at = placed.index(objects[0])
        hs[at], ws[at] = h, w
        for threads in (1, 3):
            assert M.flat_polygons_to_rles(*_flat(placed), hs, ws, threads) is None
    assert raster.polygon_rles(objects, h, w) is None


def test_flat_columns_that_do_not_add_up_are_an_error() -> None:
    coords, lengths, counts = _flat([[[0, 0, 1, 0, 1, 1]], [[0, 0, 2, 0, 2, 2, 0, 2]]])
    hs = ws = np.full(2, 5, np.int64)
    assert M.flat_polygons_to_rles(coords, lengths, counts, hs, ws) is not None
    for bad in (
        (coords[:-1], lengths, counts, hs, ws),
        (coords, lengths, counts + 1, hs, ws),
        (coords, lengths - 1, counts, hs, ws),
        (coords, np.array([16, -2]), counts, hs, ws),
        (coords, lengths, np.array([-1, 3]), hs, ws),
        (coords, lengths, counts, hs[:1], ws),
    ):
        with pytest.raises(ValueError):
            M.flat_polygons_to_rles(*bad)
    with pytest.raises(ValueError):
        raster.flat_polygon_rles(coords.astype(np.float32), lengths, counts, hs, ws)
    with pytest.raises(ValueError):
        raster.flat_polygon_rles(coords, lengths.astype(np.int32), counts, hs, ws)
    none = np.zeros(0, np.int64)
    assert M.flat_polygons_to_rles(np.zeros(0), none, none, none, none) == []


def test_flat_uncompressed_equals_uncompressed_rle() -> None:
    rng = np.random.default_rng(3)
    cases = []
    for h, w in [(1, 1), (3, 7), (480, 640), (65537, 65535)]:
        total = h * w
        cases += [([total], h, w), ([0, total], h, w), ([0] * 5 + [total], h, w)]
        for _ in range(10):
            cuts = np.sort(rng.integers(0, total + 1, int(rng.integers(1, 40))))
            cases.append((np.diff(np.concatenate([[0], cuts, [total]])).tolist(), h, w))
    runs = np.array([r for c, _, _ in cases for r in c], np.int64)
    counts = np.array([len(c) for c, _, _ in cases], np.int64)
    hs, ws = (np.array([c[k] for c in cases], np.int64) for k in (1, 2))
    got = M.flat_uncompressed_to_rles(runs, counts, hs, ws)
    assert got == [M.plain_uncompressed_to_rle(c, h, w)["counts"] for c, h, w in cases]


@pytest.mark.parametrize("runs", [[], [5], [7, 5], [13, -1], [3, 3, 0, 1], [2**40, 6]])
def test_flat_uncompressed_not_plain_is_none(runs: list) -> None:
    good = [6]
    for placed in ([good, runs], [runs, good]):
        flat = np.array([r for c in placed for r in c], np.int64)
        counts = np.array([len(c) for c in placed], np.int64)
        assert (
            M.flat_uncompressed_to_rles(flat, counts, np.full(2, 2, np.int64), np.full(2, 3, np.int64))
            is None
        )
    one = np.array([6], np.int64)
    assert M.flat_uncompressed_to_rles(one, np.array([1]), np.array([0]), np.array([6])) is None
    with pytest.raises(ValueError):
        M.flat_uncompressed_to_rles(one, np.array([2]), np.array([2]), np.array([3]))


@pytest.mark.parametrize("seed", range(3))
def test_small_random_polygons_equal_pycocotools(seed: int) -> None:
    """thousands of small polygons of 3 to 6 vertices (coordinates of 0 to 2 decimals, a pixel
    or two past the edges), each on its own small image: every edge slope and rounding tie
    that the compiled walk along y (which visits pixel-centre columns only) has to find"""
    rng = np.random.default_rng([31, seed])
    objects, sizes = [], []
    for _ in range(2000):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        x0, x1, y0, y1 = M.polygon_bounds(h, w)
        k = int(rng.integers(3, 7))
        xy = np.stack([rng.uniform(-2, w + 2, k), rng.uniform(-2, h + 2, k)], 1)
        xy = np.round(xy, int(rng.integers(0, 3)))
        xy[:, 0], xy[:, 1] = np.clip(xy[:, 0], x0, x1), np.clip(xy[:, 1], y0, y1)
        objects.append([[float(c) for c in xy.ravel()]])
        sizes.append((h, w))
    hs, ws = (np.array(v, np.int64) for v in zip(*sizes))
    got = raster.flat_polygon_rles(*_flat(objects), hs, ws)
    expected = [mask_utils.frPyObjects(parts, h, w)[0]["counts"] for parts, (h, w) in zip(objects, sizes)]
    assert got == expected
