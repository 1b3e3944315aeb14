"""detrecall.compat.COCOeval in pycocotools' own demo flow: same stats, arrays, printed lines."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval as ReferenceCOCOeval

from detrecall.compat import COCOeval
from tests.oracle import random_coco

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


def demo_flow(evaluator_class, gt_path: Path, dt_path: Path, iou_type: str, img_subset: bool):
    """pycocotools' pycocoDemo.ipynb: load, loadRes, COCOeval, (imgIds), evaluate, accumulate,
    summarize; returns the evaluator and the summary lines printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        coco_gt = COCO(str(gt_path))
        coco_dt = coco_gt.loadRes(str(dt_path))
        ev = evaluator_class(coco_gt, coco_dt, iou_type)
        if img_subset:
            ev.params.imgIds = sorted(coco_gt.getImgIds())[::2]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev, [line for line in out.getvalue().splitlines() if line.startswith(" Average")]


@pytest.fixture(
    params=[
        "cocoapi-bbox",
        "cocoapi-segm",
        "detectron2-bbox",
        "random-0",
        "random-1",
        "random-2-segm",
        "random-3",
    ]
)
def case(request, tmp_path):
    name = request.param
    if name.startswith("random"):
        seed = int(name.split("-")[1])
        segm = name.endswith("segm")
        gt, dt = random_coco(200 + seed, segm=segm)
        (tmp_path / "gt.json").write_text(json.dumps(gt))
        (tmp_path / "dt.json").write_text(json.dumps(dt))
        return tmp_path / "gt.json", tmp_path / "dt.json", "segm" if segm else "bbox"
    if not CONFORMANCE.is_dir():
        pytest.skip(f"conformance data not found at {CONFORMANCE}")
    source, kind = name.split("-")
    if source == "cocoapi":
        base = CONFORMANCE / "cocoapi"
        return (
            base / "annotations/instances_val2014_100.json",
            base / f"results/instances_val2014_fake{kind}100_results.json",
            kind,
        )
    base = CONFORMANCE / "detectron2/tests/data"
    return (
        base / "test_coco_evaluation.gt_annotations.json",
        base / "test_coco_evaluation.detections.json",
        kind,
    )


@pytest.mark.parametrize("img_subset", [False, True])
def test_demo_flow_equals_pycocotools(case, img_subset):
    gt_path, dt_path, kind = case
    ours, our_lines = demo_flow(COCOeval, gt_path, dt_path, kind, img_subset)
    ref, ref_lines = demo_flow(ReferenceCOCOeval, gt_path, dt_path, kind, img_subset)
    assert_allclose(ours.stats, ref.stats, atol=1e-9, rtol=0)
    for key in ("precision", "recall", "scores"):
        assert ours.eval[key].shape == ref.eval[key].shape
        assert_allclose(ours.eval[key], ref.eval[key], atol=1e-9, rtol=0)
    assert ours.eval["counts"] == ref.eval["counts"]
    assert our_lines == ref_lines and len(our_lines) == 12


def test_install_redirects_existing_imports():
    code = (
        "import detrecall.compat as c; c.install(); "
        "from pycocotools.cocoeval import COCOeval, Params; "
        "import pycocotools.cocoeval as m; "
        "print(COCOeval is c.COCOeval, Params is c.Params, m.COCOeval is c.COCOeval)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]


def test_params_defaults_match_pycocotools():
    from pycocotools.cocoeval import Params as ReferenceParams

    from detrecall.compat import Params

    ours, ref = Params("bbox"), ReferenceParams("bbox")
    for key, value in vars(ref).items():
        ours_value = np.asarray(getattr(ours, key), dtype=object)
        assert np.array_equal(ours_value, np.asarray(value, dtype=object)), key
