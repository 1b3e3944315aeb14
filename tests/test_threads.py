"""threads= / --threads / DETRECALL_THREADS: how the count is chosen (the affinity by default,
so `taskset -c 0` means one), what is refused, and that the numbers do not depend on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detrecall import DetrecallError, evaluate
from detrecall.options import resolve_threads

from .test_kernels import dense_coco

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def test_an_explicit_count_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("DETRECALL_THREADS", "5")
    assert resolve_threads(3) == 3
    assert resolve_threads() == 5


def test_the_default_is_the_cpus_the_process_may_run_on(monkeypatch):
    monkeypatch.delenv("DETRECALL_THREADS", raising=False)
    assert resolve_threads() == len(os.sched_getaffinity(0))
    one_cpu = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from detrecall.options import resolve_threads; print(resolve_threads())",
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DETRECALL_THREADS"},
        check=True,
    )
    assert one_cpu.stdout.strip() == "1"


@pytest.mark.parametrize("bad", [0, -2, True, 2.0, "2"])
def test_a_count_that_is_not_a_whole_number_from_one_is_refused(bad):
    with pytest.raises(DetrecallError, match="threads must be a whole number >= 1"):
        resolve_threads(bad)


@pytest.mark.parametrize("raw", ["x", "1.5", "0"])
def test_a_bad_environment_value_is_named(monkeypatch, raw):
    monkeypatch.setenv("DETRECALL_THREADS", raw)
    with pytest.raises(DetrecallError, match="DETRECALL_THREADS"):
        resolve_threads()


def test_every_number_is_the_same_for_any_thread_count():
    gt, dt = dense_coco(11)
    flat = [evaluate(gt, dt, threads=n).flat() for n in (1, 2, 3, 8)]
    assert flat[0]["AP"] > 0.05  # a real evaluation, not an empty one
    for other in flat[1:]:
        assert other.keys() == flat[0].keys()
        for key, value in flat[0].items():
            assert np.array_equal(value, other[key], equal_nan=True), key


def test_the_command_takes_threads_and_prints_the_same_numbers(capsys):
    from detrecall.cli import main

    outputs = []
    for n in ("1", "2"):
        args = [str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json"), "--format", "json", "--quiet"]
        assert main(["evaluate", *args, "--threads", n]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert (
        main(["evaluate", str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json"), "--threads", "0"]) == 2
    )
    assert "threads must be a whole number >= 1, got 0" in capsys.readouterr().err


def test_the_coco_readers_take_the_same_count_and_read_alike(monkeypatch):
    """read_coco_gt / read_coco_results default to resolve_threads' count, as evaluate does (a
    bad $DETRECALL_THREADS is named by a read), and read the same tables for any count."""
    from detrecall import read_coco_gt, read_coco_results

    gt_path, dt_path = FIXTURES / "gt.json", FIXTURES / "dt_segm.json"
    monkeypatch.setenv("DETRECALL_THREADS", "many")
    with pytest.raises(DetrecallError, match="DETRECALL_THREADS"):
        read_coco_gt(gt_path)
    with pytest.raises(DetrecallError, match="DETRECALL_THREADS"):
        read_coco_results(dt_path, read_coco_gt(gt_path, threads=1))
    monkeypatch.delenv("DETRECALL_THREADS")
    tables = []
    for threads in (None, 1, 2, 3):
        gt = read_coco_gt(gt_path, masks=True, threads=threads)
        dt = read_coco_results(dt_path, gt, masks=True, threads=threads)
        tables.append((gt, dt))
    for gt, dt in tables[1:]:
        assert gt.masks == tables[0][0].masks and dt.masks == tables[0][1].masks
        for name in ("image_id", "category_id", "score", "box", "area", "file_index"):
            assert np.array_equal(getattr(dt, name), getattr(tables[0][1], name)), name
