"""Run detrecall.compat.COCOeval and pycocotools' COCOeval on the same inputs and compare every
attribute: ious, evalImgs, eval, stats and the printed summary."""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval as ReferenceCOCOeval

from detrecall.compat import COCOeval

Setup = Callable[[Any], None]


def quiet(fn: Callable[[], Any]) -> tuple[Any, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = fn()
    return value, out.getvalue()


def coco_of(dataset: dict[str, Any]) -> COCO:
    coco, _ = quiet(COCO)
    coco.dataset = copy.deepcopy(dataset)
    quiet(coco.createIndex)
    return coco


def run(
    cls: type,
    gt: Callable[[], Any],
    dt: Callable[[Any], Any],
    iou_type: str,
    setup: Setup | None = None,
    steps: Callable[[Any], None] | None = None,
) -> tuple[Any, list[str]]:
    """Build fresh COCO objects (pycocotools mutates them), evaluate, accumulate, summarize;
    the evaluator and the printed lines without timings."""

    def go() -> Any:
        coco_gt = gt()
        ev = cls(coco_gt, dt(coco_gt), iou_type)
        if setup is not None:
            setup(ev.params)
        if steps is not None:
            steps(ev)
        else:
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return ev

    ev, printed = quiet(go)
    return ev, [ln for ln in printed.splitlines() if not ln.startswith("DONE")]


def assert_same_ious(ours: dict[Any, Any], ref: dict[Any, Any]) -> None:
    assert list(ours) == list(ref)
    for key, r in ref.items():
        o = ours[key]
        assert type(o) is type(r), key
        if isinstance(r, np.ndarray):
            assert o.shape == r.shape, key
            assert_allclose(o, r, atol=1e-12, rtol=0, err_msg=str(key))
        else:
            assert o == r, key


def assert_same_eval_imgs(ours: list[Any], ref: list[Any]) -> None:
    assert len(ours) == len(ref)
    for i, (o, r) in enumerate(zip(ours, ref)):
        if r is None:
            assert o is None, i
            continue
        assert o is not None, i
        assert list(o) == list(r), i
        for key in ("image_id", "category_id", "maxDet"):
            assert o[key] == r[key], (i, key)
        assert list(o["aRng"]) == list(r["aRng"]), i
        for key in ("dtIds", "gtIds", "dtScores"):
            assert list(o[key]) == list(r[key]), (i, key)
        for key in ("dtMatches", "gtMatches", "gtIgnore", "dtIgnore"):
            a, b = np.asarray(o[key]), np.asarray(r[key])
            assert a.shape == b.shape and a.dtype == b.dtype, (i, key, a.shape, b.shape, a.dtype, b.dtype)
            assert_array_equal(a, b, err_msg=f"{i} {key}")


def assert_same_eval(ours: Any, ref: Any) -> None:
    assert ours.eval["counts"] == ref.eval["counts"]
    for key in ("precision", "recall", "scores"):
        assert ours.eval[key].shape == ref.eval[key].shape, key
        assert_allclose(ours.eval[key], ref.eval[key], atol=1e-12, rtol=0, err_msg=key)
    assert_allclose(ours.stats, ref.stats, atol=1e-12, rtol=0)


def assert_same_run(
    gt: Callable[[], Any],
    dt: Callable[[Any], Any],
    iou_type: str,
    setup: Setup | None = None,
    steps: Callable[[Any], None] | None = None,
    *,
    attributes: bool = True,
) -> tuple[Any, Any]:
    """Both evaluators on the same inputs: equal printed lines, eval, stats and (after those,
    so that reading them does not change the path taken) ious and evalImgs."""
    ref, ref_lines = run(ReferenceCOCOeval, gt, dt, iou_type, setup, steps)
    ours, our_lines = run(COCOeval, gt, dt, iou_type, setup, steps)
    assert our_lines == ref_lines
    if ref.eval:
        assert_same_eval(ours, ref)
    if attributes:
        assert_same_ious(ours.ious, ref.ious)
        assert_same_eval_imgs(ours.evalImgs, ref.evalImgs)
    return ours, ref
