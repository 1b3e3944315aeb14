"""Label classification metrics with scikit-learn's names, signatures and semantics, on the
shared aggregator.

Each public function that scikit-learn also has takes its parameters in the same order, with
the same names and defaults (scikit-learn 1.9), and returns the same types, so
`from detrecall.metrics import f1_score` can replace `from sklearn.metrics import f1_score`.
`sample_weight` is accepted but not supported: anything but None raises DetrecallError.

`y_true` / `y_pred` are 1-D label arrays (binary or multiclass; ints or strings) or 2-D 0/1
indicator arrays (multilabel). The counts per label come from here; every rate and average
comes from `aggregate` (the same code that scores detections). scikit-learn is not needed.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from .aggregate import WARN_ALL, Counts, Curve, average_rates, curves, prf
from .errors import DetrecallError, UndefinedMetricWarning
from .options import ZeroDivision, check_zero_division

__all__ = [
    "accuracy_score",
    "average_precision_score",
    "calibration_curve",
    "classification_report",
    "cohen_kappa_score",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "label_counts",
    "matthews_corrcoef",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "roc_auc_score",
]

_AVERAGE_OPTIONS = (None, "binary", "micro", "macro", "weighted", "samples")
_SCORE_AVERAGE_OPTIONS = (None, "micro", "macro", "weighted", "samples")

Score = float | np.ndarray  # a float when averaged, else one value per label


def _no_sample_weight(sample_weight: ArrayLike | None, function: str) -> None:
    """detrecall counts every sample once: refuse weights rather than ignore them."""
    if sample_weight is not None:
        raise DetrecallError(
            f"{function}: sample_weight is not supported by detrecall (only sample_weight=None); "
            "use scikit-learn for weighted samples"
        )


def _targets(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(kind, present labels, y_true, y_pred); kind is binary, multiclass or multilabel-indicator."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yt.ndim == 2 and yt.shape[1] == 1 and yp.ndim == 2 and yp.shape[1] == 1:
        yt, yp = yt[:, 0], yp[:, 0]  # a column vector is 1-D labels, as scikit-learn reads it
    if yt.ndim == 2 or yp.ndim == 2:
        if yt.shape != yp.shape or yt.ndim != 2:
            raise DetrecallError(
                f"multilabel y_true and y_pred must have one shape, got {yt.shape} and {yp.shape}"
            )
        for name, y in (("y_true", yt), ("y_pred", yp)):
            if not np.isin(y, (0, 1)).all():
                raise DetrecallError(f"{name} is 2-D but not a 0/1 indicator matrix")
        return "multilabel-indicator", np.arange(yt.shape[1]), yt.astype(bool), yp.astype(bool)
    if yt.ndim != 1 or yp.ndim != 1 or len(yt) != len(yp):
        raise DetrecallError(f"y_true and y_pred must be 1-D of one length, got {yt.shape} and {yp.shape}")
    for name, y in (("y_true", yt), ("y_pred", yp)):
        if y.dtype.kind == "f" and len(y) and not np.all(np.mod(y, 1) == 0):
            raise DetrecallError(f"{name} holds continuous values; labels must be discrete")
    if (yt.dtype.kind in "US") != (yp.dtype.kind in "US") and len(yt):
        raise DetrecallError("mix of string and number labels in y_true and y_pred")
    labels = np.union1d(yt, yp)
    return ("binary" if len(labels) <= 2 else "multiclass"), labels, yt, yp


def _labels_for(
    kind: str, present: np.ndarray, average: str | None, labels: ArrayLike | None, pos_label: Any
) -> np.ndarray:
    if average not in _AVERAGE_OPTIONS:
        raise DetrecallError(f"average must be one of {_AVERAGE_OPTIONS}, got {average!r}")
    if average == "binary":
        if kind != "binary":
            options = [None, "micro", "macro", "weighted"]
            if kind == "multilabel-indicator":
                options.append("samples")
            raise DetrecallError(
                f"Target is {kind} but average='binary'. Please choose another "
                f"average setting, one of {options}."
            )
        if pos_label not in present.tolist() and len(present) >= 2:
            raise DetrecallError(
                f"pos_label={pos_label} is not a valid label. It should be one of {present.tolist()}"
            )
        return np.asarray([pos_label])
    return present if labels is None else np.asarray(labels)


def _label_index(y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Position of each value in `labels` (first occurrence), len(labels) where absent."""
    if len(labels) == 0:
        return np.zeros(len(y), np.int64)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    pos = np.searchsorted(sorted_labels, y).clip(0, len(labels) - 1)
    return np.where(sorted_labels[pos] == y, order[pos], len(labels))


def label_counts(
    y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None
) -> tuple[Counts, np.ndarray, str]:
    """Per-label TP, FP, FN (and the labels, the target kind): the sufficient statistics."""
    kind, present, yt, yp = _targets(y_true, y_pred)
    labels = present if labels is None else np.asarray(labels)
    return _counts(kind, yt, yp, labels), labels, kind


def _counts(kind: str, yt: np.ndarray, yp: np.ndarray, labels: np.ndarray) -> Counts:
    """Per-label TP, FP, FN of already checked targets."""
    if kind == "multilabel-indicator":
        cols = labels.astype(np.int64)
        if len(cols) and (cols.min() < 0 or cols.max() >= yt.shape[1]):
            raise DetrecallError(f"labels must be column indices in [0, {yt.shape[1]}) for multilabel input")
        t, q = yt[:, cols], yp[:, cols]
        tp = (t & q).sum(axis=0)
        return Counts(tp=tp, fp=q.sum(axis=0) - tp, fn=t.sum(axis=0) - tp)
    it, ip = _label_index(yt, labels), _label_index(yp, labels)
    n = len(labels) + 1
    tp = np.bincount(it[(it == ip)], minlength=n)[:-1]
    fp = np.bincount(ip, minlength=n)[:-1] - tp
    fn = np.bincount(it, minlength=n)[:-1] - tp
    return Counts(tp=tp, fp=fp, fn=fn)


def precision_recall_fscore_support(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    beta: float = 1.0,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = None,
    warn_for: tuple[str, ...] | set[str] = WARN_ALL,
    sample_weight: ArrayLike | None = None,
    zero_division: ZeroDivision = "warn",
) -> tuple[Score, Score, Score, np.ndarray | None]:
    """scikit-learn's precision_recall_fscore_support: (precision, recall, F-beta, support),
    arrays per label when `average` is None, else floats and support None."""
    _no_sample_weight(sample_weight, "precision_recall_fscore_support")
    check_zero_division(zero_division)
    if beta < 0:
        raise DetrecallError("beta should be >=0 in the F-beta score")
    warn = tuple(warn_for)
    kind, present, yt, yp = _targets(y_true, y_pred)
    chosen = _labels_for(kind, present, average, labels, pos_label)
    if average == "samples":  # per sample over the chosen label columns, then the mean
        if kind != "multilabel-indicator":
            raise DetrecallError("Samplewise metrics are not available outside of multilabel classification.")
        cols = np.asarray(chosen, np.int64)
        t, q = yt[:, cols], yp[:, cols]
        tp = (t & q).sum(axis=1)
        per_sample = Counts(tp=tp, fp=q.sum(axis=1) - tp, fn=t.sum(axis=1) - tp)
        rates = average_rates(
            per_sample, "macro", np.ones(len(tp), bool), beta, zero_division, warn, unit="sample"
        )
        return rates.precision, rates.recall, rates.f1, None
    counts = _counts(kind, yt, yp, np.asarray(chosen))
    if average is None:
        p, r, f = prf(counts.tp, counts.fp, counts.fn, beta, zero_division, warn)
        return p, r, f, counts.support
    rates = average_rates(
        counts,
        "macro" if average == "binary" else average,
        np.ones(len(chosen), bool),
        beta,
        zero_division,
        warn,
    )
    return rates.precision, rates.recall, rates.f1, None


def precision_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: ArrayLike | None = None,
    zero_division: ZeroDivision = "warn",
) -> Score:
    """scikit-learn's precision_score: tp / (tp + fp)."""
    _no_sample_weight(sample_weight, "precision_score")
    return precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("precision",),
        zero_division=zero_division,
    )[0]


def recall_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: ArrayLike | None = None,
    zero_division: ZeroDivision = "warn",
) -> Score:
    """scikit-learn's recall_score: tp / (tp + fn)."""
    _no_sample_weight(sample_weight, "recall_score")
    return precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("recall",),
        zero_division=zero_division,
    )[1]


def fbeta_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    beta: float,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: ArrayLike | None = None,
    zero_division: ZeroDivision = "warn",
) -> Score:
    """scikit-learn's fbeta_score: (1 + beta^2) tp / (beta^2 (tp + fn) + tp + fp)."""
    _no_sample_weight(sample_weight, "fbeta_score")
    return precision_recall_fscore_support(
        y_true,
        y_pred,
        beta=beta,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=("f-score",),
        zero_division=zero_division,
    )[2]


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: ArrayLike | None = None,
    zero_division: ZeroDivision = "warn",
) -> Score:
    """scikit-learn's f1_score: fbeta_score with beta = 1."""
    _no_sample_weight(sample_weight, "f1_score")
    return fbeta_score(
        y_true,
        y_pred,
        beta=1.0,
        labels=labels,
        pos_label=pos_label,
        average=average,
        zero_division=zero_division,
    )


def accuracy_score(
    y_true: ArrayLike, y_pred: ArrayLike, *, normalize: bool = True, sample_weight: ArrayLike | None = None
) -> float:
    """scikit-learn's accuracy_score: fraction (or count) of samples whose label — or whole
    label set, multilabel — is right."""
    _no_sample_weight(sample_weight, "accuracy_score")
    kind, _, yt, yp = _targets(y_true, y_pred)
    right = (yt == yp).all(axis=1) if kind == "multilabel-indicator" else yt == yp
    return float(right.mean()) if normalize else float(right.sum())


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    normalize: str | None = None,
) -> np.ndarray:
    """scikit-learn's confusion_matrix. Rows: true label, columns: predicted label, in `labels`
    order (default: sorted present labels); samples whose labels are not listed are left out.
    normalize: "true", "pred", "all"."""
    _no_sample_weight(sample_weight, "confusion_matrix")
    kind, present, yt, yp = _targets(y_true, y_pred)
    if kind == "multilabel-indicator":
        raise DetrecallError("multilabel-indicator is not supported (use label_counts per label)")
    if normalize not in (None, "true", "pred", "all"):
        raise DetrecallError(f"normalize must be one of None, 'true', 'pred', 'all', got {normalize!r}")
    lab = present if labels is None else np.asarray(labels)
    n = len(lab)
    if labels is not None:
        if n == 0:
            raise DetrecallError("'labels' should contain at least one label.")
        if len(yt) == 0:
            return np.zeros((n, n), dtype=int)
    it, ip = _label_index(yt, lab), _label_index(yp, lab)
    if labels is not None and not (it < n).any():
        raise DetrecallError("At least one label specified must be in y_true")
    keep = (it < n) & (ip < n)
    cm = np.bincount(it[keep] * n + ip[keep], minlength=n * n).reshape(n, n)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    if cm.shape == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to "
            "have the correct shape, use the 'labels' parameter to pass all known labels.",
            UserWarning,
            stacklevel=2,
        )
    return cm


def _report_rows(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: ArrayLike | None,
    target_names: Sequence[str] | None,
    zero_division: ZeroDivision,
) -> tuple[list[list[Any]], list[list[Any]], bool]:
    kind, present, yt, yp = _targets(y_true, y_pred)
    given = labels is not None
    chosen = present if labels is None else np.asarray(labels)
    micro_is_accuracy = kind in ("binary", "multiclass") and (
        not given or set(chosen.tolist()) >= set(present.tolist())
    )
    names = [str(v) for v in chosen.tolist()] if target_names is None else list(target_names)
    if len(names) != len(chosen):
        raise DetrecallError(f"target_names has {len(names)} names for {len(chosen)} labels")
    p, r, f, s = (  # average=None: one array each
        np.asarray(x)
        for x in precision_recall_fscore_support(
            y_true, y_pred, average=None, labels=chosen, zero_division=zero_division
        )
    )
    # scikit-learn's supports are floats when no sample is predicted right (1-D labels): its
    # text report then prints "1.0" where it otherwise prints "1"; so do we
    as_support = float if kind != "multilabel-indicator" and not np.any(yt == yp) else int
    rows = [[n, float(a), float(b), float(c), as_support(d)] for n, a, b, c, d in zip(names, p, r, f, s)]
    options = ["micro", "macro", "weighted"] + (["samples"] if kind == "multilabel-indicator" else [])
    averages: list[list[Any]] = []
    for avg in options:
        heading = "accuracy" if avg == "micro" and micro_is_accuracy else f"{avg} avg"
        ap, ar, af, _ = precision_recall_fscore_support(
            y_true, y_pred, average=avg, labels=chosen, zero_division=zero_division
        )
        averages.append([heading, float(ap), float(ar), float(af), as_support(np.sum(s))])
    return rows, averages, micro_is_accuracy


@overload
def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = ...,
    target_names: Sequence[str] | None = ...,
    sample_weight: ArrayLike | None = ...,
    digits: int = ...,
    output_dict: Literal[False] = ...,
    zero_division: ZeroDivision = ...,
) -> str: ...
@overload
def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = ...,
    target_names: Sequence[str] | None = ...,
    sample_weight: ArrayLike | None = ...,
    digits: int = ...,
    output_dict: Literal[True],
    zero_division: ZeroDivision = ...,
) -> dict[str, Any]: ...
@overload
def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = ...,
    target_names: Sequence[str] | None = ...,
    sample_weight: ArrayLike | None = ...,
    digits: int = ...,
    output_dict: bool = ...,
    zero_division: ZeroDivision = ...,
) -> str | dict[str, Any]: ...
def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    target_names: Sequence[str] | None = None,
    sample_weight: ArrayLike | None = None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division: ZeroDivision = "warn",
) -> str | dict[str, Any]:
    """scikit-learn's classification_report: per-label precision, recall, F1 and support, then
    accuracy (or micro avg), macro and weighted (and samples, multilabel) averages; text, or a
    dict with `output_dict`."""
    _no_sample_weight(sample_weight, "classification_report")
    rows, averages, _ = _report_rows(y_true, y_pred, labels, target_names, zero_division)
    headers = ["precision", "recall", "f1-score", "support"]
    if output_dict:
        # every value a float, supports too, as scikit-learn's dict
        report: dict[str, Any] = {r[0]: dict(zip(headers, map(float, r[1:]))) for r in rows + averages}
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report
    width = max(max((len(r[0]) for r in rows), default=0), len("weighted avg"), digits)
    out = ("{:>{width}s} " + " {:>9}" * 4).format("", *headers, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for r in rows:
        out += row_fmt.format(*r, width=width, digits=digits)
    out += "\n"
    for r in averages:
        if r[0] == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            out += fmt.format(r[0], "", "", *r[3:], width=width, digits=digits)
        else:
            out += row_fmt.format(*r, width=width, digits=digits)
    return out


def matthews_corrcoef(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """scikit-learn's matthews_corrcoef (binary and multiclass)."""
    _no_sample_weight(sample_weight, "matthews_corrcoef")
    kind, _, _, _ = _targets(y_true, y_pred)
    if kind not in ("binary", "multiclass"):
        raise DetrecallError(f"{kind} is not supported")
    c = confusion_matrix(y_true, y_pred).astype(np.float64)
    t_sum, p_sum = c.sum(axis=1), c.sum(axis=0)
    n_correct, n = np.trace(c), p_sum.sum()
    cov_tp = n_correct * n - np.dot(t_sum, p_sum)
    cov_pp = n**2 - np.dot(p_sum, p_sum)
    cov_tt = n**2 - np.dot(t_sum, t_sum)
    denominator = cov_pp * cov_tt
    return 0.0 if denominator == 0 else float(cov_tp / np.sqrt(denominator))


def cohen_kappa_score(
    y1: ArrayLike,
    y2: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    weights: str | None = None,
    sample_weight: ArrayLike | None = None,
    replace_undefined_by: float = np.nan,
) -> float:
    """scikit-learn's cohen_kappa_score (weights None, "linear" or "quadratic")."""
    _no_sample_weight(sample_weight, "cohen_kappa_score")
    if weights not in (None, "linear", "quadratic"):
        raise DetrecallError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    c = confusion_matrix(y1, y2, labels=labels).astype(np.float64)
    n = c.shape[0]
    sum0, sum1 = c.sum(axis=0), c.sum(axis=1)
    if sum0.sum() == 0:
        warnings.warn(
            "`y2` contains no labels that are present in both `y1` and `labels`."
            "`cohen_kappa_score` is undefined and set to the value defined by "
            f"the `replace_undefined_by` param, which is set to {replace_undefined_by}.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return replace_undefined_by
    expected = np.outer(sum0, sum1) / sum0.sum()
    if weights is None:
        w = np.ones((n, n))
        np.fill_diagonal(w, 0)
    else:
        w = np.zeros((n, n)) + np.arange(n)
        w = np.abs(w - w.T) if weights == "linear" else (w - w.T) ** 2
    denominator = np.sum(w * expected)
    if denominator == 0:
        warnings.warn(
            "`y1`, `y2` and `labels` have only one label in common. "
            "`cohen_kappa_score` is undefined and set to the value defined by the "
            f"the `replace_undefined_by` param, which is set to {replace_undefined_by}.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return replace_undefined_by
    return float(1 - np.sum(w * c) / denominator)


def _binary_scores(y_true: ArrayLike, y_score: ArrayLike, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    """(is positive, score) for a binary problem, pos_label defaulting as scikit-learn does."""
    yt, score = np.asarray(y_true), _finite_scores(y_score)
    if yt.ndim != 1 or score.shape != yt.shape:
        raise DetrecallError(f"y_true and y_score must be 1-D of one length, got {yt.shape}, {score.shape}")
    classes = np.unique(yt)
    if len(classes) > 2:
        raise DetrecallError(f"y_true takes more than two values: {classes.tolist()} (binary only)")
    if pos_label is None:
        if not (set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1}):
            raise DetrecallError(
                f"y_true takes value in {set(classes.tolist())} and pos_label is not "
                "specified: either make y_true take value in {0, 1} or {-1, 1} or pass "
                "pos_label explicitly."
            )
        pos_label = 1
    return yt == pos_label, score


def _finite_scores(y_score: ArrayLike) -> np.ndarray:
    score = np.asarray(y_score, np.float64)
    if not np.isfinite(score).all():
        raise DetrecallError("y_score contains NaN or infinity")
    return score


def _score_target(y_true: ArrayLike) -> tuple[str, np.ndarray]:
    """(kind, y_true) as scikit-learn's type_of_target reads it for the scored metrics: binary,
    multiclass (1-D labels) or multilabel-indicator (2-D 0/1, as bools)."""
    yt = np.asarray(y_true)
    if yt.ndim == 2 and yt.shape[1] == 1:
        yt = yt[:, 0]
    if yt.ndim == 2:
        if not np.isin(yt, (0, 1)).all():
            raise DetrecallError("y_true is 2-D but not a 0/1 indicator matrix (multioutput: not supported)")
        return "multilabel-indicator", yt.astype(bool)
    if yt.ndim != 1:
        raise DetrecallError(f"y_true must be 1-D labels or a 2-D indicator matrix, got shape {yt.shape}")
    if yt.dtype.kind == "f" and len(yt) and not np.all(np.mod(yt, 1) == 0):
        raise DetrecallError("y_true holds continuous values; labels must be discrete")
    return ("binary" if len(np.unique(yt)) <= 2 else "multiclass"), yt


def _score_column(score: np.ndarray, n: int) -> np.ndarray:
    """The positive class's scores of a binary problem: 1-D (or one column), one per sample."""
    column = score[:, 0] if score.ndim == 2 and score.shape[1] == 1 else score
    if column.ndim != 1 or len(column) != n:
        raise DetrecallError(
            f"y_score must hold one score per sample for binary y_true, got shape {score.shape}, {n} samples"
        )
    return column


def _curve(is_pos: np.ndarray, score: np.ndarray) -> Curve:
    """The one cumulative-count curve: TP and FP at each distinct score, descending."""
    return curves(score, is_pos, np.zeros(len(score), np.int64), np.array([is_pos.sum()]))[0]


def _pr_curve(
    is_pos: np.ndarray, score: np.ndarray, drop_intermediate: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = _curve(is_pos, score)
    tps, fps, thresholds = c.tp.astype(np.float64), c.fp.astype(np.float64), c.thresholds
    if drop_intermediate and len(fps) > 2:
        keep = np.r_[True, (np.diff(tps[:-1]) != 0) | (np.diff(tps[1:]) != 0), True]
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    precision = tps / (tps + fps)
    if len(tps) == 0 or tps[-1] == 0:
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all thresholds.",
            UserWarning,
            stacklevel=3,
        )
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def precision_recall_curve(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    sample_weight: ArrayLike | None = None,
    drop_intermediate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's precision_recall_curve (binary): precision and recall (with the final
    (1, 0) point) and the thresholds, ascending."""
    _no_sample_weight(sample_weight, "precision_recall_curve")
    is_pos, score = _binary_scores(y_true, y_score, pos_label)
    return _pr_curve(is_pos, score, drop_intermediate)


def _binary_average_precision(is_pos: np.ndarray, score: np.ndarray) -> float:
    """Sum of precision at each threshold weighted by the recall gained there."""
    precision, recall, _ = _pr_curve(is_pos, score, False)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def _binary_roc_auc(is_pos: np.ndarray, score: np.ndarray, max_fpr: float | None = None) -> float:
    """Area under the ROC curve (standardized partial area up to `max_fpr`, McClish); NaN and an
    UndefinedMetricWarning when y_true holds one class only, as scikit-learn."""
    if is_pos.all() or not is_pos.any():
        warnings.warn(
            "Only one class is present in y_true. ROC AUC score is not defined in that case.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return math.nan
    c = _curve(is_pos, score)
    tps, fps = c.tp.astype(np.float64), c.fp.astype(np.float64)
    if len(fps) > 2:  # roc_curve's drop_intermediate: points collinear with both neighbours
        keep = np.r_[True, (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), True]
        tps, fps = tps[keep], fps[keep]
    tpr, fpr = np.r_[0.0, tps] / tps[-1], np.r_[0.0, fps] / fps[-1]
    if max_fpr is None or max_fpr == 1:
        return float(np.trapezoid(tpr, fpr))
    stop = int(np.searchsorted(fpr, max_fpr, "right"))
    tpr = np.r_[tpr[:stop], np.interp(max_fpr, fpr[stop - 1 : stop + 1], tpr[stop - 1 : stop + 1])]
    fpr = np.r_[fpr[:stop], max_fpr]
    min_area, max_area = 0.5 * max_fpr**2, max_fpr
    return float(0.5 * (1 + (np.trapezoid(tpr, fpr) - min_area) / (max_area - min_area)))


def _average_binary(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: np.ndarray,
    y_score: np.ndarray,
    average: str | None,
) -> Score:
    """A binary metric over the columns of a 0/1 indicator `y_true` and its (n, k) scores,
    averaged as scikit-learn's _average_binary_score: micro (all cells as one problem), macro,
    weighted (by positives), samples (per row, then the mean), or None (per column)."""
    if y_score.shape != y_true.shape:
        raise DetrecallError(
            f"y_score must have the shape {y_true.shape} of (n_samples, n_classes), got {y_score.shape}"
        )
    if average == "micro":
        return metric(y_true.ravel(), y_score.ravel())
    weights = None
    if average == "samples":
        y_true, y_score = y_true.T, y_score.T
    elif average == "weighted":
        weights = y_true.sum(axis=0).astype(np.float64)
        if np.isclose(weights.sum(), 0.0):
            return 0.0
    scores = np.array([metric(y_true[:, c], y_score[:, c]) for c in range(y_true.shape[1])], np.float64)
    if average is None:
        return scores
    if weights is not None:
        scores[weights == 0] = 0  # a 0-weight NaN must not make the average NaN
    return float(np.average(scores, weights=weights))


def average_precision_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    average: str | None = "macro",
    pos_label: Any = 1,
    sample_weight: ArrayLike | None = None,
) -> Score:
    """scikit-learn's average_precision_score: binary (y_score the positive class's score), or
    per class of multiclass / multilabel y_true (y_score (n, classes)), then `average`."""
    _no_sample_weight(sample_weight, "average_precision_score")
    if average not in _SCORE_AVERAGE_OPTIONS:
        raise DetrecallError(f"average must be one of {_SCORE_AVERAGE_OPTIONS}, got {average!r}")
    kind, yt = _score_target(y_true)
    score = _finite_scores(y_score)
    if kind == "binary":
        present = np.unique(yt)
        if len(present) == 2 and pos_label not in present.tolist():
            raise DetrecallError(
                f"pos_label={pos_label} is not a valid label. It should be one of {present.tolist()}"
            )
        return _binary_average_precision(yt == pos_label, _score_column(score, len(yt)))
    if pos_label != 1:
        raise DetrecallError(
            f"Parameter pos_label is fixed to 1 for {kind} y_true. Do not set pos_label or set "
            "pos_label to 1."
        )
    if kind == "multiclass":
        yt = yt[:, None] == np.unique(yt)[None, :]
    return _average_binary(_binary_average_precision, yt, score, average)


def _ovo_roc_auc(yt: np.ndarray, score: np.ndarray, classes: np.ndarray, average: str | None) -> float:
    """Hand & Till's one-vs-one AUC: per pair of classes present, the mean of the two AUCs
    (each class against the other, on the pair's samples), then the mean over pairs (weighted:
    by the pair's share of the samples)."""
    encoded = np.searchsorted(classes, yt)
    pair_scores, prevalence = [], []
    for a, b in itertools.combinations(np.unique(encoded).tolist(), 2):
        a_mask, b_mask = encoded == a, encoded == b
        ab = a_mask | b_mask
        prevalence.append(float(np.mean(ab)))
        a_auc = _binary_roc_auc(a_mask[ab], score[ab, a])
        b_auc = _binary_roc_auc(b_mask[ab], score[ab, b])
        pair_scores.append((a_auc + b_auc) / 2)
    return float(np.average(pair_scores, weights=prevalence if average == "weighted" else None))


def _multiclass_roc_auc(
    yt: np.ndarray, score: np.ndarray, labels: ArrayLike | None, multi_class: str, average: str | None
) -> Score:
    if score.ndim != 2:
        raise DetrecallError(
            "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains "
            f"multiple classes. Got `y_score.shape={score.shape}`."
        )
    if not np.allclose(1, score.sum(axis=1)):
        raise DetrecallError(
            "Target scores need to be probabilities for multiclass roc_auc, i.e. they "
            "should sum up to 1.0 over classes"
        )
    options = ("micro", "macro", "weighted", None) if multi_class == "ovr" else ("macro", "weighted", None)
    if average not in options:
        raise DetrecallError(f"average must be one of {options} for multiclass problems, got {average!r}")
    if average is None and multi_class == "ovo":
        raise DetrecallError("average=None is not implemented for multi_class='ovo'.")
    if labels is not None:
        classes = np.asarray(labels)
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            raise DetrecallError("Parameter 'labels' must be unique")
        if not np.array_equal(np.unique(classes), classes):
            raise DetrecallError("Parameter 'labels' must be ordered")
        if len(classes) != score.shape[1]:
            raise DetrecallError(
                f"Number of given labels, {len(classes)}, not equal to the number of columns in "
                f"'y_score', {score.shape[1]}"
            )
        if len(np.setdiff1d(yt, classes)):
            raise DetrecallError("'y_true' contains labels not in parameter 'labels'")
    else:
        classes = np.unique(yt)
        if len(classes) != score.shape[1]:
            raise DetrecallError(
                f"Number of classes in y_true ({len(classes)}) not equal to the number of "
                f"columns in 'y_score' ({score.shape[1]})"
            )
    if len(yt) != len(score):
        raise DetrecallError(f"y_true has {len(yt)} samples but y_score {len(score)}")
    if multi_class == "ovo":
        return _ovo_roc_auc(yt, score, classes, average)
    return _average_binary(_binary_roc_auc, yt[:, None] == classes[None, :], score, average)


def roc_auc_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    average: str | None = "macro",
    sample_weight: ArrayLike | None = None,
    max_fpr: float | None = None,
    multi_class: str = "raise",
    labels: ArrayLike | None = None,
) -> Score:
    """scikit-learn's roc_auc_score: binary (y_score the positive class's score; partial AUC up
    to `max_fpr`), multiclass (y_score (n, classes) probabilities; multi_class "ovr" or "ovo")
    or multilabel (y_score (n, labels)), then `average`."""
    _no_sample_weight(sample_weight, "roc_auc_score")
    if average not in _SCORE_AVERAGE_OPTIONS:
        raise DetrecallError(f"average must be one of {_SCORE_AVERAGE_OPTIONS}, got {average!r}")
    if multi_class not in ("raise", "ovr", "ovo"):
        raise DetrecallError(f"multi_class must be one of 'raise', 'ovr', 'ovo', got {multi_class!r}")
    if max_fpr is not None and not 0 < max_fpr <= 1:
        raise DetrecallError(f"Expected max_fpr in range (0, 1], got: {max_fpr!r}")
    kind, yt = _score_target(y_true)
    score = _finite_scores(y_score)
    if kind == "multiclass" or (kind == "binary" and score.ndim == 2 and score.shape[1] > 2):
        if max_fpr is not None and max_fpr != 1:
            raise DetrecallError(
                "Partial AUC computation not available in multiclass setting, 'max_fpr' must be "
                f"set to `None`, received `max_fpr={max_fpr}` instead"
            )
        if multi_class == "raise":
            raise DetrecallError("multi_class must be in ('ovo', 'ovr')")
        return _multiclass_roc_auc(yt, score, labels, multi_class, average)

    def metric(is_pos: np.ndarray, s: np.ndarray) -> float:
        return _binary_roc_auc(is_pos, s, max_fpr)

    if kind == "binary":  # the positive class: the larger label
        return metric(yt == np.unique(yt)[-1], _score_column(score, len(yt)))
    return _average_binary(metric, yt, score, average)


def calibration_curve(
    y_true: ArrayLike, y_prob: ArrayLike, *, pos_label: Any = None, n_bins: int = 5, strategy: str = "uniform"
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's sklearn.calibration.calibration_curve: (fraction of positives, mean
    predicted probability) per non-empty bin."""
    is_pos, prob = _binary_scores(y_true, y_prob, pos_label)
    if len(prob) and (prob.min() < 0 or prob.max() > 1):
        raise DetrecallError("y_prob has values outside [0, 1].")
    if strategy == "quantile":
        bins = np.percentile(prob, np.linspace(0, 1, n_bins + 1) * 100)
    elif strategy == "uniform":
        bins = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise DetrecallError("strategy must be either 'quantile' or 'uniform'")
    ids = np.searchsorted(bins[1:-1], prob)
    sums = np.bincount(ids, weights=prob, minlength=n_bins)
    true = np.bincount(ids, weights=is_pos, minlength=n_bins)
    total = np.bincount(ids, minlength=n_bins)
    nonzero = total != 0
    return true[nonzero] / total[nonzero], sums[nonzero] / total[nonzero]
