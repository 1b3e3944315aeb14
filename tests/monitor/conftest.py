"""Fixtures of the monitor tests: stores on SQLite and on a real PostgreSQL server started here,
a webhook receiver on 127.0.0.1, and generated detection data of a good model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.postgres import PostgresServer, postgres  # noqa: F401 (the session fixture, shared with serve)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store tests on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_url()


@dataclass
class Receiver:
    """What the webhook server got: one parsed JSON body per request, and how to answer."""

    url: str
    bodies: list[Any] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many requests first
    requests: int = 0


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 (a thread) that stores each POSTed JSON body."""
    receiver = Receiver("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                receiver.requests += 1
                fail = receiver.requests <= receiver.fail_first
                if not fail:
                    receiver.bodies.append(json.loads(body))
            self.send_response(500 if fail else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def good_model(seed: int, n_images: int = 40) -> tuple[dict[str, Any], list[dict[str, Any]], np.ndarray]:
    """A ground truth and the results of a good detector on it: every object found with a
    slightly moved box and a high score, plus a few low-scored false positives per image.
    Returns (gt, results, which results are true detections)."""
    rng = np.random.default_rng(seed)
    categories = [{"id": c, "name": f"class{c}"} for c in (1, 2, 3)]
    images, anns, results = [], [], []
    true: list[bool] = []
    for i in range(1, n_images + 1):
        images.append({"id": i, "width": 640, "height": 480})
        for _ in range(int(rng.integers(2, 7))):
            w, h = rng.uniform(20, 200, 2)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            cat = int(rng.choice([1, 1, 2, 3]))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            jitter = rng.normal(0, 0.03, 4) * [w, h, w, h]
            box = [x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]]
            results.append(
                {"image_id": i, "category_id": cat, "bbox": box, "score": float(rng.uniform(0.6, 1))}
            )
            true.append(True)
        for _ in range(int(rng.integers(0, 3))):
            w, h = rng.uniform(20, 100, 2)
            results.append(
                {
                    "image_id": i,
                    "category_id": int(rng.choice([1, 2, 3])),
                    "bbox": [float(rng.uniform(0, 500)), float(rng.uniform(0, 380)), w, h],
                    "score": float(rng.uniform(0.05, 0.5)),
                }
            )
            true.append(False)
    for r in results:
        r["bbox"] = [float(v) for v in r["bbox"]]
    gt = {"images": images, "annotations": anns, "categories": categories}
    return gt, results, np.array(true)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path
