"""Label classification metrics with scikit-learn's semantics, on the shared aggregator.

`y_true` / `y_pred` are 1-D label arrays (binary or multiclass; ints or strings) or 2-D 0/1
indicator arrays (multilabel). The counts per label come from here; every rate and average
comes from `aggregate` (the same code that scores detections). scikit-learn is not needed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .aggregate import WARN_ALL, Counts, ZeroDivision, average_rates, check_zero_division, curves, prf
from .errors import DetrecallError, UndefinedMetricWarning

AVERAGE_OPTIONS = (None, "binary", "micro", "macro", "weighted", "samples")


def _targets(y_true: Any, y_pred: Any) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
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
    kind: str, present: np.ndarray, average: str | None, labels: Any, pos_label: Any
) -> np.ndarray:
    if average not in AVERAGE_OPTIONS:
        raise DetrecallError(f"average must be one of {AVERAGE_OPTIONS}, got {average!r}")
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


def label_counts(y_true: Any, y_pred: Any, labels: Any = None) -> tuple[Counts, np.ndarray, str]:
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


def precision_recall_fscore(
    y_true: Any,
    y_pred: Any,
    *,
    average: str | None = "binary",
    labels: Sequence[Any] | None = None,
    pos_label: Any = 1,
    beta: float = 1.0,
    zero_division: ZeroDivision = "warn",
    warn_for: tuple[str, ...] = WARN_ALL,
) -> tuple[Any, Any, Any, Any]:
    """scikit-learn's precision_recall_fscore_support: (precision, recall, F-beta, support),
    arrays per label when `average` is None, else floats and support None."""
    check_zero_division(zero_division)
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
            per_sample, "macro", np.ones(len(tp), bool), beta, zero_division, warn_for, unit="sample"
        )
        return rates.precision, rates.recall, rates.f1, None
    counts = _counts(kind, yt, yp, np.asarray(chosen))
    if average is None:
        p, r, f = prf(counts.tp, counts.fp, counts.fn, beta, zero_division, warn_for)
        return p, r, f, counts.support
    rates = average_rates(
        counts,
        "macro" if average == "binary" else average,
        np.ones(len(chosen), bool),
        beta,
        zero_division,
        warn_for,
    )
    return rates.precision, rates.recall, rates.f1, None


def precision(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
    """scikit-learn's precision_score."""
    return precision_recall_fscore(y_true, y_pred, warn_for=("precision",), **kwargs)[0]


def recall(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
    """scikit-learn's recall_score."""
    return precision_recall_fscore(y_true, y_pred, warn_for=("recall",), **kwargs)[1]


def fbeta(y_true: Any, y_pred: Any, *, beta: float, **kwargs: Any) -> Any:
    """scikit-learn's fbeta_score."""
    return precision_recall_fscore(y_true, y_pred, beta=beta, warn_for=("f-score",), **kwargs)[2]


def f1(y_true: Any, y_pred: Any, **kwargs: Any) -> Any:
    """scikit-learn's f1_score."""
    return fbeta(y_true, y_pred, beta=1.0, **kwargs)


def accuracy(y_true: Any, y_pred: Any, *, normalize: bool = True) -> float:
    """Fraction (or count) of samples whose label — or whole label set, multilabel — is right."""
    kind, _, yt, yp = _targets(y_true, y_pred)
    right = (yt == yp).all(axis=1) if kind == "multilabel-indicator" else yt == yp
    return float(right.mean()) if normalize else float(right.sum())


def confusion_matrix(
    y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None, normalize: str | None = None
) -> np.ndarray:
    """Rows: true label, columns: predicted label, in `labels` order (default: sorted present
    labels); samples whose labels are not listed are left out. normalize: "true", "pred", "all"."""
    kind, present, yt, yp = _targets(y_true, y_pred)
    if kind == "multilabel-indicator":
        raise DetrecallError("multilabel-indicator is not supported (use label_counts per label)")
    if normalize not in (None, "true", "pred", "all"):
        raise DetrecallError(f"normalize must be one of None, 'true', 'pred', 'all', got {normalize!r}")
    lab = present if labels is None else np.asarray(labels)
    if labels is None and len(lab) == 1:
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to "
            "have the correct shape, use the 'labels' parameter to pass all known labels.",
            UserWarning,
            stacklevel=2,
        )
    if len(lab) == 0:
        raise DetrecallError("'labels' should contain at least one label")
    it, ip = _label_index(yt, lab), _label_index(yp, lab)
    if labels is not None and len(yt) and not (it < len(lab)).any():
        raise DetrecallError("At least one label specified must be in y_true")
    keep = (it < len(lab)) & (ip < len(lab))
    n = len(lab)
    cm = np.bincount(it[keep] * n + ip[keep], minlength=n * n).reshape(n, n)
    if normalize is None:
        return cm
    with np.errstate(all="ignore"):
        if normalize == "true":
            out = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            out = cm / cm.sum(axis=0, keepdims=True)
        else:
            out = cm / cm.sum()
    return np.nan_to_num(out)


def _report_rows(
    y_true: Any, y_pred: Any, labels: Any, target_names: Sequence[str] | None, zero_division: ZeroDivision
) -> tuple[list, list, bool]:
    kind, present, yt, yp = _targets(y_true, y_pred)
    given = labels is not None
    chosen = present if labels is None else np.asarray(labels)
    micro_is_accuracy = kind in ("binary", "multiclass") and (
        not given or set(chosen.tolist()) >= set(present.tolist())
    )
    names = [str(v) for v in chosen.tolist()] if target_names is None else list(target_names)
    if len(names) != len(chosen):
        raise DetrecallError(f"target_names has {len(names)} names for {len(chosen)} labels")
    p, r, f, s = precision_recall_fscore(
        y_true, y_pred, average=None, labels=chosen, zero_division=zero_division
    )
    # scikit-learn's supports are floats when no sample is predicted right (1-D labels): its
    # text report then prints "1.0" where it otherwise prints "1"; so do we
    as_support = float if kind != "multilabel-indicator" and not np.any(yt == yp) else int
    rows = [[n, float(a), float(b), float(c), as_support(d)] for n, a, b, c, d in zip(names, p, r, f, s)]
    options = ["micro", "macro", "weighted"] + (["samples"] if kind == "multilabel-indicator" else [])
    averages = []
    for avg in options:
        heading = "accuracy" if avg == "micro" and micro_is_accuracy else f"{avg} avg"
        ap, ar, af, _ = precision_recall_fscore(
            y_true, y_pred, average=avg, labels=chosen, zero_division=zero_division
        )
        averages.append([heading, float(ap), float(ar), float(af), as_support(np.sum(s))])
    return rows, averages, micro_is_accuracy


def classification_report(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    target_names: Sequence[str] | None = None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division: ZeroDivision = "warn",
) -> Any:
    """scikit-learn's classification_report: per-label precision, recall, F1 and support, then
    accuracy (or micro avg), macro and weighted (and samples, multilabel) averages."""
    rows, averages, _ = _report_rows(y_true, y_pred, labels, target_names, zero_division)
    headers = ["precision", "recall", "f1-score", "support"]
    if output_dict:
        report: dict[str, Any] = {r[0]: dict(zip(headers, r[1:])) for r in rows}
        for r in averages:
            report[r[0]] = dict(zip(headers, r[1:]))
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


def matthews_corrcoef(y_true: Any, y_pred: Any) -> float:
    """scikit-learn's matthews_corrcoef (binary and multiclass)."""
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


def cohen_kappa(
    y1: Any,
    y2: Any,
    *,
    labels: Sequence[Any] | None = None,
    weights: str | None = None,
    replace_undefined_by: float = np.nan,
) -> float:
    """scikit-learn's cohen_kappa_score (weights None, "linear" or "quadratic")."""
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


def _binary_scores(y_true: Any, y_score: Any, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    """(is positive, score) for a binary problem, pos_label defaulting as scikit-learn does."""
    yt, score = np.asarray(y_true), np.asarray(y_score, np.float64)
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


def _curve(is_pos: np.ndarray, score: np.ndarray):
    """The one cumulative-count curve: TP and FP at each distinct score, descending."""
    return curves(score, is_pos, np.zeros(len(score), np.int64), np.array([is_pos.sum()]))[0]


def precision_recall_curve(
    y_true: Any, y_score: Any, *, pos_label: Any = None, drop_intermediate: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's precision_recall_curve: precision and recall (with the final (1, 0)
    point) and thresholds, ascending thresholds."""
    is_pos, score = _binary_scores(y_true, y_score, pos_label)
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
            stacklevel=2,
        )
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> float:
    """scikit-learn's average_precision_score for binary y_true: sum of precision at each
    threshold weighted by the recall gained there."""
    yt = np.asarray(y_true)
    present = np.unique(yt)
    if len(present) == 2 and pos_label not in present.tolist():
        raise DetrecallError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
    precision, recall, _ = precision_recall_curve(y_true, y_score, pos_label=pos_label)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


def _binary_auc(is_pos: np.ndarray, score: np.ndarray) -> float:
    if is_pos.all() or not is_pos.any():
        raise DetrecallError(
            "Only one class is present in y_true. ROC AUC score is not defined in that case."
        )
    c = _curve(is_pos, score)
    tpr = np.r_[0, c.tp] / c.tp[-1]
    fpr = np.r_[0, c.fp] / c.fp[-1]
    return float(np.trapezoid(tpr, fpr))


def roc_auc(y_true: Any, y_score: Any, *, average: str = "macro", multi_class: str = "raise") -> float:
    """scikit-learn's roc_auc_score: binary (y_score the positive class's score), or multiclass
    one-vs-rest (y_score (n, classes) probabilities; average "macro" or "weighted")."""
    yt, score = np.asarray(y_true), np.asarray(y_score, np.float64)
    classes = np.unique(yt)
    if score.ndim == 1 or (score.ndim == 2 and score.shape[1] == 1 and len(classes) <= 2):
        is_pos, s = _binary_scores(yt, score.ravel(), None if len(classes) < 2 else classes[-1])
        return _binary_auc(is_pos, s)
    if multi_class != "ovr":
        raise DetrecallError("multiclass roc_auc needs multi_class='ovr' (one-vs-rest)")
    if average not in ("macro", "weighted"):
        raise DetrecallError(f"average must be 'macro' or 'weighted', got {average!r}")
    if score.shape != (len(yt), len(classes)):
        raise DetrecallError(
            f"Number of classes in y_true ({len(classes)}) not equal to the number of "
            f"columns in 'y_score' ({score.shape[1] if score.ndim == 2 else 1})"
        )
    if not np.allclose(1, score.sum(axis=1)):
        raise DetrecallError(
            "Target scores need to be probabilities for multiclass roc_auc, i.e. they "
            "should sum up to 1.0 over classes"
        )
    aucs = np.array([_binary_auc(yt == c, score[:, k]) for k, c in enumerate(classes.tolist())])
    weights = None if average == "macro" else np.array([(yt == c).sum() for c in classes.tolist()])
    return float(np.average(aucs, weights=weights))


def calibration_curve(
    y_true: Any, y_prob: Any, *, pos_label: Any = None, n_bins: int = 5, strategy: str = "uniform"
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's calibration_curve: (fraction of positives, mean predicted probability)
    per non-empty bin."""
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
