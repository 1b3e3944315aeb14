"""detrecall.metrics against scikit-learn on random cases: values within 1e-12, same warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose

from detrecall import metrics
from detrecall.errors import DetrecallError, UndefinedMetricWarning

N_CASES = 200


def random_case(seed: int) -> dict:
    """binary / multiclass (ints or strings) / multilabel, missing labels, labels= subsets,
    every average and zero_division value."""
    rng = np.random.default_rng(seed)
    kind = ["binary", "multiclass", "multiclass-str", "multilabel"][seed % 4]
    n = int(rng.integers(1, 30))
    case: dict = {
        "zero_division": ["warn", 0, 1, math.nan][(seed // 4) % 4],
        "beta": [1.0, 0.5, 2.0][seed % 3],
    }
    if kind == "multilabel":
        k = int(rng.integers(1, 5))
        case["y_true"] = (rng.random((n, k)) < rng.uniform(0, 0.6)).astype(int)
        case["y_pred"] = (rng.random((n, k)) < rng.uniform(0, 0.6)).astype(int)
        case["average"] = [None, "micro", "macro", "weighted"][seed % 4]
        if seed % 5 == 0:
            case["labels"] = sorted(rng.choice(k, int(rng.integers(1, k + 1)), replace=False).tolist())
        return case
    n_classes = 2 if kind == "binary" else int(rng.integers(3, 7))
    values = np.arange(n_classes)
    if kind == "multiclass-str":
        values = np.array([f"c{i}" for i in range(n_classes)])
    pool = values[: max(1, n_classes - int(rng.integers(0, 2)))]  # sometimes a label never appears
    case["y_true"] = rng.choice(pool, n)
    case["y_pred"] = np.where(rng.random(n) < 0.6, case["y_true"], rng.choice(values, n))
    if kind == "binary":
        case["average"] = ["binary", None, "micro", "macro", "weighted"][seed % 5]
        present = np.union1d(case["y_true"], case["y_pred"]).tolist()
        case["pos_label"] = present[-1] if len(present) == 2 or rng.random() < 0.5 else 1
    else:
        case["average"] = [None, "micro", "macro", "weighted"][seed % 4]
        if seed % 3 == 0:
            extra = ["zz"] if kind == "multiclass-str" else [99]  # a label absent from the data
            chosen = rng.choice(values, int(rng.integers(1, n_classes + 1)), replace=False).tolist()
            case["labels"] = chosen + (extra if seed % 2 else [])
    return case


def run(fn, *args, **kwargs):
    """(result or exception type, warning categories emitted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(*args, **kwargs)
        except ValueError as e:
            out = type(e)
    kinds = sorted(
        {
            (w.category.__name__, str(w.message))
            for w in caught
            if issubclass(w.category, UserWarning) and "pos_label" not in str(w.message)
        }
    )
    return out, kinds


def assert_equal_results(ours, ref):
    if isinstance(ref, type):
        assert isinstance(ours, type) and issubclass(ours, ValueError), (ours, ref)
        return
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,), ref if isinstance(ref, tuple) else (ref,)):
        if b is None:
            assert a is None
        else:
            assert_allclose(np.asarray(a, float), np.asarray(b, float), atol=1e-12, rtol=0, equal_nan=True)


PAIRS = [
    (metrics.precision_recall_fscore, skm.precision_recall_fscore_support, True),
    (metrics.precision, skm.precision_score, False),
    (metrics.recall, skm.recall_score, False),
    (metrics.f1, skm.f1_score, False),
]


@pytest.mark.parametrize("seed", range(N_CASES))
@pytest.mark.parametrize(("ours", "ref", "takes_beta"), PAIRS, ids=lambda x: getattr(x, "__name__", ""))
def test_equal_to_scikit_learn_with_the_same_warnings(seed, ours, ref, takes_beta):
    case = random_case(seed)
    kwargs = {k: case[k] for k in ("average", "labels", "pos_label", "zero_division") if k in case}
    if takes_beta:
        kwargs["beta"] = case["beta"]
    got, our_warnings = run(ours, case["y_true"], case["y_pred"], **kwargs)
    expected, ref_warnings = run(ref, case["y_true"], case["y_pred"], **kwargs)
    assert_equal_results(got, expected)
    assert [m for _, m in our_warnings] == [m for _, m in ref_warnings]
    assert all(c == "UndefinedMetricWarning" for c, _ in our_warnings)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_accuracy_and_confusion_matrix(seed):
    case = random_case(seed)
    assert metrics.accuracy(case["y_true"], case["y_pred"]) == pytest.approx(
        skm.accuracy_score(case["y_true"], case["y_pred"]), abs=1e-12
    )
    assert metrics.accuracy(case["y_true"], case["y_pred"], normalize=False) == skm.accuracy_score(
        case["y_true"], case["y_pred"], normalize=False
    )
    y_true = np.asarray(case["y_true"])
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        with pytest.raises(DetrecallError, match="multilabel-indicator is not supported"):
            metrics.confusion_matrix(case["y_true"], case["y_pred"])
        return
    for normalize in (None, "true", "pred", "all"):
        kw = {"labels": case.get("labels"), "normalize": normalize}
        expected, _ = run(skm.confusion_matrix, case["y_true"], case["y_pred"], **kw)
        got, _ = run(metrics.confusion_matrix, case["y_true"], case["y_pred"], **kw)
        assert_equal_results(got, expected)


def test_warning_class_is_a_user_warning_and_bad_arguments():
    assert issubclass(UndefinedMetricWarning, UserWarning)
    with pytest.raises(DetrecallError, match="average must be one of"):
        metrics.precision([0, 1], [1, 1], average="bogus")
    with pytest.raises(DetrecallError, match="Samplewise metrics are not available"):
        metrics.precision([0, 1], [1, 1], average="samples")
    with pytest.raises(DetrecallError, match="Target is multiclass but average='binary'"):
        metrics.recall([0, 1, 2], [1, 1, 2])
    with pytest.raises(DetrecallError, match="continuous values"):
        metrics.f1([0.5, 1.0], [1.0, 1.0])


def scored_case(seed: int) -> dict:
    """Binary labels (0/1, -1/1 or strings with pos_label) with scores full of ties, or
    multiclass labels with probability rows."""
    rng = np.random.default_rng(50_000 + seed)
    n = int(rng.integers(2, 40))
    levels = int(rng.choice([3, 10, 1000]))
    if seed % 4 == 3:
        k = int(rng.integers(3, 6))
        n = max(n, k)
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)  # every class present
        p = rng.random((n, k)) ** 2
        return {"y_true": y, "y_score": p / p.sum(axis=1, keepdims=True), "multiclass": True}
    y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
    y[0], y[1] = 0, 1
    score = np.round(rng.random(n) * levels) / levels + 0.3 * y * rng.random()
    score = np.clip(score, 0, 1)
    case = {"y_true": y, "y_score": score, "multiclass": False}
    if seed % 4 == 1:
        case["y_true"] = np.where(y == 1, 1, -1)
    if seed % 4 == 2:
        case["y_true"] = np.where(y == 1, "pos", "neg")
        case["pos_label"] = "pos"
    return case


@pytest.mark.parametrize("seed", range(N_CASES * 4 // 3 + 4))  # >= 200 binary, 67 multiclass
def test_scored_functions_equal_scikit_learn(seed):
    c = scored_case(seed)
    if c["multiclass"]:
        for average in ("macro", "weighted"):
            assert metrics.roc_auc(
                c["y_true"], c["y_score"], multi_class="ovr", average=average
            ) == pytest.approx(
                skm.roc_auc_score(c["y_true"], c["y_score"], multi_class="ovr", average=average), abs=1e-12
            )
        return
    pos = {"pos_label": c["pos_label"]} if "pos_label" in c else {}
    got = metrics.precision_recall_curve(c["y_true"], c["y_score"], **pos)
    ref = skm.precision_recall_curve(c["y_true"], c["y_score"], **pos)
    for a, b in zip(got, ref):
        assert_allclose(a, b, atol=1e-12, rtol=0)
    got = metrics.precision_recall_curve(c["y_true"], c["y_score"], drop_intermediate=True, **pos)
    ref = skm.precision_recall_curve(c["y_true"], c["y_score"], drop_intermediate=True, **pos)
    for a, b in zip(got, ref):
        assert_allclose(a, b, atol=1e-12, rtol=0)
    ap_pos = c.get("pos_label", 1)
    assert metrics.average_precision(c["y_true"], c["y_score"], pos_label=ap_pos) == pytest.approx(
        skm.average_precision_score(c["y_true"], c["y_score"], pos_label=ap_pos), abs=1e-12
    )
    assert metrics.roc_auc(c["y_true"], c["y_score"]) == pytest.approx(
        skm.roc_auc_score(c["y_true"], c["y_score"]), abs=1e-12
    )
    from sklearn.calibration import calibration_curve

    for strategy in ("uniform", "quantile"):
        n_bins = int(np.random.default_rng(seed).integers(2, 8))
        got = metrics.calibration_curve(c["y_true"], c["y_score"], n_bins=n_bins, strategy=strategy, **pos)
        ref = calibration_curve(c["y_true"], c["y_score"], n_bins=n_bins, strategy=strategy, **pos)
        for a, b in zip(got, ref):
            assert_allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_agreement_metrics_and_report_equal_scikit_learn(seed):
    case = random_case(seed)
    y_true, y_pred = case["y_true"], case["y_pred"]
    multilabel = np.asarray(y_true).ndim == 2 and np.asarray(y_true).shape[1] > 1
    if multilabel:  # scikit-learn refuses both on indicator input; so do we
        for ours, ref in (
            (metrics.matthews_corrcoef, skm.matthews_corrcoef),
            (metrics.cohen_kappa, skm.cohen_kappa_score),
        ):
            assert_equal_results(run(ours, y_true, y_pred)[0], run(ref, y_true, y_pred)[0])
    else:
        got, gw = run(metrics.matthews_corrcoef, y_true, y_pred)
        ref, rw = run(skm.matthews_corrcoef, y_true, y_pred)
        assert_equal_results(got, ref)
        assert [m for _, m in gw] == [m for _, m in rw]
        for weights in (None, "linear", "quadratic"):
            got, gw = run(metrics.cohen_kappa, y_true, y_pred, weights=weights)
            ref, rw = run(skm.cohen_kappa_score, y_true, y_pred, weights=weights)
            assert_equal_results(got, ref)
            assert [m for _, m in gw] == [m for _, m in rw]
    kw = {"zero_division": case["zero_division"]}
    if "labels" in case and not multilabel:
        kw["labels"] = case["labels"]
    for output_dict in (False, True):
        got, gw = run(metrics.classification_report, y_true, y_pred, output_dict=output_dict, **kw)
        ref, rw = run(skm.classification_report, y_true, y_pred, output_dict=output_dict, **kw)
        if isinstance(ref, type):
            assert isinstance(got, type)
            continue
        if output_dict:
            assert list(got) == list(ref)
            for key in ref:
                if isinstance(ref[key], dict):
                    assert_allclose(
                        [got[key][h] for h in ref[key]], list(ref[key].values()), atol=1e-12, equal_nan=True
                    )
                else:
                    assert got[key] == pytest.approx(ref[key], abs=1e-12)
        else:
            assert got == ref
        assert [m for _, m in gw] == [m for _, m in rw]
