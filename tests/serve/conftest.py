"""The serve tests need the `serve` extra; each module starts the real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[serve,test]'")
pytest.importorskip("uvicorn")

from .server import Server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("serve")
    s = Server(str(work / "runs.db"), work, "--workers", "2", audit=work / "opened.txt")
    s.wait_ready()
    yield s
    s.stop()


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    return tmp_path
