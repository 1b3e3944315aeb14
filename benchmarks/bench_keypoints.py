#!/usr/bin/env python3
"""Time detrecall's keypoint evaluation (OKS) against pycocotools, faster-coco-eval and
ultrafast-pycocotools.

    python benchmarks/bench_keypoints.py --images 5000            # generate, then time
    python benchmarks/bench_keypoints.py --data DIR --repeats 3 --cpu 0

Data: the boxes of ../shared/bench/make_coco.py (imported: its images, sizes, crowds, simulated
detector and scores; one class, "person", at most --max-dets detections per image), with 17
keypoints added here by a seeded generator: ground truth keypoints inside each box, 25% not
labelled (v = 0) and some objects with none (num_keypoints 0, ignored by COCO); a detection of
an object gets its keypoints moved by noise that grows as its box is worse, a background
detection random ones in its box. Cached in benchmarks/data/kpt_*. Each tool runs in a fresh
subprocess per repeat, pinned to one CPU, end to end (load + evaluate + accumulate + summarize;
imports apart), with its peak RSS; every tool's 10 numbers are compared with pycocotools'
(exit status 1 if detrecall's differ by more than 1e-9).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np
from _harness import installed, peak_mib, run_worker

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
TOOLS = ("detrecall", "pycocotools", "faster-coco-eval", "ultrafast-pycocotools")
N_KEYPOINTS = 17


def _make_coco() -> object:
    """The shared generator, ../shared/bench/make_coco.py, imported."""
    path = SHARED / "make_coco.py"
    if not path.exists():
        raise SystemExit(f"no data generator at {path} (../shared/bench); pass --data DIR")
    spec = importlib.util.spec_from_file_location("make_coco", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keypoints_in(rng: np.random.Generator, boxes: np.ndarray) -> np.ndarray:
    """(N, 17, 2) points inside each xywh box."""
    u = rng.random((len(boxes), N_KEYPOINTS, 2))
    return boxes[:, None, :2] + u * boxes[:, None, 2:]


def generate(n_images: int, seed: int, max_dets: int) -> tuple[dict, list[dict]]:
    """Keypoint ground truth and results on make_coco's boxes (module docstring)."""
    gt, det, img_ids, cat_ids, _ = _make_coco().generate(n_images, 1, seed, "bbox", max_dets=max_dets)
    rng = np.random.default_rng([seed, 17])
    anns = gt["annotations"]
    boxes = np.array([a["bbox"] for a in anns], float).reshape(-1, 4)
    points = _keypoints_in(rng, boxes)
    visible = rng.choice(3, (len(anns), N_KEYPOINTS), p=[0.25, 0.25, 0.5])
    visible[rng.random(len(anns)) < 0.05] = 0  # objects without keypoints
    for a, xy, v in zip(anns, points, visible):
        crowd = a["iscrowd"]
        v = np.zeros_like(v) if crowd else v
        kp = np.concatenate([np.round(xy, 2), v[:, None]], 1) * (v[:, None] > 0)
        a["keypoints"] = kp.ravel().tolist()
        a["num_keypoints"] = int((v > 0).sum())
    gt["categories"] = [
        {"id": int(cat_ids[0]), "name": "person", "keypoints": [f"k{i}" for i in range(N_KEYPOINTS)]}
    ]
    dboxes = np.stack([det["x"], det["y"], det["w"], det["h"]], 1)
    parent = det["parent"].astype(np.int64)
    own = _keypoints_in(rng, dboxes)
    found = parent >= 0
    side = np.sqrt(dboxes[:, 2] * dboxes[:, 3])[:, None, None]
    noise = rng.normal(0, 1, own.shape) * (1 - det["q"])[:, None, None] * 0.3 * side
    moved = points[np.maximum(parent, 0)] + noise
    xy = np.where(found[:, None, None], moved, own)
    results = []
    for img, s, k in zip(img_ids[det["img"]].tolist(), det["score"].tolist(), xy):
        flat = np.concatenate([np.round(k, 2), np.ones((N_KEYPOINTS, 1))], 1).ravel().tolist()
        results.append({"image_id": img, "category_id": int(cat_ids[0]), "keypoints": flat, "score": s})
    return gt, results


def ensure_data(args: argparse.Namespace) -> Path:
    if args.data:
        return Path(args.data)
    out = HERE / "data" / f"kpt_{args.images}_{args.max_dets}d_s{args.seed}"
    if not (out / "dt.json").exists():
        gt, dt = generate(args.images, args.seed, args.max_dets)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gt.json").write_text(json.dumps(gt, separators=(",", ":")))
        (out / "dt.json").write_text(json.dumps(dt, separators=(",", ":")))
    return out


def worker(tool: str, data: Path, result: Path, cpu: int) -> None:
    """One timed run of one tool; writes times, peak RSS and the 10 numbers to `result`."""
    from time import perf_counter

    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    gt_path, dt_path = str(data / "gt.json"), str(data / "dt.json")
    t: dict[str, float] = {}
    a = perf_counter()
    if tool == "detrecall":
        import detrecall

        t_import = perf_counter() - a
        a = perf_counter()
        stats = detrecall.evaluate(gt_path, dt_path, "keypoints").coco.stats.tolist()
        t["total"] = perf_counter() - a
    else:
        if tool == "pycocotools":
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
        elif tool == "faster-coco-eval":
            from faster_coco_eval import COCO
            from faster_coco_eval import COCOeval_faster as COCOeval
        else:
            from ultrafast_pycocotools import COCO, COCOeval
        t_import = perf_counter() - a
        with contextlib.redirect_stdout(io.StringIO()):
            a = perf_counter()
            cg = COCO(gt_path)
            cd = cg.loadRes(dt_path)
            ev = COCOeval(cg, cd, "keypoints")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            t["total"] = perf_counter() - a
        stats = [float(x) for x in ev.stats[:10]]
    result.write_text(json.dumps({"times": t, "import": t_import, "peak_mib": peak_mib(), "stats": stats}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="folder with gt.json and dt.json (else generated)")
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--max-dets", type=int, default=20, help="detections per image (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    ap.add_argument("--cpu", type=int, default=0, help="CPU to pin each run to (-1: do not pin)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", help="also write all measurements to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, Path(args.data), Path(args.result), args.cpu)
        return 0

    data = ensure_data(args)
    tools = [t for t in args.tools if installed(t)]
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for r in range(args.repeats):  # tools interleaved, so drift hits all alike
        for t in tools:
            if runs[t] and "error" in runs[t][-1]:
                continue
            runs[t].append(
                run_worker(
                    __file__, ["--worker", t, "--data", str(data), "--cpu", str(args.cpu)], args.timeout
                )
            )
            got = runs[t][-1].get("error") or f"{runs[t][-1]['times']['total']:.2f} s"
            print(f"repeat {r + 1}/{args.repeats} {t}: {got}", file=sys.stderr)
    ok = {t: [x for x in v if "error" not in x] for t, v in runs.items()}
    print(f"\ndata: {data} (keypoints); one core; median [min-max] of {args.repeats} runs, seconds\n")
    print(f"{'tool':24s}{'total':>22s}{'import':>9s}{'peak MiB':>10s}")
    for t in tools:
        if not ok[t]:
            print(f"{t:24s}  {runs[t][-1]['error']}")
            continue
        values = [x["times"]["total"] for x in ok[t]]
        med = statistics.median(values)
        cell = f"{med:7.2f} [{min(values):.2f}-{max(values):.2f}]"
        imp = statistics.median(x["import"] for x in ok[t])
        print(f"{t:24s}{cell:>22s}{imp:9.2f}{statistics.median(x['peak_mib'] for x in ok[t]):10.0f}")
    status = 0
    if ok.get("detrecall"):
        ours = statistics.median(x["times"]["total"] for x in ok["detrecall"])
        for t in tools:
            if t != "detrecall" and ok[t]:
                print(f"{t}/detrecall: {statistics.median(x['times']['total'] for x in ok[t]) / ours:6.1f}x")
    if ok.get("pycocotools"):
        ref = ok["pycocotools"][0]["stats"]
        for t in tools:
            if t != "pycocotools" and ok[t]:
                diff = max(abs(a - b) for a, b in zip(ok[t][0]["stats"], ref))
                print(f"{t}: max |stats - pycocotools| = {diff:.2e}")
                if t == "detrecall" and diff > 1e-9:
                    status = 1
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(data), "runs": runs}))
    return status


if __name__ == "__main__":
    sys.exit(main())
