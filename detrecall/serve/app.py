"""The HTTP service: `create_app(config)` → an ASGI app (FastAPI inside, bounded outside).

Layers of a request, outermost first: BodyLimit (413 on a Content-Length past the limit),
Observe (metrics, security headers), Auth (401 for /v1 without a valid bearer token), FastAPI's
routes. Store calls run on a few threads, each with its own connection; evaluations run in
the worker pool (worker.py) and are recorded here, one transaction per run, after they came
back in time.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..monitor.cli import parse_max_drop
from ..monitor.errors import MonitorInputError
from ..monitor.monitor import Monitor
from ..monitor.notify import Webhook
from ..monitor.rules import DEFAULT_DRIFT_RULES, Rule, validate_rules
from ..monitor.store import Store, now
from . import datasets, queries
from .auth import Tokens
from .dashboard import PAGE, SCRIPT_HASH
from .errors import ApiError, where_of
from .limits import BodyLimit, read_body
from .metrics import Metrics
from .schemas import (
    EVALUATION_REQUEST,
    NAME_PATTERN,
    AlertList,
    BaselineOut,
    BaselineRequest,
    DatasetList,
    DatasetOut,
    Error,
    EvaluationOut,
    Health,
    ModelList,
    RunList,
    RunOut,
)
from .worker import Evaluated, Pool, Refused, check_dataset, evaluate_body

T = TypeVar("T")
DatasetName = Annotated[str, Path(pattern=NAME_PATTERN, description="the dataset's name")]
ModelName = Annotated[str, Path(pattern=NAME_PATTERN, description="the model's name")]
ModelQuery = Annotated[str | None, Query(pattern=NAME_PATTERN, description="one model's only")]
Limit = Annotated[int, Query(ge=1, le=1000)]
RunId = Annotated[int, Path(ge=1, le=2**62)]
Since = Annotated[str | None, Query(max_length=64, description="ISO 8601; runs at or after it")]
MiB = 1 << 20


@dataclass(frozen=True)
class ServeConfig:
    """What `detrecall serve` was told: the store, the tokens, the limits."""

    store: str
    tokens: Tokens
    workers: int = 2
    queue: int = 32
    max_body: int = 64 * MiB
    time_limit: float = 120.0
    max_drop: tuple[str, ...] = ()
    drift_rules: tuple[Rule, ...] = DEFAULT_DRIFT_RULES
    webhook: str | None = None
    store_threads: int = 4
    extra: dict[str, Any] = field(default_factory=dict)


class JSON(Response):
    """orjson: NaN and infinities as null (standard JSON), numpy scalars as numbers."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


class StoreAccess:
    """Store calls on a few threads, one connection per thread (SQLite's WAL lets them read at once)."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="detrecall-store")
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def _store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.url, create=False)
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    async def call(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._store()))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for s in self._opened:
                s.close()
            self._opened.clear()


# -- ASGI layers -------------------------------------------------------------------------------


class Auth:
    """401 for any /v1 request without `Authorization: Bearer <a configured token>`."""

    def __init__(self, app: ASGIApp, tokens: Tokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == "/v1" or scope["path"].startswith("/v1/")):
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if not self.tokens.accepts(header):
                what = "missing" if not header else "not a valid bearer token"
                body = orjson.dumps(
                    {
                        "error": f"authorization {what} (expected Authorization: Bearer <token>)",
                        "where": "header.authorization",
                    }
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="detrecall"'),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class Observe:
    """Counts and times every request by its route template; adds the security headers."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI, metrics: Metrics) -> None:
        self.app = app
        self.fastapi = fastapi
        self.metrics = metrics

    def _route(self, scope: Scope) -> str:
        for route in self.fastapi.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "?"))
        return "<unmatched>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.request(scope["method"], self._route(scope), status, time.perf_counter() - started)


# -- the app -------------------------------------------------------------------------------------


def _since(value: str | None) -> str | None:
    """An ISO 8601 time as the store's UTC text (a time without zone is UTC); 422 otherwise."""
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422, f"since={value!r} is not an ISO 8601 time (e.g. 2026-01-31T00:00:00Z)", "query.since"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _record(store: Store, ev: Evaluated, config: ServeConfig) -> dict[str, Any]:
    """Store one evaluated run with the alerts it raises against its model's baseline."""
    data = ev.run
    try:
        rules = [*parse_max_drop([*config.max_drop, *ev.max_drop]), *config.drift_rules]
    except MonitorInputError as e:
        raise ApiError(422, str(e), "body.max_drop") from None
    base = store.baseline(ev.model)
    if base is None:
        run_id, _ = store.add_run(
            ev.model,
            task=data.task.value,
            result=data.result,
            metrics=data.metrics,
            params=data.params,
            stats=None if data.stats is None else data.stats.to_dict(),
            version=ev.version,
            tags=ev.tags,
            inputs=ev.inputs,
        )
        note = f"model {ev.model!r} has no baseline yet: POST /v1/models/{ev.model}/baseline with a run_id"
        return {"run_id": run_id, "baseline_run_id": None, "alerts": [], "notes": [note]}
    if base.task != data.task.value:
        raise ApiError(409, f"a {data.task.value} run for a model whose baseline is {base.task}", "body.task")
    try:
        validate_rules(rules, base.metrics)
    except MonitorInputError as e:
        raise ApiError(422, str(e), "body.max_drop") from None
    webhook = Webhook(config.webhook) if config.webhook else None
    recorded = Monitor(store, ev.model, rules=rules, webhook=webhook).record(
        data, version=ev.version, tags=ev.tags, inputs=ev.inputs
    )
    return {
        "run_id": recorded.run_id,
        "baseline_run_id": base.id,
        "alerts": [a.to_dict() for a in recorded.alerts],
        "notes": list(recorded.notes),
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Error, "description": text}
    for code, text in (
        (400, "not JSON"),
        (401, "no valid bearer token"),
        (404, "not found"),
        (409, "conflicts with what is stored"),
        (413, "body past the limit"),
        (422, "invalid request"),
    )
}
BUSY: dict[int | str, dict[str, Any]] = {
    429: {"model": Error, "description": "the evaluation queue is full (see Retry-After)"},
    503: {"model": Error, "description": "past the time limit; nothing was stored"},
}


def _request_schema() -> dict[str, Any]:
    return EVALUATION_REQUEST.json_schema(ref_template="#/components/schemas/{model}")


def create_app(config: ServeConfig) -> ASGIApp:
    """The service over `config.store` (which must exist and be migrated: `prepare_store`)."""
    metrics = Metrics()
    pool = Pool(config.workers, config.queue)
    store = StoreAccess(config.store, config.store_threads)
    state: dict[str, bool] = {"stopping": False}
    metrics.gauges["detrecall_serve_queue_depth"] = ("evaluations waiting for a worker", lambda: pool.queued)
    metrics.gauges["detrecall_serve_in_flight"] = ("evaluations admitted", lambda: pool.pending)
    metrics.gauges["detrecall_serve_workers"] = ("worker processes", lambda: pool.workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.warm()
        yield
        state["stopping"] = True
        await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
        store.close()

    app = FastAPI(
        title="detrecall serve",
        version="1",
        description="Evaluations of detectors and classifiers, stored runs, baselines and alerts.",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
        default_response_class=JSON,
        lifespan=lifespan,
    )
    bearer = HTTPBearer(auto_error=False, description="a token of --token-file or DETRECALL_SERVE_TOKENS")

    v1 = [Depends(bearer)]  # Auth (the ASGI layer) checks the token; this puts it in the schema

    @app.exception_handler(ApiError)
    async def api_error(request: Request, e: ApiError) -> Response:
        return JSON(e.body(), status_code=e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> Response:
        first = e.errors()[0]
        return JSON(
            {"error": str(first.get("msg", "invalid request")), "where": where_of(first.get("loc", ()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> Response:
        return JSON(
            {"error": str(e.detail), "where": f"path {request.url.path}"}, e.status_code, headers=e.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> Response:
        return JSON(
            {"error": f"internal error ({type(e).__name__}); see the server's log", "where": "server"}, 500
        )

    # -- liveness, readiness, metrics, dashboard -------------------------------------------------

    @app.get("/health", response_model=Health, tags=["service"])
    async def health() -> dict[str, str]:
        """Liveness: answers while the process runs (no store access, no auth)."""
        return {"status": "ok"}

    @app.get(
        "/ready",
        response_model=Health,
        responses={503: {"model": Error, "description": "store unreachable"}},
        tags=["service"],
    )
    async def ready() -> Response:
        """Readiness: the store answers a query within 2 s."""
        if state["stopping"]:
            return JSON({"error": "shutting down", "where": "server"}, 503)
        try:
            await asyncio.wait_for(store.call(lambda s: s.execute("SELECT 1").fetchone()), 2.0)
        except Exception as e:  # any failure of the database is "not ready", never a traceback
            return JSON({"error": f"store unreachable ({type(e).__name__})", "where": "store"}, 503)
        return JSON({"status": "ready"})

    @app.get(
        "/metrics",
        response_class=Response,
        tags=["service"],
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def prometheus() -> Response:
        """Prometheus exposition: requests, latencies, evaluations, alerts, queue depth."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/", response_class=HTMLResponse, tags=["service"], include_in_schema=True)
    async def dashboard() -> Response:
        """The dashboard: one page, no external resources; the token goes in the URL fragment."""
        csp = (
            f"default-src 'none'; script-src '{SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})

    # -- datasets ----------------------------------------------------------------------------------

    @app.put(
        "/v1/datasets/{name}",
        response_model=DatasetOut,
        status_code=201,
        dependencies=v1,
        tags=["datasets"],
        responses={
            **ERRORS,
            **BUSY,
            200: {"model": DatasetOut, "description": "already registered, same content"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "object", "description": "COCO instances JSON"}}
                },
            }
        },
    )
    async def put_dataset(name: DatasetName, request: Request) -> Response:
        """Register a COCO ground truth once under `name`; evaluations then send only predictions."""
        body = await read_body(request, config.max_body)
        counts = await pool.run(check_dataset, body, config.time_limit, timeout=_wait(config, pool))
        if isinstance(counts, Refused):
            raise ApiError(counts.status, counts.error, counts.where)
        images, annotations, categories = counts
        info = datasets.DatasetInfo(
            name, hashlib.sha256(body).hexdigest(), images, annotations, categories, now()
        )
        outcome, stored = await store.call(lambda s: datasets.put(s, info, body.decode()))
        if outcome is datasets.Put.CONFLICT:
            raise ApiError(
                409,
                f"dataset {name!r} is registered with other content (sha256 {stored.sha256})",
                "path.name",
            )
        return JSON(stored.__dict__, status_code=outcome.value)

    @app.get("/v1/datasets", response_model=DatasetList, dependencies=v1, tags=["datasets"], responses=ERRORS)
    async def list_datasets() -> dict[str, Any]:
        """The registered datasets (without their content)."""
        found = await store.call(datasets.listing)
        return {"datasets": [d.__dict__ for d in found]}

    # -- evaluations ---------------------------------------------------------------------------------

    @app.post(
        "/v1/evaluations",
        response_model=EvaluationOut,
        status_code=201,
        dependencies=v1,
        tags=["runs"],
        responses={**ERRORS, **BUSY},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/EvaluationRequest"}}
                },
            }
        },
    )
    async def post_evaluation(request: Request) -> Response:
        """Evaluate, check against the model's baseline, store the run with its alerts (201)."""
        started = time.monotonic()
        body = await read_body(request, config.max_body)
        try:
            outcome = await pool.run(
                evaluate_body, body, config.store, config.time_limit, timeout=_wait(config, pool)
            )
        except ApiError as e:
            metrics.evaluations[("any", "busy" if e.status == 429 else "failed")] += 1
            raise
        if isinstance(outcome, Refused):
            metrics.evaluations[("any", "timeout" if outcome.status == 503 else "refused")] += 1
            raise ApiError(outcome.status, outcome.error, outcome.where)
        task = outcome.run.task.value
        stored = await store.call(lambda s: _record(s, outcome, config))
        metrics.evaluations[(task, "stored")] += 1
        metrics.evaluation_seconds.observe(time.monotonic() - started)
        metrics.alerts += len(stored["alerts"])
        data = outcome.run
        return JSON(
            {
                "run_id": stored["run_id"],
                "model": outcome.model,
                "version": outcome.version,
                "task": task,
                "baseline_run_id": stored["baseline_run_id"],
                "result": data.result,
                "metrics": data.metrics,
                "alerts": stored["alerts"],
                "notes": stored["notes"],
            },
            status_code=201,
            headers={"Location": f"/v1/runs/{stored['run_id']}"},
        )

    # -- runs, models, alerts ------------------------------------------------------------------------

    @app.get("/v1/runs", response_model=RunList, dependencies=v1, tags=["runs"], responses=ERRORS)
    async def list_runs(
        model: ModelQuery = None,
        since: Since = None,
        limit: Limit = 100,
    ) -> dict[str, Any]:
        """Runs, newest first, with their overall metrics."""
        after = _since(since)
        return {"runs": await store.call(lambda s: queries.runs(s, model, after, limit))}

    @app.get("/v1/runs/{run_id}", response_model=RunOut, dependencies=v1, tags=["runs"], responses=ERRORS)
    async def get_run(run_id: RunId) -> dict[str, Any]:
        """One run whole: the evaluation's JSON, flat metrics, statistics, tags, inputs, alerts."""
        found = await store.call(lambda s: queries.run(s, run_id))
        if found is None:
            raise ApiError(404, f"no run {run_id}", "path.run_id")
        run, is_base, alerts = found
        return {**run.__dict__, "baseline": is_base, "alerts": alerts}

    @app.post(
        "/v1/models/{model}/baseline",
        response_model=BaselineOut,
        dependencies=v1,
        tags=["models"],
        responses=ERRORS,
    )
    async def set_baseline(model: ModelName, request_body: BaselineRequest) -> dict[str, Any]:
        """Make a stored run of the model its baseline."""

        def apply(s: Store) -> None:
            found = queries.run(s, request_body.run_id)
            if found is None:
                raise ApiError(404, f"no run {request_body.run_id}", "body.run_id")
            if found[0].model != model:
                raise ApiError(
                    409,
                    f"run {request_body.run_id} is of model {found[0].model!r}, not {model!r}",
                    "body.run_id",
                )
            s.set_baseline(model, request_body.run_id)

        await store.call(apply)
        return {"model": model, "baseline_run_id": request_body.run_id}

    @app.get("/v1/models", response_model=ModelList, dependencies=v1, tags=["models"], responses=ERRORS)
    async def list_models() -> dict[str, Any]:
        """Every model: its number of runs, its baseline, its last run's time."""
        return {"models": await store.call(queries.models)}

    @app.get("/v1/alerts", response_model=AlertList, dependencies=v1, tags=["runs"], responses=ERRORS)
    async def list_alerts(model: ModelQuery = None, limit: Limit = 100) -> dict[str, Any]:
        """Alerts, newest first."""
        return {"alerts": await store.call(lambda s: queries.alerts(s, model, limit))}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            request = _request_schema()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(request.pop("$defs", {}))
            components["EvaluationRequest"] = request
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.pool = pool
    app.state.metrics = metrics
    return BodyLimit(Observe(Auth(app, config.tokens), app, metrics), config.max_body)


def _wait(config: ServeConfig, pool: Pool) -> float:
    """How long the server waits on the pool: the job's own limit, plus its turn in the queue."""
    return config.time_limit * (1 + pool.pending / pool.workers) + 5.0


def prepare_store(url: str) -> None:
    """Open (create, migrate) the store and the service's dataset table; StoreError when unusable."""
    with Store(url) as store:
        datasets.ensure_table(store)


def openapi_schema(config: ServeConfig) -> dict[str, Any]:
    """The schema the app serves at /openapi.json (without starting it)."""
    app = create_app(config)
    inner: Any = app
    while not isinstance(inner, FastAPI):
        inner = inner.app
    return inner.openapi()
