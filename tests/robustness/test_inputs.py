"""Every case of `cases.py` through the Python API (only DetrecallError, located) and through
the CLI in a subprocess (exit 2, one `detrecall: error:` line per problem, no traceback, no
signal, no hang), batched: one interpreter per format."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from detrecall.errors import DataWarning, DetrecallError, GeometryRepairWarning, UndefinedMetricWarning

from .cases import ALL, FORMATS, Case

DRIVER = Path(__file__).with_name("_driver.py")
TIMEOUT = 60  # seconds for one API case; a batch gets this per case


def _api_outcome(case: Case, tmp: Path) -> BaseException | None:
    """What the API call of `case` raised (None: it returned), run in a thread so that a hang
    (a FIFO opened for reading blocks) fails the test instead of the run."""
    inputs = case.build(tmp)
    outcome: list[BaseException | None] = []

    def call() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a RuntimeWarning leaking out fails the case
            for kind in (DataWarning, UndefinedMetricWarning, GeometryRepairWarning):
                warnings.simplefilter("ignore", kind)
            try:
                inputs.api()
                outcome.append(None)
            except BaseException as e:  # noqa: BLE001 - reported below
                outcome.append(e)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        pytest.fail(f"hangs (no answer in {TIMEOUT} s)")
    return outcome[0]


@pytest.mark.parametrize("name", list(ALL))
def test_api_raises_only_located_detrecall_errors(name: str, tmp_path: Path) -> None:
    case = ALL[name]
    raised = _api_outcome(case, tmp_path)
    if not case.expect:
        assert raised is None, repr(raised)
        return
    assert isinstance(raised, DetrecallError), repr(raised)
    for fragment in case.expect:
        assert fragment in str(raised), (fragment, str(raised))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_cli_in_a_subprocess(fmt: str, tmp_path: Path) -> None:
    cases = FORMATS[fmt]
    argvs = {}
    for k, (name, case) in enumerate(cases.items()):
        folder = tmp_path / f"case{k}"
        folder.mkdir()
        argvs[name] = case.build(folder).argv
    (tmp_path / "cases.json").write_text(json.dumps(argvs))
    proc = subprocess.run(
        [sys.executable, str(DRIVER), str(tmp_path / "cases.json")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT * len(cases),
    )
    seen = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, (
        f"the process ended with {proc.returncode} (a negative code is a signal) after "
        f"{[s['name'] for s in seen]}: {proc.stderr[-2000:]}"
    )
    assert [s["name"] for s in seen] == list(cases)
    failures = []
    for s in seen:
        case, err = cases[s["name"]], s["stderr"]
        lines = err.splitlines()
        problems = []
        if s["raised"] is not None or "Traceback" in err:
            problems.append(f"traceback: {s['raised'] or err}")
        elif case.expect:
            if s["code"] != 2:
                problems.append(f"exit {s['code']}, expected 2")
            if not any(line.startswith("detrecall: error: ") for line in lines):
                problems.append("no `detrecall: error:` line")
            if not all(line.startswith(("detrecall: error: ", "detrecall: warning: ")) for line in lines):
                problems.append("a line that is neither an error nor a warning")
            problems += [f"no {f!r}" for f in case.expect if f not in err]
        elif s["code"] != 0:
            problems.append(f"exit {s['code']}, expected 0")
        if any("RuntimeWarning" in line or "encountered in" in line for line in lines):
            problems.append("a numpy warning leaked")
        if problems:
            failures.append(f"{s['name']}: {'; '.join(problems)}\n    stderr: {err.strip()[:500]}")
    assert not failures, "\n".join(failures)


def test_every_input_item_of_the_issue_has_cases() -> None:
    covered = {item for case in ALL.values() for item in case.items}
    assert covered >= {1, 2, 4, 7, 8, 9, 10, 11, 12, 14, 17, 18}
