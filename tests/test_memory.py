"""detrecall._memory: inside reusing_freed_memory() a freed array's pages serve the next one
(no new page faults); on leaving, the free memory goes back to the system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from detrecall import _memory

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _memory._malloc().libc is None, reason="glibc's malloc only"
)
BIG = 48 << 20  # bytes: past glibc's largest mmap threshold (32 MiB), so mapped afresh outside
THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")
always_huge = pytest.mark.skipif(
    THP.exists() and "[always]" in THP.read_text(),
    reason="transparent huge pages for every mapping: page faults count 2 MiB pages as they come",
)


_FRESH = """
import json, resource
from pathlib import Path
import numpy as np
from detrecall import _memory
BIG = %d
# no transparent huge pages for numpy's arrays (it asks for them past 4 MiB): a fault is a page
# of 4 KiB then, whatever the kernel has free at the time
(np._core if hasattr(np, "_core") else np.core).multiarray._set_madvise_hugepage(False)

def faults(n):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        a = np.empty(BIG, np.uint8)
        a[::4096] = 1
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()

outside = faults(4)
with _memory.reusing_freed_memory():
    inside = faults(4)
    held = rss()
after = rss()
import os
os.environ[_memory.ENV] = "0"
with _memory.reusing_freed_memory():
    off = faults(4)
print(json.dumps([outside, inside, held, after, _memory._malloc().depth, off]))
"""


@glibc
@always_huge
def test_freed_pages_serve_the_next_array_inside_and_go_back_on_leaving():
    # a fresh process: malloc's thresholds as a program starts with them
    env = {k: v for k, v in os.environ.items() if k != _memory.ENV and not k.startswith("MALLOC_")}
    run = subprocess.run(
        [sys.executable, "-c", _FRESH % BIG], capture_output=True, text=True, env=env, check=True
    )
    outside, inside, held, after, depth, off = json.loads(run.stdout)
    # outside, every array is mapped and faulted in anew; inside, the first one only; turned
    # off by the environment, as outside
    assert inside * 2 < outside and inside * 2 < off, (inside, outside, off)
    assert held - after > BIG // 2, (held, after)  # malloc_trim handed the kept pages back
    assert depth == 0


@glibc
def test_blocks_nest_and_the_environment_turns_it_off(monkeypatch):
    malloc = _memory._malloc()
    with _memory.reusing_freed_memory():
        with _memory.reusing_freed_memory():
            assert malloc.depth == 2
        assert malloc.depth == 1
    assert malloc.depth == 0
    monkeypatch.setenv(_memory.ENV, "0")
    with _memory.reusing_freed_memory():
        assert malloc.depth == 0


def test_reusing_keeps_a_function_as_it_was():
    @_memory.reusing
    def add(a: int, b: int = 2) -> int:
        """Adds."""
        return a + b

    assert add(1) == 3 and add.__doc__ == "Adds." and add.__name__ == "add"
