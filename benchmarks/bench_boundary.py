#!/usr/bin/env python3
"""Time detrecall's boundary IoU against faster-coco-eval's and ultrafast-pycocotools'.

    python benchmarks/bench_boundary.py --images 5000                 # generate (segm), then time
    python benchmarks/bench_boundary.py --data DIR --repeats 3 --cpu 0

Data: ../shared/bench/make_coco.py --kind segm (through bench_coco.ensure_data, cached in
benchmarks/data/). pycocotools has no boundary IoU. Each tool runs in a fresh subprocess per
repeat, pinned to one CPU, end to end (load + evaluate + accumulate + summarize; imports apart),
with its peak RSS. The 12 numbers of every tool are compared with faster-coco-eval's (the
reference detrecall follows; exit status 1 if detrecall's differ by more than 1e-9);
ultrafast-pycocotools rounds the band width of some image sizes the other way, so its
difference is reported, not required to be 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _harness import cell, installed, peak_mib, run_worker

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"
TOOLS = ("detrecall", "faster-coco-eval", "ultrafast-pycocotools")
REFERENCE = "faster-coco-eval"


def ensure_data(args: argparse.Namespace) -> Path:
    """The segm files of make_coco.py for these arguments (bench_coco.py's cache names)."""
    if args.data:
        return Path(args.data)
    out = HERE / "data" / f"coco_{args.images}_{args.classes}c_{args.max_dets}d_s{args.seed}_segm"
    if not (out / "dt.json").exists():
        if not MAKE_COCO.exists():
            raise SystemExit(f"no data generator at {MAKE_COCO} (../shared/bench); pass --data DIR")
        options = {"--images": args.images, "--classes": args.classes, "--max-dets": args.max_dets}
        options.update({"--seed": args.seed, "--kind": "segm", "--out": out})
        subprocess.run(
            [sys.executable, str(MAKE_COCO), *(str(x) for kv in options.items() for x in kv)], check=True
        )
    return out


def worker(tool: str, data: Path, ratio: float, result: Path, cpu: int) -> None:
    """One timed run of one tool; writes times, peak RSS and the 12 numbers to `result`."""
    from time import perf_counter

    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    gt_path, dt_path = str(data / "gt.json"), str(data / "dt.json")
    t: dict[str, float] = {}
    a = perf_counter()
    if tool == "detrecall":
        import detrecall
        from detrecall import read_coco_gt, read_coco_results

        t_import = perf_counter() - a
        a = perf_counter()
        gt = read_coco_gt(gt_path, masks=True)
        dt = read_coco_results(dt_path, gt, masks=True)
        t["load"] = perf_counter() - a
        a = perf_counter()
        stats = detrecall.evaluate(gt, dt, "boundary", dilation_ratio=ratio).coco.stats.tolist()
        t["evaluate"] = perf_counter() - a
    else:
        if tool == "faster-coco-eval":
            from faster_coco_eval import COCO
            from faster_coco_eval import COCOeval_faster as COCOeval
        else:
            from ultrafast_pycocotools import COCO, COCOeval
        t_import = perf_counter() - a
        with contextlib.redirect_stdout(io.StringIO()):
            a = perf_counter()
            cg = COCO(gt_path)
            cd = cg.loadRes(dt_path)
            t["load"] = perf_counter() - a
            a = perf_counter()
            ev = COCOeval(cg, cd, "boundary", boundary_dilation_ratio=ratio)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            t["evaluate"] = perf_counter() - a
        stats = [float(x) for x in ev.stats[:12]]
    t["total"] = t["load"] + t["evaluate"]
    result.write_text(json.dumps({"times": t, "import": t_import, "peak_mib": peak_mib(), "stats": stats}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="folder with gt.json and dt.json (segm; else generated)")
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--classes", type=int, default=80)
    ap.add_argument("--max-dets", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dilation-ratio", type=float, default=0.02)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    ap.add_argument("--cpu", type=int, default=0, help="CPU to pin each run to (-1: do not pin)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, Path(args.data), args.dilation_ratio, Path(args.result), args.cpu)
        return 0

    data = ensure_data(args)
    tools = [t for t in args.tools if installed(t)]
    for t in args.tools:
        if t not in tools:
            print(f"{t}: not installed (pip install -e '.[bench]'), skipped")
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for r in range(args.repeats):  # tools interleaved, so drift hits all alike
        for t in tools:
            if runs[t] and "error" in runs[t][-1]:
                continue
            start = time.perf_counter()
            runs[t].append(
                run_worker(
                    __file__,
                    [
                        "--worker",
                        t,
                        "--data",
                        str(data),
                        "--dilation-ratio",
                        str(args.dilation_ratio),
                        "--cpu",
                        str(args.cpu),
                    ],
                    args.timeout,
                )
            )
            got = runs[t][-1].get("error") or f"{runs[t][-1]['times']['total']:.2f} s"
            wall = time.perf_counter() - start
            print(f"repeat {r + 1}/{args.repeats} {t}: {got} ({wall:.0f} s wall)", file=sys.stderr)

    ok = {t: [x for x in v if "error" not in x] for t, v in runs.items()}
    print(
        f"\ndata: {data} (boundary IoU, dilation ratio {args.dilation_ratio}); one core; median [min-max] "
        f"of {args.repeats} runs, seconds\n"
    )
    print(f"{'tool':24s}{'load':>22s}{'evaluate':>22s}{'total':>22s}{'import':>9s}{'peak MiB':>10s}")
    for t in tools:
        if not ok[t]:
            print(f"{t:24s}  {runs[t][-1]['error']}")
            continue
        stages = ("load", "evaluate", "total")
        cells = "".join(f"{cell([x['times'][s] for x in ok[t]]):>22s}" for s in stages)
        imp = statistics.median(x["import"] for x in ok[t])
        print(f"{t:24s}{cells}{imp:9.2f}{statistics.median(x['peak_mib'] for x in ok[t]):10.0f}")
    status = 0
    if ok.get("detrecall"):
        ours = statistics.median(x["times"]["total"] for x in ok["detrecall"])
        for t in tools:
            if t != "detrecall" and ok[t]:
                theirs = statistics.median(x["times"]["total"] for x in ok[t])
                print(f"{t}/detrecall total time: {theirs / ours:6.1f}x")
    if ok.get(REFERENCE):
        ref = ok[REFERENCE][0]["stats"]
        for t in tools:
            if t != REFERENCE and ok[t]:
                diff = max(abs(a - b) for a, b in zip(ok[t][0]["stats"], ref))
                print(f"{t}: max |stats - {REFERENCE}| = {diff:.2e}")
                if t == "detrecall" and diff > 1e-9:
                    status = 1
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(data), "runs": runs}))
    return status


if __name__ == "__main__":
    sys.exit(main())
