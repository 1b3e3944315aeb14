"""The real server in a subprocess on 127.0.0.1 (any free port), and data for it."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
AUDIT = Path(__file__).resolve().parent / "audit"
TOKEN = "test-token-0123456789abcdef"


class Server:
    """`python -m detrecall.serve` in its own session; `url`, `client()`, `kill()`, `stop()`."""

    def __init__(self, store: str, workdir: Path, *extra: str, token: str = TOKEN, audit: Path | None = None):
        self.store = store
        self.workdir = workdir
        self.extra = extra
        self.token = token
        self.audit = audit
        self.log = workdir / f"server-{time.monotonic_ns()}.log"
        token_file = workdir / "tokens"
        token_file.write_text(f"# test tokens\n{token}\n")
        env = {k: v for k, v in os.environ.items() if k != "DETRECALL_SERVE_TOKENS"}
        if audit is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(AUDIT), env.get("PYTHONPATH", "")])
            env["DETRECALL_AUDIT_OPEN"] = str(audit)
        self.started = time.monotonic()
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "detrecall.serve",
                "--store",
                store,
                "--port",
                "0",
                "--token-file",
                str(token_file),
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        self.url = self._wait_port(30.0)

    def _wait_port(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log.read_text()}")
            time.sleep(0.02)
        raise RuntimeError(f"server not listening after {timeout} s:\n{self.log.read_text()}")

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Seconds from the start of the process until /ready answered 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=1.0).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError("server not ready:\n" + self.log.read_text())

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=kw.pop("timeout", 120.0), **kw)

    def kill(self) -> None:
        """SIGKILL the server process alone (its workers find their parent gone)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.cleanup()
        return self.proc.returncode if self.proc.returncode is not None else -9

    def cleanup(self) -> None:
        """Kill whatever is left of the server's session (worker processes)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._log.close()


def fixture_gt() -> dict[str, Any]:
    return json.loads((FIXTURES / "gt.json").read_text())


def fixture_dt() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "dt_bbox.json").read_text())


def degraded(dt: list[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """A worse model: every box shifted by a third of its size, half the detections dropped."""
    rng = np.random.default_rng(seed)
    out = []
    for d in dt:
        if rng.random() < 0.5:
            continue
        x, y, w, h = d["bbox"]
        out.append({**d, "bbox": [x + w / 3, y + h / 3, w, h]})
    return out


def synthetic(
    images: int, seed: int = 0, per_image: int = 7, classes: int = 10
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A COCO ground truth and a plausible detector's results on it."""
    rng = np.random.default_rng(seed)
    gt: dict[str, Any] = {
        "images": [
            {"id": i + 1, "width": 640, "height": 480, "file_name": f"{i + 1}.jpg"} for i in range(images)
        ],
        "categories": [{"id": c + 1, "name": f"class{c + 1}"} for c in range(classes)],
        "annotations": [],
    }
    dt: list[dict[str, Any]] = []
    for i in range(images):
        for _ in range(int(rng.integers(1, 2 * per_image))):
            w, h = rng.uniform(8, 200, 2)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            c = int(rng.integers(1, classes + 1))
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": i + 1,
                    "category_id": c,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            if rng.random() < 0.8:
                jx, jy = rng.normal(0, 0.08, 2) * (w, h)
                dt.append(
                    {
                        "image_id": i + 1,
                        "category_id": c,
                        "bbox": [x + jx, y + jy, w, h],
                        "score": float(rng.uniform(0.3, 1)),
                    }
                )
        for _ in range(int(rng.integers(0, per_image))):
            w, h = rng.uniform(8, 200, 2)
            dt.append(
                {
                    "image_id": i + 1,
                    "category_id": int(rng.integers(1, classes + 1)),
                    "bbox": [
                        float(rng.uniform(0, 640 - w)),
                        float(rng.uniform(0, 480 - h)),
                        float(w),
                        float(h),
                    ],
                    "score": float(rng.uniform(0, 0.7)),
                }
            )
    return gt, dt


@functools.cache
def heavy_masks(images: int = 200, per_image: int = 30, side: int = 4000) -> tuple[dict[str, Any], list[Any]]:
    """3 MB of JSON whose mask IoUs cost ~10 s here: the cost grows with the image's pixels, not
    with the body, so a faster machine still needs far more than the 0.5 s limit."""
    rng = np.random.default_rng(2)

    def square() -> list[list[float]]:
        x0, y0 = (float(v) for v in rng.uniform(0, side * 0.05, 2))
        x1, y1 = (float(side - v) for v in rng.uniform(0, side * 0.05, 2))
        return [[x0, y0, x1, y0, x1, y1, x0, y1]]

    gt: dict[str, Any] = {
        "images": [{"id": i + 1, "width": side, "height": side} for i in range(images)],
        "categories": [{"id": 1, "name": "big"}],
        "annotations": [],
    }
    dt: list[Any] = []
    for i in range(images):
        for _ in range(per_image):
            gt["annotations"].append(
                {"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": 1}
                | {"segmentation": square(), "area": 0.8 * side * side, "iscrowd": 0}
            )
            dt.append(
                {"image_id": i + 1, "category_id": 1, "segmentation": square(), "score": float(rng.random())}
            )
    return gt, dt
