"""`detrecall convert`: category ids and names survive every round trip through YOLO, VOC and CSV,
so the original predictions evaluate against the converted ground truth to the same numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from numpy.testing import assert_allclose

from detrecall.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DESTINATIONS = {"yolo": "gt_yolo", "voc": "gt_voc", "csv": "gt.csv"}


def _gt(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The bundled ground truth (category ids 1, 2, 3, 5, 9) with a category of no objects."""
    data = json.loads((FIXTURES / "gt.json").read_text())
    data["categories"].append({"id": 12, "name": "unused"})
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    return path, data


def _coco(path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> list[float]:
    assert main(["evaluate", str(path), str(FIXTURES / "dt_bbox.json"), "--format", "json", *flags]) == 0
    return list(json.loads(capsys.readouterr().out)["coco"].values())


@pytest.mark.parametrize("fmt", ["yolo", "voc", "csv"])
def test_round_trip_keeps_category_ids_and_names(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt, data = _gt(tmp_path)
    middle, back = tmp_path / DESTINATIONS[fmt], tmp_path / "back.json"
    assert main(["convert", str(gt), str(middle), "--to", fmt]) == 0
    assert main(["convert", str(middle), str(back), "--to", "coco"]) == 0
    capsys.readouterr()
    got = json.loads(back.read_text())
    assert got["categories"] == data["categories"]  # ids 1, 2, 3, 5, 9, 12 with their names
    reference = gt
    if fmt == "yolo":  # YOLO has no crowds nor areas: the reference drops them as the conversion does
        anns = [dict(a, area=a["bbox"][2] * a["bbox"][3]) for a in data["annotations"] if not a["iscrowd"]]
        kept = dict(data, annotations=anns)
        reference = tmp_path / "no_crowd.json"
        reference.write_text(json.dumps(kept))
        assert len(got["annotations"]) == len(kept["annotations"]) == len(data["annotations"]) - 2
    want = _coco(reference, capsys)
    assert want[0] > 0.3  # AP: the predictions are found, not all refused or unmatched
    assert_allclose(_coco(back, capsys), want, atol=1e-12, rtol=0)
    assert_allclose(_coco(middle, capsys, "--gt-format", fmt), want, atol=1e-12, rtol=0)


def test_names_file_carries_the_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, _ = _gt(tmp_path)
    assert main(["convert", str(gt), str(tmp_path / "y"), "--to", "yolo"]) == 0
    assert main(["convert", str(gt), str(tmp_path / "g.csv"), "--to", "csv"]) == 0
    capsys.readouterr()
    want = {
        "names": {0: "person", 1: "bicycle", 2: "car", 3: "dog", 4: "kite", 5: "unused"},
        "category_ids": {0: 1, 1: 2, 2: 3, 3: 5, 4: 9, 5: 12},
    }
    assert yaml.safe_load((tmp_path / "y" / "data.yaml").read_text()) == want  # Ultralytics: names 0..K-1
    assert yaml.safe_load((tmp_path / "g.names.yaml").read_text()) == want
    labels = sorted((tmp_path / "y").glob("*.txt"))
    assert {line.split()[0] for f in labels for line in f.read_text().splitlines()} <= set("012345")


def test_ids_zero_based_write_names_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((FIXTURES / "gt.json").read_text())
    renumber = {c["id"]: k for k, c in enumerate(data["categories"])}
    for c in data["categories"]:
        c["id"] = renumber[c["id"]]
    for a in data["annotations"]:
        a["category_id"] = renumber[a["category_id"]]
    (tmp_path / "gt.json").write_text(json.dumps(data))
    assert main(["convert", str(tmp_path / "gt.json"), str(tmp_path / "v"), "--to", "voc"]) == 0
    capsys.readouterr()
    names = yaml.safe_load((tmp_path / "v" / "data.yaml").read_text())
    assert names == {"names": {0: "person", 1: "bicycle", 2: "car", 3: "dog", 4: "kite"}}
    assert (tmp_path / "v" / "classes.txt").read_text() == "person\nbicycle\ncar\ndog\nkite\n"


def test_voc_says_when_categories_share_a_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((FIXTURES / "gt.json").read_text())
    data["categories"][1]["name"] = "person"  # ids 1 and 2 both "person"
    (tmp_path / "gt.json").write_text(json.dumps(data))
    assert main(["convert", str(tmp_path / "gt.json"), str(tmp_path / "v"), "--to", "voc"]) == 0
    n = sum(a["category_id"] == 2 for a in data["annotations"])
    assert capsys.readouterr().err.splitlines() == [
        f"detrecall: warning: {tmp_path / 'v'}: {n} object(s) of categories sharing a name ('person': ids 1 "
        "and 2) read back as the first of them: VOC knows classes by name only (first: category id 2)"
    ]
