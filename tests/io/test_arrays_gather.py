"""io.arrays' batch reader through the compiled _kernels.gather_batch (`_gathered_sides`)
against its numpy twins (`_side`, `_batch_ids`): the same columns, dtypes, missing fields and
image ids on usual batches and on unusual ones (empty images, optional fields left out, other
dtypes, torch-like values, non-contiguous arrays, odd keys and ids), or None where the twin's
path has to read that part; the bounds it gives against numpy's reductions; the checks made on
them against the numpy path's, on odd values and on randomly spoilt batches; and the kernel
itself by hand."""

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


def _preds(rng: np.random.Generator, n_images: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n_images):
        n = int(rng.integers(0, 30))
        out.append(
            {
                "boxes": rng.random((n, 4)),
                "scores": rng.random(n),
                "labels": rng.integers(0, 3, n),
                "image_id": i,
            }
        )
    return out


def _gathered(targets: list, preds: list, first_image_id: int = 0) -> tuple:
    return A._gathered_sides(targets, preds, first_image_id)


@pytest.mark.parametrize("odd", range(9))
@pytest.mark.parametrize("seed", range(8))
def test_gathered_side_equals_numpy_side(seed, odd):
    rng = np.random.default_rng(seed)
    targets = _targets(rng, int(rng.integers(1, 20)), odd)
    preds = _preds(rng, len(targets))
    fast, fast_preds, ids = _gathered(targets, preds)
    slow = A._side(targets, A._TARGET_KEYS, A._TARGET_FIELDS)
    if fast is None:  # the numpy path reads it: only unusual batches
        assert odd in (2, 4, 5, 6, 8) or slow is None
    else:
        assert odd not in (4, 5, 6, 8)
        _same(fast, slow)
    _same(fast_preds, A._side(preds, A._PRED_KEYS, A._PRED_FIELDS))  # the other side read all the same
    assert_array_equal(ids, A._batch_ids(targets, preds, 0))


@pytest.mark.parametrize("seed", range(10))
def test_preds_and_a_whole_read_alike(seed):
    rng = np.random.default_rng(seed)
    preds = []
    for _ in range(12):
        n = int(rng.integers(0, 30))
        preds.append({"boxes": rng.random((n, 4)), "scores": rng.random(n), "labels": rng.integers(0, 3, n)})
    targets = _targets(rng, 12, 0)
    _same(_gathered(targets, preds)[1], A._side(preds, A._PRED_KEYS, A._PRED_FIELDS))
    names = {k: str(k) for k in range(6)}
    fast = A.check_arrays(targets, preds, box_format="xywh", categories=names).columns
    A_kernels, A.kernels = A.kernels, None  # the numpy path alone
    try:
        slow = A.check_arrays(targets, preds, box_format="xywh", categories=names).columns
    finally:
        A.kernels = A_kernels
    _assert_same_columns(fast, slow)


def _gather(dicts: list, keys: tuple = ("k",), widths: tuple = (4,), first: Any = 0) -> Any:
    """gather_batch of `dicts` as targets, the preds plain (one row each)."""
    preds = [{"labels": np.zeros(1, np.int64)} for _ in dicts]
    return kernels.gather_batch(
        dicts, preds, (keys, widths), (("labels",), (0,)), "image_id", first, np.ndarray
    )


def test_gather_by_hand():
    a, b = np.array([[1.0, 2, 3, 4]]), np.zeros((0, 4))
    c = np.array([[5.0, 6, 7, 8], [9, 10, 11, 12]])
    gt, dt, ids = _gather([{"k": a}, {"k": b}, {"k": c}])
    counts, ((fmt, data, lows, highs, low, high),) = gt
    assert fmt == "d"
    assert lows == (1.0, 2.0, 3.0, 4.0) and highs == (9.0, 10.0, 11.0, 12.0) and (low, high) == (1.0, 12.0)
    assert_array_equal(np.frombuffer(data, np.float64).reshape(-1, 4), np.concatenate([a, b, c]))
    assert np.frombuffer(counts, np.int64).tolist() == [1, 0, 2]
    assert np.frombuffer(dt[0], np.int64).tolist() == [1, 1, 1]
    assert np.frombuffer(ids, np.int64).tolist() == [0, 1, 2]  # first_image_id + i without ids
    assert _gather([{"k": a}, {"j": a}], ("k", "j"))[0] is None  # a key left out
    assert _gather([{"k": a}, {"j": a}])[0] is None  # a key not among the keys
    assert _gather([{"k": a}, {1: a}])[0] is None  # a key not a str
    assert _gather([{"k": a}, {"k": a.astype(np.float32)}])[0] is None  # 2 dtypes
    assert _gather([{"k": a}], widths=(0,))[0] is None  # 2-d where 1-d is expected
    assert _gather([{"k": a[:, :2]}])[0] is None  # (N, 2)
    assert _gather([{"k": c[:, ::2]}], widths=(2,))[0] is None  # not contiguous
    assert _gather([{"k": a.tolist()}])[0] is None  # not an array
    assert _gather([]) == (None, None, None)
    assert _gather([[1]]) == (None, _gather([[1]])[1], None)  # not a dict: no side, no ids
    assert _gather([{"k": a, "j": np.ones(2)}], ("k", "j"), (4, 0))[0] is None  # rows unlike the first's
    assert _gather([{"k": a}], ("k", "j"), (4, 0))[0][1][1] is None  # a field no dict gives
    assert _gather([{"j": a}], ("k", "j"), (4, 4))[0] is None  # ... but the first one (the labels)
    text = "".join(["ke", "y"])  # the same text, another object than the literal
    assert text is not "key" and _gather([{text: a}], ("key",))[0] is not None  # noqa: F632
    with pytest.raises(TypeError):
        kernels.gather_batch({"k": a}, [], (("k",), (4,)), (("k",), (4,)), "image_id", 0, np.ndarray)
    with pytest.raises(TypeError):
        kernels.gather_batch([], [], (("k",), (4,)), (("k",), (4,)), "image_id", 0, 3)  # not a type
    with pytest.raises(TypeError):
        kernels.gather_batch([], [], (("k",), ()), (("k",), (4,)), "image_id", 0, np.ndarray)  # no field
    with pytest.raises(ValueError):
        _gather([{"k": a}], widths=(9,))


def test_gather_bounds_by_hand():
    def bounds(*arrays: np.ndarray, width: int = 0) -> tuple:
        return _gather([{"k": a} for a in arrays], widths=(width,))[0][1][0][2:]

    assert bounds(np.array([3, -7], np.int32), np.zeros(0, np.int32)) == ((-7,), (3,), -7, 3)
    assert bounds(np.array([2**62, -(2**62)], np.int64)) == ((-(2**62),), (2**62,), -(2**62), 2**62)  # exact
    assert bounds(np.array([True, False])) == ((0,), (1,), 0, 1)
    assert bounds(np.array([1.5, -2], np.float32)) == ((-2.0,), (1.5,), -2.0, 1.5)
    assert bounds(np.array([np.inf, np.inf]), np.array([np.inf])) == ((np.inf,), (np.inf,), np.inf, np.inf)
    assert bounds(np.array([-np.inf, 1, 2, 3, 4])) == ((-np.inf,), (4.0,), -np.inf, 4.0)  # an odd tail
    assert bounds(np.zeros(0)) == (None, None, None, None)  # no rows
    assert bounds(np.zeros(2, np.uint16)) == (None, None, None, None)  # a format it does not reduce
    lows, highs, low, high = bounds(np.array([[1.0, np.nan], [0.0, 3.0]]), width=2)
    assert lows[0] == 0.0 and highs[0] == 1.0 and np.isnan(lows[1]) and np.isnan(highs[1])
    assert np.isnan(low) and np.isnan(high)
    lows, highs, low, high = bounds(np.array([[1.0, 5, -3, 4], [0.0, 3.0, 2, 9]]), width=4)
    assert lows == (0.0, 3.0, -3.0, 4.0) and highs == (1.0, 5.0, 2.0, 9.0) and (low, high) == (-3.0, 9.0)
    for n in range(9):  # every tail of the two-lane loop, a NaN in each place
        for k in range(n):
            a = np.arange(n, dtype=np.float64)
            a[k] = np.nan
            assert all(np.isnan(v) for v in bounds(a, np.arange(3.0))[2:])


@pytest.mark.parametrize("odd", range(9))
@pytest.mark.parametrize("seed", range(4))
def test_gathered_bounds_equal_numpy_reductions(seed, odd):
    rng = np.random.default_rng(seed)
    targets = _targets(rng, int(rng.integers(1, 20)), odd)
    preds = _preds(rng, len(targets))
    for side in _gathered(targets, preds)[:2]:
        if side is None:
            continue
        for f, a in side.columns.items():
            if f not in side.bounds:
                assert not len(a) or a.dtype.kind not in "fib", f
                continue
            lows, highs = side.bounds[f]
            a2 = a.reshape(len(a), -1)
            assert_array_equal(np.array(lows, a2.dtype), np.minimum.reduce(a2, axis=0))
            assert_array_equal(np.array(highs, a2.dtype), np.maximum.reduce(a2, axis=0))
            assert side.span(f) == (np.minimum.reduce(a, axis=None), np.maximum.reduce(a, axis=None))


_IDS: list[Any] = [None, 0, 5, -3, 2**63 - 1, 2**63, -(2**63) - 1, True, np.int64(5), np.array([5]), 5.0, "5"]


@pytest.mark.parametrize("seed", range(60))
def test_gathered_ids_equal_batch_ids(seed):
    """The kernel's image ids are _batch_ids' where it gives them (None otherwise): ids given
    or not, of every kind, repeated, disagreeing between targets and preds."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    targets, preds = _targets(rng, n, 0), _preds(rng, n)
    for d in targets + preds:
        pick = int(rng.integers(0, 3 * len(_IDS)))
        if pick < len(_IDS):
            d["image_id"] = _IDS[pick]
        elif pick < len(_IDS) + 2:
            del d["image_id"]
        elif pick < len(_IDS) + 4:
            d["image_id"] = int(rng.integers(0, 4))  # repeats
    first = [0, 7, -5, 2**63 - 2, 2**70][seed % 5]
    fast, want = _gathered(targets, preds, first)[2], A._batch_ids(targets, preds, first)
    if fast is not None:
        assert_array_equal(fast, want)
        assert fast.dtype == np.int64
    elif want is not None:  # left to the twin: only for ids given otherwise than as plain ints
        assert first == 2**70 or any(
            type(d.get("image_id")) not in (int, type(None)) or not -(2**63) <= d["image_id"] < 2**63
            for d in targets + preds
            if d.get("image_id") is not None
        )


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

    _assert_read_as_the_numpy_path(targets, preds, box_format, names)


@pytest.mark.parametrize("side", ["targets", "preds"])
def test_an_unknown_label_on_the_numpy_side_is_refused(side):
    """One side read by numpy (lists), the other by the kernel: the unknown label of the numpy
    side is named (the kernel side's label span alone does not decide)."""
    plain = {"boxes": np.array([[0.0, 0, 1, 1]]), "labels": np.array([1])}
    listed = {"boxes": [[0.0, 0, 1, 1]], "labels": [9]}
    t, p = (listed, plain) if side == "targets" else (plain, listed)
    p = {**p, "scores": [0.5] if side == "preds" else np.array([0.5])}
    with pytest.raises(A.InputError, match=f"{side}\\[0\\]: labels: has label 9"):
        A.check_arrays([t], [p], box_format="xywh", categories={1: "a", 2: "b"})


def _spoil(rng: np.random.Generator, targets: list, preds: list) -> None:
    """One random change of the kind a training loop's batch may hold."""
    side = targets if rng.random() < 0.5 else preds
    i = int(rng.integers(0, len(side)))
    d = side[i]
    key = list(d)[int(rng.integers(0, len(d)))]
    v = d[key]
    kind = int(rng.integers(0, 14))
    if kind == 0 and isinstance(v, np.ndarray):
        d[key] = v.tolist()  # a list
    elif kind == 1 and isinstance(v, np.ndarray):
        d[key] = v.astype(np.float32 if v.dtype.kind == "f" else np.int32)
    elif kind == 2 and isinstance(v, np.ndarray) and v.size and v.dtype.kind == "f":
        odd = [np.nan, np.inf, -np.inf, -1.0, 1e300][int(rng.integers(0, 5))]
        v.reshape(-1)[int(rng.integers(0, v.size))] = odd
    elif kind == 3 and isinstance(v, np.ndarray) and v.ndim == 2:
        d[key] = np.asfortranarray(np.concatenate([v, v]))[: len(v)]  # not contiguous
    elif kind == 4 and isinstance(v, np.ndarray):
        d[key] = v.reshape(-1) if v.ndim == 2 else v.reshape(-1, 1)  # another shape
    elif kind == 5:
        del d[key]
    elif kind == 6:
        d["extra"] = 1  # an unknown key
    elif kind == 7 and key == "labels" and len(v):
        v[0] = [0, 9, -1, 2**40][int(rng.integers(0, 4))]  # not among the categories
    elif kind == 8:
        side[i] = _Mapping(d)  # not a dict
    elif kind == 9:
        d[key] = v.astype(np.uint8) if isinstance(v, np.ndarray) else v
    elif kind == 10 and isinstance(v, np.ndarray):
        d[key] = np.concatenate([v, v[:1]])  # a row more than the labels
    elif kind == 11:
        d["image_id"] = [None, 0, np.int64(3), True, 2**64, "x"][int(rng.integers(0, 6))]
    elif kind == 12 and isinstance(v, np.ndarray) and v.dtype.kind == "i" and len(v):
        v[0] = 2  # a flag or label of another value
    elif kind == 13:
        side[i] = {k: np.zeros((0, 4) if k == "boxes" else 0) if k != "image_id" else x for k, x in d.items()}


class _Mapping(dict):
    """A dict of another type."""


@pytest.mark.parametrize("seed", range(200))
def test_spoilt_batches_read_as_the_numpy_path_reads_them(seed):
    """Random changes to plain batches (lists, other dtypes, NaN and infinities, negative
    sizes, other shapes, non-contiguous arrays, unknown labels and keys, odd ids, empty
    images): the kernel's path gives the numpy path's columns, or its error message."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    targets, preds = _targets(rng, n, int(rng.integers(0, 9))), _preds(rng, n)
    for p in preds:
        p["labels"] = p["labels"] + 1
    for _ in range(int(rng.integers(0, 3))):
        _spoil(rng, targets, preds)
    names = {k: str(k) for k in range(1, 6)}
    box_format = ["xywh", "xyxy", "cxcywh"][seed % 3]

    _assert_read_as_the_numpy_path(targets, preds, box_format, names)


def _assert_same_columns(fast, slow) -> None:
    """The kernel path's checked columns equal the numpy path's, dtype and shape included."""
    for f in A.fields(A._Columns):
        x, y = getattr(fast, f.name), getattr(slow, f.name)
        if x is None:
            assert y is None
        else:
            assert x.dtype == y.dtype and x.shape == y.shape, f.name
            assert_array_equal(x, y)


def _assert_read_as_the_numpy_path(targets: Any, preds: Any, box_format: str, names: dict[int, str]) -> None:
    """check_arrays gives the same columns, or the same error, with the kernels and without."""

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
