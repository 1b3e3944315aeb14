"""Bad input: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from detrecall.monitor import Store

from .conftest import good_model, write_json
from .test_loop import main


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    gt, results, _ = good_model(5, n_images=8)
    gt_path, dt_path = write_json(tmp_path / "gt.json", gt), write_json(tmp_path / "dt.json", results)
    store = tmp_path / "s.sqlite"
    assert main("baseline", "--store", store, "--model", "m", gt_path, dt_path) == 0
    return store, gt_path, dt_path


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("detrecall: error: ")
    return err[0]


def _runs(store: Path) -> int:
    with Store(store) as s:
        return s.run_count()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--model", "m", "--max-drop", "APX=0.1"], "unknown metric 'APX' (known: AP, AP50"),
        (["--model", "m", "--max-drop", "AP"], "--max-drop expects METRIC[@CLASS]=AMOUNT[%]"),
        (["--model", "m", "--max-drop", "AP@99=0.1"], "unknown class '99'"),
        (["--model", "m", "--drift-threshold", "wobble=1"], "--drift-threshold expects KIND=VALUE"),
        (["--model", "m", "--tag", "novalue"], "--tag expects KEY=VALUE"),
    ],
)
def test_bad_run_arguments(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    store, gt, dt = setup
    capsys.readouterr()
    assert main("run", "--store", store, *extra, gt, dt) == 2
    assert message in _one_error(capsys)
    assert _runs(store) == 1


def test_missing_store_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, dt = write_json(tmp_path / "gt.json", {}), write_json(tmp_path / "dt.json", [])
    assert main("run", "--store", tmp_path / "none.sqlite", "--model", "m", gt, dt) == 2
    assert "no run store here" in _one_error(capsys)
    assert main("history", "--store", tmp_path / "none.sqlite", "--model", "m") == 2
    assert not (tmp_path / "none.sqlite").exists()


def test_bad_ground_truth_creates_no_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "gt.json"
    bad.write_text("{not json")
    dt = write_json(tmp_path / "dt.json", [])
    assert main("baseline", "--store", tmp_path / "s.sqlite", "--model", "m", bad, dt) == 2
    _one_error(capsys)
    assert not (tmp_path / "s.sqlite").exists()


def test_not_a_store_and_newer_schema(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, gt, dt = setup
    text = write_json(tmp_path / "x.sqlite", {"a": 1})
    before = text.read_bytes()
    capsys.readouterr()
    assert main("run", "--store", text, "--model", "m", gt, dt) == 2
    assert "not a detrecall run store" in _one_error(capsys)
    assert text.read_bytes() == before
    conn = sqlite3.connect(store)
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    assert main("run", "--store", store, "--model", "m", gt, dt) == 2
    assert "schema version 3 is newer" in _one_error(capsys)
    assert main("history", "--store", store, "--model", "m") == 2
    _one_error(capsys)


def test_unknown_history_metric(setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    store, _, _ = setup
    capsys.readouterr()
    assert main("history", "--store", store, "--model", "m", "--metric", "nope") == 2
    assert "unknown metric 'nope'" in _one_error(capsys)


def test_history_formats(setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    store, _, _ = setup
    capsys.readouterr()
    assert main("history", "--store", store, "--model", "m", "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "run,time,version,AP,baseline,alerts,tags" and lines[1].startswith("1,")
    assert main("history", "--store", store, "--model", "m") == 0
    assert "(baseline)" in capsys.readouterr().out
