"""A real PostgreSQL server for the tests of the stores (monitor) and of the service (serve):
started on a free port of 127.0.0.1 from Debian's binaries (`.ci/run` installs them)."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    candidates = [found] if found else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    for c in candidates:
        if c and Path(c).is_file() and (Path(c).parent / "pg_ctl").exists():
            return Path(c).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster; `new_url()` makes a fresh database for one test."""

    port: int
    counter: itertools.count = field(default_factory=itertools.count)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_url(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self.counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free port of 127.0.0.1, data in a temporary folder, run as the
    `postgres` user when the tests run as root (the server refuses root); skipped, saying why,
    when no server binary or no psycopg is found."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'detrecall[monitor]')")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (initdb, pg_ctl) found: apt-get install postgresql")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="detrecall-pg-"))
    if user:
        shutil.chown(root, user)
    data, port = root / "data", _free_port()
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        user=user,
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [bindir / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "start"],
        user=user,
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(
            [bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], user=user, capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
