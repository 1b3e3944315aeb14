"""detrecall._memory: inside reusing_freed_memory() a freed array's pages serve the next one
(no new page faults); on leaving, the free memory goes back to the system."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import numpy as np
import pytest

from detrecall import _memory

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _memory._malloc().libc is None, reason="glibc's malloc only"
)
BIG = 48 << 20  # bytes: past glibc's largest mmap threshold (32 MiB), so mapped afresh outside


def _faults_of_cycles(n: int) -> int:
    """Minor page faults of n arrays of BIG bytes made, written and dropped in turn."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        a = np.empty(BIG, np.uint8)
        a[::4096] = 1  # one write a page
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


@glibc
def test_freed_pages_serve_the_next_array_inside_and_go_back_on_leaving(monkeypatch):
    monkeypatch.delenv(_memory.ENV, raising=False)
    outside = _faults_of_cycles(4)
    with _memory.reusing_freed_memory():
        inside = _faults_of_cycles(4)
        held = _rss()
    after = _rss()
    # outside, every array is faulted in anew; inside, the first one only
    assert inside * 2 < outside, (inside, outside)
    assert held - after > BIG // 2, (held, after)  # malloc_trim handed the kept pages back
    assert _memory._malloc().depth == 0


@glibc
def test_blocks_nest_and_the_environment_turns_it_off(monkeypatch):
    malloc = _memory._malloc()
    with _memory.reusing_freed_memory():
        with _memory.reusing_freed_memory():
            assert malloc.depth == 2
        assert malloc.depth == 1
    assert malloc.depth == 0
    with _memory.reusing_freed_memory():
        on = _faults_of_cycles(4)
    monkeypatch.setenv(_memory.ENV, "0")
    with _memory.reusing_freed_memory():
        assert malloc.depth == 0
        off = _faults_of_cycles(4)
    assert on * 2 < off, (on, off)  # off: every array mapped and faulted in anew


def test_reusing_keeps_a_function_as_it_was():
    @_memory.reusing
    def add(a: int, b: int = 2) -> int:
        """Adds."""
        return a + b

    assert add(1) == 3 and add.__doc__ == "Adds." and add.__name__ == "add"
