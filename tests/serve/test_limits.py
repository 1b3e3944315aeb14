"""Bounds under abuse: a 300 MB body (413, never held), a full queue (429 + Retry-After), an
evaluation past its time limit (503, nothing stored)."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from .server import Server, heavy_masks, synthetic

MB = 1 << 20


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("limits")
    s = Server(
        str(work / "runs.db"),
        work,
        "--workers",
        "1",
        "--queue",
        "0",
        "--max-body-mb",
        "8",
        "--time-limit",
        "0.5",
    )
    s.wait_ready()
    yield s
    s.stop()


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _send_huge(server: Server, chunked: bool, total: int = 300 * MB) -> tuple[int, int]:
    """Stream `total` bytes of body at the server; (HTTP status, bytes sent when it answered)."""
    parts = urlsplit(server.url)
    head = (
        f"POST /v1/evaluations HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {server.token}\r\n"
        "Content-Type: application/json\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {total}\r\n")
        + "\r\n"
    )
    block = b"[" + b"1," * (MB // 2 - 1) + b"1"  # 1 MiB of JSON-ish bytes
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            data = (b"%x\r\n" % len(block) + block + b"\r\n") if chunked else block
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(block)
        sock.settimeout(10)
        answer = b""
        try:
            while b"\r\n" not in answer:
                got = sock.recv(4096)
                if not got:
                    break
                answer += got
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else -1
    return status, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_300_mb_body_is_413_without_being_read(small: Server, chunked: bool) -> None:
    before = _peak_rss(small.proc.pid)
    status, sent = _send_huge(small, chunked)
    assert status == 413
    assert sent < 64 * MB  # answered long before the 300 MB were sent
    if not chunked:
        assert sent < 16 * MB  # answered from the header alone (the kernel's buffers took the rest)
    assert _peak_rss(small.proc.pid) - before < 40 * MB  # the body was never held: the limit is 8 MiB
    assert httpx.get(small.url + "/health").status_code == 200


def test_full_queue_is_429_with_retry_after(small: Server) -> None:
    gt, dt = heavy_masks()  # holds the one worker for its whole 0.5 s limit
    body = {"model": "busy", "ground_truth": gt, "predictions": dt, "iou_type": "segm"}
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        with small.client() as c:
            barrier.wait()
            answers.append(c.post("/v1/evaluations", json=body))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = sorted(r.status_code for r in answers)
    assert len(statuses) == 4 and 429 in statuses and all(s in (201, 429, 503) for s in statuses), statuses
    for r in answers:
        assert set(r.json()) >= {"error", "where"} or r.status_code == 201
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1 and r.json()["where"] == "server"


def test_past_the_time_limit_is_503_and_nothing_is_stored(small: Server) -> None:
    gt, dt = heavy_masks()
    with small.client() as c:
        started = time.perf_counter()
        r = c.post(
            "/v1/evaluations",
            json={"model": "slow", "ground_truth": gt, "predictions": dt, "iou_type": "segm"},
        )
        assert time.perf_counter() - started < 5  # stopped at the limit, not run to the end
        assert r.status_code == 503, r.text
        assert "time limit of 0.5 s" in r.json()["error"]
        assert c.get("/v1/runs", params={"model": "slow"}).json() == {"runs": []}
        assert "slow" not in {m["name"] for m in c.get("/v1/models").json()["models"]}
        small_gt, small_dt = synthetic(20, seed=3)
        ok = c.post(
            "/v1/evaluations", json={"model": "fast", "ground_truth": small_gt, "predictions": small_dt}
        )
        assert ok.status_code == 201  # the worker is free again
