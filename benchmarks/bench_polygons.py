#!/usr/bin/env python3
"""Throughput of the polygon / rotated-box IoU kernel, pairs per second (issue figures; not a test).

python benchmarks/bench_polygons.py [--pairs 100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely

from detrecall.geometry.polygons import polygon_iou_pairs, polygons_from_rings, rotated_box_polygons


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def stars(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n simple k-gons (star-shaped about random centers), built through polygons_from_rings."""
    ang = (np.arange(k) + rng.uniform(0, 0.9, (n, k))) * 2 * np.pi / k
    rad = rng.uniform(5, 20, (n, k))
    center = rng.uniform(0, 30, (n, 1, 2))
    coords = center + np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=2)
    shapes, _ = polygons_from_rings(coords.reshape(-1, 2), np.full(n, k), np.arange(n), n)
    return shapes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100_000)
    n = parser.parse_args().pairs
    rng = np.random.default_rng(0)
    crowd = np.zeros(n, bool)

    def rboxes() -> np.ndarray:
        return np.c_[rng.uniform(0, 30, (n, 2)), rng.uniform(5, 40, (n, 2)), rng.uniform(-np.pi, np.pi, n)]

    a, b = rboxes(), rboxes()
    t_build = best_of(lambda: rotated_box_polygons(a))
    da, db = rotated_box_polygons(a), rotated_box_polygons(b)
    t = best_of(lambda: polygon_iou_pairs(da, db, crowd))
    hits = (polygon_iou_pairs(da, db, crowd) > 0).mean()
    print(
        f"rotated boxes: {n:,} pairs ({hits:.0%} overlapping) in {t:.3f} s = {n / t:,.0f} pairs/s; "
        f"building {n:,} boxes {t_build:.3f} s"
    )
    for k in (8, 32):
        t_build = best_of(lambda k=k: stars(rng, n, k))
        sa, sb = stars(rng, n, k), stars(rng, n, k)
        t = best_of(lambda sa=sa, sb=sb: polygon_iou_pairs(sa, sb, crowd))
        hits = (polygon_iou_pairs(sa, sb, crowd) > 0).mean()
        print(
            f"{k}-gons: {n:,} pairs ({hits:.0%} overlapping) in {t:.3f} s = {n / t:,.0f} pairs/s; "
            f"building {n:,} polygons {t_build:.3f} s"
        )
    far = np.array([shapely.box(1000, 1000, 1001, 1001)] * n, object)
    t = best_of(lambda: polygon_iou_pairs(da, far, crowd))
    print(f"rotated boxes, none overlapping (bounds pre-check only): {n / t:,.0f} pairs/s")


if __name__ == "__main__":
    main()
