"""evaluate(errors=, per_image=, slices=): the analyses from the one matching pass, in the
result, its JSON and the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from detrecall import evaluate
from detrecall.analysis.errors import tide
from detrecall.cli import main
from detrecall.evaluate import make_config, read_inputs
from tests.oracle import random_coco

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_slices_errors_and_per_image_through_evaluate() -> None:
    gt, dt = random_coco(5)
    ids = [im["id"] for im in gt["images"]]
    slices = {"even": ids[::2], "first3": ids[:3]}
    r = evaluate(gt, dt, errors=True, per_image=True, slices=slices, confusion=True)
    for name, part in slices.items():
        alone = evaluate(gt, dt, image_ids=part, confusion=True)
        assert r.slices[name].to_dict() == alone.to_dict()
        assert np.array_equal(r.slices[name].point.confusion, alone.point.confusion)
    config = make_config("bbox")
    g, d = read_inputs(gt, dt, config)
    assert r.errors.to_dict() == tide(g, d, evaluate(gt, dt)).to_dict()
    table = r.per_image
    assert table.to_dict() is not None
    data = r.to_dict()
    assert set(data["errors"]["dAP"]) == {"cls", "loc", "both", "dupe", "bkg", "miss"}
    assert data["slices"]["even"]["coco"] == evaluate(gt, dt, image_ids=ids[::2]).to_dict()["coco"]


def test_cli_errors_per_image_and_slices(tmp_path: Path, capsys) -> None:
    slices = tmp_path / "slices.json"
    slices.write_text(json.dumps({"some": [1000, 1007, 1014]}))
    per_image = tmp_path / "per_image.csv"
    argv = ["evaluate", str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json"), "--errors",
            "--per-image", str(per_image), "--slices", str(slices)]  # fmt: skip
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "errors" in data and list(data["slices"]) == ["some"]
    rows = list(csv.DictReader(io.StringIO(per_image.read_text())))
    assert list(rows[0])[:8] == ["image_id", "tp", "fp", "fn", "precision", "recall", "f1", "AP50"]
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json")
    assert sum(int(row["tp"]) for row in rows) == int(r.point.counts.tp.sum())
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "dAP" in text and "Slice some" in text


def test_label_errors_through_evaluate_and_the_cli(capsys) -> None:
    from detrecall.analysis.label_errors import label_errors

    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", label_errors=True)
    g, d = read_inputs(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", make_config("bbox"))
    assert r.label_errors.to_dict() == label_errors(g, d, evaluate(g, d)).to_dict()
    assert main(["evaluate", str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json"), "--label-errors",
                 "--format", "json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["label_errors"] == r.label_errors.to_dict()
