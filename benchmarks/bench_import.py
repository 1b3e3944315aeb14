#!/usr/bin/env python3
"""Import time of detrecall and of its peers, each statement in fresh processes.

    python benchmarks/bench_import.py                  # 10 processes per statement, CPU 1
    python benchmarks/bench_import.py --repeats 20 --cpu 0

Statements: `import detrecall`; `import detrecall` then `detrecall.evaluate` (what evaluating
loads); detrecall's read path as bench_coco.py times it (`import detrecall; from detrecall import
read_coco_gt, read_coco_results`); the same path then `detrecall.evaluate`; numpy alone; and
each installed peer's import as bench_coco.py does it. Each run is a fresh Python pinned to
--cpu that times the statement with perf_counter (interpreter start-up excluded, as in
bench_coco.py's import column) and with process_time (CPU seconds: what another process on the
same core adds least to).

Two bytecode conditions, both reported:
- cached: .pyc files kept in a temporary PYTHONPYCACHEPREFIX, written by one untimed run of each
  statement first: what an installed package costs (pip compiles a wheel's modules).
- env: this environment as it is. With PYTHONDONTWRITEBYTECODE=1 (set here) and no __pycache__
  in the working tree, detrecall's modules are compiled from source at each import while the
  peers' .pyc come installed in site-packages: the condition bench_coco.py's column runs in.
Prints median [min-max] in milliseconds per statement and condition.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _harness import cell, installed

DETRECALL_READ = "import detrecall; from detrecall import read_coco_gt, read_coco_results"
STATEMENTS: dict[str, tuple[str, str]] = {  # label -> (module that must be installed, statement)
    "detrecall": ("detrecall", "import detrecall"),
    "detrecall + evaluate": ("detrecall", "import detrecall; detrecall.evaluate"),
    "detrecall read path": ("detrecall", DETRECALL_READ),
    "detrecall read + evaluate": ("detrecall", f"{DETRECALL_READ}; detrecall.evaluate"),
    "numpy": ("numpy", "import numpy"),
    "pycocotools": (
        "pycocotools",
        "from pycocotools.coco import COCO; from pycocotools.cocoeval import COCOeval",
    ),
    "faster-coco-eval": ("faster-coco-eval", "from faster_coco_eval import COCO, COCOeval_faster"),
    "hotcoco": ("hotcoco", "from hotcoco import COCO, COCOeval"),
    "ultrafast-pycocotools": ("ultrafast-pycocotools", "from ultrafast_pycocotools import COCO, COCOeval"),
}

TIMED = (
    "import time\n"
    "w, c = time.perf_counter(), time.process_time()\n"
    "{statement}\n"
    "w, c = time.perf_counter() - w, time.process_time() - c\n"
    "import json, sys\n"
    "sys.stdout.write(json.dumps({{'wall': w, 'cpu': c}}))\n"
)


def run(statement: str, cpu: int, env: dict[str, str], cwd: str) -> dict[str, Any]:
    """One fresh process pinned to `cpu`, started in `cwd` (not a checkout, whose detrecall
    `python -c` would import first): the statement's wall and CPU seconds, or {"error": why}."""
    code = TIMED.format(statement=statement)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]}
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def environments(cache_dir: str, pythonpath: Path | None) -> dict[str, dict[str, str]]:
    """The two bytecode conditions (module docstring); `pythonpath` first on the path."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath.resolve()), *filter(None, [env.get("PYTHONPATH")])]
        )
    cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = cache_dir
    return {"cached": cached, "env": env}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=10, help="fresh processes per statement (10)")
    ap.add_argument("--cpu", type=int, default=1, help="the CPU every run is pinned to (1)")
    ap.add_argument("--json", type=Path, help="also write every run's seconds here")
    ap.add_argument(
        "--pythonpath",
        type=Path,
        help="time the detrecall in this folder instead of the installed one (e.g. an earlier "
        "revision: git archive REV detrecall | tar -x -C DIR, its compiled modules copied in)",
    )
    args = ap.parse_args()
    runnable = {label: s for label, (module, s) in STATEMENTS.items() if installed(module)}
    missing = [label for label in STATEMENTS if label not in runnable]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="detrecall-pyc-") as cache_dir:
        envs = environments(cache_dir, args.pythonpath)
        for statement in runnable.values():
            run(statement, args.cpu, envs["cached"], cache_dir)  # untimed: writes the .pyc files
        for condition, env in envs.items():
            for label, statement in runnable.items():
                runs = [run(statement, args.cpu, env, cache_dir) for _ in range(args.repeats)]
                results.setdefault(label, {})[condition] = runs
    print(f"import time, ms: median [min-max] over {args.repeats} fresh processes on CPU {args.cpu}")
    print(f"{'statement':28s}{'cached wall':>24s}{'cached CPU':>24s}{'env wall':>24s}{'env CPU':>24s}")
    failed = []
    for label, by_condition in results.items():
        cells = [
            cell([r[key] for r in by_condition[condition] if "error" not in r], scale=1e3, digits=0, width=5)
            for condition in ("cached", "env")
            for key in ("wall", "cpu")
        ]
        print(f"{label:28s}" + "".join(f"{c:>24s}" for c in cells))
        failed += [(label, c, r["error"]) for c, runs in by_condition.items() for r in runs if "error" in r]
    for label, condition, error in failed:
        print(f"failed: {label} ({condition}): {error}")
    if missing:
        print("not installed:", ", ".join(missing))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
