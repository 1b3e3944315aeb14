"""Every output format parsed back (json, csv module, a small Markdown table parser) equals the
result object's values."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest

from detrecall import evaluate
from detrecall.report import formats
from detrecall.report.diagnose import diagnose

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def coco():
    return evaluate(
        FIXTURES / "gt.json",
        FIXTURES / "dt_bbox.json",
        confusion=True,
        target_recall=0.7,
        target_precision=0.8,
    )


@pytest.fixture(scope="module")
def voc():
    return evaluate(
        FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", protocol="voc", iou_thresholds=[0.5, 0.7]
    )


def parse_markdown(text: str) -> dict[str, list[dict[str, str]]]:
    """{heading: rows as {header: cell}} for each `#### heading` followed by a GitHub table;
    `\\|` and `\\\\` unescaped."""
    out: dict[str, list[dict[str, str]]] = {}
    for section in re.split(r"^#### ", text, flags=re.M)[1:]:
        heading, _, body = section.partition("\n")
        lines = [line for line in body.strip().splitlines() if line.startswith("|")]
        if not lines:
            continue

        def cells(line: str) -> list[str]:
            parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            return [p.strip().replace("\\|", "|").replace("\\\\", "\\") for p in parts]

        headers = cells(lines[0])
        assert all(re.fullmatch(r":--|--:", c) for c in cells(lines[1]))
        out[heading] = [dict(zip(headers, cells(line))) for line in lines[2:]]
    return out


def same(cell: str, value: float | int | None, digits: int = 3) -> bool:
    """A shown cell equals the value: 'n/a' for NaN, '' for None, else within the rounding."""
    if value is None:
        return cell == ""
    if isinstance(value, float) and math.isnan(value):
        return cell == "n/a"
    if isinstance(value, int):
        return int(cell) == value
    return abs(float(cell) - value) <= 0.5 * 10**-digits + 1e-12


def test_json_is_to_dict_with_schema_version_and_diagnostics(coco):
    data = json.loads(formats.to_json(coco))
    assert data.pop("schema_version") == formats.SCHEMA_VERSION == 1
    assert data == json.loads(json.dumps(coco.to_dict()))
    d = diagnose(coco)
    data = json.loads(formats.to_json(coco, d))
    assert data["diagnostics"] == json.loads(json.dumps(d.to_dict()))
    assert data["point"]["at_recall"]["target"] == 0.7


def test_csv_equals_the_result(coco):
    rows = list(csv.DictReader(io.StringIO(formats.to_csv(coco))))
    p = coco.point
    assert [r["name"] for r in rows] == [*p.names, "all", "macro avg", "weighted avg"]
    for row, c, m in zip(rows, p.per_class, coco.per_class):
        assert int(row["category_id"]) == c.category_id == m.category_id
        for key in ("AP", "AP50", "AP75", "AR100"):
            assert float(row[key]) == getattr(m, key)  # full precision: equal, not close
        for key in ("support", "tp", "fp", "fn"):
            assert int(row[key]) == getattr(c, key)
        for key in ("precision", "recall", "f1"):
            assert float(row[key]) == getattr(c, key)
        assert float(row["best_f1_threshold"]) == c.best_f1.threshold
    total = rows[len(p.names)]
    assert total["category_id"] == ""
    assert [float(total[k]) for k in ("AP", "AP50", "AP75", "AR100")] == [
        coco.coco.AP,
        coco.coco.AP50,
        coco.coco.AP75,
        coco.coco.AR100,
    ]
    assert int(total["tp"]) == p.counts.tp.sum() and int(total["support"]) == p.counts.support.sum()
    assert (float(total["precision"]), float(total["recall"]), float(total["f1"])) == (
        p.micro.precision,
        p.micro.recall,
        p.micro.f1,
    )
    assert float(total["best_f1_threshold"]) == p.best_f1_overall.threshold
    for row, kind in zip(rows[-2:], ("macro", "weighted")):
        r = p.average(kind)
        assert (float(row["precision"]), float(row["recall"]), float(row["f1"])) == (
            r.precision,
            r.recall,
            r.f1,
        )
        assert row["AP"] == row["tp"] == row["best_f1_threshold"] == ""


def test_csv_of_a_voc_result_and_undefined_cells(voc, tmp_path):
    rows = list(csv.DictReader(io.StringIO(formats.to_csv(voc))))
    assert list(rows[0])[:5] == ["category_id", "name", "npos", "AP@0.5", "AP@0.7"]
    for row, c in zip(rows, voc.voc.classes):
        assert int(row["npos"]) == c.npos
        assert [float(row["AP@0.5"]), float(row["AP@0.7"])] == list(c.ap)
    assert [float(rows[len(voc.voc.classes)][k]) for k in ("AP@0.5", "AP@0.7")] == list(voc.voc.mAP)
    # a class without ground truth: AP undefined -> empty cell
    gt = json.loads((FIXTURES / "gt.json").read_text())
    gt["categories"].append({"id": 99, "name": "zebra"})
    r = evaluate(gt, FIXTURES / "dt_bbox.json")
    zebra = next(row for row in csv.DictReader(io.StringIO(formats.to_csv(r))) if row["name"] == "zebra")
    assert zebra["AP"] == zebra["AR100"] == "" and zebra["support"] == "0"


def test_markdown_tables_equal_the_result(coco):
    d = diagnose(coco)
    text = formats.to_markdown(coco, d)
    tables = parse_markdown(text)
    summary = tables["Summary (COCO)"]
    assert [r["metric"] for r in summary] == list(coco.coco.to_dict())
    for row, value in zip(summary, coco.coco.as_tuple()):
        assert same(row["value"], value)
    assert summary[0]["definition"] == "IoU=0.50:0.95 | area=all | maxDets=100"
    per_class = tables["Per class (bbox)"]
    for row, m in zip(per_class, coco.per_class, strict=True):
        assert int(row["id"]) == m.category_id and row["class"] == m.name
        assert all(same(row[k], getattr(m, k)) for k in ("AP", "AP50", "AP75", "AR100"))
    p = coco.point
    point = tables["Operating point: IoU >= 0.5, score >= 0 (bbox)"]
    for row, c in zip(point, p.per_class):
        assert row["class"] == c.name
        assert [int(row[k]) for k in ("support", "TP", "FP", "FN")] == [c.support, c.tp, c.fp, c.fn]
        assert same(row["precision"], c.precision) and same(row["recall"], c.recall)
        assert same(row["F1"], c.f1) and same(row["own best-F1 thr"], c.best_f1.threshold)
    for row, kind in zip(point[-3:], ("micro", "macro", "weighted")):
        r = p.average(kind)
        assert row["class"] == f"{kind} avg" and int(row["TP"]) == p.counts.tp.sum()
        assert same(row["precision"], r.precision) and same(row["F1"], r.f1)
    chosen = tables["Chosen score thresholds (all classes pooled, IoU >= 0.5)"]
    points = [p.best_f1_overall, p.at_recall[2], p.at_precision[2]]
    assert [r["operating point"] for r in chosen] == [
        "best F1",
        "best precision at recall >= 0.7",
        "best recall at precision >= 0.8",
    ]
    for row, o in zip(chosen, points):
        want = {"score >=": o.threshold, "precision": o.precision, "recall": o.recall, "F1": o.f1}
        assert all(same(row[k], v) for k, v in want.items())
    confusion = tables["Confusion matrix at IoU >= 0.5, score >= 0 (rows: truth, columns: prediction)"]
    assert [r["truth \\ pred"] for r in confusion] == [*p.names, "background"]
    assert [[int(r[n]) for n in [*p.names, "background"]] for r in confusion] == p.confusion.tolist()
    findings = text.split("#### Diagnostics\n\n")[1].strip().splitlines()
    assert findings == [f"- **{f.level}**: {f.message}" for f in d.findings]


def test_markdown_of_voc_and_lvis(voc):
    from tests.protocols.test_lvis import random_lvis

    tables = parse_markdown(formats.to_markdown(voc))
    summary = tables["Summary (Pascal VOC)"]
    assert [r["metric"] for r in summary] == ["mAP@0.5", "mAP@0.7"]
    assert all(same(r["value"], m) for r, m in zip(summary, voc.voc.mAP))
    classes = tables["Per class (bbox, Pascal VOC allpoint)"]
    for row, c in zip(classes, voc.voc.classes, strict=True):
        assert int(row["GT"]) == c.npos and int(row["TP"]) == c.tp[0] and int(row["FP"]) == c.fp[0]
        assert same(row["AP@0.5"], c.ap[0]) and same(row["AP@0.7"], c.ap[1])
    gt, dt = random_lvis(4)
    r = evaluate(gt, dt, protocol="lvis")
    summary = parse_markdown(formats.to_markdown(r))["Summary (LVIS)"]
    assert {row["metric"]: row["value"] for row in summary}.keys() == r.lvis.to_dict().keys()
    assert all(
        same(row["value"], math.nan if v is None else v) for row, v in zip(summary, r.lvis.to_dict().values())
    )
    rows = list(csv.DictReader(io.StringIO(formats.to_csv(r))))
    all_row = next(row for row in rows if row["name"] == "all")
    assert (float(all_row["AP"]) if all_row["AP"] else math.nan) == pytest.approx(r.lvis.AP, nan_ok=True)


def test_markdown_escapes_pipes_in_names():
    gt = json.loads((FIXTURES / "gt.json").read_text())
    gt["categories"][0]["name"] = "per|son"
    tables = parse_markdown(formats.to_markdown(evaluate(gt, FIXTURES / "dt_bbox.json")))
    assert tables["Per class (bbox)"][0]["class"] == "per|son"


def test_classification_report_formats():
    from sklearn.metrics import classification_report

    y_true = ["cat", "dog", "cat", "bird", "dog", "dog"]
    y_pred = ["cat", "cat", "cat", "bird", "dog", "bird"]
    want = classification_report(y_true, y_pred, output_dict=True)
    from detrecall.metrics import classification_report as ours

    report = ours(y_true, y_pred, output_dict=True)
    rows = list(csv.DictReader(io.StringIO(formats.report_csv(report))))
    assert [r["label"] for r in rows] == list(want)
    for row in rows:
        if row["label"] == "accuracy":
            assert float(row["f1-score"]) == want["accuracy"] and row["precision"] == ""
            continue
        for key in ("precision", "recall", "f1-score"):
            assert float(row[key]) == pytest.approx(want[row["label"]][key], abs=1e-12)
        assert int(row["support"]) == want[row["label"]]["support"]
    md = parse_markdown("#### r\n\n" + formats.report_markdown(report))["r"]
    for row in md:
        if row["label"] != "accuracy":
            assert same(row["recall"], want[row["label"]]["recall"])
            assert int(row["support"]) == want[row["label"]]["support"]


def test_json_is_standard_json_for_infinite_bounds_and_beta() -> None:
    """VOC's area range is (-inf, inf) and beta may be inf: no Infinity/NaN tokens in the JSON,
    which strict parsers (JavaScript, orjson) refuse."""
    import json
    from pathlib import Path

    import orjson

    from detrecall import evaluate

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"

    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    for kw in ({"protocol": "voc"}, {"beta": float("inf")}):
        text = formats.to_json(evaluate(fixtures / "gt.json", fixtures / "dt_bbox.json", **kw))
        data = json.loads(text, parse_constant=refuse)
        assert orjson.loads(text) == data
    assert data["point"]["beta"] == "Infinity"
    voc = json.loads(
        formats.to_json(evaluate(fixtures / "gt.json", fixtures / "dt_bbox.json", protocol="voc"))
    )
    assert voc["params"]["area_ranges"] == {"all": ["-Infinity", "Infinity"]}


def test_markdown_and_csv_keep_hostile_class_names_in_their_cells() -> None:
    """A newline in a class name does not break the Markdown table; a name a spreadsheet would
    run as a formula is quoted in the CSV."""
    import csv
    import io
    import json
    from pathlib import Path

    from detrecall import evaluate

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    gt = json.loads((fixtures / "gt.json").read_text())
    gt["categories"][0]["name"] = "two\nlines|here"
    gt["categories"][1]["name"] = "=cmd|' /C calc'!A0"
    r = evaluate(gt, fixtures / "dt_bbox.json")
    md = formats.to_markdown(r)
    assert all(not line.startswith("lines") for line in md.splitlines())
    assert "two lines\\|here" in md
    table = list(csv.reader(io.StringIO(formats.to_csv(r))))
    names = [row[1] for row in table[1:]]
    assert "'=cmd|' /C calc'!A0" in names and "=cmd|' /C calc'!A0" not in names
