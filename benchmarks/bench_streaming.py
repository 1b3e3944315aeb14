#!/usr/bin/env python3
"""Stream images through detrecall.Evaluator in batches; time and peak memory.

    python benchmarks/bench_streaming.py --images 100000 --batch 64

The batches come from make_coco.py data at --source-images images (cached in benchmarks/data),
cycled with fresh image ids, so the inputs held in memory stay that size whatever --images is:
what grows is the Evaluator's state (the matcher's output), which this reports too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--source-images", type=int, default=5000)
    args = ap.parse_args()
    data = HERE / "data" / f"coco_{args.source_images}_80c_100d_s0_bbox"
    if not (data / "dt.json").exists():
        subprocess.run(
            [
                sys.executable,
                str(MAKE_COCO),
                "--images",
                str(args.source_images),
                "--seed",
                "0",
                "--kind",
                "bbox",
                "--out",
                str(data),
            ],
            check=True,
        )
    gt = json.loads((data / "gt.json").read_text())
    dt = json.loads((data / "dt.json").read_text())
    images = gt["images"]
    anns_of: dict[int, list] = {}
    for a in gt["annotations"]:
        anns_of.setdefault(a["image_id"], []).append(a)
    dets_of: dict[int, list] = {}
    for r in dt:
        dets_of.setdefault(r["image_id"], []).append(r)
    rss_inputs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    import detrecall

    ev = detrecall.Evaluator("bbox")
    start = time.perf_counter()
    n_dets = 0
    for lo in range(0, args.images, args.batch):
        batch_images, batch_anns, batch_dets = [], [], []
        for i in range(lo, min(lo + args.batch, args.images)):
            src = images[i % len(images)]
            new_id = i + 1  # a fresh id per streamed image
            batch_images.append({**src, "id": new_id})
            batch_anns += [{**a, "image_id": new_id} for a in anns_of.get(src["id"], [])]
            batch_dets += [{**r, "image_id": new_id} for r in dets_of.get(src["id"], [])]
        n_dets += len(batch_dets)
        ev.update(
            {"images": batch_images, "annotations": batch_anns, "categories": gt["categories"]}, batch_dets
        )
    t_update = time.perf_counter() - start
    start = time.perf_counter()
    result = ev.compute()
    t_compute = time.perf_counter() - start
    state = ev.state_dict()
    state_mib = sum(v.nbytes for part in ("coco", "point") for v in state[part].values()) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.images} images ({n_dets} detections) in batches of {args.batch}: "
        f"update {t_update:.1f} s ({t_update / args.images * 1e3:.2f} ms/image), "
        f"compute {t_compute:.1f} s; peak RSS {peak:.0f} MiB "
        f"(inputs loaded: {rss_inputs:.0f} MiB), state {state_mib:.0f} MiB; AP {result.coco.AP:.4f}"
    )


if __name__ == "__main__":
    main()
