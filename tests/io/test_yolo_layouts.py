"""Ultralytics layouts: a dataset root's data.yaml found for its label folders, and predictions
saved without `save_conf` refused with a hint naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from detrecall.cli import main
from detrecall.errors import InputError
from detrecall.io import read_detections, read_ground_truth
from tests.io.test_yolo import png


def _dataset(root: Path, labels: Path, images: Path) -> None:
    """Two images with one object each, classes named only by the root's data.yaml."""
    labels.mkdir(parents=True)
    images.mkdir(parents=True)
    for stem, line in (("a", "0 0.5 0.5 0.2 0.2\n"), ("b", "1 0.25 0.25 0.1 0.1\n")):
        (images / f"{stem}.png").write_bytes(png(40, 20))
        (labels / f"{stem}.txt").write_text(line)
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n"
    )


@pytest.mark.parametrize(
    "layout",
    [("labels/val", "images/val"), ("valid/labels", "valid/images")],  # Ultralytics, Roboflow exports
)
def test_data_yaml_at_the_dataset_root_is_found(layout: tuple[str, str], tmp_path: Path) -> None:
    labels, images = tmp_path / "ds" / layout[0], tmp_path / "ds" / layout[1]
    _dataset(tmp_path / "ds", labels, images)
    gt = read_ground_truth(labels, "yolo")
    assert gt.categories.names == ("cat", "dog") and gt.categories.ids.tolist() == [0, 1]
    assert gt.category_id.tolist() == [0, 1]


def test_a_names_file_in_the_folder_wins_over_the_root(tmp_path: Path) -> None:
    labels = tmp_path / "ds" / "labels" / "val"
    _dataset(tmp_path / "ds", labels, tmp_path / "ds" / "images" / "val")
    (labels / "classes.txt").write_text("car\nbus\n")
    assert read_ground_truth(labels, "yolo").categories.names == ("car", "bus")


def test_predictions_without_scores_name_save_conf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "ds" / "labels" / "val"
    _dataset(tmp_path / "ds", labels, tmp_path / "ds" / "images" / "val")
    preds = tmp_path / "runs" / "detect" / "predict" / "labels"  # model.predict(save_txt=True)
    preds.mkdir(parents=True)
    (preds / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.05 0.05\n")
    (preds / "b.txt").write_text("1 0.25 0.25 0.1 0.1\n")
    with pytest.raises(InputError) as info:
        read_detections(preds, read_ground_truth(labels, "yolo"), "yolo")
    lines = str(info.value).splitlines()
    assert lines[0] == f"{preds / 'a.txt'}: line 1: has 5 values (expected class cx cy w h score)"
    assert len(lines) == 4 and lines[-1] == (
        f"{preds}: hint: 3 line(s) have 5 values, class cx cy w h without a score: Ultralytics writes "
        "the score only with save_conf=True (model.predict(..., save_txt=True, save_conf=True)); 5 values "
        "are ground truth"
    )
    assert main(["evaluate", str(labels), str(preds)]) == 2
    assert "save_conf=True" in capsys.readouterr().err.splitlines()[-1]
