"""Label classification metrics with scikit-learn's semantics, on the shared aggregator.

`y_true` / `y_pred` are 1-D label arrays (binary or multiclass; ints or strings) or 2-D 0/1
indicator arrays (multilabel). The counts per label come from here; every rate and average
comes from `aggregate` (the same code that scores detections). scikit-learn is not needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .aggregate import WARN_ALL, Counts, ZeroDivision, average_rates, check_zero_division, prf
from .errors import DetrecallError

AVERAGE_OPTIONS = (None, "binary", "micro", "macro", "weighted")


def _targets(y_true: Any, y_pred: Any) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(kind, present labels, y_true, y_pred); kind is binary, multiclass or multilabel-indicator."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if yt.ndim == 2 and yt.shape[1] == 1 and yp.ndim == 2 and yp.shape[1] == 1:
        yt, yp = yt[:, 0], yp[:, 0]  # a column vector is 1-D labels, as scikit-learn reads it
    if yt.ndim == 2 or yp.ndim == 2:
        if yt.shape != yp.shape or yt.ndim != 2:
            raise DetrecallError(
                f"multilabel y_true and y_pred must have one shape, got {yt.shape} and {yp.shape}")
        for name, y in (("y_true", yt), ("y_pred", yp)):
            if not np.isin(y, (0, 1)).all():
                raise DetrecallError(f"{name} is 2-D but not a 0/1 indicator matrix")
        return "multilabel-indicator", np.arange(yt.shape[1]), yt.astype(bool), yp.astype(bool)
    if yt.ndim != 1 or yp.ndim != 1 or len(yt) != len(yp):
        raise DetrecallError(
            f"y_true and y_pred must be 1-D of one length, got {yt.shape} and {yp.shape}")
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
            raise DetrecallError(f"Target is {kind} but average='binary'. Please choose another "
                                 f"average setting, one of {options}.")
        if pos_label not in present.tolist() and len(present) >= 2:
            raise DetrecallError(f"pos_label={pos_label} is not a valid label. It should be one of "
                                 f"{present.tolist()}")
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
    if kind == "multilabel-indicator":
        cols = labels.astype(np.int64)
        if len(cols) and (cols.min() < 0 or cols.max() >= yt.shape[1]):
            raise DetrecallError(
                f"labels must be column indices in [0, {yt.shape[1]}) for multilabel input")
        t, q = yt[:, cols], yp[:, cols]
        tp = (t & q).sum(axis=0)
        return Counts(tp=tp, fp=q.sum(axis=0) - tp, fn=t.sum(axis=0) - tp), labels, kind
    it, ip = _label_index(yt, labels), _label_index(yp, labels)
    n = len(labels) + 1
    tp = np.bincount(it[(it == ip)], minlength=n)[:-1]
    fp = np.bincount(ip, minlength=n)[:-1] - tp
    fn = np.bincount(it, minlength=n)[:-1] - tp
    return Counts(tp=tp, fp=fp, fn=fn), labels, kind


def precision_recall_fscore(
    y_true: Any, y_pred: Any, *, average: str | None = "binary",
    labels: Sequence[Any] | None = None, pos_label: Any = 1, beta: float = 1.0,
    zero_division: ZeroDivision = "warn",
    warn_for: tuple[str, ...] = WARN_ALL,
) -> tuple[Any, Any, Any, Any]:
    """scikit-learn's precision_recall_fscore_support: (precision, recall, F-beta, support),
    arrays per label when `average` is None, else floats and support None."""
    check_zero_division(zero_division)
    kind, present, _, _ = _targets(y_true, y_pred)
    chosen = _labels_for(kind, present, average, labels, pos_label)
    counts, _, _ = label_counts(y_true, y_pred, chosen)
    if average is None:
        p, r, f = prf(counts.tp, counts.fp, counts.fn, beta, zero_division, warn_for)
        return p, r, f, counts.support
    rates = average_rates(counts, "macro" if average == "binary" else average,
                          np.ones(len(chosen), bool), beta, zero_division, warn_for)
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


def confusion_matrix(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None,
                     normalize: str | None = None) -> np.ndarray:
    """Rows: true label, columns: predicted label, in `labels` order (default: sorted present
    labels); samples whose labels are not listed are left out. normalize: "true", "pred", "all"."""
    kind, present, yt, yp = _targets(y_true, y_pred)
    if kind == "multilabel-indicator":
        raise DetrecallError("multilabel-indicator is not supported (use label_counts per label)")
    if normalize not in (None, "true", "pred", "all"):
        raise DetrecallError(f"normalize must be one of None, 'true', 'pred', 'all', got {normalize!r}")
    lab = present if labels is None else np.asarray(labels)
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
