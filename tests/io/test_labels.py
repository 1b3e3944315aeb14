"""Label files for `detrecall classify`: read right, refused with the place named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detrecall.errors import InputError
from detrecall.io.labels import read_labels


def test_each_form_reads_the_same_labels(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1\n2\n\n3\n")
    (tmp_path / "a.json").write_text("[1, 2, 3]")
    np.save(tmp_path / "a.npy", np.array([1, 2, 3]))
    (tmp_path / "a.csv").write_text("id,label\n7,1\n8,2\n9,3\n")
    for name, column in (("a.txt", None), ("a.json", None), ("a.npy", None), ("a.csv", "label")):
        np.testing.assert_array_equal(read_labels(tmp_path / name, column), [1, 2, 3])
    (tmp_path / "s.txt").write_text("cat\n dog\n")
    assert read_labels(tmp_path / "s.txt").tolist() == ["cat", "dog"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.txt", b"1\n\xff\xfe\n", "bad.txt: is not UTF-8 text (byte 2)"),
        ("bad.npy", b"not an npy file", "bad.npy: not a readable .npy array of labels"),
        ("ragged.json", b"[[1, 2], [3]]", "ragged.json: label 0: is [1, 2] (expected labels that are all"),
        ("mixed.json", b'[1, "a", null]', "mixed.json: label 1: is 'a' (expected labels that are all"),
        ("empty.txt", b"", "empty.txt: has no labels"),
        ("short.csv", b"id,label\n1,2\n3\n", "short.csv: line 3: has 1 fields, no 'label'"),
    ],
)
def test_bad_label_files_are_refused_by_the_cli(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    column = "label" if name.endswith(".csv") else None
    with pytest.raises(InputError):
        read_labels(path, column)
    args = [sys.executable, "-m", "detrecall.cli", "classify", str(path), str(path)]
    out = subprocess.run(
        args + (["--column", column] if column else []), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"detrecall: error: {tmp_path / message}"), out.stderr
    assert "Traceback" not in out.stderr


def test_object_arrays_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([1.5, 2.5]))
    with pytest.raises(InputError, match="1-D float64 array"):
        read_labels(tmp_path / "o.npy")
    (tmp_path / "d.json").write_text(json.dumps({"a": 1}))
    with pytest.raises(InputError, match="expected a list of labels"):
        read_labels(tmp_path / "d.json")
