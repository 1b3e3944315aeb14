"""The `detrecall` command, run as a real subprocess on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from tests.oracle import reference

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "detrecall.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("dt", "iou_type"), [("dt_bbox.json", "bbox"), ("dt_segm.json", "segm")])
def test_json_equals_pycocotools_on_the_bundled_example(dt: str, iou_type: str) -> None:
    out = run("evaluate", FIXTURES / "gt.json", FIXTURES / dt, "--iou-type", iou_type, "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["schema_version"] == 1
    ref = reference(
        json.loads((FIXTURES / "gt.json").read_text()), json.loads((FIXTURES / dt).read_text()), iou_type
    )
    names = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    assert list(data["coco"]) == names
    got = [-1.0 if data["coco"][n] is None else data["coco"][n] for n in names]
    assert_allclose(got, ref.stats, atol=1e-9, rtol=0)
    per_class = data["per_class"]
    assert [c["category_id"] for c in per_class] == [1, 2, 3, 5, 9]
    assert set(per_class[0]) == {"category_id", "name", "AP", "AP50", "AP75", "AR100"}
    assert per_class[0]["name"] == "person"


def test_table_and_output_file(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    out = run("evaluate", FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", "--output", target)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ")
    assert any(line.startswith("1   person") for line in lines)
    saved = json.loads(target.read_text())
    assert f"{saved['coco']['AP']:.3f}" == lines[0].rsplit("= ", 1)[1].strip()


def test_undefined_values_are_null_in_json(tmp_path: Path) -> None:
    gt = {
        "images": [{"id": 1, "width": 10, "height": 10}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 0}
        ],
        "categories": [{"id": 1, "name": "a"}],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "score": 1}])
    )
    data = json.loads(run("evaluate", tmp_path / "gt.json", tmp_path / "dt.json", "--format", "json").stdout)
    assert data["coco"]["APl"] is None and data["coco"]["APm"] is None
    assert data["coco"]["APs"] > 0.99


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "dt.json: file not found"),
        (lambda p: p.write_text("[{]"), "dt.json: not valid JSON"),
        (
            lambda p: p.write_text(
                '[{"image_id": 1000, "category_id": 1, "bbox": [0, 0, -1, 2], "score": 0.5}]'
            ),
            "dt.json: result 0: bbox: has negative width",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, make, message: str) -> None:
    dt = tmp_path / "dt.json"
    make(dt)
    out = run("evaluate", FIXTURES / "gt.json", dt)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_usage_error_exits_2() -> None:
    out = run("evaluate", "only-one-file.json")
    assert out.returncode == 2 and "usage:" in out.stderr


def test_point_section_in_json_and_table() -> None:
    out = run(
        "evaluate",
        FIXTURES / "gt.json",
        FIXTURES / "dt_bbox.json",
        "--format",
        "json",
        "--iou-threshold",
        "0.6",
        "--score-threshold",
        "0.3",
        "--confusion",
    )
    assert out.returncode == 0, out.stderr
    point = json.loads(out.stdout)["point"]
    assert point["iou_threshold"] == 0.6 and point["score_threshold"] == 0.3
    first = point["per_class"][0]
    assert {"category_id", "name", "tp", "fp", "fn", "support", "precision", "recall", "f1"} <= set(first)
    assert first["support"] == first["tp"] + first["fn"]
    for avg in ("micro", "macro", "weighted"):
        assert set(point[avg]) == {"precision", "recall", "f1"}
    tp = sum(c["tp"] for c in point["per_class"])
    fp = sum(c["fp"] for c in point["per_class"])
    assert point["micro"]["precision"] == pytest.approx(tp / (tp + fp))
    matrix = point["confusion"]["matrix"]
    assert [sum(row) for row in matrix[:-1]] == [c["support"] for c in point["per_class"]]
    table = run("evaluate", FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", "--confusion").stdout
    assert "micro avg" in table and "weighted avg" in table and "Confusion matrix" in table


@pytest.mark.parametrize(
    "flags",
    [
        ["--iou-threshold", "0"],
        ["--score-threshold", "-1"],
        ["--score-threshold", "nan"],
        ["--iou-threshold", "x"],
    ],
)
def test_bad_point_flags_exit_2(flags: list[str]) -> None:
    out = run("evaluate", FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", *flags)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr


def test_classify_prints_scikit_learns_report(tmp_path: Path) -> None:
    from sklearn.metrics import classification_report

    y_true = ["cat", "dog", "cat", "bird", "dog", "dog"]
    y_pred = ["cat", "cat", "cat", "bird", "dog", "bird"]
    (tmp_path / "t.csv").write_text("label\n" + "\n".join(y_true) + "\n")
    (tmp_path / "p.json").write_text(json.dumps(y_pred))
    out = run("classify", tmp_path / "t.csv", tmp_path / "p.json", "--column", "label")
    assert out.returncode == 0, out.stderr
    assert out.stdout == classification_report(y_true, y_pred)
    import numpy as np

    np.save(tmp_path / "t.npy", np.array([0, 1, 1, 0]))
    np.save(tmp_path / "p.npy", np.array([0, 0, 0, 0]))
    out = run("classify", tmp_path / "t.npy", tmp_path / "p.npy", "--format", "json")
    report = json.loads(out.stdout)["report"]
    assert report["accuracy"] == 0.5 and report["1"]["recall"] == 0.0
    assert out.stderr.startswith("detrecall: warning: Precision is ill-defined")
    bad = run("classify", tmp_path / "t.npy", tmp_path / "t.csv")
    assert bad.returncode == 2 and "4 true labels but 7 predicted" in bad.stderr


def test_protocol_voc_and_lvis_json(tmp_path: Path) -> None:
    from detrecall import evaluate
    from tests.protocols.test_lvis import random_lvis

    out = run(
        "evaluate",
        FIXTURES / "gt.json",
        FIXTURES / "dt_bbox.json",
        "--protocol",
        "voc",
        "--iou-thresholds",
        "0.5",
        "0.75",
        "--ap-method",
        "11point",
        "--pixel-inclusive",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    want = evaluate(
        FIXTURES / "gt.json",
        FIXTURES / "dt_bbox.json",
        protocol="voc",
        iou_thresholds=[0.5, 0.75],
        ap_method="11point",
        pixel_inclusive=True,
    )
    assert data["protocol"] == "voc" and data["coco"] is None
    assert data["voc"]["mAP"] == list(want.voc.mAP)
    assert [c["ap"] for c in data["voc"]["classes"]] == [list(c.ap) for c in want.voc.classes]
    table = run("evaluate", FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", "--protocol", "voc")
    assert table.stdout.startswith("Pascal VOC AP (allpoint; TP/FP at IoU 0.5)")

    gt, dt = random_lvis(4)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    out = run(
        "evaluate", tmp_path / "gt.json", tmp_path / "dt.json", "--protocol", "lvis", "--format", "json"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["lvis"] == evaluate(gt, dt, protocol="lvis").lvis.to_dict()
    # a COCO file is not LVIS ground truth: one line, exit 2
    out = run("evaluate", FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", "--protocol", "lvis")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == (
        f"detrecall: error: {FIXTURES / 'gt.json'}: image 0: neg_category_ids: "
        "missing (LVIS ground truth lists it for every image)"
    )


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`detrecall evaluate ... | head`: no 'Broken pipe' error, exit 0."""
    n = 3000  # enough per-class rows to overflow the pipe's buffer
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}],
        "categories": [{"id": k, "name": f"class{k}"} for k in range(1, n + 1)],
        "annotations": [
            {"id": k, "image_id": 1, "category_id": k, "bbox": [0, 0, 5, 5], "area": 25}
            for k in range(1, n + 1)
        ],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]  # no empty-file warning
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "detrecall.cli",
            "evaluate",
            str(tmp_path / "gt.json"),
            str(tmp_path / "dt.json"),
            "--format",
            "csv",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0 and err == "", err


def test_version_says_whether_the_compiled_paths_run():
    import os
    import subprocess
    import sys

    for env, words in (({}, "compiled hot paths"), ({"DETRECALL_NO_NATIVE": "1"}, "pure Python")):
        out = subprocess.run(
            [sys.executable, "-m", "detrecall.cli", "--version"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
        )
        if not env and "DETRECALL_NO_NATIVE" in os.environ:
            continue
        assert out.returncode == 0 and words in out.stdout, out.stdout + out.stderr


def test_every_option_has_help_text() -> None:
    """Issue: three options had no help text."""
    import argparse

    from detrecall.cli import _parser

    def walk(parser: argparse.ArgumentParser, where: str) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{where} {name}")
            elif action.option_strings and action.help in (None, "") and action.dest != "help":
                missing.append(f"{where} {action.option_strings[0]}")
        return missing

    assert walk(_parser(), "detrecall") == []


def test_point_max_dets_caps_the_operating_point(capsys) -> None:
    from detrecall import evaluate
    from detrecall.cli import main

    argv = ["evaluate", str(FIXTURES / "gt.json"), str(FIXTURES / "dt_bbox.json"), "--format", "json"]
    assert main([*argv, "--point-max-dets", "1"]) == 0
    capped = json.loads(capsys.readouterr().out)["point"]["micro"]
    want = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", point_max_dets=1).point.micro
    assert capped["precision"] == want.precision and capped["recall"] == want.recall
    assert main(["classify", str(FIXTURES / "gt.json"), str(FIXTURES / "gt.json"), "--digits", "-3"]) == 2


def test_verbose_prints_each_stage_with_counts_and_time() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "detrecall.cli", "evaluate", str(FIXTURES / "gt.json"),
         str(FIXTURES / "dt_bbox.json"), "--verbose"], capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0
    lines = out.stderr.splitlines()
    assert any(line.startswith("detrecall: read ") and "232 detections in" in line for line in lines)
    assert any(line.startswith("detrecall: matched 232 kept detections") for line in lines)


def test_classify_refuses_an_ambiguous_csv_and_reads_one_file_with_both_columns(tmp_path, capsys) -> None:
    """Issue: a CSV with a header and several columns read its first column, header included."""
    from detrecall.cli import main

    both = tmp_path / "labels.csv"
    lines = [f"{i},{'cat' if i % 3 else 'dog'},{'cat' if i % 2 else 'dog'}\n" for i in range(200)]
    both.write_text("id,label,pred\n" + "".join(lines))
    assert main(["classify", str(both), str(both)]) == 2
    err = capsys.readouterr().err
    assert "has 3 columns (id, label, pred): name the one to read" in err
    assert (
        main(["classify", str(both), "--true-column", "label", "--pred-column", "pred", "--format", "json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["macro avg"]["support"] == 200
    from sklearn.metrics import accuracy_score

    rows = [line.split(",") for line in both.read_text().splitlines()[1:]]
    assert report["accuracy"] == accuracy_score([r[1] for r in rows], [r[2] for r in rows])
    assert main(["classify", str(both), "--true-column", "label"]) == 2
