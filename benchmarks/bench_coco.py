#!/usr/bin/env python3
"""Time detrecall against the COCO evaluators people use, in one run, on the same files.

    python benchmarks/bench_coco.py --images 5000 --kind bbox            # generate, then time
    python benchmarks/bench_coco.py --data DIR --kind segm --repeats 5   # DIR/gt.json, DIR/dt.json

Data comes from ../shared/bench/make_coco.py (cached in benchmarks/data/). Each tool runs in a
fresh subprocess per repeat, pinned to one CPU (--cpu), so its peak RSS is its own and its time
is one core's. Stages: load (files -> the tool's objects), evaluate (incl. accumulation where the
tool does it there), accumulate, summarize; total = their sum, imports reported apart.
Prints medians with [min-max] over repeats, peak RSS, the ratios pycocotools/detrecall and
faster-coco-eval/detrecall, and checks that every tool's 12 numbers equal pycocotools' within
1e-9 (exit status 1 if detrecall's do not). Tools not installed are reported as such.
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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"
TOOLS = ("detrecall", "pycocotools", "faster-coco-eval", "hotcoco", "ultrafast-pycocotools")
STAGES = ("load", "evaluate", "accumulate", "summarize", "total")


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _pycocotools_style(tool: str):
    if tool == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    elif tool == "faster-coco-eval":
        from faster_coco_eval import COCO
        from faster_coco_eval import COCOeval_faster as COCOeval
    elif tool == "hotcoco":
        from hotcoco import COCO, COCOeval
    elif tool == "ultrafast-pycocotools":
        from ultrafast_pycocotools import COCO, COCOeval
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    return COCO, COCOeval


def worker(tool: str, data: Path, kind: str, result: Path, cpu: int) -> None:
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
        gt = read_coco_gt(gt_path, masks=kind == "segm")
        dt = read_coco_results(dt_path, gt, masks=kind == "segm")
        t["load"] = perf_counter() - a
        a = perf_counter()
        res = detrecall.evaluate(gt, dt, kind)
        t["evaluate"] = perf_counter() - a
        t["accumulate"] = t["summarize"] = 0.0
        stats = res.coco.stats.tolist()
    else:
        COCO, COCOeval = _pycocotools_style(tool)
        t_import = perf_counter() - a
        with contextlib.redirect_stdout(io.StringIO()):
            a = perf_counter()
            cg = COCO(gt_path)
            cd = cg.loadRes(dt_path)
            t["load"] = perf_counter() - a
            a = perf_counter()
            ev = COCOeval(cg, cd, kind)
            ev.evaluate()
            t["evaluate"] = perf_counter() - a
            a = perf_counter()
            ev.accumulate()
            t["accumulate"] = perf_counter() - a
            a = perf_counter()
            ev.summarize()
            t["summarize"] = perf_counter() - a
        stats = [float(x) for x in ev.stats]
    t["total"] = sum(t[s] for s in STAGES[:-1])
    result.write_text(json.dumps({"times": t, "import": t_import, "peak_mib": _peak_mib(), "stats": stats}))


def _installed(tool: str) -> bool:
    import importlib.util

    module = {"faster-coco-eval": "faster_coco_eval", "ultrafast-pycocotools": "ultrafast_pycocotools"}
    return importlib.util.find_spec(module.get(tool, tool)) is not None


def run_once(tool: str, data: Path, kind: str, cpu: int, timeout: float) -> dict:
    fd, name = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--data",
        str(data),
        "--kind",
        kind,
        "--result",
        name,
        "--cpu",
        str(cpu),
    ]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        return {"error": f"failed (exit status {proc.returncode}) {last}".strip()}
    out = json.loads(Path(name).read_text())
    os.unlink(name)
    out["wall"] = wall
    return out


def ensure_data(args: argparse.Namespace) -> Path:
    if args.data:
        return Path(args.data)
    name = f"coco_{args.images}_{args.classes}c_{args.max_dets}d_s{args.seed}_{args.kind}"
    out = HERE / "data" / name
    if not (out / "dt.json").exists():
        if not MAKE_COCO.exists():
            raise SystemExit(f"no data generator at {MAKE_COCO} (../shared/bench); pass --data DIR")
        subprocess.run(
            [
                sys.executable,
                str(MAKE_COCO),
                "--images",
                str(args.images),
                "--classes",
                str(args.classes),
                "--max-dets",
                str(args.max_dets),
                "--seed",
                str(args.seed),
                "--kind",
                args.kind,
                "--out",
                str(out),
            ],
            check=True,
        )
    return out


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{med:7.2f} [{min(values):.2f}-{max(values):.2f}]" if len(values) > 1 else f"{med:7.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="folder with gt.json and dt.json (else generated)")
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--classes", type=int, default=80)
    ap.add_argument("--max-dets", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kind", choices=("bbox", "segm"), default="bbox")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    ap.add_argument("--cpu", type=int, default=0, help="CPU to pin each run to (-1: do not pin)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, Path(args.data), args.kind, Path(args.result), args.cpu)
        return 0

    data = ensure_data(args)
    tools = [t for t in args.tools if _installed(t)]
    for t in args.tools:
        if t not in tools:
            print(f"{t}: not installed (pip install -e '.[bench]'), skipped")
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for r in range(args.repeats):  # tools interleaved, so drift hits all alike
        for t in tools:
            if runs[t] and "error" in runs[t][-1]:
                continue
            runs[t].append(run_once(t, data, args.kind, args.cpu, args.timeout))
            print(
                f"repeat {r + 1}/{args.repeats} {t}: "
                + (runs[t][-1].get("error") or f"{runs[t][-1]['times']['total']:.2f} s"),
                file=sys.stderr,
            )

    ok = {t: [x for x in v if "error" not in x] for t, v in runs.items()}
    print(f"\ndata: {data} ({args.kind}); one core; median [min-max] of {args.repeats} runs, seconds\n")
    header = f"{'tool':24s}" + "".join(f"{s:>22s}" for s in STAGES) + f"{'import':>9s}{'peak MiB':>10s}"
    print(header)
    for t in tools:
        if not ok[t]:
            print(f"{t:24s}  {runs[t][-1]['error']}")
            continue
        cells = "".join(f"{_cell([x['times'][s] for x in ok[t]]):>22s}" for s in STAGES)
        imp = statistics.median(x["import"] for x in ok[t])
        peak = statistics.median(x["peak_mib"] for x in ok[t])
        print(f"{t:24s}{cells}{imp:9.2f}{peak:10.0f}")

    def median_total(t: str) -> float | None:
        return statistics.median(x["times"]["total"] for x in ok[t]) if ok.get(t) else None

    ours = median_total("detrecall")
    print()
    if ours:
        for t in tools:
            if t != "detrecall" and median_total(t):
                print(f"{t}/detrecall total time: {median_total(t) / ours:6.1f}x")
        if ok.get("pycocotools"):
            ref = ok["pycocotools"][0]["times"]
            mine = statistics.median(x["times"]["evaluate"] for x in ok["detrecall"])
            print(
                f"pycocotools evaluate+accumulate / detrecall evaluate: "
                f"{(ref['evaluate'] + ref['accumulate']) / mine:6.1f}x (first run of each)"
            )
    status = 0
    if ok.get("pycocotools"):
        ref_stats = ok["pycocotools"][0]["stats"]
        for t in tools:
            if t != "pycocotools" and ok[t]:
                diff = max(abs(a - b) for a, b in zip(ok[t][0]["stats"], ref_stats))
                print(f"{t}: max |stats - pycocotools| = {diff:.2e}")
                if t == "detrecall" and diff > 1e-9:
                    status = 1
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(data), "kind": args.kind, "runs": runs}))
    return status


if __name__ == "__main__":
    sys.exit(main())
