"""Argument errors are DetrecallErrors that say what is wrong (issue: reliability, items 12, 14, 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detrecall import DetrecallError, Evaluator, compare, evaluate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GT, DT = FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"beta": 1e200}, "its square overflows"),
        ({"max_dets": [1.5]}, "max_dets must be positive integers"),
        ({"max_dets": ["a"]}, "max_dets must be positive integers"),
        ({"area_ranges": {"all": (0, "x")}}, "area_ranges must be"),
        ({"image_ids": ["a"]}, "image_ids must be integer ids"),
        ({"image_ids": [True]}, "image_ids must be integer ids"),
        ({"iou_thresholds": ["x"]}, "iou_thresholds must be numbers"),
        ({"cost": {"tp": float("nan")}}, "cost\\['tp'\\] must be a finite number"),
        ({"cost": {"tp": "x"}}, "cost\\['tp'\\] must be a finite number"),
    ],
)
def test_bad_arguments_are_located_detrecall_errors(options: dict, message: str) -> None:
    with pytest.raises(DetrecallError, match=message):
        evaluate(GT, DT, **options)


def test_beta_inf_is_still_recall() -> None:
    r = evaluate(GT, DT, beta=float("inf"))
    assert r.point.micro.f1 == r.point.micro.recall


def test_a_malformed_state_and_a_saved_result_that_is_a_list_are_refused() -> None:
    ev = Evaluator()
    with pytest.raises(DetrecallError, match="not an Evaluator state"):
        ev.load_state_dict([1, 2])  # type: ignore[arg-type]
    state = Evaluator().state_dict() | {"categories": {"ids": [1]}}
    with pytest.raises(DetrecallError, match="not a whole Evaluator state"):
        ev.load_state_dict(state)
    saved = evaluate(GT, DT).to_dict()
    with pytest.raises(DetrecallError, match="compare takes two EvaluationResults"):
        compare(json.loads(json.dumps(saved)), [])  # type: ignore[arg-type]
    from detrecall.analysis.compare import compare_saved

    with pytest.raises(DetrecallError, match="not a saved detrecall result"):
        compare_saved(json.loads(json.dumps(saved)), [])  # type: ignore[arg-type]  # `compare A.json B.json`
