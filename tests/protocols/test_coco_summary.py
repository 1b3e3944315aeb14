"""COCO's summary table: labels as pycocotools prints them for the same params, names that say
what each number is, the same 12 numbers everywhere (summary, compat, JSON)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from detrecall import evaluate
from detrecall.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

PARAMS = [
    ([0.5], [1, 10, 300]),
    (None, None),
    ([0.5, 0.75], [1, 5, 20]),
    ([0.3, 0.6, 0.9], [2, 10, 100]),
    (None, [1, 10, 100, 300]),
]


def _pycocotools_lines(iou, max_dets) -> list[str]:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(FIXTURES / "gt.json"))
        e = COCOeval(gt, gt.loadRes(str(FIXTURES / "dt_bbox.json")), "bbox")
        if iou is not None:
            e.params.iouThrs = np.array(iou)
        if max_dets is not None:
            e.params.maxDets = max_dets
        e.evaluate()
        e.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        e.summarize()
    return out.getvalue().splitlines()


def _label(line: str) -> str:
    return line.rsplit(" = ", 1)[0]


@pytest.mark.parametrize(("iou", "max_dets"), PARAMS)
def test_cli_labels_equal_pycocotools_line_for_line(iou, max_dets, capsys) -> None:
    argv = ["evaluate", str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json")]
    if iou is not None:
        argv += ["--iou-thresholds", *map(str, iou)]
    if max_dets is not None:
        argv += ["--max-dets", *map(str, max_dets)]
    assert main(argv) == 0
    ours = capsys.readouterr().out.splitlines()[:12]
    theirs = _pycocotools_lines(iou, max_dets)
    assert [_label(x) for x in ours] == [_label(x) for x in theirs]
    for a, b in zip(ours, theirs):  # same value, 'n/a' where pycocotools prints -1.000
        value = b.rsplit(" = ", 1)[1]
        assert a.rsplit(" = ", 1)[1].strip() == ("n/a" if value == "-1.000" else value)


def test_json_names_each_number_for_what_it_is(capsys) -> None:
    argv = ["evaluate", str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json"), "--format", "json"]
    assert main([*argv, "--iou-thresholds", "0.5", "--max-dets", "1", "10", "300"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["coco"]) == [
        "AP", "AP50@300", "AP75@300", "APs@300", "APm@300", "APl@300",
        "AR1", "AR10", "AR300", "ARs@300", "ARm@300", "ARl@300",
    ]  # fmt: skip
    assert "AR300" in data["per_class"][0]
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", iou_thresholds=[0.5], max_dets=[1, 10, 300])
    # the numbers: as pycocotools' stats, by position
    theirs = [float(line.rsplit(" = ", 1)[1]) for line in _pycocotools_lines([0.5], [1, 10, 300])]
    ours = [round(v, 3) for v in r.coco.stats]
    assert ours == theirs
    assert data["coco"]["AR300"] == r.coco.values[8] == r.coco.AR300 == r.coco["AR100"]


def test_default_names_are_pycocotools_names() -> None:
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json")
    assert list(r.to_dict()["coco"]) == [
        "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"
    ]  # fmt: skip
    labels = [d.label() for d in r.coco.metrics]
    assert labels[0] == "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"
    assert re.search(r"maxDets= 10 \]$", labels[7])


def test_one_max_dets_names_each_distinct_number_once() -> None:
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", max_dets=[100])
    names = list(r.to_dict()["coco"])
    assert len(names) == len(set(names)) and "AR100" in names and "AR10" not in names
    assert r.coco.values[6] == r.coco.values[8]  # AR at max_dets[0] and at the largest: one cut
