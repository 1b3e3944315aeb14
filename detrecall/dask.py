"""Evaluation spread over a Dask cluster: match shards on the workers, summarize on the client.

    from dask.distributed import Client
    import detrecall.dask
    client = Client()                           # or Client("tcp://scheduler:8786")
    result = detrecall.dask.evaluate(gt_shards, dt_shards, "bbox", client=client)

Each shard is a set of whole images: a COCO ground-truth file or dict holding just those images
(all shards listing the same categories) and its results. The workers send back `Evaluator`
states (the matcher's compact output), never the inputs. Needs `pip install detrecall[dask]`;
detrecall's core never imports Dask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import DetrecallError
from .options import CocoParams, InputOptions, IouType, Keywords, PointOptions
from .protocols import Protocol
from .result import EvaluationResult
from .streaming import Evaluator

if TYPE_CHECKING:
    from typing_extensions import Unpack


def _shard_state(pair: tuple[Any, Any], iou_type: str | IouType, options: dict[str, Any]) -> dict[str, Any]:
    ev = Evaluator(iou_type, **options)
    ev.update(*pair)
    return ev.state_dict()


def evaluate(
    gt: Sequence[Any] | Any,
    dt: Sequence[Any] | Any,
    iou_type: str | IouType = "bbox",
    *,
    client: Any = None,
    protocol: str | Protocol = "coco",
    params: CocoParams | None = None,
    point: PointOptions | None = None,
    inputs: InputOptions | None = None,
    **keywords: Unpack[Keywords],
) -> EvaluationResult:
    """`detrecall.evaluate` over shards: `gt` and `dt` are equally long sequences (paths or
    parsed JSON, one shard each) or dask Bags with one shard per element. `options` are
    `evaluate`'s options (groups or flat keywords), as `Evaluator` takes them. Without
    `client`, Dask's default scheduler runs it."""
    import dask.bag as db

    options: dict[str, Any] = {
        "protocol": protocol,
        "params": params,
        "point": point,
        "inputs": inputs,
        **keywords,
    }

    if isinstance(gt, db.Bag) != isinstance(dt, db.Bag):
        raise DetrecallError("gt and dt must both be dask Bags or both be sequences")
    if isinstance(gt, db.Bag):
        pairs = db.zip(gt, dt)
    else:
        if len(gt) != len(dt):
            raise DetrecallError(f"gt has {len(gt)} shards but dt has {len(dt)}")
        pairs = db.from_sequence(list(zip(gt, dt)), npartitions=max(1, len(gt)))
    Evaluator(iou_type, **options)  # check the options here, before any work is sent out
    states = pairs.map(_shard_state, iou_type, options)
    computed = client.compute(states).result() if client is not None else states.compute()
    total = Evaluator(iou_type, **options)
    for state in computed:
        shard = Evaluator(iou_type, **options)
        shard.load_state_dict(state)
        total.merge(shard)
    return total.compute()
