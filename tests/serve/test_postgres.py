"""Two service instances on one PostgreSQL store: what either acknowledged is seen by both, a
baseline set through one judges evaluations through the other, and a SIGKILL of one loses
nothing it acknowledged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.postgres import PostgresServer, postgres  # noqa: F401 (the session fixture)

from .server import Server, degraded, fixture_dt, fixture_gt

EXPECTED_AP = 0.36131567953169713  # the fixture's AP, as detrecall evaluate prints it


@pytest.fixture()
def pair(postgres: PostgresServer, tmp_path: Path) -> Iterator[tuple[Server, Server]]:  # noqa: F811
    url = postgres.new_url()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Server(url, tmp_path / "a", "--workers", "1", "--queue", "16")
    b = Server(url, tmp_path / "b", "--workers", "1", "--queue", "16")
    a.wait_ready()
    b.wait_ready()
    yield a, b
    a.stop()
    b.stop()


def test_two_instances_share_runs_datasets_and_baselines(pair: tuple[Server, Server]) -> None:
    a, b = pair
    dt = fixture_dt()
    with a.client() as ca, b.client() as cb:
        ca.put("/v1/datasets/fixture", json=fixture_gt()).raise_for_status()
        assert [d["name"] for d in cb.get("/v1/datasets").json()["datasets"]] == ["fixture"]
        first = cb.post("/v1/evaluations", json={"model": "m", "dataset": "fixture", "predictions": dt})
        assert first.status_code == 201, first.text
        assert first.json()["metrics"]["overall"]["AP"] == pytest.approx(EXPECTED_AP, abs=1e-12)
        ca.post("/v1/models/m/baseline", json={"run_id": first.json()["run_id"]}).raise_for_status()
        worse = cb.post(
            "/v1/evaluations",
            json={"model": "m", "dataset": "fixture", "predictions": degraded(dt), "max_drop": ["AP=0.02"]},
        )
        assert worse.status_code == 201, worse.text
        body = worse.json()
        assert body["baseline_run_id"] == first.json()["run_id"]
        assert any(x["rule"] == "max_drop" and x["metric"] == "AP" for x in body["alerts"])
        for c in (ca, cb):
            runs = c.get("/v1/runs", params={"model": "m"}).json()["runs"]
            assert sorted(r["id"] for r in runs) == sorted([first.json()["run_id"], body["run_id"]])
            alerts = c.get("/v1/alerts", params={"model": "m"}).json()["alerts"]
            assert {x["run_id"] for x in alerts} == {body["run_id"]}


def test_kill_9_of_one_instance_loses_nothing_it_acknowledged(
    pair: tuple[Server, Server],
    tmp_path: Path,
    postgres: PostgresServer,  # noqa: F811
) -> None:
    a, b = pair
    dt = fixture_dt()
    with a.client() as c:
        c.put("/v1/datasets/fixture", json=fixture_gt()).raise_for_status()
    acknowledged: dict[str, list[int]] = {"a": [], "b": []}
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()

    def client(name: str, server: Server) -> None:
        with server.client(timeout=60.0) as c:
            while not stop.is_set():
                try:
                    r = c.post(
                        "/v1/evaluations", json={"model": "k", "dataset": "fixture", "predictions": dt}
                    )
                except httpx.HTTPError:
                    return  # this instance died under the request: no 201, no promise
                with lock:
                    if r.status_code == 201:
                        acknowledged[name].append(r.json()["run_id"])
                        if len(acknowledged["a"]) >= 6:
                            enough.set()
                    elif r.status_code != 429:
                        failures.append(f"{name}: {r.status_code} {r.text}")

    threads = [
        threading.Thread(target=client, args=(n, s)) for n, s in (("a", a), ("a", a), ("b", b), ("b", b))
    ]
    for t in threads:
        t.start()
    enough.wait(120)
    a.kill()  # mid-flight, while b goes on writing to the same database
    with lock:
        from_a = list(acknowledged["a"])
    stop.set()
    for t in threads:
        t.join(60)
    a.cleanup()
    assert not failures, failures[:3]
    assert len(from_a) >= 6 and acknowledged["b"], acknowledged
    with b.client() as c:
        runs = c.get("/v1/runs", params={"model": "k", "limit": 1000}).json()["runs"]
    ids = [r["id"] for r in runs]
    assert len(ids) == len(set(ids))  # one sequence of ids across the two instances
    assert set(from_a) | set(acknowledged["b"]) <= set(ids)
    for r in runs:  # every stored run whole
        assert r["metrics"]["AP"] == pytest.approx(EXPECTED_AP, abs=1e-12)
