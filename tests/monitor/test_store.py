"""The run store on SQLite and PostgreSQL: schema and migrations, refusals, durability under
SIGKILL, concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detrecall.monitor import Store, StoreError
from detrecall.monitor.errors import MonitorInputError
from detrecall.monitor.schema import APP, MIGRATIONS, SCHEMA_VERSION
from detrecall.monitor.store import NewAlert

ROOT = Path(__file__).resolve().parents[2]


def writer(url: str, tag: str, count: int, payload: int = 50) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.monitor.writer", url, tag, str(count), str(payload)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_created_on_first_use_and_round_trip(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        alert = NewAlert("max_drop", "AP", "3", 0.5, 0.4, 0.1, 0.02, None, "AP dropped")
        run_id, (alert_id,) = store.add_run(
            "m",
            task="detection",
            result={"coco": {"AP": 0.5}},
            metrics={"overall": {"AP": 0.5, "x": float("nan")}},
            tags={"git": "abc"},
            version="1.2",
            alerts=[alert],
            baseline=True,
        )
        run = store.run(run_id)
        assert (run.model, run.version, run.task, run.tags) == ("m", "1.2", "detection", {"git": "abc"})
        assert run.metrics == {"overall": {"AP": 0.5, "x": None}}  # NaN stored as null
        assert store.baseline("m") == run
        [stored] = store.alerts(run_id)
        assert (stored.id, stored.metric, stored.category_id, stored.drop, stored.threshold) == (
            alert_id,
            "AP",
            "3",
            0.1,
            0.02,
        )
    with Store(store_url) as store:  # reopened: the same data, not recreated
        assert store.run_count() == 1 and store.models() == ["m"]


def test_unknown_model_and_run(store_url: str) -> None:
    with Store(store_url) as store:
        with pytest.raises(MonitorInputError, match="unknown model 'nope'"):
            store.runs("nope")
        with pytest.raises(MonitorInputError, match="no run 7"):
            store.run(7)


def test_sigkill_mid_record_loses_no_acknowledged_run(store_url: str) -> None:
    acked: set[int] = set()
    for round_ in range(3):
        proc = writer(store_url, f"r{round_}", 0, payload=100_000)  # big transactions: killed mid-write
        assert proc.stdout is not None
        while len(acked) < 3 * (round_ + 1):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            acked.add(int(line.split()[1]))
        time.sleep(0.02 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        acked |= {int(line.split()[1]) for line in rest.splitlines()}  # acks printed before the kill
        assert proc.returncode == -signal.SIGKILL
        with Store(store_url) as store:
            runs = store.runs("writer")
            ids = {r.id for r in runs}
            assert acked <= ids
            for r in runs:  # none half-written: every run whole, with its three alerts
                assert r.stats is not None and len(r.stats["scores"]) == 100_000
                assert len(store.alerts(r.id)) == 3
    if not store_url.startswith("postgresql"):
        conn = sqlite3.connect(store_url)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()


def test_two_writers_at_once_lose_nothing(store_url: str) -> None:
    Store(store_url).close()
    procs = [writer(store_url, tag, 25) for tag in ("a", "b")]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert len(out.splitlines()) == 25
    with Store(store_url) as store:
        runs = store.runs("writer")
        assert len(runs) == 50
        assert sorted((r.tags["writer"], int(r.tags["i"])) for r in runs) == [
            (t, i) for t in ("a", "b") for i in range(25)
        ]


def test_two_processes_creating_the_store_at_once(store_url: str) -> None:
    procs = [writer(store_url, tag, 3) for tag in ("a", "b", "c")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(store_url) as store:
        assert store.run_count() == 9 and store.schema_version() == SCHEMA_VERSION


def test_migrates_an_old_schema_keeping_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('app', ?), ('schema_version', '1')", (APP,))
    types = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "json": "TEXT"}
    for statement in MIGRATIONS[0].statements:
        conn.execute(statement.format(**types))
    conn.execute("INSERT INTO models (name, created_at) VALUES ('old', '2024-01-01T00:00:00+00:00')")
    conn.execute(
        "INSERT INTO runs (model_id, version, created_at, task, params, result, metrics, stats, tags, "
        "inputs) VALUES (1, 'v', '2024-01-01T00:00:00+00:00', 'detection', '{}', '{}', "
        "'{\"overall\": {\"AP\": 0.4}}', NULL, '{}', '{}')"
    )
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 2
        [run] = store.runs("old")
        assert run.metrics == {"overall": {"AP": 0.4}} and store.alerts(run.id) == []


def _snapshot(path: Path) -> bytes:
    return path.read_bytes()


def test_refuses_a_newer_schema_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"schema version 99 is newer than this detrecall's \(2\)"):
        Store(path)


def test_refuses_a_foreign_database_and_a_text_file(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    before = _snapshot(foreign)
    with pytest.raises(StoreError, match="not a detrecall run store .it has other tables: users"):
        Store(foreign)
    assert _snapshot(foreign) == before  # not migrated, not switched to WAL
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    with pytest.raises(StoreError, match="not a detrecall run store"):
        Store(text)
    assert text.read_text() == "hello\n" * 100


def test_postgres_refuses_a_newer_schema(postgres: object) -> None:
    url = postgres.new_url()  # type: ignore[attr-defined]
    Store(url).close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 5 is newer"):
        Store(url)


def test_unknown_url_scheme() -> None:
    with pytest.raises(StoreError, match="unknown store URL"):
        Store("mysql://x/y")
