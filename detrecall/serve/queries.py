"""The service's reads of the run store: lists filtered and cut in SQL (the monitor's Store reads
one model's runs whole, which a dashboard polling a long history should not)."""

from __future__ import annotations

from typing import Any

from ..monitor.store import Store, StoredAlert, StoredRun, _loads


def _overall(metrics: Any) -> dict[str, float | None]:
    data = _loads(metrics) or {}
    return dict(data.get("overall") or {})


def runs(store: Store, model: str | None, since: str | None, limit: int) -> list[dict[str, Any]]:
    """Runs newest first: id, model, version, time, task, overall metrics, tags, alert count, baseline."""
    where, params = [], []
    if model is not None:
        where.append("m.name = ?")
        params.append(model)
    if since is not None:
        where.append("r.created_at >= ?")
        params.append(since)
    sql = (
        "SELECT r.id, m.name, r.version, r.created_at, r.task, r.metrics, r.tags, "
        "(SELECT count(*) FROM alerts a WHERE a.run_id = r.id), "
        "(SELECT count(*) FROM baselines b WHERE b.run_id = r.id) "
        "FROM runs r JOIN models m ON m.id = r.model_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY r.created_at DESC, r.id DESC LIMIT ?"
    )
    rows = store.execute(sql, (*params, limit)).fetchall()
    return [
        {
            "id": int(r[0]),
            "model": r[1],
            "version": r[2],
            "created_at": r[3],
            "task": r[4],
            "metrics": _overall(r[5]),
            "tags": _loads(r[6]) or {},
            "alerts": int(r[7]),
            "baseline": bool(r[8]),
        }
        for r in rows
    ]


def alert_dict(a: StoredAlert, model: str | None = None, at: str | None = None) -> dict[str, Any]:
    return {
        "id": a.id,
        "run_id": a.run_id,
        "model": model,
        "at": at,
        "rule": a.rule,
        "metric": a.metric,
        "category_id": a.category_id,
        "baseline": a.baseline,
        "current": a.current,
        "drop": a.drop,
        "threshold": a.threshold,
        "statistic": a.statistic,
        "message": a.message,
    }


def alerts(store: Store, model: str | None, limit: int) -> list[dict[str, Any]]:
    """Alerts newest first, with their run's model and time."""
    sql = (
        "SELECT a.id, a.run_id, a.rule, a.metric, a.category_id, a.baseline, a.current, a.drop_amount, "
        "a.threshold, a.statistic, a.message, m.name, r.created_at FROM alerts a "
        "JOIN runs r ON r.id = a.run_id JOIN models m ON m.id = r.model_id"
        + (" WHERE m.name = ?" if model is not None else "")
        + " ORDER BY a.id DESC LIMIT ?"
    )
    params: tuple[Any, ...] = (model, limit) if model is not None else (limit,)
    return [alert_dict(StoredAlert(*r[:11]), r[11], r[12]) for r in store.execute(sql, params).fetchall()]


def models(store: Store) -> list[dict[str, Any]]:
    rows = store.execute(
        "SELECT m.name, count(r.id), b.run_id, max(r.created_at) FROM models m "
        "LEFT JOIN runs r ON r.model_id = m.id LEFT JOIN baselines b ON b.model_id = m.id "
        "GROUP BY m.name, b.run_id ORDER BY m.name"
    ).fetchall()
    return [
        {
            "name": r[0],
            "runs": int(r[1]),
            "baseline_run_id": None if r[2] is None else int(r[2]),
            "last_run_at": r[3],
        }
        for r in rows
    ]


def run(store: Store, run_id: int) -> tuple[StoredRun, bool, list[dict[str, Any]]] | None:
    """A run whole, whether it is its model's baseline, and its alerts; None when absent."""
    row = store.execute("SELECT count(*) FROM runs WHERE id = ?", (run_id,)).fetchone()
    if not row[0]:
        return None
    stored = store.run(run_id)
    base = store.baseline(stored.model)
    found = [alert_dict(a, stored.model, stored.created_at) for a in store.alerts(run_id)]
    return stored, base is not None and base.id == run_id, found
