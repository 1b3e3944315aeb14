"""The pure-Python paths (what an install without a C compiler runs) against the references:
the oracle, reader, conformance and protocol tests run again, in a subprocess with
DETRECALL_NO_NATIVE=1, so both sets of hot paths are held to pycocotools and the lvis package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = [
    "tests/test_evaluate_oracle.py",
    "tests/io",
    "tests/test_conformance.py",
    "tests/protocols/test_lvis.py",
    "tests/protocols/test_voc.py",
    "tests/test_streaming.py",
]


def test_oracle_suites_pass_without_the_native_module():
    env = {**os.environ, "DETRECALL_NO_NATIVE": "1"}
    probe = subprocess.run(
        [sys.executable, "-c", "import detrecall._compiled as c; print(c.native)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.strip() == "None", probe.stdout + probe.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.splitlines()[-1]
