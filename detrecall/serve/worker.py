"""Evaluations off the event loop: a bounded pool of processes, each with a time limit.

The event loop only reads bodies and answers; parsing, validation and evaluation run in worker
processes (numpy holds the GIL often enough that threads would stall `/health`). A worker never
writes to the store: it returns the run, and the app records it only when it arrived in time,
so an evaluation past its limit leaves nothing behind. Admission is counted here: at most
`workers + queue` evaluations are admitted, past that `Pool.admit` refuses (429).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import multiprocessing
import signal
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from pydantic import ValidationError

from ..errors import DetrecallError, InputError
from ..monitor.runs import RunData
from . import datasets
from .errors import ApiError, where_of
from .limits import parse_json
from .schemas import EVALUATION_REQUEST, ClassificationRequest, DetectionRequest, EvaluationOptions


@dataclass(frozen=True)
class Evaluated:
    """A run computed by a worker, not yet stored."""

    model: str
    version: str | None
    tags: dict[str, str]
    max_drop: list[str]
    run: RunData
    inputs: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class Refused:
    """A request a worker refused: the ApiError's parts (exceptions do not cross processes whole)."""

    status: int
    error: str
    where: str


# -- in the worker -----------------------------------------------------------------------------

_STORE: Any = None
_GROUND_TRUTH: OrderedDict[tuple[str, bool], Any] = OrderedDict()
_CACHE = 4


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def _init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    signal.signal(signal.SIGALRM, _alarm)
    import detrecall.evaluate  # noqa: F401  (imported once, before the first request waits on it)


def warm() -> int:
    return 0


def _validation_error(e: ValidationError) -> Refused:
    first = e.errors()[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p in ("detection", "classification"))]
    return Refused(422, first["msg"], where_of(["body", *loc]))


def _input_error(e: InputError) -> Refused:
    record = e.record or ""
    if record.startswith("result "):
        where = f"body.predictions[{record.split()[1]}]"
    else:
        where = "body.ground_truth" + (f" ({record})" if record else "")
    if e.field:
        where += f".{e.field}"
    return Refused(422, e.message, where)


def _store(url: str) -> Any:
    global _STORE
    if _STORE is None:
        from ..monitor.store import Store

        _STORE = Store(url, create=False)
    return _STORE


def _registered(url: str, name: str, masks: bool) -> tuple[Any, str]:
    """A registered dataset's ground truth (cached by SHA-256) and its SHA-256."""
    from ..io import read_ground_truth

    store = _store(url)
    info = datasets.get(store, name)
    if info is None:
        raise ApiError(404, f"no dataset {name!r} (register it with PUT /v1/datasets/{name})", "body.dataset")
    key = (info.sha256, masks)
    if key not in _GROUND_TRUTH:
        found = datasets.body(store, name)
        assert found is not None
        import orjson

        _GROUND_TRUTH[key] = read_ground_truth(orjson.loads(found[1]), masks=masks)
        while len(_GROUND_TRUTH) > _CACHE:
            _GROUND_TRUTH.popitem(last=False)
    _GROUND_TRUTH.move_to_end(key)
    return _GROUND_TRUTH[key], info.sha256


def _detection(req: DetectionRequest, store_url: str) -> tuple[RunData, dict[str, Any]]:
    from ..evaluate import evaluate
    from ..monitor.runs import detection_run, unlabelled_run
    from ..monitor.stats import stats_of_records

    if req.dataset is not None and req.ground_truth is not None:
        raise ApiError(422, "give dataset or ground_truth, not both", "body.dataset")
    if not isinstance(req.predictions, list):
        raise ApiError(422, "predictions must be a list of COCO results", "body.predictions")
    if req.dataset is None and req.ground_truth is None:
        if req.options is not None:
            raise ApiError(422, "options need ground truth (dataset or ground_truth)", "body.options")
        stats = stats_of_records(req.predictions, source="body.predictions")
        return unlabelled_run(stats), {"predictions": {"count": len(req.predictions)}}
    options = req.options or EvaluationOptions()
    masks = req.iou_type == "segm"
    if req.dataset is not None:
        gt, sha = _registered(store_url, req.dataset, masks)
        inputs: dict[str, Any] = {"dataset": {"name": req.dataset, "sha256": sha}}
    else:
        gt = req.ground_truth
        images = gt.get("images") if isinstance(gt, dict) else None
        inputs = {"ground_truth": {"inline": True, "images": len(images) if isinstance(images, list) else 0}}
    result = evaluate(gt, req.predictions, req.iou_type, protocol=options.protocol, **options.keywords())
    inputs["predictions"] = {"count": len(req.predictions)}
    return dataclasses.replace(detection_run(result), evaluation=None), inputs


def _classification(req: ClassificationRequest) -> tuple[RunData, dict[str, Any]]:
    import numpy as np

    from ..monitor.runs import classification_run

    n = len(req.y_pred)
    if req.y_true is not None and len(req.y_true) != n:
        raise ApiError(422, f"{len(req.y_true)} true labels for {n} predictions", "body.y_true")
    if req.y_proba is not None and len(req.y_proba) != n:
        raise ApiError(422, f"{len(req.y_proba)} score rows for {n} predictions", "body.y_proba")
    if req.y_proba is not None and isinstance(req.y_proba[0], list):
        widths = {len(row) if isinstance(row, list) else 1 for row in req.y_proba}
        if len(widths) != 1:
            raise ApiError(422, "every row of y_proba needs the same number of columns", "body.y_proba")
    kinds = {type(v) for v in [*req.y_pred, *(req.y_true or [])]}
    if len(kinds) > 1:
        raise ApiError(422, "labels are all integers or all strings, not both", "body.y_pred")
    y_true = None if req.y_true is None else np.asarray(req.y_true)
    proba = None if req.y_proba is None else np.asarray(req.y_proba, dtype=np.float64)
    run = classification_run(y_true, np.asarray(req.y_pred), proba)
    return run, {"labels": {"count": n}}


@contextmanager
def _limited(time_limit: float) -> Iterator[None]:
    """Raise _Timeout (SIGALRM) when the block runs past `time_limit` seconds; warnings of the
    reading are not the client's answer, so they are silenced. The timer is off on any exit."""
    signal.setitimer(signal.ITIMER_REAL, max(time_limit, 0.001))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def evaluate_body(body: bytes, store_url: str, time_limit: float) -> Evaluated | Refused:
    """Parse, validate and evaluate one POST /v1/evaluations body (in a worker process)."""
    started = time.perf_counter()
    try:
        with _limited(time_limit):
            data = parse_json(body)
            if not isinstance(data, dict):
                return Refused(422, "the body must be a JSON object", "body")
            req = EVALUATION_REQUEST.validate_python(data)
            if isinstance(req, ClassificationRequest):
                run, inputs = _classification(req)
            else:
                run, inputs = _detection(req, store_url)
            inputs["body_sha256"] = hashlib.sha256(body).hexdigest()
        return Evaluated(
            req.model,
            req.version,
            dict(req.tags or {}),
            list(req.max_drop or []),
            run,
            inputs,
            time.perf_counter() - started,
        )
    except _Timeout:
        return Refused(503, f"the evaluation took longer than the time limit of {time_limit:g} s", "body")
    except ApiError as e:
        return Refused(e.status, e.error, e.where)
    except ValidationError as e:
        return _validation_error(e)
    except InputError as e:
        return _input_error(e)
    except (DetrecallError, ValueError, TypeError, KeyError, IndexError) as e:
        return Refused(422, f"cannot evaluate this input ({type(e).__name__}: {e})"[:500], "body")


def check_dataset(body: bytes, time_limit: float) -> tuple[int, int, int] | Refused:
    """(images, annotations, categories) of a COCO ground-truth body, or why it cannot be used."""
    from ..io import read_ground_truth

    try:
        with _limited(time_limit):
            data = parse_json(body)
            if not isinstance(data, dict):
                return Refused(422, "a dataset is a COCO instances JSON object", "body")
            gt = read_ground_truth(data)
        return len(gt.images.ids), len(gt.image_id), len(gt.categories.ids)
    except _Timeout:
        return Refused(503, f"reading the dataset took longer than {time_limit:g} s", "body")
    except ApiError as e:
        return Refused(e.status, e.error, e.where)
    except InputError as e:
        return _input_error(e)
    except (DetrecallError, ValueError, TypeError, KeyError, IndexError) as e:
        return Refused(422, f"not a usable COCO ground truth ({type(e).__name__}: {e})"[:500], "body")


# -- in the server -----------------------------------------------------------------------------


class Pool:
    """`workers` processes and room for `queue` more evaluations waiting; `run` awaits one job."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.pending = 0
        self.mean_seconds = 1.0
        self._executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init
        )

    def warm(self) -> None:
        for _ in range(self.workers):
            self._executor.submit(warm)

    @property
    def queued(self) -> int:
        return max(0, self.pending - self.workers)

    def retry_after(self) -> int:
        return max(1, math.ceil(self.mean_seconds * (self.queued + 1) / self.workers))

    def admit(self) -> None:
        if self.pending >= self.capacity:
            raise ApiError(
                429,
                f"{self.pending} evaluations in progress or queued (the limit); retry later",
                "server",
                {"Retry-After": str(self.retry_after())},
            )
        self.pending += 1

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """Run `fn(*args)` in a worker (admitted first); 503 when no answer came in `timeout` s."""
        self.admit()
        started = time.perf_counter()
        try:
            future = asyncio.wrap_future(self._executor.submit(fn, *args))
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise ApiError(503, f"no result within the time limit of {timeout:g} s", "server") from None
            except BrokenProcessPool:
                self._executor = self._new()  # a worker died (e.g. out of memory): start afresh
                raise ApiError(503, "the evaluation's worker process died; retry", "server") from None
        finally:
            self.pending -= 1
            self.mean_seconds = 0.8 * self.mean_seconds + 0.2 * (time.perf_counter() - started)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
