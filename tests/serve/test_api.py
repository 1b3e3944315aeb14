"""The API end to end against the real server on 127.0.0.1, through httpx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from .server import ROOT, Server, degraded, fixture_dt, fixture_gt

V1 = [
    ("PUT", "/v1/datasets/x"),
    ("GET", "/v1/datasets"),
    ("POST", "/v1/evaluations"),
    ("GET", "/v1/runs"),
    ("GET", "/v1/runs/1"),
    ("POST", "/v1/models/m/baseline"),
    ("GET", "/v1/models"),
    ("GET", "/v1/alerts"),
]


def _is_error(r: httpx.Response, status: int, where: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "where"} and body["error"] and "Traceback" not in r.text, body
    if where is not None:
        assert body["where"] == where, body
    return body


def _cli_json(gt: Path, dt: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "detrecall.cli", "evaluate", str(gt), str(dt), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    data = json.loads(out)
    data.pop("schema_version")
    return data


def test_health_and_ready_need_no_token(server: Server) -> None:
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    assert httpx.get(server.url + "/ready").json() == {"status": "ready"}


@pytest.mark.parametrize(("method", "path"), V1)
def test_every_v1_endpoint_needs_a_token(server: Server, method: str, path: str) -> None:
    r = httpx.request(method, server.url + path, json={"run_id": 1})
    _is_error(r, 401, "header.authorization")
    assert r.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.request(method, server.url + path, headers={"Authorization": "Bearer not-the-token-at-all"})
    _is_error(wrong, 401, "header.authorization")
    basic = httpx.request(method, server.url + path, headers={"Authorization": f"Basic {server.token}"})
    _is_error(basic, 401)


def test_every_v1_route_is_in_the_list_above(server: Server) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops if p.startswith("/v1")}
    listed = {
        (m, p.replace("/x", "/{name}").replace("/1", "/{run_id}").replace("/m/", "/{model}/")) for m, p in V1
    }
    assert documented == listed


def test_detection_loop_dataset_baseline_alerts(server: Server, tmp_path: Path) -> None:
    gt, dt = fixture_gt(), fixture_dt()
    with server.client() as c:
        r = c.put("/v1/datasets/fixture-gt", json=gt)
        assert r.status_code == 201, r.text
        info = r.json()
        assert (info["images"], info["annotations"], info["categories"]) == (
            len(gt["images"]),
            len(gt["annotations"]),
            len(gt["categories"]),
        )
        assert c.put("/v1/datasets/fixture-gt", json=gt).status_code == 200  # the same again: a no-op
        changed = {**gt, "annotations": gt["annotations"][:-1]}
        _is_error(c.put("/v1/datasets/fixture-gt", json=changed), 409, "path.name")
        assert [d["name"] for d in c.get("/v1/datasets").json()["datasets"]].count("fixture-gt") == 1

        first = c.post(
            "/v1/evaluations",
            json={"model": "det-a", "dataset": "fixture-gt", "predictions": dt, "version": "1.0"},
        )
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["result"] == _cli_json(ROOT / "fixtures/gt.json", ROOT / "fixtures/dt_bbox.json")
        assert body["baseline_run_id"] is None and body["alerts"] == [] and "no baseline" in body["notes"][0]
        assert first.headers["location"] == f"/v1/runs/{body['run_id']}"
        ap = body["metrics"]["overall"]["AP"]
        assert ap == pytest.approx(0.36131567953169713, abs=1e-12)

        inline = c.post("/v1/evaluations", json={"model": "det-a", "ground_truth": gt, "predictions": dt})
        assert inline.status_code == 201 and inline.json()["result"] == body["result"]

        base = c.post("/v1/models/det-a/baseline", json={"run_id": body["run_id"]})
        assert base.json() == {"model": "det-a", "baseline_run_id": body["run_id"]}

        worse = c.post(
            "/v1/evaluations",
            json={
                "model": "det-a",
                "dataset": "fixture-gt",
                "predictions": degraded(dt),
                "max_drop": ["AP=0.02"],
                "tags": {"week": "2"},
            },
        )
        assert worse.status_code == 201, worse.text
        w = worse.json()
        assert w["baseline_run_id"] == body["run_id"]
        drops = [a for a in w["alerts"] if a["rule"] == "max_drop"]
        assert len(drops) == 1 and drops[0]["metric"] == "AP" and drops[0]["baseline"] == pytest.approx(ap)
        assert drops[0]["current"] == pytest.approx(w["metrics"]["overall"]["AP"]) and drops[0]["drop"] > 0.02

        listed = c.get("/v1/alerts", params={"model": "det-a"}).json()["alerts"]
        assert {a["run_id"] for a in listed} == {w["run_id"]} and len(listed) == len(w["alerts"])
        run = c.get(f"/v1/runs/{w['run_id']}").json()
        assert run["tags"] == {"week": "2"} and len(run["alerts"]) == len(w["alerts"]) and not run["baseline"]
        assert run["inputs"]["dataset"] == {"name": "fixture-gt", "sha256": info["sha256"]}
        assert run["metrics"] == w["metrics"] and run["result"] == w["result"]

        runs = c.get("/v1/runs", params={"model": "det-a"}).json()["runs"]
        assert [r["id"] for r in runs] == [
            w["run_id"],
            inline.json()["run_id"],
            body["run_id"],
        ]  # newest first
        assert [r["baseline"] for r in runs] == [False, False, True] and runs[0]["alerts"] == len(w["alerts"])
        assert [r["id"] for r in c.get("/v1/runs", params={"model": "det-a", "limit": 1}).json()["runs"]] == [
            w["run_id"]
        ]
        since = c.get("/v1/runs", params={"model": "det-a", "since": runs[0]["created_at"]}).json()["runs"]
        assert [r["id"] for r in since] == [w["run_id"]]
        assert c.get("/v1/runs", params={"since": "2999-01-01T00:00:00Z"}).json() == {"runs": []}
        _is_error(c.get("/v1/runs", params={"since": "last tuesday"}), 422, "query.since")

        models = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
        assert models["det-a"]["runs"] == 3 and models["det-a"]["baseline_run_id"] == body["run_id"]


def test_predictions_alone_are_checked_for_drift(server: Server) -> None:
    dt = fixture_dt()
    with server.client() as c:
        base = c.post("/v1/evaluations", json={"model": "drift-only", "predictions": dt}).json()
        assert base["metrics"] == {"overall": {}, "per_class": {}} and base["result"] == {}
        c.post("/v1/models/drift-only/baseline", json={"run_id": base["run_id"]}).raise_for_status()
        few = [d for d in dt if d["score"] > 0.6]
        r = c.post("/v1/evaluations", json={"model": "drift-only", "predictions": few})
        assert r.status_code == 201
        rules = {a["rule"] for a in r.json()["alerts"]}
        assert "detections_per_image" in rules  # fewer detections per image than the baseline
        same = c.post("/v1/evaluations", json={"model": "drift-only", "predictions": dt}).json()
        assert same["alerts"] == []


def test_classification(server: Server) -> None:
    y_true = [0, 1, 1, 0, 1, 2, 2, 0, 1, 2]
    y_pred = [0, 1, 0, 0, 1, 2, 1, 0, 1, 2]
    with server.client() as c:
        r = c.post(
            "/v1/evaluations",
            json={"model": "clf", "task": "classification", "y_true": y_true, "y_pred": y_pred},
        )
        assert r.status_code == 201, r.text
        overall = r.json()["metrics"]["overall"]
        assert overall["accuracy"] == pytest.approx(8 / 10)
        assert r.json()["result"]["report"]["1"]["recall"] == pytest.approx(3 / 4)
        c.post("/v1/models/clf/baseline", json={"run_id": r.json()["run_id"]}).raise_for_status()
        bad = c.post(
            "/v1/evaluations",
            json={
                "model": "clf",
                "task": "classification",
                "y_true": y_true,
                "y_pred": [0] * 10,
                "max_drop": ["accuracy=0.1"],
            },
        ).json()
        assert [(a["rule"], a["metric"]) for a in bad["alerts"] if a["rule"] == "max_drop"] == [
            ("max_drop", "accuracy")
        ]
        assert bad["metrics"]["overall"]["accuracy"] == pytest.approx(3 / 10)
        mixed = c.post("/v1/evaluations", json={"model": "clf", "predictions": fixture_dt()})
        _is_error(mixed, 409, "body.task")  # a detection run for a classifier's baseline
        short = c.post(
            "/v1/evaluations",
            json={"model": "clf", "task": "classification", "y_true": [0, 1], "y_pred": [0]},
        )
        _is_error(short, 422, "body.y_true")


def test_bad_requests_are_4xx_with_error_and_where(server: Server) -> None:
    dt = fixture_dt()
    with server.client() as c:
        _is_error(c.post("/v1/evaluations", content=b"{not json"), 400, "body")
        _is_error(c.post("/v1/evaluations", content=b""), 400, "body")
        _is_error(c.post("/v1/evaluations", json=[1, 2]), 422, "body")
        _is_error(c.post("/v1/evaluations", json={"predictions": dt}), 422, "body.model")
        _is_error(
            c.post("/v1/evaluations", json={"model": "m", "predictions": dt, "colour": 1}), 422, "body.colour"
        )
        _is_error(
            c.post(
                "/v1/evaluations",
                json={
                    "model": "m",
                    "ground_truth": fixture_gt(),
                    "predictions": dt,
                    "options": {"iou_thresholds": [2]},
                },
            ),
            422,
            "body.options.iou_thresholds[0]",
        )
        bad = [{**dt[0], "bbox": [0, 0, -3, 4]}]
        e = _is_error(
            c.post("/v1/evaluations", json={"model": "m", "ground_truth": fixture_gt(), "predictions": bad}),
            422,
        )
        assert e["where"].startswith("body.predictions[0]"), e
        e = _is_error(
            c.post("/v1/evaluations", json={"model": "m", "ground_truth": {"images": []}, "predictions": dt}),
            422,
        )
        assert e["where"].startswith("body.ground_truth"), e
        _is_error(
            c.post("/v1/evaluations", json={"model": "m", "dataset": "nope", "predictions": dt}),
            404,
            "body.dataset",
        )
        deep: Any = 0
        for _ in range(200):
            deep = [deep]
        _is_error(c.post("/v1/evaluations", json={"model": "m", "predictions": deep}), 422, "body")
        _is_error(c.get("/v1/runs/999999"), 404, "path.run_id")
        _is_error(c.get("/v1/runs/abc"), 422, "path.run_id")
        _is_error(c.get("/v1/nothing-here"), 404)
        _is_error(c.get("/v1/runs", params={"limit": 0}), 422, "query.limit")
        _is_error(c.post("/v1/models/m/baseline", json={"run_id": "1"}), 422, "body.run_id")
        _is_error(c.post("/v1/models/m/baseline", content=b"[["), 422)
        _is_error(c.delete("/v1/runs"), 405)


PATH = "../../etc/passwd"


def test_no_client_string_is_opened_as_a_path(server: Server) -> None:
    """A readable COCO file sits in the server's folder under a name a client sends; neither it nor
    /etc/passwd is ever opened (every open() of the server's processes is logged by an audit hook)."""
    gt, dt = fixture_gt(), fixture_dt()
    (server.workdir / "gt.json").write_text(json.dumps(gt))
    (server.workdir / "dt.json").write_text(json.dumps(dt))
    attempts: list[dict[str, Any]] = [
        {"model": "p", "ground_truth": "gt.json", "predictions": dt},
        {"model": "p", "ground_truth": gt, "predictions": "dt.json"},
        {"model": "p", "ground_truth": PATH, "predictions": PATH},
        {"model": PATH, "predictions": dt},
        {"model": "p", "dataset": PATH, "predictions": dt},
        {"model": "p", "version": PATH, "dataset": PATH, "predictions": dt},
        {"model": "p", "ground_truth": gt, "predictions": dt, "iou_type": PATH},
        {"model": "p", "ground_truth": gt, "predictions": dt, "options": {"protocol": PATH}},
        {"model": "p", "ground_truth": gt, "predictions": dt, "options": {"images": "gt.json"}},
        {"model": "p", "ground_truth": gt, "predictions": dt, "options": {"names": PATH}},
        {"model": "p", "ground_truth": gt, "predictions": dt, "max_drop": [PATH]},
        {"model": "p", "task": "classification", "y_true": "gt.json", "y_pred": PATH},
        {"model": "p", "ground_truth": {**gt, "images": "gt.json"}, "predictions": dt},
    ]
    with server.client() as c:
        for body in attempts:
            r = c.post("/v1/evaluations", json=body)
            assert 400 <= r.status_code < 500, (body, r.text)
        _is_error(c.put("/v1/datasets/..%2F..%2Fetc%2Fpasswd", json=gt), 404)  # no route: a name has no slash
        assert c.put("/v1/datasets/ok", content=json.dumps(PATH)).status_code == 422
        assert c.get("/v1/runs", params={"model": PATH}).status_code == 422
        tagged = c.post(
            "/v1/evaluations",
            json={"model": "p", "ground_truth": gt, "predictions": dt, "tags": {"file": PATH}},
        )
        assert tagged.status_code == 201 and c.get(f"/v1/runs/{tagged.json()['run_id']}").json()["tags"] == {
            "file": PATH
        }
    assert server.audit is not None
    opened = server.audit.read_text().splitlines()
    assert len(opened) > 10  # the hook sees the server's own files (modules, the store)
    assert not [p for p in opened if "passwd" in p or p.endswith(("gt.json", "dt.json"))]


def test_cors_is_off(server: Server) -> None:
    r = httpx.options(
        server.url + "/v1/runs",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers
    r = httpx.get(server.url + "/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in r.headers and r.headers["x-content-type-options"] == "nosniff"


def test_metrics_count_requests_and_evaluations(server: Server) -> None:
    with server.client() as c:
        c.post(
            "/v1/evaluations",
            json={"model": "counted", "ground_truth": fixture_gt(), "predictions": fixture_dt()},
        ).raise_for_status()
    text = httpx.get(server.url + "/metrics").text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert int(lines['detrecall_serve_evaluations_total{task="detection",outcome="stored"}']) >= 1
    assert int(lines['detrecall_serve_requests_total{method="GET",route="/health",status="200"}']) >= 1
    assert int(lines['detrecall_serve_request_seconds_count{method="POST",route="/v1/evaluations"}']) >= 1
    assert lines["detrecall_serve_workers"] == "2" and "detrecall_serve_queue_depth" in lines
    assert "# TYPE detrecall_serve_request_seconds histogram" in text


def test_openapi_schema_is_in_sync(server: Server) -> None:
    """The schema served, the one `--openapi` prints, and docs/openapi.json are the same.
    Regenerate the file with `python -m detrecall.serve --openapi > docs/openapi.json`."""
    served = httpx.get(server.url + "/openapi.json").json()
    printed = json.loads(
        subprocess.run(
            [sys.executable, "-m", "detrecall.serve", "--openapi"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert served == printed == committed
    body = served["paths"]["/v1/evaluations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EvaluationRequest"}
    assert {"DetectionRequest", "ClassificationRequest", "EvaluationOptions"} <= set(
        served["components"]["schemas"]
    )
    assert served["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
