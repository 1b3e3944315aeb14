"""Loaded by every Python process of a test server (PYTHONPATH): logs each path opened to the file
named by DETRECALL_AUDIT_OPEN, so a test can show that a client's string was never opened."""

import os
import sys

_LOG = os.environ.get("DETRECALL_AUDIT_OPEN")

if _LOG:
    _out = open(_LOG, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    def _hook(event: str, args: tuple) -> None:
        if event == "open" and args and isinstance(args[0], str | bytes):
            path = os.fsdecode(args[0])
            if path != _LOG:
                _out.write(path + "\n")

    sys.addaudithook(_hook)
