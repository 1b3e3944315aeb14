"""Issue 16's input items that need more than an error message to test: numbers that must stay
pycocotools', a file shortened while it is read, memory bounds, in-memory arrays."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import detrecall
from detrecall.errors import DataWarning, DetrecallError, InputError
from detrecall.io import coco as coco_io

from .cases import DT, GT, NO_SIZE_GT, rle


def _pycocotools_stats(gt: dict[str, Any], dt: list[dict[str, Any]], iou_type: str) -> np.ndarray:
    import contextlib
    import copy
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = copy.deepcopy(gt)
        c.createIndex()
        e = COCOeval(c, c.loadRes(copy.deepcopy(dt)), iou_type)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return np.asarray(e.stats)


# ---------------------------------------------------------------- item 1: boxes drawn as masks


def test_results_boxes_reaching_out_of_the_image_give_pycocotools_numbers() -> None:
    """Result boxes are clipped to one pixel around the image before they are drawn as masks
    (segm): the masks, so the numbers, are pycocotools'."""
    rng = np.random.default_rng(16)
    dt = []
    for k in range(40):
        x, y = rng.uniform(-60, 90, 2)
        w, h = rng.uniform(1, 150, 2)
        dt.append(
            {"image_id": 1 + k % 2, "category_id": 1, "bbox": [x, y, w, h], "score": float(rng.random())}
        )
    with pytest.warns(detrecall.errors.DataWarning, match="of 40 boxes reach far outside their image"):
        stats = detrecall.evaluate(GT, dt, "segm").coco.stats  # most of them: suspicious, said once
    assert_allclose(stats, _pycocotools_stats(GT, dt, "segm"), atol=1e-12)


def test_a_huge_results_box_is_drawn_in_time_bounded_by_the_image() -> None:
    dt = [*DT, {"image_id": 1, "category_id": 1, "bbox": [-1e9, -1e9, 3e9, 3e9], "score": 0.3}]
    start = time.perf_counter()
    stats = detrecall.evaluate(GT, dt, "segm").coco.stats
    assert time.perf_counter() - start < 5
    small = [*DT, {"image_id": 1, "category_id": 1, "bbox": [-1, -1, 102, 82], "score": 0.3}]
    assert_allclose(stats, _pycocotools_stats(GT, small, "segm"), atol=1e-12)


# ---------------------------------------------------------------- item 3: a file shortened while read

_TRUNCATE = textwrap.dedent(
    """
    import json, os, sys
    import detrecall
    from detrecall.io import coco
    path = sys.argv[1]
    real = coco.native

    class Shrinking:  # the compiled parser, but the file is cut to 10 bytes first
        def __getattr__(self, name):
            def call(data, *args, **kwargs):
                os.truncate(path, 10)
                return getattr(real, name)(data, *args, **kwargs)
            return call

    coco.native = Shrinking() if real is not None else None
    gt = coco.read_coco_gt(json.loads(sys.argv[2]))
    try:
        dt = coco.read_coco_results(path, gt)
        print("read", len(dt))
    except detrecall.DetrecallError as e:
        print("error", e)
    """
)


@pytest.mark.parametrize("masks", [False, True])
def test_a_results_file_shortened_while_read_gives_no_signal(masks: bool, tmp_path: Path) -> None:
    """The file is read (a window at a time), not mapped: cutting it while it is parsed gives a
    shortened file, never a signal (on 237253c the mapping faulted: SIGBUS)."""
    dt = [{**r, "bbox": [float(v) for v in r["bbox"]]} for r in DT] * 2000
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(dt))
    script = _TRUNCATE.replace("read_coco_results(path, gt)", f"read_coco_results(path, gt, masks={masks})")
    gt = GT if not masks else GT  # polygons rasterized when masks are read
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path), json.dumps(gt)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-1000:])
    assert "Traceback" not in proc.stderr
    assert proc.stdout.startswith(("read", "error")), proc.stdout


# ---------------------------------------------------------------- item 16: bounded memory


def test_a_bad_last_record_of_a_large_file_is_found_piece_by_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both fast paths leave such a file; it is then parsed ~32 MB at a time (here 4 KB),
    never as one list of every record, and the bad record is named by its place in the file."""
    monkeypatch.setattr(coco_io, "_CHUNK_BYTES", 4096)
    records = [{"image_id": 1, "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5}] * 2000
    records = [*records, {**records[0], "score": "high"}]
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(records))
    sizes: list[int] = []
    real = coco_io.parse_json

    def parse(raw: Any, name: str, **kw: Any) -> Any:
        sizes.append(len(raw))
        return real(raw, name, **kw)

    monkeypatch.setattr(coco_io, "parse_json", parse)
    gt = coco_io.read_coco_gt(GT)
    with pytest.raises(InputError, match=r"dt.json: result 2000: score: is 'high' \(expected a number\)"):
        coco_io.read_coco_results(path, gt)
    assert sizes and max(sizes) < 3 * 4096 < path.stat().st_size


def test_a_large_file_read_piece_by_piece_gives_the_same_detections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    records = [
        {
            "image_id": int(rng.integers(1, 3)),
            "category_id": 1,
            "bbox": rng.uniform(0, 40, 4).tolist(),
            "score": float(rng.random()),
            "note": "é",
        }  # non-ASCII: the compiled parser leaves it
        for _ in range(3000)
    ]
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(records))
    gt = coco_io.read_coco_gt(GT)
    whole = coco_io.read_coco_results(records, gt)
    monkeypatch.setattr(coco_io, "_CHUNK_BYTES", 4096)
    monkeypatch.setattr(coco_io, "_fast_box_results", lambda data: None)
    pieces = coco_io.read_coco_results(path, gt)
    for name in ("image_id", "category_id", "box", "area", "score", "file_index"):
        assert np.array_equal(getattr(whole, name), getattr(pieces, name)), name


def test_the_compiled_parser_grows_its_columns_instead_of_sizing_them_by_braces() -> None:
    from detrecall._compiled import native

    if native is None:
        pytest.skip("the compiled module is not built")
    text = json.dumps(
        [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "x": "{" * 2_000_000}]
    )
    data = text.encode()
    tracemalloc.start()
    try:
        got = native.box_results(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got is not None and got[0] == 1
    assert peak < 20 << 20, peak  # 2M braces asked for 112 MB up front on 237253c


# ---------------------------------------------------------------- item 9: mask sizes


def test_masks_agreeing_with_each_other_not_with_the_image_warn_and_evaluate_as_pycocotools() -> None:
    gt = {**NO_SIZE_GT, "images": [{"id": 1, "width": 50, "height": 50}]}
    dt = [
        {"image_id": 1, "category_id": 1, "segmentation": rle(100, 100, slice(0, 40)), "score": 0.9},
        {"image_id": 1, "category_id": 1, "segmentation": rle(100, 100, slice(20, 90)), "score": 0.4},
    ]
    with pytest.warns(
        DataWarning, match=r"2 result mask\(s\) of the size of their image's ground-truth masks"
    ):
        stats = detrecall.evaluate(gt, dt, "segm").coco.stats
    assert_allclose(stats, _pycocotools_stats(gt, dt, "segm"), atol=1e-12)


# ---------------------------------------------------------------- items 10, 14, 17: arrays and API

_T = {"boxes": [[0, 0, 10, 10]], "labels": [1]}
_P = {"boxes": [[0, 0, 10, 10]], "labels": [1], "scores": [0.5]}
ARRAYS: dict[str, tuple[list[Any], list[Any], str, tuple[str, ...]]] = {
    "label of 2**63 (uint64)": (
        [{**_T, "labels": np.array([2**63], np.uint64)}],
        [_P],
        "bbox",
        ("targets[0]", "labels", "2**63"),
    ),
    "image id of 2**63": ([{**_T, "image_id": np.uint64(2**63)}], [_P], "bbox", ("targets[0]", "image_id")),
    "box whose width overflows": (
        [_T],
        [{**_P, "boxes": [[-1e308, 0, 1e308, 10]]}],
        "bbox",
        ("preds[0]", "boxes", "overflows"),
    ),
    "RLE runs too short": (
        [{**_T, "masks": [rle(10, 20, slice(0, 5))]}],
        [{**_P, "masks": [{"size": [10, 20], "counts": "0"}]}],
        "segm",
        ("preds[0]", "masks", "item 0"),
    ),
    "RLE of height 0": (
        [{**_T, "masks": [{"size": [0, 5], "counts": "00"}]}],
        [_P],
        "segm",
        ("targets[0]", "masks", "item 0"),
    ),
}


@pytest.mark.parametrize("name", list(ARRAYS))
def test_arrays_refuse_with_the_place(name: str) -> None:
    targets, preds, iou_type, fragments = ARRAYS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DetrecallError) as info:
            detrecall.evaluate(targets, preds, iou_type)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_parsed_results_with_numpy_boxes_read_as_lists() -> None:
    as_arrays = [{**r, "bbox": np.asarray(r["bbox"], float)} for r in DT]
    assert_allclose(detrecall.evaluate(GT, as_arrays).coco.stats, detrecall.evaluate(GT, DT).coco.stats)


def test_text_labels_take_ascii_integers_only(tmp_path: Path) -> None:
    from detrecall.io.labels import read_labels

    (tmp_path / "a.txt").write_text("1_0\n2\n")
    (tmp_path / "b.txt").write_text("١\n 2 \n")
    (tmp_path / "c.txt").write_text("10\n-2\n")
    assert read_labels(tmp_path / "a.txt").tolist() == ["1_0", "2"]
    assert read_labels(tmp_path / "b.txt").tolist() == ["١", "2"]
    assert read_labels(tmp_path / "c.txt").tolist() == [10, -2]
