"""The compiled hot paths of detrecall/_native.c, _kernels.c, _raster.c and _stream.c, or None
where they were not built.

Every caller keeps a pure-Python path with the same results; DETRECALL_NO_NATIVE=1 in the
environment turns the compiled one off (to compare the two, or to rule it out).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _load(name: str) -> ModuleType | None:
    if os.environ.get("DETRECALL_NO_NATIVE", "") not in ("", "0"):
        return None
    try:  # by name: the extensions have no stub, their functions are typed where they are called
        return importlib.import_module(f"{__package__}.{name}")
    except ImportError:
        return None


native: ModuleType | None = _load("_native")
kernels: ModuleType | None = _load("_kernels")
raster: ModuleType | None = _load("_raster")
stream: ModuleType | None = _load("_stream")


def fits_kernels(n_det: int, n_gt: int, n_area: int, n_thr: int) -> bool:
    """Whether _kernels' int32 indices (detections, Dataset rows) and int16 area-range and
    threshold indices hold these counts (else the numpy twins run)."""
    return max(n_det, n_gt) < 2**31 - 1 and max(n_area, n_thr) < 2**15
