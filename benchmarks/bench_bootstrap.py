#!/usr/bin/env python3
"""Time the image-level bootstrap against one evaluation of the same files.

    taskset -c 1 python benchmarks/bench_bootstrap.py                       # 5,000 images, bbox
    taskset -c 1 python benchmarks/bench_bootstrap.py --data DIR --replicates 1000

Data: DIR/gt.json and DIR/dt.json, by default ../shared/bench/make_coco.py's 5,000-image bbox
set (generated once into benchmarks/data/). Prints the evaluation's time (files to result, the
best of --repeats), the bootstrap's (result to intervals), their ratio, and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="folder with gt.json and dt.json")
    ap.add_argument("--images", type=int, default=5000, help="images to generate when --data is not given")
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each, the best is reported")
    args = ap.parse_args()
    data = args.data or HERE / "data" / f"coco_{args.images}_80c_100d_s0_bbox"
    if not (data / "dt.json").exists():
        subprocess.run(
            [
                sys.executable,
                str(MAKE_COCO),
                "--images",
                str(args.images),
                "--seed",
                "0",
                "--kind",
                "bbox",
                "--out",
                str(data),
            ],
            check=True,
        )

    import detrecall

    eval_times, boot_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = detrecall.evaluate(data / "gt.json", data / "dt.json", "bbox")
        eval_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        boot = detrecall.bootstrap(result, n=args.replicates, seed=0)
        boot_times.append(time.perf_counter() - start)
    m = result.matches
    print(
        f"data: {data} ({len(result.image_ids)} images, {len(m.det_row)} kept detections, "
        f"{len(m.hit_det)} matches over {len(m.iou_thresholds)} IoU thresholds)"
    )
    print(
        f"evaluate (files -> result):          {min(eval_times):7.2f} s  (runs: "
        + ", ".join(f"{t:.2f}" for t in eval_times)
        + ")"
    )
    print(
        f"bootstrap, {args.replicates} replicates:         {min(boot_times):7.2f} s  (runs: "
        + ", ".join(f"{t:.2f}" for t in boot_times)
        + f"; {1000 * min(boot_times) / args.replicates:.1f} "
        "ms per replicate)"
    )
    print(f"bootstrap / evaluate:                {min(boot_times) / min(eval_times):7.1f} x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS:                            {peak:7.0f} MiB")
    ap_iv = boot.interval("AP")
    print(f"AP {ap_iv.estimate:.4f}, 95% interval [{ap_iv.low:.4f}, {ap_iv.high:.4f}]")


if __name__ == "__main__":
    main()
