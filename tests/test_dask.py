"""detrecall.dask on a real LocalCluster with 2 worker processes: equal to evaluate."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from detrecall import evaluate
from tests.oracle import random_coco
from tests.test_streaming import assert_same, split

distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] not installed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.mark.parametrize("seed", range(3))
def test_local_cluster_equals_evaluate(client, seed, tmp_path):
    import json

    import detrecall.dask

    gt, dt = random_coco(300 + seed, segm=seed == 2)
    iou_type = "segm" if seed == 2 else "bbox"
    shards = split(gt, dt, np.random.default_rng(seed), 3)
    gt_paths, dt_lists = [], []
    for i, (g, d) in enumerate(shards):  # ground truth as files, results as parsed lists
        (tmp_path / f"gt{i}.json").write_text(json.dumps(g))
        gt_paths.append(str(tmp_path / f"gt{i}.json"))
        dt_lists.append(d)
    result = detrecall.dask.evaluate(gt_paths, dt_lists, iou_type, client=client, score_threshold=0.2)
    assert_same(result, evaluate(copy.deepcopy(gt), copy.deepcopy(dt), iou_type, score_threshold=0.2))


def test_bags_and_mismatched_inputs(client):
    import dask.bag as db

    import detrecall.dask

    gt, dt = random_coco(310)
    shards = split(gt, dt, np.random.default_rng(0), 2)
    bag_gt = db.from_sequence([g for g, _ in shards], npartitions=2)
    bag_dt = db.from_sequence([d for _, d in shards], npartitions=2)
    assert_same(detrecall.dask.evaluate(bag_gt, bag_dt, client=client), evaluate(gt, dt))
    with pytest.raises(ValueError, match="gt has 2 shards but dt has 1"):
        detrecall.dask.evaluate([g for g, _ in shards], [shards[0][1]])
