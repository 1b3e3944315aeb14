"""Headless Chromium through the DevTools protocol: open a page, wait for it, read what it did.

Every request the page makes is recorded (Network.requestWillBeSent), and so are console
errors and uncaught exceptions; hosts other than 127.0.0.1 do not resolve at all. Shared by the
dashboard's tests (tests/serve) and the HTML report's (tests/report).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium() -> str | None:
    return next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )


@dataclass
class Visit:
    state: str  # "ready", "error: ..." or "timeout"
    text: str = ""
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    png: bytes = b""
    value: Any = None  # what `expression` evaluated to, once the page was ready


# the page says it is ready (body data-ready="1") or failed (data-error="..."), as the dashboard does
READY_PROBE = "document.body ? (document.body.dataset.ready || document.body.dataset.error || '') : ''"


def visit(
    url: str,
    profile: Path,
    *,
    width: int = 1280,
    height: int = 1500,
    timeout: float = 60.0,
    probe: str = READY_PROBE,
    expression: str | None = None,
    full_page: bool = False,
) -> Visit:
    """Open `url` in a fresh headless Chromium, poll the JavaScript `probe` until it gives "1"
    (state "ready") or another non-empty string (state "error: ..."), then read the page's text,
    the value of `expression` (JSON-serializable JavaScript, when given) and a screenshot (of
    the whole page when `full_page`)."""
    from websockets.sync.client import connect

    binary = chromium()
    assert binary is not None
    proc = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ws_url = None
        deadline = time.monotonic() + 30
        assert proc.stderr is not None
        while ws_url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            ws_url = found.group(1) if found else None
        assert ws_url, "chromium did not start its DevTools endpoint"
        out = Visit("timeout")
        ids = itertools.count(1)
        with connect(ws_url, max_size=None, open_timeout=30) as ws:
            pending: dict[int, Any] = {}

            def handle(msg: dict[str, Any]) -> None:
                method, params = msg.get("method"), msg.get("params", {})
                if method == "Network.requestWillBeSent":
                    out.requests.append(params["request"]["url"])
                elif method == "Runtime.exceptionThrown":
                    out.errors.append(json.dumps(params["exceptionDetails"])[:500])
                elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                    out.errors.append(json.dumps(params.get("args"))[:500])
                elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                    out.errors.append(params["entry"].get("text", "")[:500])

            def call(method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
                i = next(ids)
                msg: dict[str, Any] = {"id": i, "method": method, "params": params or {}}
                if session:
                    msg["sessionId"] = session
                ws.send(json.dumps(msg))
                while i not in pending:
                    got = json.loads(ws.recv(timeout=30))
                    if "id" in got:
                        pending[got["id"]] = got
                    else:
                        handle(got)
                answer = pending.pop(i)
                assert "error" not in answer, answer
                return answer.get("result", {})

            target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                call(f"{domain}.enable", session=session)
            call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            call("Page.navigate", {"url": url}, session)
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                got = call("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session)
                value = got["result"].get("value") or ""
                if value:
                    out.state = "ready" if value == "1" else f"error: {value}"
                    break
                time.sleep(0.1)
            text = call(
                "Runtime.evaluate", {"expression": "document.body.innerText", "returnByValue": True}, session
            )
            out.text = text["result"].get("value") or ""
            if expression is not None:
                got = call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
                out.value = got["result"].get("value")
            shot_params: dict[str, Any] = {"format": "png"}
            if full_page:
                metrics = call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                shot_params |= {
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": width, "height": metrics["height"], "scale": 1},
                }
            shot = call("Page.captureScreenshot", shot_params, session)
            out.png = base64.b64decode(shot["data"])
            try:
                call("Browser.close")
            except Exception:  # the browser may close the socket before it answers
                pass
        return out
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
