"""SIGKILL under load and SIGTERM with work in flight: every 201 survives whole, the server is back fast."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from .server import Server, fixture_dt, fixture_gt, heavy_masks

EXPECTED_AP = 0.36131567953169713  # the fixture's AP, as detrecall evaluate prints it


def test_kill_9_while_8_clients_post(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    server = Server(store, tmp_path, "--workers", "2", "--queue", "16")
    server.wait_ready()
    with server.client() as c:
        c.put("/v1/datasets/fixture", json=fixture_gt()).raise_for_status()
    dt = fixture_dt()
    acknowledged: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(i: int) -> None:
        with server.client(timeout=30.0) as c:
            while not stop.is_set():
                try:
                    r = c.post(
                        "/v1/evaluations",
                        json={
                            "model": "crash",
                            "dataset": "fixture",
                            "predictions": dt,
                            "tags": {"client": str(i)},
                        },
                    )
                except httpx.HTTPError:
                    return  # the server died under this request: no 201, no promise
                with lock:
                    if r.status_code == 201:
                        acknowledged.append(r.json()["run_id"])
                    elif r.status_code != 429:
                        failures.append(f"{r.status_code} {r.text}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-flight: other evaluations are being computed and written
    stop.set()
    for t in threads:
        t.join(30)
    server.cleanup()
    assert not failures, failures[:3]
    assert len(acknowledged) >= 20

    again = Server(store, tmp_path, "--workers", "2")
    try:
        ready = again.wait_ready()
        assert ready < 5.0, f"ready after {ready:.2f} s"
        with again.client() as c:
            runs = c.get("/v1/runs", params={"model": "crash", "limit": 1000}).json()["runs"]
            ids = {r["id"] for r in runs}
            assert set(acknowledged) <= ids
            for r in runs:  # every stored run whole, acknowledged or not
                assert r["metrics"]["AP"] == pytest.approx(EXPECTED_AP, abs=1e-12)
                assert r["tags"]["client"] in {str(i) for i in range(8)}
            for run_id in acknowledged[:5] + acknowledged[-5:]:
                run = c.get(f"/v1/runs/{run_id}").json()
                assert run["result"]["coco"]["AP"] == pytest.approx(EXPECTED_AP, abs=1e-12)
                assert len(run["result"]["per_class"]) == 5 and run["stats"] is not None
            after = c.post(
                "/v1/evaluations", json={"model": "crash", "dataset": "fixture", "predictions": dt}
            )
            assert after.status_code == 201 and after.json()["run_id"] > max(ids)
    finally:
        again.stop()


def _in_flight(url: str) -> bool:
    """Whether the server has admitted an evaluation (its /metrics gauge)."""
    try:
        text = httpx.get(url + "/metrics", timeout=2).text
    except httpx.HTTPError:
        return False
    for line in text.splitlines():
        if line.startswith("detrecall_serve_in_flight "):
            return float(line.split()[1]) > 0
    return False


def test_sigterm_finishes_the_evaluation_in_flight(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    server = Server(store, tmp_path, "--workers", "1")
    server.wait_ready()
    gt, dt = heavy_masks(60)  # seconds of mask IoUs: in flight long enough to be seen
    answer: list[httpx.Response] = []

    def post() -> None:
        with server.client() as c:
            answer.append(
                c.post(
                    "/v1/evaluations",
                    json={"model": "term", "ground_truth": gt, "predictions": dt, "iou_type": "segm"},
                )
            )

    t = threading.Thread(target=post)
    t.start()
    deadline = time.monotonic() + 60  # until the evaluation is admitted (a loaded machine is slow)
    while time.monotonic() < deadline and not _in_flight(server.url):
        time.sleep(0.05)
    server.proc.send_signal(signal.SIGTERM)
    t.join(120)
    code = server.proc.wait(60)
    server.cleanup()
    assert code == 0
    assert len(answer) == 1 and answer[0].status_code == 201, answer[0].text if answer else "no answer"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=2)
    again = Server(store, tmp_path, "--workers", "1")
    try:
        again.wait_ready()
        with again.client() as c:
            runs = c.get("/v1/runs", params={"model": "term"}).json()["runs"]
        assert [r["id"] for r in runs] == [answer[0].json()["run_id"]]
    finally:
        again.stop()
