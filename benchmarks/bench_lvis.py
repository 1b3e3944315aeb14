#!/usr/bin/env python3
"""Time detrecall's LVIS protocol against the `lvis` package (the LVIS API), on the same files.

    python benchmarks/bench_lvis.py --images 20000 --classes 1203 --timeout 600
    python benchmarks/bench_lvis.py --images 500 --classes 1203 --repeats 3   # both finish

Data: ../shared/bench/make_coco.py (bbox, up to 300 detections per image, cached in
benchmarks/data/), made LVIS-like here with a fixed seed: each image gets neg_category_ids (up to
20 classes absent from it) and not_exhaustive_category_ids (~10% of its classes), each category a
frequency group in LVIS v1's proportions (r 337 : c 461 : f 405). Each tool runs in its own
subprocess pinned to one CPU; end to end = load + evaluate + accumulate + summarize. When both
finish, the 13 numbers must agree within 1e-9 (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _harness import peak_mib, run_worker

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"
KEYS = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "APr",
    "APc",
    "APf",
    "AR@300",
    "ARs@300",
    "ARm@300",
    "ARl@300",
)


def make_lvis(coco_dir: Path, out: Path, seed: int) -> None:
    """gt.json with the LVIS labels added; dt.json linked from the COCO data."""
    gt = json.loads((coco_dir / "gt.json").read_text())
    rng = np.random.default_rng(seed)
    cat_ids = np.array(sorted(c["id"] for c in gt["categories"]))
    freq = rng.choice(["r", "c", "f"], len(cat_ids), p=np.array([337, 461, 405]) / 1203)
    for c in gt["categories"]:
        c["frequency"] = str(freq[np.searchsorted(cat_ids, c["id"])])
    positive: dict[int, set[int]] = {}
    for a in gt["annotations"]:
        positive.setdefault(a["image_id"], set()).add(a["category_id"])
        a["iscrowd"] = 0
    for im in gt["images"]:
        pos = positive.get(im["id"], set())
        neg = rng.choice(cat_ids, int(rng.integers(0, 21)), replace=False)
        im["neg_category_ids"] = sorted(int(c) for c in neg if int(c) not in pos)
        im["not_exhaustive_category_ids"] = sorted(c for c in pos if rng.random() < 0.1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gt.json").write_text(json.dumps(gt))
    link = out / "dt.json"
    if not link.exists():
        os.symlink((coco_dir / "dt.json").resolve(), link)


def worker(tool: str, data: Path, result: Path, cpu: int) -> None:
    from time import perf_counter

    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    gt_path, dt_path = str(data / "gt.json"), str(data / "dt.json")
    a = perf_counter()
    if tool == "detrecall":
        import detrecall

        res = detrecall.evaluate(gt_path, dt_path, protocol="lvis")
        numbers = {k: (-1.0 if v is None else v) for k, v in res.lvis.to_dict().items()}
    else:
        import logging
        import warnings

        setattr(np, "float", float)  # noqa: B010 - np.float, removed in NumPy 1.24, used by lvis
        logging.disable(logging.CRITICAL)
        warnings.simplefilter("ignore")
        from lvis import LVIS, LVISEval, LVISResults

        lvis_gt = LVIS(gt_path)
        ev = LVISEval(lvis_gt, LVISResults(lvis_gt, dt_path), "bbox")
        ev.run()
        numbers = {k: float(ev.results[k]) for k in KEYS}
    total = perf_counter() - a
    result.write_text(json.dumps({"total": total, "peak_mib": peak_mib(), "numbers": numbers}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--classes", type=int, default=1203)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--tools", nargs="+", default=["detrecall", "lvis"], choices=("detrecall", "lvis"))
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, Path(args.data), Path(args.result), args.cpu)
        return 0
    base = f"coco_{args.images}_{args.classes}c_300d_s{args.seed}_bbox"
    coco_dir, data = HERE / "data" / base, HERE / "data" / f"lvis_{args.images}_{args.classes}c_s{args.seed}"
    if not (coco_dir / "dt.json").exists():
        if not MAKE_COCO.exists():
            raise SystemExit(f"no data generator at {MAKE_COCO} (../shared/bench)")
        subprocess.run(
            [
                sys.executable,
                str(MAKE_COCO),
                "--images",
                str(args.images),
                "--classes",
                str(args.classes),
                "--max-dets",
                "300",
                "--seed",
                str(args.seed),
                "--kind",
                "bbox",
                "--out",
                str(coco_dir),
            ],
            check=True,
        )
    if not (data / "gt.json").exists():
        make_lvis(coco_dir, data, args.seed)
    runs: dict[str, list[dict]] = {t: [] for t in args.tools}
    for r in range(args.repeats):
        for t in args.tools:
            if runs[t] and "error" in runs[t][-1]:
                continue
            start = time.perf_counter()
            runs[t].append(
                run_worker(
                    __file__, ["--worker", t, "--data", str(data), "--cpu", str(args.cpu)], args.timeout
                )
            )
            got = runs[t][-1]
            print(
                f"repeat {r + 1}/{args.repeats} {t}: "
                f"{got.get('error') or format(got['total'], '.2f') + ' s'} "
                f"(wall {time.perf_counter() - start:.1f} s)",
                file=sys.stderr,
            )
    print(f"\ndata: {data} (bbox); one core; end to end, median [min-max] of {args.repeats}\n")
    ok = {t: [x for x in v if "error" not in x] for t, v in runs.items()}
    for t in args.tools:
        if not ok[t]:
            print(f"{t:10s} {runs[t][-1]['error']}")
            continue
        times = [x["total"] for x in ok[t]]
        print(
            f"{t:10s} {statistics.median(times):9.2f} s [{min(times):.2f}-{max(times):.2f}]"
            f"  peak {statistics.median(x['peak_mib'] for x in ok[t]):7.0f} MiB"
        )
    status = 0
    if ok.get("detrecall") and ok.get("lvis"):
        ours = statistics.median(x["total"] for x in ok["detrecall"])
        print(f"\nlvis/detrecall: {statistics.median(x['total'] for x in ok['lvis']) / ours:.1f}x")
        a, b = ok["detrecall"][0]["numbers"], ok["lvis"][0]["numbers"]
        diff = max(abs(a[k] - b[k]) for k in KEYS)
        print(f"max |numbers - lvis| = {diff:.2e}")
        status = int(diff > 1e-9)
    elif ok.get("detrecall") and "lvis" in runs and "did not finish" in runs["lvis"][-1]["error"]:
        ours = statistics.median(x["total"] for x in ok["detrecall"])
        print(f"\nlvis did not finish in {args.timeout:.0f} s: lvis/detrecall > {args.timeout / ours:.1f}x")
    return status


if __name__ == "__main__":
    sys.exit(main())
