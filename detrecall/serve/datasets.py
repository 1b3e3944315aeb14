"""Registered ground-truth sets, kept in the run store beside the runs (table `serve_datasets`).

A dataset is registered once under a name: the same body again is a no-op, a different one is
refused (runs refer to it by name and SHA-256, so it must not change under them). The table is
the service's own, created if missing in the store's database; the monitor's migrations do not
know it and leave it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..monitor.store import Dialect, Store, now

TABLE = (
    "CREATE TABLE IF NOT EXISTS serve_datasets (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
    "images BIGINT NOT NULL, annotations BIGINT NOT NULL, categories BIGINT NOT NULL, "
    "created_at TEXT NOT NULL, body TEXT NOT NULL)"
)
_LOCK_KEY = 0x64657473  # serializes the table's creation by several instances on PostgreSQL


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    sha256: str
    images: int
    annotations: int
    categories: int
    created_at: str


class Put(Enum):
    CREATED = 201
    SAME = 200
    CONFLICT = 409


_COLUMNS = "name, sha256, images, annotations, categories, created_at"


def ensure_table(store: Store) -> None:
    with store.transaction():
        if store.dialect is Dialect.POSTGRES:
            store.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_KEY,))
        store.execute(TABLE)


def put(store: Store, info: DatasetInfo, body: str) -> tuple[Put, DatasetInfo]:
    """Register `body` under `info.name`; what happened, and the dataset as stored."""
    with store.transaction():
        cur = store.execute(
            f"INSERT INTO serve_datasets ({_COLUMNS}, body) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING RETURNING name",
            (info.name, info.sha256, info.images, info.annotations, info.categories, info.created_at, body),
        )
        created = cur.fetchone() is not None
    stored = get(store, info.name)
    assert stored is not None
    if created:
        return Put.CREATED, stored
    return (Put.SAME if stored.sha256 == info.sha256 else Put.CONFLICT), stored


def get(store: Store, name: str) -> DatasetInfo | None:
    row = store.execute(f"SELECT {_COLUMNS} FROM serve_datasets WHERE name = ?", (name,)).fetchone()
    return None if row is None else DatasetInfo(row[0], row[1], int(row[2]), int(row[3]), int(row[4]), row[5])


def body(store: Store, name: str) -> tuple[str, str] | None:
    """(sha256, JSON text) of a dataset."""
    row = store.execute("SELECT sha256, body FROM serve_datasets WHERE name = ?", (name,)).fetchone()
    return None if row is None else (row[0], row[1])


def listing(store: Store) -> list[DatasetInfo]:
    rows = store.execute(f"SELECT {_COLUMNS} FROM serve_datasets ORDER BY name").fetchall()
    return [DatasetInfo(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5]) for r in rows]


__all__ = ["DatasetInfo", "Put", "body", "ensure_table", "get", "listing", "now", "put"]
