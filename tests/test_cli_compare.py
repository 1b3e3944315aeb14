"""`detrecall evaluate --ci` and `detrecall compare`, run as real subprocesses on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import detrecall
from detrecall.analysis.bootstrap import METRICS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GT, DT = FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "detrecall.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled detections, a clearly weaker model (half of them), and one that lost a
    single image's detections (a small drop that is not significant)."""
    tmp = tmp_path_factory.mktemp("models")
    dt = json.loads(DT.read_text())
    rng = np.random.default_rng(0)
    r = detrecall.evaluate(GT, DT)
    pm = r.point_matches
    image = int(pm.det_image[pm.hit_det[~pm.hit_ignored][0]])
    out = {"base": DT}
    for name, kept in (
        ("weak", [d for d in dt if rng.random() < 0.5]),
        ("one_image_less", [d for d in dt if d["image_id"] != image]),
    ):
        out[name] = tmp / f"{name}.json"
        out[name].write_text(json.dumps(kept))
    return out


def test_evaluate_ci_adds_intervals_to_json_and_table(tmp_path: Path) -> None:
    out = run(
        "evaluate",
        GT,
        DT,
        "--ci",
        "0.9",
        "--bootstrap",
        "50",
        "--seed",
        "4",
        "--format",
        "json",
        "--output",
        tmp_path / "r.json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    want = detrecall.bootstrap(detrecall.evaluate(GT, DT), n=50, seed=4, confidence=0.9)
    iv = data["intervals"]
    assert (iv["n"], iv["seed"], iv["confidence"], iv["n_images"]) == (50, 4, 0.9, 36)
    assert_allclose([iv["overall"][m]["low"] for m in METRICS], want.low, rtol=0, atol=1e-15)
    assert iv["per_class"][0]["AP"]["high"] == want.class_high[0, 0]
    assert json.loads((tmp_path / "r.json").read_text())["intervals"] == iv
    table = run("evaluate", GT, DT, "--ci", "0.95", "--bootstrap", "30")
    assert table.returncode == 0, table.stderr
    assert "Bootstrap 95% intervals: 30 replicates of 36 images (seed 0)" in table.stdout
    assert "Per class, estimate [95% interval]" in table.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", "3"], "--bootstrap and --seed go with --ci"),
        (["--ci", "95"], "confidence must be in (0, 1)"),
        (["--ci", "0.95", "--bootstrap", "0"], "n (bootstrap replicates) must be"),
    ],
)
def test_evaluate_bad_ci_flags_exit_2(flags: list[str], message: str) -> None:
    out = run("evaluate", GT, DT, *flags)
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1


def test_compare_with_itself_passes_and_shows_zero_deltas() -> None:
    out = run(
        "compare",
        GT,
        DT,
        DT,
        "--max-drop",
        "AP=0",
        "--max-drop",
        "recall=0",
        "--bootstrap",
        "50",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for m in METRICS:
        row = data["comparison"]["overall"][m]
        assert row["delta"] == 0 and row["low"] == 0 and row["high"] == 0
        assert row["p_value"] == 1.0 and row["significant"] is False
    assert data["gate"] == {
        "max_drop": {"AP": 0.0, "recall": 0.0},
        "significant_only": False,
        "passed": True,
        "failures": [],
    }


def test_compare_fails_on_a_regression(models: dict[str, Path]) -> None:
    out = run(
        "compare",
        GT,
        models["base"],
        models["weak"],
        "--max-drop",
        "AP=0.005",
        "--max-drop",
        "precision=0.5",
        "--bootstrap",
        "200",
        "--significant-only",
    )
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    ap = next(line for line in lines if line.startswith("AP "))
    assert ap.split()[-2:] == ["0.005", "FAIL"] and "yes" in ap
    assert next(line for line in lines if line.startswith("precision")).split()[-1] == "ok"
    assert lines[-1].startswith("FAIL: AP dropped by")
    assert out.stderr.startswith("detrecall: regression: AP dropped by")


def test_compare_passes_within_the_allowed_drop(models: dict[str, Path]) -> None:
    out = run("compare", GT, models["base"], models["weak"], "--max-drop", "AP=0.9", "--bootstrap", "20")
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith("PASS: no metric dropped by more than allowed")


def test_a_drop_that_is_not_significant_passes_only_with_significant_only(models: dict[str, Path]) -> None:
    args = (
        "compare",
        GT,
        models["base"],
        models["one_image_less"],
        "--max-drop",
        "recall=0.001",
        "--bootstrap",
        "300",
        "--format",
        "json",
    )
    strict = run(*args)
    assert strict.returncode == 1, strict.stderr
    row = json.loads(strict.stdout)["comparison"]["overall"]["recall"]
    assert row["delta"] < -0.001 and row["significant"] is False
    lenient = run(*args, "--significant-only")
    assert lenient.returncode == 0, lenient.stderr
    assert json.loads(lenient.stdout)["gate"]["passed"] is True


def test_compare_saved_results(tmp_path: Path, models: dict[str, Path]) -> None:
    for name in ("base", "weak"):
        assert run("evaluate", GT, models[name], "--output", tmp_path / f"{name}.json").returncode == 0
    out = run(
        "compare",
        tmp_path / "base.json",
        tmp_path / "weak.json",
        "--max-drop",
        "AP50=0.01",
        "--format",
        "json",
    )
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    want = detrecall.compare(detrecall.evaluate(GT, models["base"]), detrecall.evaluate(GT, models["weak"]))
    got = data["comparison"]["overall"]["AP50"]
    assert_allclose(got["delta"], want.get("AP50").delta, rtol=0, atol=1e-12)
    assert got["low"] is None and got["p_value"] is None and data["comparison"]["n"] == 0
    same = run("compare", tmp_path / "base.json", tmp_path / "base.json", "--max-drop", "AP=0")
    assert same.returncode == 0 and "Saved results" in same.stdout
    sig = run("compare", tmp_path / "base.json", tmp_path / "weak.json", "--significant-only")
    assert sig.returncode == 2 and "significant_only needs a bootstrap" in sig.stderr


def test_compare_saved_results_made_differently_exit_2(tmp_path: Path) -> None:
    assert run("evaluate", GT, DT, "--output", tmp_path / "a.json").returncode == 0
    assert run("evaluate", GT, DT, "--iou-threshold", "0.7", "--output", tmp_path / "b.json").returncode == 0
    out = run("compare", tmp_path / "a.json", tmp_path / "b.json")
    assert out.returncode == 2 and "other parameters" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-drop", "mAP=0.01"], "unknown metric 'mAP'; expected one of AP, AP50"),
        (["--max-drop", "AP"], "--max-drop expects METRIC=AMOUNT"),
        (["--max-drop", "AP=-1"], "must be a number >= 0"),
    ],
)
def test_compare_bad_gate_exits_2(args: list[str], message: str) -> None:
    out = run("compare", GT, DT, DT, "--bootstrap", "5", *args)
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1


def test_compare_needs_two_or_three_files() -> None:
    out = run("compare", GT)
    assert out.returncode == 2 and "GT BASE_DT CAND_DT or BASE.json CAND.json" in out.stderr
    out = run("compare", GT, DT)  # not saved results
    assert out.returncode == 2 and "not a saved detrecall result" in out.stderr


def test_compare_per_class_tables(models: dict[str, Path]) -> None:
    out = run(
        "compare",
        GT,
        models["base"],
        models["weak"],
        "--per-class",
        "--bootstrap",
        "20",
        "--max-drop",
        "F1=1",
    )
    assert out.returncode == 0, out.stderr
    assert "Per class, F1:" in out.stdout and "1 person" in out.stdout


def test_a_candidate_that_loses_a_defined_metric_fails(tmp_path: Path) -> None:
    """No counted detection: the candidate's precision is undefined (0/0) while the baseline's
    is 0.857 at score >= 0.6 — a gate on precision must fail, not skip it."""
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    out = run(
        "compare",
        GT,
        DT,
        empty,
        "--bootstrap",
        "40",
        "--max-drop",
        "precision=0.01",
        "--score-threshold",
        "0.6",
        "--format",
        "json",
    )
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    base = detrecall.evaluate(GT, DT, score_threshold=0.6).point.micro.precision
    assert data["gate"]["failures"] == [
        {"metric": "precision", "drop": base, "allowed": 0.01, "significant": True}
    ]


def test_too_few_replicates_for_significance_is_refused() -> None:
    out = run("compare", GT, DT, DT, "--bootstrap", "30", "--significant-only", "--max-drop", "AP=0.01")
    assert out.returncode == 2 and out.stdout == ""
    assert "with 30 replicates no p-value can fall below 0.0645" in out.stderr
    assert "use at least 40 replicates" in out.stderr


def test_saved_results_regression_says_significance_was_not_tested(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    """Issue: a saved-results failure printed 'not significant' although nothing was tested."""
    for name in ("base", "weak"):
        assert run("evaluate", GT, models[name], "--output", tmp_path / f"{name}.json").returncode == 0
    out = run("compare", tmp_path / "base.json", tmp_path / "weak.json", "--max-drop", "AP50=0.01")
    assert out.returncode == 1
    assert "n/a (saved results: no bootstrap)" in out.stderr and "not significant" not in out.stderr
    data = json.loads(
        run("compare", tmp_path / "base.json", tmp_path / "weak.json", "--max-drop", "AP50=0.01",
            "--format", "json").stdout
    )  # fmt: skip
    assert data["gate"]["failures"][0]["significant"] is None


@pytest.mark.parametrize(
    ("iou_type", "extra", "options"),
    [("keypoints", [], {}), ("boundary", ["--dilation-ratio", "0.05"], {"dilation_ratio": 0.05})],
)
def test_compare_evaluates_every_iou_type(tmp_path: Path, iou_type: str, extra: list, options: dict) -> None:
    from tests.oracle import random_coco
    from tests.protocols.test_keypoints import random_keypoints

    gt, dt = random_keypoints(4) if iou_type == "keypoints" else random_coco(4, segm=True)
    weak = [d for i, d in enumerate(dt) if i % 3]
    paths = {}
    for name, data in (("gt", gt), ("base", dt), ("cand", weak)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    r = run(
        "compare", paths["gt"], paths["base"], paths["cand"], "--iou-type", iou_type, *extra,
        "--format", "json", "--bootstrap", "50",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    overall = json.loads(r.stdout)["comparison"]["overall"]
    base = detrecall.evaluate(paths["gt"], paths["base"], iou_type, **options)
    cand = detrecall.evaluate(paths["gt"], paths["cand"], iou_type, **options)
    assert overall["AP"]["baseline"] == pytest.approx(base.coco.AP, abs=1e-12)
    assert overall["AP"]["candidate"] == pytest.approx(cand.coco.AP, abs=1e-12)
