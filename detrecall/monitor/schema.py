"""The store's schema as numbered migrations, applied in order and never recreated.

The `meta` table says what the database is (`app` = "detrecall-monitor") and which migrations
it has (`schema_version`). Opening a store runs the migrations it lacks in one transaction; a
database with other tables but no `meta`, or with a newer version than this code knows, is
refused rather than touched. The SQL is written once for both dialects: `{id}` stands for the
auto-numbered primary key, `{json}` for a JSON text column.
"""

from __future__ import annotations

from dataclasses import dataclass

APP = "detrecall-monitor"


@dataclass(frozen=True)
class Migration:
    """One step of the schema: the statements that take version - 1 to version."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "models, runs and baselines",
        (
            "CREATE TABLE models (id {id}, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)",
            "CREATE TABLE runs ("
            " id {id},"
            " model_id BIGINT NOT NULL REFERENCES models(id),"
            " version TEXT,"
            " created_at TEXT NOT NULL,"
            " task TEXT NOT NULL,"
            " params {json} NOT NULL,"
            " result {json} NOT NULL,"
            " metrics {json} NOT NULL,"
            " stats {json},"
            " tags {json} NOT NULL,"
            " inputs {json} NOT NULL)",
            "CREATE INDEX runs_model_time ON runs (model_id, created_at, id)",
            "CREATE TABLE baselines ("
            " model_id BIGINT PRIMARY KEY REFERENCES models(id),"
            " run_id BIGINT NOT NULL REFERENCES runs(id),"
            " set_at TEXT NOT NULL)",
        ),
    ),
    Migration(
        2,
        "alerts and notification deliveries",
        (
            "CREATE TABLE alerts ("
            " id {id},"
            " run_id BIGINT NOT NULL REFERENCES runs(id),"
            " rule TEXT NOT NULL,"
            " metric TEXT NOT NULL,"
            " category_id TEXT,"
            " baseline DOUBLE PRECISION,"
            " current DOUBLE PRECISION,"
            " drop_amount DOUBLE PRECISION,"
            " threshold DOUBLE PRECISION NOT NULL,"
            " statistic DOUBLE PRECISION,"
            " message TEXT NOT NULL)",
            "CREATE INDEX alerts_run ON alerts (run_id)",
            "CREATE TABLE deliveries ("
            " id {id},"
            " run_id BIGINT NOT NULL REFERENCES runs(id),"
            " alert_id BIGINT REFERENCES alerts(id),"
            " channel TEXT NOT NULL,"
            " target TEXT NOT NULL,"
            " delivered BOOLEAN NOT NULL,"
            " attempts INTEGER NOT NULL,"
            " error TEXT,"
            " at TEXT NOT NULL)",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version

META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
