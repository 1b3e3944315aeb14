"""Build hook: compiles detrecall/_native.c (results and ground-truth parsers, RLE checks, radix
argsort), detrecall/_kernels.c (matching, accumulation and mask IoU over threads) and
detrecall/_raster.c (polygons to pycocotools' RLE) and detrecall/_stream.c (a streaming flush of box
batches in one pass).

Without a C compiler the build still succeeds, with a warning: every caller has a pure-Python
path that gives the same numbers, only slower. An editable install puts the module beside the
sources; a wheel gets it as a platform-specific file.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULES = ("_native", "_kernels", "_raster", "_stream")  # detrecall/<name>.c, each its own extension module


def compile_native(root: Path, out_dir: Path, temp_dir: Path) -> list[Path]:
    """The extensions built with setuptools' compiler settings for this interpreter."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    windows = sys.platform == "win32"
    # -ffp-contract=off: no fused multiply-add, so the kernels' float64 arithmetic is numpy's
    flags = [] if windows else ["-O3", "-std=c99", "-Wall", "-pthread", "-ffp-contract=off"]
    exts = [
        Extension(
            f"detrecall.{name}",
            [str(root / "detrecall" / f"{name}.c")],
            extra_compile_args=flags,
            extra_link_args=[] if windows else ["-pthread"],
        )
        for name in MODULES
    ]
    cmd = build_ext(Distribution({"name": "detrecall", "ext_modules": exts}))
    cmd.build_lib, cmd.build_temp = str(out_dir), str(temp_dir)
    cmd.ensure_finalized()
    cmd.run()
    return [Path(cmd.get_ext_fullpath(f"detrecall.{name}")) for name in MODULES]


class NativeBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"
    _work: str | None = None

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        self._work = tempfile.mkdtemp(prefix="detrecall-native-")
        work = Path(self._work)
        try:
            built = compile_native(root, root if version == "editable" else work / "lib", work / "temp")
        except Exception as exc:  # no compiler, no headers: the pure-Python paths serve
            self.app.display_warning(
                f"detrecall: the native module was not built ({exc}); "
                "results are the same, evaluation is slower"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            for path in built:
                build_data["force_include"][str(path)] = f"detrecall/{path.name}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
