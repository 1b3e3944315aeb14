"""Issue 20 item 13: `compare` and `convert` show a spinner on stderr naming the stage, only when
stderr is a terminal and not --quiet; nothing on stderr in pipes (CI logs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GT, DT = ROOT / "fixtures" / "gt.json", ROOT / "fixtures" / "dt_bbox.json"


def run_with_stderr_on_a_terminal(*args: object) -> tuple[int, str, str]:
    """The CLI with stderr on a pseudo-terminal (stdout a pipe): (status, stdout, stderr)."""
    pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX-only")
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    with subprocess.Popen(
        [sys.executable, "-m", "detrecall.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
        cwd=ROOT,
    ) as proc:
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        out = proc.stdout.read().decode()
        status = proc.wait(timeout=120)
    return status, out, b"".join(chunks).decode(errors="replace")


def run_piped(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "detrecall.cli", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_compare_spins_on_a_terminal_only(tmp_path):
    args = ("compare", GT, DT, DT, "--bootstrap", "20")
    status, out, err = run_with_stderr_on_a_terminal(*args)
    assert status == 0
    for stage in ("evaluating the baseline", "evaluating the candidate", "paired bootstrap, 20 replicates"):
        assert stage in err
    piped = run_piped(*args)
    assert piped.returncode == 0 and piped.stderr == "" and piped.stdout == out  # same result, no spinner
    status, out, err = run_with_stderr_on_a_terminal(*args, "--quiet")
    assert status == 0 and err == "" and out == piped.stdout


def test_convert_spins_on_a_terminal_only(tmp_path):
    status, out, err = run_with_stderr_on_a_terminal("convert", GT, tmp_path / "a.csv", "--to", "csv")
    assert status == 0 and "converting" in err and out.startswith("wrote ")
    piped = run_piped("convert", GT, tmp_path / "b.csv", "--to", "csv")
    assert piped.returncode == 0 and piped.stderr == ""
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    status, _, err = run_with_stderr_on_a_terminal(
        "convert", GT, tmp_path / "c.csv", "--to", "csv", "--quiet"
    )
    assert status == 0 and err == ""
