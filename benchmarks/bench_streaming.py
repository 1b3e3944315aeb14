#!/usr/bin/env python3
"""Stream images in batches through detrecall.Evaluator and its peers; per-batch cost, final
compute, state bytes per detection, peak memory.

    python benchmarks/bench_streaming.py                          # 5k images, batches of 16, peers
    python benchmarks/bench_streaming.py --images 100000 --batch 64 --tools detrecall

Data: ../shared/bench/make_coco.py bbox, seed 0, --source-images images (cached in
benchmarks/data/), cycled with fresh image ids past the source. Each tool runs in its own
subprocess per repeat, pinned to one CPU (--cpu), and gets the same batches in its own input
form, built before the clock starts (what a training loop hands over):

- detrecall: `Evaluator("bbox", box_format="xywh", categories=...)`, `update(targets, preds)`
  with per-image numpy dicts; `compute()` gives P/R/F1 at IoU 0.5 and the COCO summary.
- detrecall-iou50: the same at one IoU threshold, one area range and one max-dets
  (`iou_thresholds=[0.5], area_ranges={"all": [0, 1e10]}, max_dets=[100]`): P/R/F1 at IoU 0.5
  and AP50, the work ultrafast's DetectionMetrics does.
- ultrafast-pycocotools: `metrics.DetectionMetrics(iou_thrs=0.5, box_format="xywh",
  batch_results=False)`, `update(preds, targets)` with the same dicts; `compute()` is P/R/F1.
- hotcoco: `StreamingEval(categories)`, `update(images, gt_anns, dt (N, 7) array)`;
  `finalize()` then accumulate + summarize gives the COCO summary.

Reported: per-batch update time (median, mean and max over batches, ms; detrecall matches
pending batches together every 16k rows, so that work lands on some batches: the mean, total
update CPU / batches, is the honest figure), total update time, final
compute, state bytes (what the tool keeps between batches: its arrays' nbytes, or its serialized
state) per streamed detection, peak RSS. Numbers are checked across tools: detrecall's micro
TP/FP/FN at IoU 0.5 against ultrafast's, its 12 COCO numbers against hotcoco's and against one
`detrecall.evaluate` of the same images.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _harness import run_worker

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"
TOOLS = ("detrecall", "detrecall-iou50", "ultrafast-pycocotools", "hotcoco")
ONE_IOU = {"iou_thresholds": [0.5], "area_ranges": {"all": [0, 1e10]}, "max_dets": [100]}
SAME_WORK = (("detrecall-iou50", "ultrafast-pycocotools"), ("detrecall", "hotcoco"))


def source(n: int) -> Path:
    data = HERE / "data" / f"coco_{n}_80c_100d_s0_bbox"
    if not (data / "dt.json").exists():
        cmd = [sys.executable, str(MAKE_COCO), "--images", str(n), "--seed", "0", "--kind", "bbox"]
        subprocess.run([*cmd, "--out", str(data)], check=True)
    return data


def load(data: Path, n_images: int) -> tuple[list[dict], list[dict], dict, list[dict]]:
    """Per streamed image (fresh id): its image record, its annotations, its detections."""
    gt = json.loads((data / "gt.json").read_text())
    dt = json.loads((data / "dt.json").read_text())
    anns_of: dict[int, list] = {}
    for a in gt["annotations"]:
        anns_of.setdefault(a["image_id"], []).append(a)
    dets_of: dict[int, list] = {}
    for r in dt:
        dets_of.setdefault(r["image_id"], []).append(r)
    images = gt["images"]
    out_images, out_anns, out_dets = [], [], []
    for i in range(n_images):
        src = images[i % len(images)]
        new_id = i + 1
        out_images.append({**src, "id": new_id})
        out_anns.append([{**a, "image_id": new_id} for a in anns_of.get(src["id"], [])])
        out_dets.append([{**r, "image_id": new_id} for r in dets_of.get(src["id"], [])])
    return out_images, out_anns, gt, out_dets


def arrays(image: dict, anns: list[dict], dets: list[dict]) -> tuple[dict, dict]:
    """torchvision-style target and prediction of one image (xywh boxes)."""
    target = {
        "boxes": np.array([a["bbox"] for a in anns], np.float64).reshape(-1, 4),
        "labels": np.array([a["category_id"] for a in anns], np.int64),
        "iscrowd": np.array([a["iscrowd"] for a in anns], np.int64),
        "area": np.array([a["area"] for a in anns], np.float64),
        "image_id": image["id"],
    }
    pred = {
        "boxes": np.array([r["bbox"] for r in dets], np.float64).reshape(-1, 4),
        "scores": np.array([r["score"] for r in dets], np.float64),
        "labels": np.array([r["category_id"] for r in dets], np.int64),
        "image_id": image["id"],
    }
    return target, pred


def worker(tool: str, args: argparse.Namespace, result: Path) -> None:
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    images, anns, gt, dets = load(source(args.source_images), args.images)
    n_dets = sum(len(d) for d in dets)
    spans = [(lo, min(lo + args.batch, args.images)) for lo in range(0, args.images, args.batch)]
    per_batch: list[float] = []
    per_batch_cpu: list[float] = []  # the process's CPU time: what a loaded machine does not add
    cpu = time.process_time
    out: dict = {"detections": n_dets, "batches": len(spans)}
    clock = time.perf_counter
    if tool in ("detrecall", "detrecall-iou50", "ultrafast-pycocotools"):
        pairs = [arrays(images[i], anns[i], dets[i]) for i in range(args.images)]
        batches = [([p[0] for p in pairs[lo:hi]], [p[1] for p in pairs[lo:hi]]) for lo, hi in spans]
        del pairs
    else:
        batches = []
        for lo, hi in spans:
            rows = [[r["image_id"], *r["bbox"], r["score"], r["category_id"]] for d in dets[lo:hi] for r in d]
            gt_anns = [a for a_list in anns[lo:hi] for a in a_list]
            batches.append((images[lo:hi], gt_anns, np.array(rows, np.float64).reshape(-1, 7)))
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = clock()
    if tool in ("detrecall", "detrecall-iou50"):
        import detrecall

        out["import"] = clock() - t0
        names = {c["id"]: c["name"] for c in gt["categories"]}
        options = ONE_IOU if tool == "detrecall-iou50" else {}
        ev = detrecall.Evaluator("bbox", box_format="xywh", categories=names, **options)
        for targets, preds in batches:
            a, c = clock(), cpu()
            ev.update(targets, preds)
            per_batch.append(clock() - a)
            per_batch_cpu.append(cpu() - c)
        out["state_bytes"] = ev.nbytes  # what is held between batches, packed (and pending)
        a, c = clock(), cpu()
        res = ev.compute()
        out["compute"] = clock() - a
        out["compute_cpu"] = cpu() - c
        c = res.point.counts
        out["point"] = [int(c.tp.sum()), int(c.fp.sum()), int(c.fn.sum())]
        out["stats"] = res.coco.stats.tolist()
        if args.check:  # one evaluate of the same images, in this process, untimed
            targets = [t for b in batches for t in b[0]]
            preds = [p for b in batches for p in b[1]]
            one = detrecall.evaluate(targets, preds, "bbox", box_format="xywh", categories=names, **options)
            out["evaluate_stats"] = one.coco.stats.tolist()
            a, c = clock(), cpu()
            detrecall.evaluate(targets, preds, "bbox", box_format="xywh", categories=names, **options)
            out["evaluate_time"] = clock() - a
            out["evaluate_cpu"] = cpu() - c
    elif tool == "ultrafast-pycocotools":
        from ultrafast_pycocotools.metrics import DetectionMetrics

        out["import"] = clock() - t0
        m = DetectionMetrics(iou_thrs=0.5, box_format="xywh", batch_results=args.batch_results)
        for targets, preds in batches:
            a, c = clock(), cpu()
            m.update(preds, targets)
            per_batch.append(clock() - a)
            per_batch_cpu.append(cpu() - c)
        a = clock()
        total = m.compute()
        out["compute"] = clock() - a
        out["state_bytes"] = int(
            sum(x.nbytes for part in (m._cats, m._scores, m._outcomes, m._gt_cats, m._npig) for x in part)
        )
        micro = total["micro"]
        out["point"] = [int(micro["tp"]), int(micro["fp"]), int(micro["fn"])]
    elif tool == "hotcoco":
        import contextlib
        import io

        from hotcoco import StreamingEval

        out["import"] = clock() - t0
        s = StreamingEval(gt["categories"], "bbox")
        for batch_images, gt_anns, rows in batches:
            a, c = clock(), cpu()
            s.update(batch_images, gt_anns, rows)
            per_batch.append(clock() - a)
            per_batch_cpu.append(cpu() - c)
        out["state_bytes"] = len(s.to_bytes())  # before finalize, which spends the state
        a = clock()
        with contextlib.redirect_stdout(io.StringIO()):
            ev = s.finalize()
            ev.accumulate()
            ev.summarize()
        out["compute"] = clock() - a
        out["stats"] = [float(x) for x in ev.stats]
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    out["per_batch"] = per_batch
    out["per_batch_cpu"] = per_batch_cpu
    out["update"] = sum(per_batch)
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["inputs_mib"] = rss_inputs
    result.write_text(json.dumps(out))


def run_once(tool: str, args: argparse.Namespace) -> dict:
    cmd = ["--worker", tool]
    for key in ("images", "batch", "source_images", "cpu"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    if args.check:
        cmd.append("--check")
    if args.batch_results:
        cmd.append("--batch-results")
    return run_worker(__file__, cmd, args.timeout)


def _cell(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):.{digits}f} [{min(v):.{digits}f}-{max(v):.{digits}f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--source-images", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    ap.add_argument("--cpu", type=int, default=1, help="CPU to pin each run to (-1: do not pin)")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--check", action="store_true", help="also run one evaluate (detrecall)")
    ap.add_argument(
        "--batch-results", action="store_true", help="ultrafast: also return each batch's metrics"
    )
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args, Path(args.result))
        return 0
    source(args.source_images)
    runs: dict[str, list[dict]] = {t: [] for t in args.tools}
    for r in range(args.repeats):  # interleaved, so drift hits all alike
        for t in args.tools:
            runs[t].append(run_once(t, args))
            x = runs[t][-1]
            msg = x.get("error") or f"update {x['update']:.2f} s, compute {x['compute']:.2f} s"
            print(f"repeat {r + 1}/{args.repeats} {t}: {msg}", file=sys.stderr)
    ok = {t: [x for x in v if "error" not in x] for t, v in runs.items()}
    first = next((v[0] for v in ok.values() if v), None)
    if first is None:
        print("no tool finished")
        return 1
    print(
        f"\n{args.images} images, {first['detections']} detections, {first['batches']} batches of "
        f"{args.batch}; one core (CPU {args.cpu}); median [min-max] of {args.repeats} runs\n"
    )
    print(
        f"{'tool':24s}{'CPU ms/batch (mean)':>24s}{'CPU ms/batch (median)':>24s}"
        f"{'CPU ms/batch (max)':>24s}{'wall ms/batch (mean)':>24s}{'update s':>20s}"
        f"{'compute s':>20s}{'state B/det':>12s}{'peak MiB':>10s}"
    )
    for t in args.tools:
        if not ok[t]:
            print(f"{t:24s}  {runs[t][-1]['error']}")
            continue
        cpu = [x["per_batch_cpu"] for x in ok[t]]
        bpd = ok[t][0]["state_bytes"] / max(ok[t][0]["detections"], 1)
        print(
            f"{t:24s}{_cell([statistics.mean(c) for c in cpu], 1e3, 3):>24s}"
            f"{_cell([statistics.median(c) for c in cpu], 1e3, 3):>24s}"
            f"{_cell([max(c) for c in cpu], 1e3, 1):>24s}"
            f"{_cell([statistics.mean(x['per_batch']) for x in ok[t]], 1e3, 3):>24s}"
            f"{_cell([x['update'] for x in ok[t]]):>20s}{_cell([x['compute'] for x in ok[t]]):>20s}"
            f"{bpd:12.1f}{statistics.median(x['peak_mib'] for x in ok[t]):10.0f}"
        )
    status = 0
    for ours, theirs in SAME_WORK:  # the same work: one IoU against ultrafast, COCO against hotcoco
        if ok.get(ours) and ok.get(theirs):
            for key, what in (("per_batch_cpu", "CPU"), ("per_batch", "wall")):
                mean = [statistics.median(statistics.mean(x[key]) for x in ok[t]) for t in (ours, theirs)]
                print(f"{ours} / {theirs} per-batch {what} time (mean): {mean[0] / mean[1]:.2f}x")
    for name in ("detrecall", "detrecall-iou50"):
        mine = ok.get(name) or []
        if not mine:
            continue
        if "evaluate_time" in mine[0]:
            ratio = statistics.median(x["compute_cpu"] for x in mine) / mine[0]["evaluate_cpu"]
            print(f"{name} compute / one evaluate of the same images (CPU): {ratio:.2f}x")
            same = mine[0]["evaluate_stats"] == mine[0]["stats"]
            print(f"{name} compute() == evaluate() (12 numbers, exactly): {same}")
            status |= not same
        for t in args.tools:
            if t.startswith("detrecall") or not ok[t]:
                continue
            if "point" in ok[t][0]:
                same = ok[t][0]["point"] == mine[0]["point"]
                theirs = "equal" if same else ok[t][0]["point"]
                print(f"micro TP/FP/FN at IoU 0.5, {name} {mine[0]['point']} vs {t}: {theirs}")
                status |= not same
            if "stats" in ok[t][0] and name == "detrecall":
                diff = max(abs(a - b) for a, b in zip(ok[t][0]["stats"], mine[0]["stats"]))
                print(f"12 COCO numbers, max |detrecall - {t}| = {diff:.2e}")
                status |= diff > 1e-12
    if ok.get("detrecall") and ok.get("detrecall-iou50"):  # AP at IoU 0.5: the one-IoU mode's AP
        same = ok["detrecall-iou50"][0]["stats"][0] == ok["detrecall"][0]["stats"][1]
        print(f"detrecall-iou50 AP == detrecall AP50, exactly: {same}")
        status |= not same
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs}))
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
