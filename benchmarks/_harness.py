"""What every benchmark script shares: one timed run of a tool in its own process (the worker
writes its measurements to a JSON file), peak RSS, whether a tool is installed, a table cell."""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MODULES = {"faster-coco-eval": "faster_coco_eval", "ultrafast-pycocotools": "ultrafast_pycocotools"}
ROOT = Path(__file__).resolve().parent.parent
PYCACHE = ROOT / "benchmarks" / "data" / "pycache"


def worker_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A timed run's environment, bytecode cached (in benchmarks/data/pycache): with
    PYTHONDONTWRITEBYTECODE set, as on this machine, every run would compile detrecall's
    sources (an editable install) while the peers' come compiled from their wheels."""
    out = dict(os.environ if env is None else env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return out


def compile_sources() -> None:
    """detrecall's bytecode written into the cache before a timed run (quick when it is there)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "detrecall")],
        env=worker_env(),
        capture_output=True,
        check=False,
    )


def peak_mib() -> float:
    """This process's peak resident memory, MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def installed(tool: str) -> bool:
    return importlib.util.find_spec(MODULES.get(tool, tool)) is not None


def cell(values: Sequence[float], scale: float = 1.0, digits: int = 2, width: int = 7) -> str:
    """`median [min-max]` (the median alone for one value; '-' for none)."""
    if not values:
        return "-"
    v = [x * scale for x in values]
    med = statistics.median(v)
    if len(v) == 1:
        return f"{med:{width}.{digits}f}"
    return f"{med:{width}.{digits}f} [{min(v):.{digits}f}-{max(v):.{digits}f}]"


def run_worker(
    script: str,
    args: Sequence[str],
    timeout: float,
    *,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run `script --worker ... --result FILE` in a fresh Python (bytecode cached: worker_env)
    and return what it wrote, with its wall time under "wall"; {"error": why} when it timed
    out or failed."""
    fd, name = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    compile_sources()
    env = worker_env(env)
    cmd = [sys.executable, str(Path(script).resolve()), *args, "--result", name]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, preexec_fn=preexec_fn
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or [""])[-1]
            if proc.returncode in (-9, 137):
                last = "killed (out of memory?) " + last
            return {"error": f"failed (exit status {proc.returncode}) {last}".strip()}
        out: dict[str, Any] = json.loads(Path(name).read_text())
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    finally:
        Path(name).unlink(missing_ok=True)
    out["wall"] = wall
    return out
