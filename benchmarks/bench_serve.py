"""Load on `detrecall serve` over loopback: N clients x M evaluations of a 500-image set.

    python benchmarks/bench_serve.py [--clients 32] [--requests 4] [--images 500] [--workers N]

Starts the real server on 127.0.0.1 (a free port, a temporary SQLite store), registers the
ground truth once, then every client posts its predictions M times (a 429 waits its Retry-After
and counts as a retry, not an error) while a prober GETs /health every 20 ms. Prints throughput,
latency p50/p99 of the evaluations, errors (5xx and other), and /health p50/p99/max. Bounded:
N x M requests, and --max-seconds for the whole run.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

TOKEN = "bench-token-0123456789abcdef"


def synthetic(images: int, seed: int = 0, classes: int = 80) -> tuple[dict, list[dict]]:
    """COCO ground truth (about 7.5 objects an image) and a detector's 100 results per image."""
    rng = np.random.default_rng(seed)
    gt: dict = {
        "images": [{"id": i + 1, "width": 640, "height": 480} for i in range(images)],
        "categories": [{"id": c + 1, "name": f"class{c + 1}"} for c in range(classes)],
        "annotations": [],
    }
    dt: list[dict] = []
    for i in range(images):
        n = int(rng.integers(1, 15))
        w, h = rng.uniform(8, 220, (2, n))
        x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
        c = rng.integers(1, classes + 1, n)
        for k in range(n):
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": i + 1,
                    "category_id": int(c[k]),
                    "bbox": [float(x[k]), float(y[k]), float(w[k]), float(h[k])],
                    "area": float(w[k] * h[k]),
                    "iscrowd": 0,
                }
            )
            if rng.random() < 0.8:
                jx, jy = rng.normal(0, 0.08, 2) * (w[k], h[k])
                dt.append(
                    {
                        "image_id": i + 1,
                        "category_id": int(c[k]),
                        "bbox": [float(x[k] + jx), float(y[k] + jy), float(w[k]), float(h[k])],
                        "score": float(rng.uniform(0.3, 1)),
                    }
                )
        m = 100 - n
        fw, fh = rng.uniform(8, 220, (2, m))
        for k in range(m):
            dt.append(
                {
                    "image_id": i + 1,
                    "category_id": int(rng.integers(1, classes + 1)),
                    "bbox": [
                        float(rng.uniform(0, 640 - fw[k])),
                        float(rng.uniform(0, 480 - fh[k])),
                        float(fw[k]),
                        float(fh[k]),
                    ],
                    "score": float(rng.uniform(0, 0.7)),
                }
            )
    return gt, dt


PROBER = """
import sys, time, httpx
from pathlib import Path
url, stop, out = sys.argv[1], Path(sys.argv[2]), open(sys.argv[3], "w")
with httpx.Client(base_url=url, timeout=5) as c:
    while not stop.exists():
        t = time.perf_counter()
        try:
            ok = c.get("/health").status_code == 200
        except httpx.HTTPError:
            ok = False
        out.write(f"{(time.perf_counter() - t) * (1 if ok else -1):.6f}\\n")
        time.sleep(0.02)
out.close()
"""


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=4, help="evaluations per client")
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--workers", type=int, default=None, help="server worker processes (default: its own)")
    ap.add_argument("--max-seconds", type=float, default=600.0)
    args = ap.parse_args()

    gt, dt = synthetic(args.images)
    body = json.dumps({"model": "bench", "dataset": "bench-gt", "predictions": dt}).encode()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    (work / "tokens").write_text(TOKEN + "\n")
    log = (work / "server.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "detrecall.serve",
        "--store",
        str(work / "runs.db"),
        "--port",
        "0",
        "--token-file",
        str(work / "tokens"),
        "--queue",
        str(args.clients),
    ]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            time.sleep(0.05)
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", (work / "server.log").read_text())
            url = found.group(1) if found else None
            if server.poll() is not None:
                raise SystemExit((work / "server.log").read_text())
        assert url, "the server did not start"
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            while c.get("/ready").status_code != 200:
                time.sleep(0.05)
            c.put("/v1/datasets/bench-gt", json=gt).raise_for_status()
            c.post("/v1/evaluations", content=body).raise_for_status()  # warm every cache once
        workers = int(re.search(r"detrecall_serve_workers (\d+)", httpx.get(url + "/metrics").text).group(1))

        latencies: list[float] = []
        statuses: dict[int, int] = {}
        retries = [0]
        health: list[float] = []
        health_errors = [0]
        lock = threading.Lock()
        end_by = time.monotonic() + args.max_seconds

        def client() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=args.max_seconds) as c:
                for _ in range(args.requests):
                    started = time.perf_counter()
                    while time.monotonic() < end_by:
                        r = c.post("/v1/evaluations", content=body)
                        if r.status_code != 429:
                            break
                        with lock:
                            retries[0] += 1
                        time.sleep(float(r.headers.get("retry-after", "1")))
                    with lock:
                        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                        if r.status_code == 201:
                            latencies.append(time.perf_counter() - started)

        # /health probed from its own process, so that the clients' threads do not delay it here
        stop_file, probe_file = work / "stop", work / "health.txt"
        probe = subprocess.Popen([sys.executable, "-c", PROBER, url, str(stop_file), str(probe_file)])
        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        stop_file.touch()
        probe.wait(30)
        for line in probe_file.read_text().split():
            value = float(line)
            health.append(abs(value))
            health_errors[0] += value < 0
    finally:
        server.terminate()
        server.wait(120)
        log.close()

    done = statuses.get(201, 0)
    errors_5xx = sum(n for s, n in statuses.items() if s >= 500)
    other = sum(n for s, n in statuses.items() if s not in (201,) and s < 500)
    ms = [x * 1000 for x in health]
    print(
        f"serve bench: {args.clients} clients x {args.requests} evaluations of {args.images} images "
        f"({len(dt)} detections, {len(body) / 1e6:.1f} MB a body), {workers} worker(s)"
    )
    print(f"  evaluations stored {done} in {wall:.1f} s: {done / wall:.2f} /s")
    print(f"  latency p50 {pct(latencies, 50):.2f} s  p99 {pct(latencies, 99):.2f} s  (queue wait included)")
    print(
        f"  errors: 5xx {errors_5xx}, other {other}; 429 retries {retries[0]}; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    print(
        f"  /health during the run: {len(ms)} probes, p50 {pct(ms, 50):.1f} ms  p99 {pct(ms, 99):.1f} ms  "
        f"max {max(ms) if ms else float('nan'):.1f} ms, failures {health_errors[0]}"
    )
    print(
        f"  mean evaluation time alone ~{statistics.fmean(latencies) / max(1, args.clients / workers):.2f} s"
    )
    return 0 if errors_5xx == 0 and health_errors[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
