"""The compiled hot paths of detrecall/_native.c, or None where they were not built.

Every caller keeps a pure-Python path with the same results; DETRECALL_NO_NATIVE=1 in the
environment turns the compiled one off (to compare the two, or to rule it out).
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("DETRECALL_NO_NATIVE", "") not in ("", "0"):
        return None
    try:
        from . import _native
    except ImportError:
        return None
    return _native


native: ModuleType | None = _load()
