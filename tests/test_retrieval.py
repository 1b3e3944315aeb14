"""Retrieval metrics: hand-worked cases and a plain-Python brute force."""

from __future__ import annotations

import numpy as np
import pytest

from detrecall import retrieval
from detrecall.errors import DetrecallError


def brute_recall(q, nb, k, dist=None, thr=None, average="micro"):
    hits = []
    for i, label in enumerate(q):
        items = list(range(len(nb[i])))
        if dist is not None:
            items.sort(key=lambda j: dist[i][j])  # Python's sort is stable
        items = items[:k]
        hits.append(any(nb[i][j] == label and (thr is None or dist[i][j] <= thr) for j in items))
    if average == "micro":
        return sum(hits) / len(hits)
    per = {}
    for label, h in zip(q, hits):
        per.setdefault(label, []).append(h)
    return sum(sum(v) / len(v) for v in per.values()) / len(per)


def brute_precision(q, nb, k, dist, thr):
    total = 0.0
    for i, label in enumerate(q):
        items = sorted(range(len(nb[i])), key=lambda j: dist[i][j])[:k]
        total += sum(nb[i][j] == label and (thr is None or dist[i][j] <= thr) for j in items) / k
    return total / len(q)


def brute_map_at_r(q, nb, r):
    total = 0.0
    for i, label in enumerate(q):
        found, s = 0, 0.0
        for j in range(r[i]):
            if j < len(nb[i]) and nb[i][j] == label:
                found += 1
                s += found / (j + 1)
        total += s / r[i]
    return total / len(q)


def test_hand_worked_recall():
    q = ["a", "b", "c"]
    nb = [
        ["x", "a", "y"],  # hit at rank 2
        ["b", "b", "z"],  # hit at rank 1
        ["x", "y", "z"],
    ]  # never
    assert retrieval.recall_at_k(q, nb, 1) == 1 / 3
    assert retrieval.recall_at_k(q, nb, 2) == 2 / 3
    assert retrieval.recall_at_k(q, nb, 10) == 2 / 3  # k beyond the list: the whole list
    assert retrieval.precision_at_k(q, nb, 2) == (1 / 2 + 2 / 2 + 0) / 3


def test_distance_ties_keep_the_given_order_and_threshold_excludes():
    q = [1]
    nb = [[2, 1, 1]]
    dist = [[0.5, 0.5, 0.1]]
    # by distance: j=2 (0.1), then j=0 and j=1 tied at 0.5 in given order -> [1, 2, 1]
    assert retrieval.recall_at_k(q, nb, 1, distances=dist) == 1.0
    dist = [[0.5, 0.5, 0.9]]  # order j=0, j=1, j=2 -> [2, 1, 1]: the tie keeps j=0 first
    assert retrieval.recall_at_k(q, nb, 1, distances=dist) == 0.0
    assert retrieval.recall_at_k(q, nb, 2, distances=dist) == 1.0
    assert retrieval.recall_at_k(q, nb, 3, distances=dist, distance_threshold=0.4) == 0.0  # none left


def test_micro_and_macro_differ_on_imbalance():
    q = ["a"] * 9 + ["b"]
    nb = [["a"]] * 9 + [["a"]]  # every 'a' query hits, the one 'b' query misses
    assert retrieval.recall_at_k(q, nb, 1) == 0.9
    assert retrieval.recall_at_k(q, nb, 1, average="macro") == 0.5


def test_match_mask_instead_of_labels():
    mask = np.array([[False, True], [False, False]])
    assert retrieval.recall_at_k(None, k=2, match_mask=mask) == 0.5
    with pytest.raises(DetrecallError, match="needs query_labels"):
        retrieval.recall_at_k(None, k=2, match_mask=mask, average="macro")


@pytest.mark.parametrize("seed", range(60))
def test_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_q, n_nb = int(rng.integers(1, 20)), int(rng.integers(1, 8))
    q = rng.integers(0, 4, n_q).tolist()
    nb = rng.integers(0, 4, (n_q, n_nb)).tolist()
    dist = np.round(rng.random((n_q, n_nb)), 1).tolist()  # ties are common
    k = int(rng.integers(1, 10))
    thr = float(rng.choice([0.3, 0.7])) if seed % 2 else None
    for average in ("micro", "macro"):
        assert retrieval.recall_at_k(
            q, nb, k, distances=dist, distance_threshold=thr, average=average
        ) == pytest.approx(brute_recall(q, nb, k, dist, thr, average), abs=1e-12)
    assert retrieval.precision_at_k(q, nb, k, distances=dist, distance_threshold=thr) == pytest.approx(
        brute_precision(q, nb, k, dist, thr), abs=1e-12
    )
    r = rng.integers(1, n_nb + 3, n_q)
    assert retrieval.map_at_r(q, nb, r) == pytest.approx(brute_map_at_r(q, nb, r.tolist()), abs=1e-12)


def test_map_at_r_without_num_relevant_counts_the_relevant_neighbours() -> None:
    """Issue: map_at_r(q, n) raised TypeError; R is then the relevant count of each full list."""
    from detrecall import retrieval
    from detrecall.errors import DetrecallError

    q = np.array([0, 1])
    n = np.array([[0, 1, 0, 0], [0, 1, 1, 0]])  # R = 3 and 2
    # query 0: relevant at ranks 1, 3 of its first 3 -> (1/1 + 2/3) / 3; query 1: rank 2 of 2 -> (1/2) / 2
    assert retrieval.map_at_r(q, n) == pytest.approx(((1 + 2 / 3) / 3 + 0.5 / 2) / 2, abs=1e-15)
    assert retrieval.map_at_r(q, n) == retrieval.map_at_r(q, n, [3, 2])
    with pytest.raises(DetrecallError, match="query 0 has no relevant neighbour"):
        retrieval.map_at_r(np.array([5]), np.array([[0, 1]]))
