"""Freed memory kept for reuse while detrecall reads and evaluates (glibc's malloc only).

An evaluation makes and drops arrays of tens of megabytes (a column per detection) one after
another. glibc maps each allocation past 32 MiB afresh and unmaps it on free, so every such
array is faulted in and zeroed page by page by the kernel: on 5.6M detections that was over a
third of the time (`perf`: clear_page_erms). Inside `reusing_freed_memory()` malloc serves
every allocation from its heap (M_MMAP_MAX 0) and keeps what is freed (M_TRIM_THRESHOLD at
its largest), so the next array takes pages already faulted in; peak memory barely moves
(the same arrays are alive at once). On leaving, the outermost block hands the free memory
back (malloc_trim) and sets malloc's thresholds to where its own dynamic rule settles after
large frees (mmap from 32 MiB, trim from 64 MiB): malloc has no getter, so the values from
before cannot be restored exactly, and setting any of them ends that dynamic rule for the
process. Process-wide while inside (every thread's allocations); nested and concurrent
blocks share one count. DETRECALL_REUSE_MEMORY=0 turns it off; elsewhere than glibc it does
nothing.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

ENV = "DETRECALL_REUSE_MEMORY"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_INT_MAX = 2**31 - 1
_AFTER = ((_M_MMAP_MAX, 65536), (_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 64 << 20))


class _Malloc:
    """glibc's mallopt and malloc_trim, found once (None elsewhere); the count of open blocks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.libc: Any = None
        if sys.platform.startswith("linux"):
            import ctypes  # here: not on the import of the readers

            try:
                libc = ctypes.CDLL(None)
                names = ("mallopt", "malloc_trim", "gnu_get_libc_version")  # glibc's, not musl's
                if all(hasattr(libc, n) for n in names):
                    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                    libc.malloc_trim.argtypes = [ctypes.c_size_t]
                    self.libc = libc
            except OSError:
                self.libc = None

    def enter(self) -> bool:
        with self.lock:
            if self.libc is None:
                return False
            self.depth += 1
            if self.depth == 1:
                self.libc.mallopt(_M_MMAP_MAX, 0)
                self.libc.mallopt(_M_TRIM_THRESHOLD, _INT_MAX)
            return True

    def leave(self) -> None:
        with self.lock:
            assert self.libc is not None
            self.depth -= 1
            if self.depth == 0:
                for param, value in _AFTER:
                    self.libc.mallopt(param, value)
                self.libc.malloc_trim(0)


_FOUND: list[_Malloc] = []  # made on first use
_FINDING = threading.Lock()


def _malloc() -> _Malloc:
    with _FINDING:
        if not _FOUND:
            _FOUND.append(_Malloc())
        return _FOUND[0]


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Inside: malloc keeps freed memory for the next allocations (see the module's text)."""
    if os.environ.get(ENV, "").strip().lower() in ("0", "false", "no", "off"):
        yield
        return
    malloc = _malloc()
    if not malloc.enter():
        yield
        return
    try:
        yield
    finally:
        malloc.leave()


_P = ParamSpec("_P")
_R = TypeVar("_R")


def reusing(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """`fn` run inside reusing_freed_memory() (a reader's columns are made and dropped alike)."""

    @functools.wraps(fn)
    def inside(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with reusing_freed_memory():
            return fn(*args, **kwargs)

    return inside
