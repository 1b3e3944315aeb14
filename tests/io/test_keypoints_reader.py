"""The keypoint reader's plain path (a few C-level passes) reads exactly what the record-by-record
path reads, and hands anything else to it, which names the bad record."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detrecall import InputError
from detrecall.io import keypoints
from detrecall.io._records import Columns


def _records(n: int, k: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        xy = rng.uniform(0, 640, (k, 2))
        v = rng.integers(0, 3, k)
        flat = [x for row in zip(xy[:, 0].tolist(), xy[:, 1].tolist(), v.tolist()) for x in row]
        out.append({"image_id": 1, "category_id": 1, "keypoints": flat, "score": 0.5})
    return out


@pytest.mark.parametrize(("n", "k", "seed"), [(0, 17, 0), (1, 17, 1), (300, 17, 2), (50, 5, 3), (20, 0, 4)])
def test_plain_path_equals_the_checked_path(n: int, k: int, seed: int) -> None:
    records = _records(n, k, seed)
    plain = keypoints._keypoints_plain(records, None if n else k)
    checked = keypoints._keypoints_checked(Columns(records, "x.json", "result"), None if n else k)
    assert plain is not None and plain.dtype == np.float64
    assert plain.shape == checked.shape and np.array_equal(plain, checked)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.update(keypoints=[1, 2, True] * 17), "result 3: keypoints"),
        (lambda r: r.update(keypoints=[1, 2, "2"] * 17), "result 3: keypoints"),
        (lambda r: r.update(keypoints=[1, 2, math.nan] * 17), "result 3: keypoints"),
        (lambda r: r.update(keypoints=[1, 2, 1e400] * 17), "result 3: keypoints"),
        (
            lambda r: r.update(keypoints=[1, 2, 2] * 16),
            "result 3: keypoints: has 16 keypoints, the others 17",
        ),
        (lambda r: r.update(keypoints=[1, 2] * 17), "result 3: keypoints"),
        (lambda r: r.update(keypoints=(1, 2, 2) * 17), "result 3: keypoints"),
        (lambda r: r.pop("keypoints"), "result 3: keypoints: missing"),
    ],
)
def test_anything_else_is_named_by_the_checked_path(change, expected: str) -> None:
    records = _records(8, 17, 5)
    change(records[3])
    assert keypoints._keypoints_plain(records, None) is None
    with pytest.raises(InputError, match=expected.replace("(", r"\(")):
        keypoints._keypoints(Columns(records, "x.json", "result"))


def test_numpy_scalars_read_by_the_checked_path_alike() -> None:
    records = _records(4, 17, 6)
    plain = keypoints._keypoints(Columns(records, "x.json", "result"))
    records[2]["keypoints"] = [np.float64(x) for x in records[2]["keypoints"]]
    assert keypoints._keypoints_plain(records, None) is None
    assert np.array_equal(keypoints._keypoints(Columns(records, "x.json", "result")), plain)
