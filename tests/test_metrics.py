"""detrecall.metrics against scikit-learn on random cases: values within 1e-12, same warnings."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import sklearn.calibration as skc
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
    (metrics.precision_recall_fscore_support, skm.precision_recall_fscore_support, True),
    (metrics.precision_score, skm.precision_score, False),
    (metrics.recall_score, skm.recall_score, False),
    (metrics.f1_score, skm.f1_score, False),
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
    assert metrics.accuracy_score(case["y_true"], case["y_pred"]) == pytest.approx(
        skm.accuracy_score(case["y_true"], case["y_pred"]), abs=1e-12
    )
    assert metrics.accuracy_score(case["y_true"], case["y_pred"], normalize=False) == skm.accuracy_score(
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
        metrics.precision_score([0, 1], [1, 1], average="bogus")
    with pytest.raises(DetrecallError, match="Samplewise metrics are not available"):
        metrics.precision_score([0, 1], [1, 1], average="samples")
    with pytest.raises(DetrecallError, match="Target is multiclass but average='binary'"):
        metrics.recall_score([0, 1, 2], [1, 1, 2])
    with pytest.raises(DetrecallError, match="continuous values"):
        metrics.f1_score([0.5, 1.0], [1.0, 1.0])


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
            assert metrics.roc_auc_score(
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
    assert metrics.average_precision_score(c["y_true"], c["y_score"], pos_label=ap_pos) == pytest.approx(
        skm.average_precision_score(c["y_true"], c["y_score"], pos_label=ap_pos), abs=1e-12
    )
    assert metrics.roc_auc_score(c["y_true"], c["y_score"]) == pytest.approx(
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
            (metrics.cohen_kappa_score, skm.cohen_kappa_score),
        ):
            assert_equal_results(run(ours, y_true, y_pred)[0], run(ref, y_true, y_pred)[0])
    else:
        got, gw = run(metrics.matthews_corrcoef, y_true, y_pred)
        ref, rw = run(skm.matthews_corrcoef, y_true, y_pred)
        assert_equal_results(got, ref)
        assert [m for _, m in gw] == [m for _, m in rw]
        for weights in (None, "linear", "quadratic"):
            got, gw = run(metrics.cohen_kappa_score, y_true, y_pred, weights=weights)
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


# --- scikit-learn's names, signatures and return types -------------------------------------

SKLEARN_NAMES = {
    "accuracy_score",
    "average_precision_score",
    "calibration_curve",  # sklearn.calibration
    "classification_report",
    "cohen_kappa_score",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "matthews_corrcoef",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "roc_auc_score",
}
OLD_NAMES = (
    "precision",
    "recall",
    "f1",
    "fbeta",
    "accuracy",
    "roc_auc",
    "average_precision",
    "cohen_kappa",
    "precision_recall_fscore",
    "AVERAGE_OPTIONS",
)
# (function, parameter) -> why its default must differ from scikit-learn's. None has to: every
# parameter detrecall cannot honour (sample_weight) keeps scikit-learn's default and raises
# DetrecallError when given anything else.
SIGNATURE_EXCEPTIONS: dict[tuple[str, str], str] = {}


def sklearn_twin(name: str):
    return getattr(skm, name, None) or getattr(skc, name, None)


def parameters(fn) -> list[tuple[str, str, str]]:
    """(name, kind, repr of the default) per parameter: repr tells 1 from 1.0 and nan == nan."""
    return [(p.name, p.kind.name, repr(p.default)) for p in inspect.signature(fn).parameters.values()]


def test_public_names_are_scikit_learn_names():
    public = set(metrics.__all__)
    assert {name for name in public if sklearn_twin(name) is not None} == SKLEARN_NAMES
    assert public - SKLEARN_NAMES == {"label_counts"}  # detrecall's own helper
    for old in OLD_NAMES:
        assert not hasattr(metrics, old), old
    defined_here = {
        name
        for name, value in vars(metrics).items()
        if callable(value) and getattr(value, "__module__", None) == metrics.__name__ and name[0] != "_"
    }
    assert defined_here == public  # no public function outside __all__ (helpers are private)


@pytest.mark.parametrize("name", sorted(SKLEARN_NAMES))
def test_signature_equals_scikit_learn(name):
    ours, ref = parameters(getattr(metrics, name)), parameters(sklearn_twin(name))
    for i, (param, kind, _) in enumerate(ref):
        if (name, param) in SIGNATURE_EXCEPTIONS:  # the name and its place must still agree
            assert ours[i][:2] == (param, kind)
            ours[i] = ref[i]
    assert ours == ref


LABEL_ARGS = ([0, 1, 1, 0, 1], [0, 1, 0, 0, 1])
SCORE_ARGS = ([0, 1, 1, 0, 1], [0.1, 0.9, 0.4, 0.3, 0.8])
WEIGHTED = sorted(
    name for name in SKLEARN_NAMES if "sample_weight" in inspect.signature(getattr(metrics, name)).parameters
)


@pytest.mark.parametrize("name", WEIGHTED)
def test_sample_weight_is_refused_not_ignored(name):
    fn = getattr(metrics, name)
    args = (
        SCORE_ARGS
        if name in ("roc_auc_score", "average_precision_score", "precision_recall_curve")
        else LABEL_ARGS
    )
    kw = {"beta": 2.0} if name == "fbeta_score" else {}
    with pytest.raises(DetrecallError, match=f"{name}: sample_weight is not supported"):
        fn(*args, sample_weight=np.ones(5), **kw)
    assert_same(fn(*args, sample_weight=None, **kw), sklearn_twin(name)(*args, sample_weight=None, **kw))


def assert_same(got, ref):
    """Equal values (within 1e-12) of the same types: float vs ndarray (and its dtype kind),
    tuple, dict, str, None; an exception type stands for "refused" (any ValueError)."""
    if isinstance(ref, type):
        assert isinstance(got, type) and issubclass(got, ValueError), (got, ref)
    elif isinstance(ref, tuple):
        assert isinstance(got, tuple) and len(got) == len(ref)
        for a, b in zip(got, ref):
            assert_same(a, b)
    elif isinstance(ref, dict):
        assert isinstance(got, dict) and list(got) == list(ref)
        for key in ref:
            assert_same(got[key], ref[key])
    elif ref is None or isinstance(ref, str):
        assert got == ref
    elif isinstance(ref, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == ref.shape, (got, ref)
        assert got.dtype.kind == ref.dtype.kind, (got.dtype, ref.dtype)
        assert_allclose(got.astype(float), ref.astype(float), atol=1e-12, rtol=0, equal_nan=True)
    elif isinstance(ref, float):  # np.float64 included
        assert isinstance(got, float), (type(got), ref)
        assert got == pytest.approx(ref, abs=1e-12, nan_ok=True)
    else:  # an int: supports in a report, or the 0 scikit-learn returns for an all-zero weighting
        assert isinstance(ref, int) and isinstance(got, (int, float)), (type(got), type(ref))
        assert got == ref


KINDS = ("binary", "multiclass", "multilabel")
N_RANDOM = 30  # random cases per function and kind


def label_case(seed: int, kind: str) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """rng, y_true, y_pred: 0/1 or strings (binary), 3 to 6 int or string classes (multiclass),
    2 to 4 indicator columns (multilabel); predictions mostly right."""
    rng = np.random.default_rng(70_000 + 3 * seed + KINDS.index(kind))
    n = int(rng.integers(3, 25))
    if kind == "multilabel":
        k = int(rng.integers(2, 5))
        y_true = (rng.random((n, k)) < rng.uniform(0.1, 0.6)).astype(int)
        y_pred = np.where(rng.random((n, k)) < 0.7, y_true, rng.random((n, k)) < 0.4).astype(int)
        return rng, y_true, y_pred
    n_classes = 2 if kind == "binary" else int(rng.integers(3, 7))
    values = np.arange(n_classes) if rng.random() < 0.5 else np.array([f"c{i}" for i in range(n_classes)])
    y_true = rng.choice(values, n)
    if kind == "multiclass":
        y_true[:3] = values[:3]  # at least three classes: multiclass for scikit-learn too
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice(values, n))
    return rng, y_true, y_pred


def some_labels(rng: np.random.Generator, y_true: np.ndarray, y_pred: np.ndarray) -> list | None:
    """None, or a random subset of the labels (columns, multilabel), sometimes with an absent one."""
    if rng.random() < 0.5:
        return None
    if y_true.ndim == 2:
        k = y_true.shape[1]
        return sorted(rng.choice(k, int(rng.integers(1, k + 1)), replace=False).tolist())
    present = np.union1d(y_true, y_pred)
    chosen = rng.choice(present, int(rng.integers(1, len(present) + 1)), replace=False).tolist()
    if rng.random() < 0.3:
        chosen.append("zz" if present.dtype.kind == "U" else 99)
    return chosen


AVERAGES = (None, "binary", "micro", "macro", "weighted", "samples")


def some_average(rng: np.random.Generator, valid: tuple) -> dict:
    """{"average": one of `valid`}; now and then {} (the default) or any average (maybe refused)."""
    if rng.random() < 0.1:
        return {}
    options = valid if rng.random() < 0.9 else AVERAGES
    return {"average": options[int(rng.integers(len(options)))]}


def averaging_kwargs(rng: np.random.Generator, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Random labels / pos_label / average / zero_division, each sometimes left to its default."""
    if y_true.ndim == 2:
        kw = some_average(rng, (None, "micro", "macro", "weighted", "samples"))
    else:
        binary = len(np.union1d(y_true, y_pred)) <= 2
        kw = some_average(rng, ("binary", None, "micro", "macro", "weighted")[0 if binary else 1 :])
    if rng.random() < 0.5:
        kw["zero_division"] = ["warn", 0.0, 1.0, math.nan][int(rng.integers(4))]
    labels = some_labels(rng, y_true, y_pred)
    if labels is not None:
        kw["labels"] = labels
    if y_true.ndim == 1 and rng.random() < 0.6:
        present = np.union1d(y_true, y_pred).tolist()
        kw["pos_label"] = present[int(rng.integers(len(present)))]
    return kw


def label_call(name: str, seed: int, kind: str) -> tuple[tuple, dict]:
    rng, y_true, y_pred = label_case(seed, kind)
    if name in (
        "precision_score",
        "recall_score",
        "f1_score",
        "fbeta_score",
        "precision_recall_fscore_support",
    ):
        kw = averaging_kwargs(rng, y_true, y_pred)
        if name == "fbeta_score" or (name == "precision_recall_fscore_support" and rng.random() < 0.7):
            kw["beta"] = [0.0, 0.5, 1.0, 2.0, math.inf][int(rng.integers(5))]
        if name == "precision_recall_fscore_support" and rng.random() < 0.5:
            kw["warn_for"] = tuple(
                rng.choice(["precision", "recall", "f-score"], int(rng.integers(0, 4)), False)
            )
    elif name == "accuracy_score":
        kw = {"normalize": bool(rng.random() < 0.5)}
    elif name == "confusion_matrix":
        kw = {
            "labels": some_labels(rng, y_true, y_pred),
            "normalize": [None, "true", "pred", "all"][seed % 4],
        }
    elif name == "classification_report":
        kw = {"output_dict": bool(seed % 2), "digits": int(rng.integers(1, 5))}
        if rng.random() < 0.5:
            kw["zero_division"] = ["warn", 0.0, 1.0, math.nan][int(rng.integers(4))]
        if y_true.ndim == 1 and rng.random() < 0.4:
            kw["labels"] = some_labels(rng, y_true, y_pred)
    elif name == "cohen_kappa_score":
        kw = {"weights": [None, "linear", "quadratic"][seed % 3], "labels": some_labels(rng, y_true, y_pred)}
        if rng.random() < 0.3:
            kw["replace_undefined_by"] = -1.0
    else:  # matthews_corrcoef
        kw = {}
    return (y_true, y_pred), kw


def score_case(seed: int, kind: str) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """rng, y_true, y_score: tied scores of 0/1, -1/1 or string labels (binary; sometimes one
    class only), probability rows (multiclass), per-column scores (multilabel)."""
    rng = np.random.default_rng(90_000 + 3 * seed + KINDS.index(kind))
    n = int(rng.integers(4, 40))
    levels = int(rng.choice([3, 10, 1000]))
    if kind == "multiclass":
        k = int(rng.integers(3, 6))
        n = max(n, k)
        y_true = rng.integers(0, k, n)
        y_true[:k] = np.arange(k)
        p = np.round(rng.random((n, k)) * levels) + 0.5
        return rng, y_true, p / p.sum(axis=1, keepdims=True)
    if kind == "multilabel":
        k = int(rng.integers(2, 5))
        y_true = (rng.random((n, k)) < rng.uniform(0.1, 0.7)).astype(int)
        return rng, y_true, np.round(rng.random((n, k)) * levels) / levels + 0.3 * y_true * rng.random()
    y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
    if rng.random() < 0.85:
        y[0], y[1] = 0, 1
    score = np.clip(np.round(rng.random(n) * levels) / levels + 0.3 * y * rng.random(), 0, 1)
    y_true = [y, np.where(y == 1, 1, -1), np.where(y == 1, "pos", "neg")][seed % 3]
    return rng, y_true, score


def score_call(name: str, seed: int, kind: str) -> tuple[tuple, dict]:
    rng, y_true, y_score = score_case(seed, kind)
    kw: dict = {}
    strings = y_true.dtype.kind == "U"
    if name == "roc_auc_score":
        if kind == "multiclass":
            kw["multi_class"] = ["ovr", "ovo"][seed % 2] if rng.random() < 0.9 else "raise"
            if kw["multi_class"] == "ovo":  # average=None: NotImplementedError, not a ValueError
                kw.update(some_average(rng, ("macro", "weighted")))
                if kw.get("average", "macro") is None:
                    kw["average"] = "weighted"
            else:
                kw.update(some_average(rng, (None, "micro", "macro", "weighted")))
            if rng.random() < 0.3:
                kw["labels"] = np.arange(y_score.shape[1])
        else:
            kw.update(some_average(rng, (None, "micro", "macro", "weighted", "samples")))
            if rng.random() < 0.5:
                kw["max_fpr"] = [0.1, 0.25, 0.5, 0.8, 1.0][int(rng.integers(5))]
    elif name == "average_precision_score":
        kw.update(some_average(rng, (None, "micro", "macro", "weighted", "samples")))
        if strings:
            kw["pos_label"] = "pos"
        elif rng.random() < (0.3 if kind == "binary" else 0.1):  # fixed to 1 unless binary
            kw["pos_label"] = [1, 0, -1][int(rng.integers(3))]
    else:  # binary curves; multiclass and multilabel targets are refused by both
        if kind != "binary":
            y_score = y_score[:, 0] if kind == "multilabel" else y_score.max(axis=1)
        if strings:
            kw["pos_label"] = "pos"
        if name == "precision_recall_curve":
            kw["drop_intermediate"] = bool(seed % 2)
        else:
            kw["n_bins"] = int(rng.integers(2, 8))
            kw["strategy"] = ["uniform", "quantile"][seed % 2]
    return (y_true, y_score), kw


SCORED = ("roc_auc_score", "average_precision_score", "precision_recall_curve", "calibration_curve")


@pytest.mark.parametrize("seed", range(N_RANDOM))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(SKLEARN_NAMES))
def test_every_function_equals_scikit_learn_on_random_inputs(name, kind, seed):
    args, kw = (score_call if name in SCORED else label_call)(name, seed, kind)
    got, our_warnings = run(getattr(metrics, name), *args, **kw)
    ref, ref_warnings = run(sklearn_twin(name), *args, **kw)
    assert_same(got, ref)
    assert our_warnings == ref_warnings


BINARY_ONLY = {"precision_recall_curve", "calibration_curve"}
NO_MULTILABEL = {"confusion_matrix", "matthews_corrcoef", "cohen_kappa_score"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(SKLEARN_NAMES))
def test_random_inputs_are_mostly_computed_not_refused(name, kind):
    """The random cases above reach the values: at least 20 per function and target kind that
    scikit-learn supports (the rest test that both refuse the same inputs)."""
    supported = kind == "binary" or (
        name not in BINARY_ONLY and (kind == "multiclass" or name not in NO_MULTILABEL)
    )
    computed = 0
    for seed in range(N_RANDOM):
        args, kw = (score_call if name in SCORED else label_call)(name, seed, kind)
        computed += not isinstance(run(sklearn_twin(name), *args, **kw)[0], type)
    assert computed >= 20 if supported else computed == 0
