"""The layers hold: no module of detrecall imports one above it (README: Development)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "detrecall"

# lowest first; a module may import its own layer and those below
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "errors",
        "types",
        "options",
        "tables",
        "_arrays",
        "_sort",
        "_compiled",
        "_native",
        "_stream",
        "_version",
    ),
    ("_memory",),
    ("io", "geometry"),
    ("matching",),
    ("aggregate",),
    ("result",),
    ("protocols",),
    ("analysis",),
    ("evaluate", "streaming", "_flush", "compat", "dask", "metrics", "retrieval"),
    ("report",),
    ("monitor",),
    ("serve",),
    ("cli", "__main__"),
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """The first component below `detrecall` of a dotted module name."""
    return module.split(".")[1] if module.startswith("detrecall.") else module


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of a detrecall module in `path`, lazy ones too."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            targets = [target]
            if node.module is None or target in ("detrecall",):  # `from . import metrics`
                targets = [f"{target}.{a.name}" for a in node.names]
            out += [(node.lineno, t) for t in targets if t.startswith("detrecall.")]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("detrecall.")]
    return out


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        if name == "detrecall":
            continue
        assert _top(name) in LAYER_OF, f"{name}: add it to a layer in tests/test_layers.py and README"


def test_no_import_goes_up() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if name == "detrecall":  # the public API re-exports from every layer
            continue
        mine = LAYER_OF[_top(name)]
        for line, target in _imports(path):
            top = _top(target)
            is_module = (PACKAGE / top).is_dir() or (PACKAGE / f"{top}.py").exists()
            theirs = LAYER_OF.get(top) if is_module else LAYER_OF["cli"]  # a name of the public API
            assert theirs is not None, f"{path}:{line}: {target} is in no layer"
            if theirs > mine:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} imports {target}")
    assert not upward, "imports that go up the layers:\n" + "\n".join(upward)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The check can fail: a matching module importing the result types is found."""
    fake = PACKAGE / "matching.py"
    tree = _imports(fake)
    assert all(LAYER_OF[_top(t)] <= LAYER_OF["matching"] for _, t in tree)
    code = "from ..result import EvaluationResult\n"
    probe = PACKAGE / "geometry" / "_probe_upward.py"
    probe.write_text(code)
    try:
        found = [t for _, t in _imports(probe)]
        assert found == ["detrecall.result"] and LAYER_OF["result"] > LAYER_OF["geometry"]
    finally:
        probe.unlink()


def test_no_protocol_branch_outside_the_protocols() -> None:
    pattern = re.compile(r"protocol\s*[!=]=|\.(voc|lvis|coco) is (not )?None")
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{i}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if "protocols" not in path.parts
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)
