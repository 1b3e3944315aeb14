"""io.arrays' batch reader through the compiled _kernels.gather (`_gathered_side`) against its
numpy twin (`_side`): the same columns, dtypes and missing fields on usual batches and on
unusual ones (empty images, optional fields left out, other dtypes, torch-like values,
non-contiguous arrays), or None where the twin's path has to read the batch; the bounds it
gives against numpy's reductions; the checks made on them against the numpy path's, on odd
values; and the gather kernel itself by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall._compiled import kernels
from detrecall.io import arrays as A

pytestmark = pytest.mark.skipif(kernels is None, reason="_kernels not built")


class Tensor:
    """Stands for a torch tensor: nothing but __array__."""

    def __init__(self, values: Any) -> None:
        self.values = np.asarray(values)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.values if dtype is None else self.values.astype(dtype)


def _targets(rng: np.random.Generator, n_images: int, odd: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n_images):
        n = int(rng.integers(0, 6)) if rng.random() < 0.8 else 0
        d: dict[str, Any] = {
            "boxes": rng.random((n, 4)) * 50,
            "labels": rng.integers(1, 5, n),
            "iscrowd": rng.integers(0, 2, n),
            "area": rng.random(n) * 100,
            "image_id": i,
        }
        if odd == 1:  # float32 boxes, bool flags
            d["boxes"] = d["boxes"].astype(np.float32)
            d["iscrowd"] = d["iscrowd"].astype(bool)
        elif odd == 2 and i % 2:  # an optional field left out of some images
            del d["area"]
        elif odd == 3:  # left out of every image
            del d["area"], d["iscrowd"]
        elif odd == 4 and i == n_images - 1:  # a torch-like value
            d["boxes"] = Tensor(d["boxes"])
        elif odd == 5 and i == 0:  # not contiguous
            d["boxes"] = np.asfortranarray(rng.random((3, 4)))
            d["labels"], d["iscrowd"], d["area"] = np.ones(3, np.int64), np.zeros(3, np.int64), np.ones(3)
        elif odd == 6 and i == 0:  # an empty image's arrays in another shape
            d = {"boxes": np.zeros(0), "labels": np.zeros((0, 1), np.int64), "image_id": 0}
        elif odd == 7:  # integer boxes, int32 labels
            d["boxes"] = (d["boxes"] * 4).astype(np.int64)
            d["labels"] = d["labels"].astype(np.int32)
        elif odd == 8 and i == 1:  # rows disagreeing with labels
            d["area"] = np.ones(len(d["labels"]) + 1)
        out.append(d)
    return out


def _same(fast: A._Side | None, slow: A._Side | None) -> None:
    assert slow is not None and fast is not None
    assert_array_equal(fast.n, slow.n)
    assert fast.missing == slow.missing
    assert fast.columns.keys() == slow.columns.keys()
    for f, a in slow.columns.items():
        assert fast.columns[f].dtype == a.dtype, f
        assert fast.columns[f].shape == a.shape, f
        assert_array_equal(fast.columns[f], a)


@pytest.mark.parametrize("odd", range(9))
@pytest.mark.parametrize("seed", range(8))
def test_gathered_side_equals_numpy_side(seed, odd):
    rng = np.random.default_rng(seed)
    targets = _targets(rng, int(rng.integers(1, 20)), odd)
    fast = A._gathered_side(targets, A._TARGET_KEYS, A._TARGET_FIELDS)
    slow = A._side(targets, A._TARGET_KEYS, A._TARGET_FIELDS)
    if fast is None:  # the numpy path reads it: only unusual batches
        assert odd in (2, 4, 5, 6, 8) or slow is None
    else:
        assert odd not in (4, 5, 6, 8)
        _same(fast, slow)


@pytest.mark.parametrize("seed", range(10))
def test_preds_and_a_whole_read_alike(seed):
    rng = np.random.default_rng(seed)
    preds = []
    for _ in range(12):
        n = int(rng.integers(0, 30))
        preds.append({"boxes": rng.random((n, 4)), "scores": rng.random(n), "labels": rng.integers(0, 3, n)})
    _same(A._gathered_side(preds, A._PRED_KEYS, A._PRED_FIELDS), A._side(preds, A._PRED_KEYS, A._PRED_FIELDS))
    targets = _targets(rng, 12, 0)
    names = {k: str(k) for k in range(6)}
    fast = A.check_arrays(targets, preds, box_format="xywh", categories=names).columns
    A_kernels, A.kernels = A.kernels, None  # the numpy path alone
    try:
        slow = A.check_arrays(targets, preds, box_format="xywh", categories=names).columns
    finally:
        A.kernels = A_kernels
    _assert_same_columns(fast, slow)


def test_gather_by_hand():
    a, b = np.array([[1.0, 2, 3, 4]]), np.zeros((0, 4))
    c = np.array([[5.0, 6, 7, 8], [9, 10, 11, 12]])
    fmt, data, rows, lows, highs = kernels.gather([{"k": a}, {"k": b}, {"k": c}], "k", np.ndarray, 4)
    assert fmt == "d"
    assert lows == (1.0, 2.0, 3.0, 4.0) and highs == (9.0, 10.0, 11.0, 12.0)
    assert_array_equal(np.frombuffer(data, np.float64).reshape(-1, 4), np.concatenate([a, b, c]))
    assert np.frombuffer(rows, np.int64).tolist() == [1, 0, 2]
    assert kernels.gather([{"k": a}, {"j": a}], "k", np.ndarray, 4) is None  # a key left out
    assert kernels.gather([{"k": a}, {"k": a.astype(np.float32)}], "k", np.ndarray, 4) is None  # 2 dtypes
    assert kernels.gather([{"k": a}], "k", np.ndarray, 0) is None  # 2-d where 1-d is expected
    assert kernels.gather([{"k": a[:, :2]}], "k", np.ndarray, 4) is None  # (N, 2)
    assert kernels.gather([{"k": c[:, ::2]}], "k", np.ndarray, 2) is None  # not contiguous
    assert kernels.gather([{"k": a.tolist()}], "k", np.ndarray, 4) is None  # not an array
    assert kernels.gather([], "k", np.ndarray, 4) is None
    assert kernels.gather([[1]], "k", np.ndarray, 4) is None  # not a dict
    with pytest.raises(TypeError):
        kernels.gather({"k": a}, "k", np.ndarray, 4)  # not a list
    with pytest.raises(TypeError):
        kernels.gather([{"k": a}], "k", 3, 4)  # not a type
    key = [1]  # unhashable: the lookup's own error
    with pytest.raises(TypeError):
        kernels.gather([{"k": a}], key, np.ndarray, 4)


def test_gather_bounds_by_hand():
    def bounds(*arrays: np.ndarray, width: int = 0) -> tuple:
        return kernels.gather([{"k": a} for a in arrays], "k", np.ndarray, width)[3:]

    assert bounds(np.array([3, -7], np.int32), np.zeros(0, np.int32)) == ((-7,), (3,))
    assert bounds(np.array([2**62, -(2**62)], np.int64)) == ((-(2**62),), (2**62,))  # exact ints
    assert bounds(np.array([True, False])) == ((0,), (1,))
    assert bounds(np.array([1.5, -2], np.float32)) == ((-2.0,), (1.5,))
    assert bounds(np.zeros(0)) == (None, None)  # no rows
    assert bounds(np.zeros(2, np.uint16)) == (None, None)  # a format it does not reduce
    lows, highs = bounds(np.array([[1.0, np.nan], [0.0, 3.0]]), width=2)
    assert lows[0] == 0.0 and highs[0] == 1.0 and np.isnan(lows[1]) and np.isnan(highs[1])


@pytest.mark.parametrize("odd", range(9))
@pytest.mark.parametrize("seed", range(4))
def test_gathered_bounds_equal_numpy_reductions(seed, odd):
    rng = np.random.default_rng(seed)
    targets = _targets(rng, int(rng.integers(1, 20)), odd)
    fast = A._gathered_side(targets, A._TARGET_KEYS, A._TARGET_FIELDS)
    if fast is None:
        return
    for f, a in fast.columns.items():
        if f not in fast.bounds:
            assert not len(a) or a.dtype.kind not in "fib", f
            continue
        lows, highs = fast.bounds[f]
        a2 = a.reshape(len(a), -1)
        assert_array_equal(np.array(lows, a2.dtype), np.minimum.reduce(a2, axis=0))
        assert_array_equal(np.array(highs, a2.dtype), np.maximum.reduce(a2, axis=0))


def _odd_batch(rng: np.random.Generator, kind: int) -> tuple[list, list]:
    targets = _targets(rng, 6, 0)
    preds = []
    for _ in range(6):
        n = int(rng.integers(1, 8))
        preds.append(
            {"boxes": rng.random((n, 4)) * 9, "scores": rng.random(n), "labels": rng.integers(1, 5, n)}
        )
    t, p = targets[int(rng.integers(0, 6))], preds[int(rng.integers(0, 6))]
    if kind == 1:
        p["scores"][0] = np.nan
    elif kind == 2:
        p["boxes"][0, 2] = -1.0  # negative width
    elif kind == 3:
        p["boxes"][0, 1] = np.inf
    elif kind == 4:
        p["labels"][0] = 9  # not among the categories
    elif kind == 5 and len(t["labels"]):
        t["iscrowd"][0] = 2  # not 0/1
    elif kind == 6 and len(t["labels"]):
        t["area"][0] = -3.0
    elif kind == 7 and len(t["labels"]):
        t["area"][0] = np.nan
    elif kind == 8:
        p["boxes"][0, 0] = 1e200  # a corner beyond float64 once added
    elif kind == 9:
        p["labels"] = p["labels"].astype(np.int32)
        p["labels"][0] = 0  # below the categories
    return targets, preds


@pytest.mark.parametrize("kind", range(10))
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("box_format", ["xywh", "xyxy"])
def test_checks_on_bounds_equal_numpy_path(seed, kind, box_format):
    """The batch checks made on the gathered bounds refuse (and accept) what the numpy path's
    do: the same error message, or the same columns."""
    targets, preds = _odd_batch(np.random.default_rng(seed), kind)
    names = {k: str(k) for k in range(1, 6)}

    def read() -> Any:
        try:
            return A.check_arrays(targets, preds, box_format=box_format, categories=names).columns
        except Exception as e:  # noqa: BLE001 - the error itself is compared
            return f"{type(e).__name__}: {e}"

    fast = read()
    A_kernels, A.kernels = A.kernels, None  # the numpy path alone
    try:
        slow = read()
    finally:
        A.kernels = A_kernels
    assert type(fast) is type(slow)
    if isinstance(slow, str):
        assert fast == slow
        return
    _assert_same_columns(fast, slow)


def _assert_same_columns(fast, slow) -> None:
    """The kernel path's checked columns equal the numpy path's, dtype and shape included."""
    for f in A.fields(A._Columns):
        x, y = getattr(fast, f.name), getattr(slow, f.name)
        if x is None:
            assert y is None
        else:
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert_array_equal(x, y)
