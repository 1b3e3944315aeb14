"""The dashboard in real headless Chromium: it renders the runs and the alert created here, logs no
error, and requests nothing but its own origin. DETRECALL_WRITE_SCREENSHOT=1 saves docs/dashboard.png."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from ..browser import chromium, visit
from .server import ROOT, Server, fixture_dt, fixture_gt


def _shifted(dt: list[dict], amount: float, seed: int) -> list[dict]:
    """Boxes moved by `amount` of their size, a share `amount` of them dropped: a model gone worse."""
    rng = np.random.default_rng(seed)
    out = []
    for d in dt:
        if rng.random() < amount:
            continue
        x, y, w, h = d["bbox"]
        out.append({**d, "bbox": [x + amount * w, y + amount * h, w, h], "score": d["score"]})
    return out


@pytest.fixture(scope="module")
def history(server: Server) -> dict:
    gt, dt = fixture_gt(), fixture_dt()
    with server.client() as c:
        c.put("/v1/datasets/dash-gt", json=gt).raise_for_status()
        runs = []
        for week, amount in enumerate((0.0, 0.02, 0.0, 0.08, 0.03, 0.15)):
            r = c.post(
                "/v1/evaluations",
                json={
                    "model": "dash-detector",
                    "version": f"3.{week}",
                    "dataset": "dash-gt",
                    "predictions": _shifted(dt, amount, week),
                    "max_drop": ["AP=0.05"],
                    "tags": {"week": f"2026-W{week + 10}"},
                },
            )
            r.raise_for_status()
            runs.append(r.json())
            if week == 0:
                c.post(
                    "/v1/models/dash-detector/baseline", json={"run_id": runs[0]["run_id"]}
                ).raise_for_status()
    return {"runs": runs}


def test_dashboard_page_is_self_contained(server: Server) -> None:
    import httpx

    r = httpx.get(server.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert (
        "default-src 'none'" in csp
        and "connect-src 'self'" in csp
        and "unsafe-inline" not in csp.split("style-src")[0]
    )
    text = r.text.replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace, a name, not a request
    assert "http://" not in text and "https://" not in text and "//" not in text.replace("://", "")
    assert (
        "<script src" not in r.text
        and r.text.count("<link") == r.text.count('<link rel="icon" href="data:,">') == 1
    )


def test_dashboard_in_headless_chromium(server: Server, history: dict, tmp_path: Path) -> None:
    if chromium() is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install chromium); the dashboard was not rendered"
        )
    pytest.importorskip("websockets")
    seen = visit(f"{server.url}/#token={server.token}&model=dash-detector", tmp_path / "profile")
    assert seen.state == "ready", (seen.state, seen.errors)
    assert seen.errors == []
    assert seen.requests and all(u.startswith(server.url + "/") for u in seen.requests), seen.requests
    assert f"{server.url}/v1/models" in seen.requests
    last = history["runs"][-1]
    alert = next(a for a in last["alerts"] if a["rule"] == "max_drop")
    assert alert["message"] in seen.text  # the alert this test created
    for run in history["runs"]:
        assert str(run["run_id"]) in seen.text
    assert f"Run {last['run_id']} · dash-detector 3.5" in seen.text  # the newest run's per-class table
    for c in fixture_gt()["categories"]:
        assert c["name"] in seen.text
    assert f"{last['metrics']['overall']['AP']:.4f}" in seen.text
    png = seen.png
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 1500)
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png))
    assert pixels[..., :3].std() > 0.05
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert red.sum() > 20  # the alert's red marker and text are drawn
    if os.environ.get("DETRECALL_WRITE_SCREENSHOT"):
        (ROOT / "docs" / "dashboard.png").write_bytes(png)


def test_dashboard_without_token_asks_for_one(server: Server, tmp_path: Path) -> None:
    if chromium() is None:
        pytest.skip("chromium is not installed")
    pytest.importorskip("websockets")
    seen = visit(f"{server.url}/", tmp_path / "profile", timeout=3)
    assert seen.state == "timeout" and "Enter a token" in seen.text and seen.errors == []
    assert [u for u in seen.requests if "/v1/" in u] == []
