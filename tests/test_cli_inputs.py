"""`detrecall evaluate` on inputs that are not what they should be: every bad record and a hint,
`--only-gt-images`, and one warning naming each suspicion (xyxy or normalized boxes, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from numpy.testing import assert_allclose

from detrecall.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GT = FIXTURES / "gt.json"
RESULTS: list[dict[str, Any]] = json.loads((FIXTURES / "dt_bbox.json").read_text())


def _run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, list[str]]:
    code = main(["evaluate", *map(str, args), "--format", "json"])
    out = capsys.readouterr()
    return code, out.out, out.err.splitlines()


def _write(tmp_path: Path, records: list[dict[str, Any]], name: str = "dt.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_results_on_other_images_all_named_then_only_gt_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = [dict(r, image_id=r["image_id"] + 10**6) if k % 5 == 0 else r for k, r in enumerate(RESULTS)]
    dt = _write(tmp_path, moved)
    code, out, err = _run(capsys, GT, dt)
    n = len(moved[::5])
    assert code == 2 and out == ""
    assert err[0] == (
        f"detrecall: error: {dt}: result 0: image_id: {moved[0]['image_id']} not found in the ground "
        f"truth's images ({GT})"
    )
    assert err[20] == f"detrecall: error: ... and {n - 20} more problem(s) not shown"
    assert err[21].startswith(f"detrecall: error: {dt}: hint: {n} result(s) on ")
    assert err[21].endswith("use only_gt_images=True (--only-gt-images)") and len(err) == 22
    code, out, err = _run(capsys, GT, dt, "--only-gt-images")
    assert code == 0
    assert len(err) == 1 and err[0].startswith(f"detrecall: warning: {dt}: {n} result(s) on ")
    assert "does not have left out (only_gt_images)" in err[0]
    kept = _write(tmp_path, [r for k, r in enumerate(RESULTS) if k % 5], "kept.json")
    code, want, err = _run(capsys, GT, kept)
    assert code == 0 and err == []
    assert_allclose(list(json.loads(out)["coco"].values()), list(json.loads(want)["coco"].values()), atol=0)
