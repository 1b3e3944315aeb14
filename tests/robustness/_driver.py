"""Runs many CLI invocations in one process (one interpreter start for a whole batch).

    python tests/robustness/_driver.py CASES.json

CASES.json maps a case name to its argv (after `detrecall`). For each case, in order, one JSON
line on stdout: {"name", "code", "stderr", "raised"}: the exit status `detrecall.cli.main`
returned, what it wrote on stderr, and the repr of any exception that escaped it (a traceback
for a user). A signal kills the whole process: the caller sees a negative return code.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
import warnings


def run(argv: list[str]) -> dict[str, object]:
    from detrecall.cli import main

    err, out = io.StringIO(), io.StringIO()
    raised = None
    code: object = None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("default")
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors
            code = e.code
        except BaseException:  # a traceback for a user
            raised = traceback.format_exc()
    return {"code": code, "stderr": err.getvalue(), "raised": raised}


def _main() -> None:
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for name, argv in cases.items():
        print(json.dumps({"name": name, **run(argv)}), flush=True)


if __name__ == "__main__":
    _main()
