#!/usr/bin/env python3
"""Speed of the label and retrieval metrics (issue figures; not a test).

python benchmarks/bench_labels.py
"""

from __future__ import annotations

import time

import numpy as np

from detrecall import metrics, retrieval


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 80, 1_000_000)
    y_pred = np.where(rng.random(1_000_000) < 0.7, y_true, rng.integers(0, 80, 1_000_000))
    t = best_of(lambda: metrics.precision_recall_fscore_support(y_true, y_pred, average="macro"))
    print(f"precision_recall_fscore_support, 1,000,000 label pairs, 80 classes, macro: {t:.3f} s")
    t = best_of(lambda: metrics.confusion_matrix(y_true, y_pred))
    print(f"confusion_matrix, 1,000,000 label pairs: {t:.3f} s")
    q = rng.integers(0, 1000, 100_000)
    nb = rng.integers(0, 1000, (100_000, 100))
    nb[:, 5] = np.where(rng.random(100_000) < 0.5, q, nb[:, 5])
    t = best_of(lambda: retrieval.recall_at_k(q, nb, 100))
    print(f"recall_at_k, 100,000 queries x k=100: {t:.3f} s")
    t = best_of(lambda: retrieval.recall_at_k(q, nb, 100, average="macro"))
    print(f"recall_at_k macro, 100,000 queries x k=100: {t:.3f} s")


if __name__ == "__main__":
    main()
