"""Every Python code block of README.md runs as written, copied into a script, on the bundled
example (the file names the README uses are copies of fixtures/ in a scratch folder)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
BLOCKS = [
    code
    for lang, code in re.findall(r"```(\w*)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if lang == "python"
]


def _example_files(folder: Path) -> None:
    """The inputs the README's examples name, made from the bundled example."""
    gt = json.loads((FIXTURES / "gt.json").read_text())
    dt = json.loads((FIXTURES / "dt_bbox.json").read_text())
    for name in ("gt.json", "instances_val2017.json"):
        (folder / name).write_text(json.dumps(gt))
    for name in ("dt.json", "detections.json"):
        (folder / name).write_text(json.dumps(dt))
    for k, images in enumerate((gt["images"][::2], gt["images"][1::2])):
        ids = {im["id"] for im in images}
        part = {**gt, "images": images, "annotations": [a for a in gt["annotations"] if a["image_id"] in ids]}
        (folder / f"gt_part{k}.json").write_text(json.dumps(part))
        (folder / f"dt_part{k}.json").write_text(json.dumps([d for d in dt if d["image_id"] in ids]))

    def rbox(b: list[float]) -> list[float]:
        return [b[0] + b[2] / 2, b[1] + b[3] / 2, b[2], b[3], 15.0]

    rotated = {**gt, "annotations": [{**a, "rbox": rbox(a["bbox"])} for a in gt["annotations"]]}
    (folder / "dota_gt.json").write_text(json.dumps(rotated))
    (folder / "dota_results.json").write_text(json.dumps([{**d, "rbox": rbox(d["bbox"])} for d in dt]))
    lvis = {
        **gt,
        "images": [{**im, "neg_category_ids": [], "not_exhaustive_category_ids": []} for im in gt["images"]],
        "categories": [{**c, "frequency": "fcr"[i % 3]} for i, c in enumerate(gt["categories"])],
        "annotations": [a for a in gt["annotations"] if not a.get("iscrowd")],
    }
    (folder / "lvis_v1_val.json").write_text(json.dumps(lvis))
    from PIL import Image  # the images the gallery examples draw on, named by file_name

    (folder / "images").mkdir()
    for k, im in enumerate(gt["images"]):
        color = (60 + 5 * k, 120, 160 - 3 * k)
        Image.new("RGB", (im["width"], im["height"]), color).save(folder / "images" / im["file_name"])


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs_as_a_script(index: int, tmp_path: Path) -> None:
    _example_files(tmp_path)
    script = tmp_path / f"example_{index}.py"
    script.write_text(BLOCKS[index])
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0, f"README block {index}:\n{BLOCKS[index]}\n{out.stderr[-3000:]}"
    assert "Traceback" not in out.stderr


COMMANDS = [
    part.split("#")[0].strip()
    for lang, code in re.findall(r"```(\w*)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if lang == "bash"
    for line in code.splitlines()
    for part in line.split("&&")
    if part.strip().startswith("detrecall ")
]


def test_the_readme_has_commands() -> None:
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_as_written(command: str, tmp_path: Path) -> None:
    import shlex
    import shutil

    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    argv = shlex.split(command)
    out = subprocess.run(
        [sys.executable, "-m", "detrecall.cli", *argv[1:]], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.returncode == 0, f"{command}\n{out.stderr[-2000:]}"
