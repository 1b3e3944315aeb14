"""Plots of a result with matplotlib, headless and deterministic.

Each `*_figure` function returns a matplotlib Figure of `size` pixels (width, height; 100 dpi)
built without pyplot, so no global state changes and no window opens; `save_png` writes it
with the Agg renderer and no timestamp. The `draw_*` functions draw on an Axes the caller owns
and return it. matplotlib is imported only here, inside the functions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._arrays import mean_of_defined, mean_where, nan_if_undefined
from ..errors import DetrecallError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..result import EvaluationResult
    from .diagnose import Calibration

DEFAULT_SIZE = (800, 600)
DPI = 100
MAX_LEGEND = 12  # classes named in a legend; more are drawn thin and unnamed
MAX_BARS = 40  # per-class bars; more: the best and the worst MAX_BARS // 2
MAX_LABELLED_CELLS = 30  # confusion matrices up to this many classes show counts and names


def parse_size(text: str) -> tuple[int, int]:
    """'800x600' -> (800, 600); each side 100 to 10000 pixels."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise DetrecallError(
            f"plot size must be WIDTHxHEIGHT in pixels, e.g. 800x600, got {text!r}"
        ) from None
    if not (100 <= w <= 10000 and 100 <= h <= 10000):
        raise DetrecallError(f"plot size must be 100 to 10000 pixels a side, got {text!r}")
    return w, h


def new_figure(size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    """A Figure of exactly `size` pixels at 100 dpi, with constrained layout (keeps the size)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")


def _one_axes(size: tuple[int, int], draw: Callable[..., Any], *args: Any) -> Figure:
    """A Figure of one Axes, drawn by draw(ax, *args)."""
    fig = new_figure(size)
    draw(fig.add_subplot(), *args)
    return fig


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as PNG (Agg) at its own size, with no Software/date metadata."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _class_lines(ax: Axes, xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], names: Sequence[str]) -> None:
    many = len(names) > MAX_LEGEND
    for x, y, name in zip(xs, ys, names):
        ax.plot(
            x,
            y,
            lw=0.6 if many else 1.2,
            alpha=0.5 if many else 0.9,
            label=name,
            color="0.6" if many else None,
        )


def _pr_axes(ax: Axes, title: str) -> None:
    ax.set(xlim=(0, 1.01), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=title)
    ax.grid(alpha=0.3)


def ap_at_iou(result: EvaluationResult, iou: float) -> tuple[np.ndarray, float] | None:
    """(AP per class (K,), their mean) at IoU threshold `iou` as the protocol computes them
    (see `Summary.ap_at_iou`); None when `iou` is not among the thresholds."""
    return result.protocol_summary.ap_at_iou(iou, result.accumulated, result.params)


def _ap_text(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.3f}"


def _legend(ax: Axes, labels: dict[str, str], n_classes: int, **kw: Any) -> None:
    """A legend whose entries read `labels[line label]` (the lines keep their labels, the class
    names); with more than MAX_LEGEND classes (drawn grey), one entry stands for them all."""
    lines = [line for line in ax.get_lines() if not str(line.get_label()).startswith("_")]
    grey = [line for line in lines if line.get_color() == "0.6"] if n_classes > MAX_LEGEND else []
    if grey:
        lines = [line for line in lines if line.get_color() != "0.6"] + grey[:1]
    texts = [labels.get(str(line.get_label()), str(line.get_label())) for line in lines]
    if grey:
        texts[-1] = f"each of the {n_classes} classes"
    ax.legend(lines, texts, **kw)


def draw_pr_curves(ax: Axes, result: EvaluationResult) -> Axes:
    """Precision vs recall along the score at the operating point's IoU: one line per class
    (label: the class name) and all classes pooled (label 'all classes', black); the legend
    gives each class's AP at that IoU and their mean (Ultralytics' 'all classes 0.567 mAP@0.5')."""
    p = result.point
    drawn = [(c, n) for c, n in zip(p.curves, p.names) if len(c.thresholds)]
    _class_lines(ax, [c.recall for c, _ in drawn], [c.precision for c, _ in drawn], [n for _, n in drawn])
    ax.plot(p.curve.recall, p.curve.precision, color="black", lw=2, label="all classes")
    _pr_axes(ax, f"Precision-recall at IoU >= {p.iou_threshold:g} ({len(p.names)} classes)")
    ap = ap_at_iou(result, p.iou_threshold)
    labels = {"all classes": "all classes (pooled)"}
    if ap is not None:
        labels = {n: f"{n} {_ap_text(v)}" for n, v in zip(p.names, ap[0].tolist())}
        labels["all classes"] = f"all classes (pooled); mAP@{p.iou_threshold:g} {_ap_text(ap[1])}"
    _legend(ax, labels, len(p.names), loc="lower left", fontsize="small")
    return ax


def pr_figure(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    return _one_axes(size, draw_pr_curves, result)


def coco_pr_curves(result: EvaluationResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCO's interpolated precision at its 101 recall points (area 'all', largest max_dets):
    (recall points (R,), per class mean over the IoU thresholds (K, R), per IoU threshold mean
    over the classes (T, R)); NaN where undefined. Their means are per-class AP and AP@t."""
    acc, params = result.accumulated, result.params
    if acc is None:
        raise DetrecallError(f"protocol {result.protocol!r} has no COCO precision arrays")
    a = params.area_labels.index("all") if "all" in params.area_labels else 0
    prec = np.where(acc.precision[:, :, :, a, -1] > -1, acc.precision[:, :, :, a, -1], np.nan)  # (T, R, K)
    return params.recall_thresholds, _nanmean(prec, 0).T, _nanmean(prec, 2)


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """nanmean where an all-NaN slice (a class without ground truth) is NaN, quietly."""
    return mean_where(a, ~np.isnan(a), axis)


def coco_pr_figure(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    """Two panels of COCO's interpolated PR curves: per class (mean over the IoU thresholds, the
    curve whose mean is the class's AP) with all classes in black; and per IoU threshold."""
    recall, per_class, per_iou = coco_pr_curves(result)
    fig = new_figure(size)
    left, right = fig.subplots(1, 2, sharey=True)
    names = [c.name for c in result.per_class]
    _class_lines(left, [recall] * len(names), list(per_class), names)
    left.plot(recall, _nanmean(per_class, 0), color="black", lw=2, label="all classes")
    thresholds = result.params.iou_thresholds
    _pr_axes(left, f"COCO PR per class, IoU {thresholds[0]:g}:{thresholds[-1]:g}")
    labels = {c.name: f"{c.name} {_ap_text(c.AP)}" for c in result.per_class}
    what, overall = result.protocol_summary.headline()
    labels["all classes"] = f"all classes; {what} {_ap_text(overall)}"
    _legend(left, labels, len(names), loc="lower left", fontsize="small")
    colors = _cmap("viridis")(np.linspace(0, 0.9, len(thresholds)))
    for t, (thr, curve) in enumerate(zip(thresholds, per_iou)):
        right.plot(recall, curve, color=colors[t], lw=1.2, label=f"IoU {thr:.2f}")
    _pr_axes(right, "COCO PR per IoU threshold, all classes")
    right.set_ylabel("")
    right.legend(loc="lower left", fontsize="x-small", ncols=2)
    return fig


def _cmap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name]


def draw_threshold_curves(ax: Axes, result: EvaluationResult) -> Axes:
    """Precision, recall and F (lines labelled so) of all classes pooled vs the score
    threshold, with the best-F threshold marked (label 'best F1')."""
    p = result.point
    c, best = p.curve, p.best_f1_overall
    f = "F1" if p.beta == 1 else f"F{p.beta:g}"
    ax.plot(c.thresholds, c.precision, label="precision", color="tab:blue")
    ax.plot(c.thresholds, c.recall, label="recall", color="tab:orange")
    ax.plot(c.thresholds, c.f1, label=f, color="tab:green")
    if not np.isnan(best.threshold):
        ax.axvline(best.threshold, color="0.5", ls="--", lw=1)
        ax.plot(
            [best.threshold],
            [best.f1],
            "o",
            color="black",
            ms=8,
            label=f"best {f}: {best.f1:.3f} at score >= {best.threshold:.3f}",
        )
    ax.set(
        xlim=(0, max(1.0, float(c.thresholds.max()) if len(c.thresholds) else 1.0)),
        ylim=(0, 1.02),
        xlabel="score threshold (detections with score >= threshold count)",
        ylabel="value",
        title=f"Precision, recall, {f} vs score threshold (IoU >= {p.iou_threshold:g}, all classes)",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def threshold_figure(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    return _one_axes(size, draw_threshold_curves, result)


CONFIDENCE_POINTS = 1001  # the confidence grid of the per-class curves: 0 to 1 in steps of 0.001


def confidence_curves(
    result: EvaluationResult, n: int = CONFIDENCE_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per class, precision, recall and F at each score threshold of a grid of `n` points from 0
    to max(1, highest score), read off the result's curves (the counts of the detections with
    score >= the threshold): (grid (G,), precision (K, G), recall (K, G), F (K, G)). Above a
    class's highest score nothing is counted: recall and F 0, precision NaN (undefined)."""
    p = result.point
    top = max([1.0] + [float(c.thresholds[0]) for c in p.curves if len(c.thresholds)])
    grid = np.linspace(0.0, top, n)
    out = np.full((3, len(p.curves), n), np.nan)
    for k, c in enumerate(p.curves):
        at = np.searchsorted(-c.thresholds, -grid, side="right") - 1  # last threshold >= x
        ok = at >= 0
        out[:, k, ~ok] = [[np.nan], [0.0], [0.0]]
        out[:, k, ok] = np.stack([c.precision[at[ok]], c.recall[at[ok]], c.f1[at[ok]]])
    return grid, out[0], out[1], out[2]


CONFIDENCE_CURVES = {"F1_curve": 2, "P_curve": 0, "R_curve": 1}  # Ultralytics' file names


def draw_confidence_curve(ax: Axes, result: EvaluationResult, which: str = "F1_curve") -> Axes:
    """Ultralytics' F1_curve / P_curve / R_curve: F, precision or recall per class (thin,
    labelled by name) against the score threshold, and their mean over the classes with ground
    truth (bold, label 'all classes'), its best point named in the legend (highest threshold
    among ties for precision, else the best value)."""
    if which not in CONFIDENCE_CURVES:
        raise DetrecallError(f"which must be one of {', '.join(CONFIDENCE_CURVES)}, got {which!r}")
    p = result.point
    grid, *curves = confidence_curves(result)
    values = curves[CONFIDENCE_CURVES[which]]
    f = "F1" if p.beta == 1 else f"F{p.beta:g}"
    what = {"F1_curve": f, "P_curve": "precision", "R_curve": "recall"}[which]
    has_gt = p.counts.support > 0
    names = [n for n, g in zip(p.names, has_gt) if g]
    _class_lines(ax, [grid] * len(names), list(values[has_gt]), names)
    mean = _nanmean(values[has_gt], 0) if has_gt.any() else np.full(len(grid), np.nan)
    ax.plot(grid, mean, color="tab:blue", lw=3, label="all classes")
    labels = {"all classes": "all classes"}
    if np.isfinite(mean).any():
        best = int(np.flatnonzero(mean == np.nanmax(mean))[-1 if which == "P_curve" else 0])
        labels["all classes"] = f"all classes {mean[best]:.3f} at {grid[best]:.3f}"
        ax.plot([grid[best]], [mean[best]], "o", color="tab:blue", ms=7, label="_best")
    ax.set(
        xlim=(0, grid[-1]),
        ylim=(0, 1.02),
        xlabel="confidence (score threshold: detections with score >= it count)",
        ylabel=what,
        title=f"{what if what == f else what.capitalize()}-confidence curve per class "
        f"(IoU >= {p.iou_threshold:g})",
    )
    ax.grid(alpha=0.3)
    corner = "upper right" if which == "R_curve" else "lower left"
    _legend(ax, labels, len(p.names), loc=corner, fontsize="small")
    return ax


def confidence_figure(
    result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE, which: str = "F1_curve"
) -> Figure:
    return _one_axes(size, draw_confidence_curve, result, which)


def class_ap(result: EvaluationResult) -> tuple[list[str], np.ndarray, str]:
    """(names, AP, what AP) per class: COCO/LVIS AP, or VOC AP at its first IoU threshold."""
    return result.protocol_summary.class_ap(result.per_class)


def draw_ap_bars(ax: Axes, result: EvaluationResult) -> Axes:
    """Horizontal bars of per-class AP, best at the top; classes without AP (no ground truth)
    left out; with more than MAX_BARS classes, the best and the worst MAX_BARS // 2."""
    names, ap, what = class_ap(result)
    keep = np.flatnonzero(~np.isnan(ap))
    order = keep[np.argsort(-ap[keep], kind="stable")]
    title = f"{what} per class, sorted"
    if len(order) > MAX_BARS:
        half = MAX_BARS // 2
        order = np.r_[order[:half], order[-half:]]
        title += f" (best and worst {half} of {len(keep)})"
    y = np.arange(len(order))[::-1]
    bars = ax.barh(y, ap[order], color="tab:blue", label="AP")
    ax.set_yticks(y, [names[k] for k in order], fontsize="small" if len(order) <= 20 else "x-small")
    ax.bar_label(bars, fmt="%.3f", padding=2, fontsize="x-small")
    ax.set(xlim=(0, 1.08), xlabel=what, title=title)
    ax.grid(axis="x", alpha=0.3)
    return ax


def ap_figure(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    return _one_axes(size, draw_ap_bars, result)


def normalized_confusion(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (the share of each true class going to each prediction);
    NaN in rows without any count."""
    sums = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, sums, out=np.full(matrix.shape, np.nan), where=sums > 0)


def _confusion_norm(m: np.ndarray, normalized: bool) -> Any:
    """Counts on a log scale (1 to the largest count; empty cells left white) so that the
    diagonal shows beside a large background row; shares linear 0..1."""
    from matplotlib.colors import LogNorm, Normalize

    return Normalize(0, 1) if normalized else LogNorm(1, max(10.0, float(m.max())))


def draw_confusion(ax: Axes, result: EvaluationResult, normalized: bool = False) -> Axes:
    """Heatmap of the confusion matrix (rows: truth, columns: prediction, last: background),
    counts (log colour scale) or row-normalized, axes labelled with the class names; cells
    annotated when there are at most MAX_LABELLED_CELLS classes."""
    m = result.point.confusion
    if m is None:
        raise DetrecallError("this result has no confusion matrix: evaluate with confusion=True")
    values = normalized_confusion(m) if normalized else m.astype(float)
    cmap = _cmap("Blues").with_extremes(bad="white", under="white")
    image = ax.imshow(
        values, cmap=cmap, norm=_confusion_norm(m, normalized), interpolation="nearest", aspect="auto"
    )
    labels = [*result.point.names, "background"]
    ticks = np.arange(len(labels))
    font = "small" if len(labels) <= 12 else "x-small" if len(labels) <= MAX_LABELLED_CELLS + 1 else 6
    ax.set_xticks(ticks, labels, rotation=90 if len(labels) > 12 else 45, ha="right", fontsize=font)
    ax.set_yticks(ticks, labels, fontsize=font)
    if len(labels) <= MAX_LABELLED_CELLS + 1:
        top = np.nanmax(values) if np.isfinite(values).any() else 1.0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v) and (v > 0 or not normalized):
                ax.text(
                    j,
                    i,
                    f"{v:.2f}" if normalized else f"{int(v)}",
                    ha="center",
                    va="center",
                    fontsize="x-small" if len(labels) > 10 else "small",
                    color="white" if v > 0.6 * top else "black",
                )
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"Confusion matrix{', rows normalized' if normalized else ''} "
        f"(IoU >= {result.point.iou_threshold:g}, score >= {result.point.score_threshold:g})",
    )
    ax.figure.colorbar(image, ax=ax, label="share of the true class" if normalized else "count")
    return ax


CELL_PX = 12  # confusion matrices: at least this many pixels per class, the figure grows to fit
LABEL_PX = 260  # room for the tick labels, the title and the colour bar


def confusion_size(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> tuple[int, int]:
    """`size`; with more than MAX_LABELLED_CELLS classes, each side grown to CELL_PX pixels per
    row of the matrix plus LABEL_PX (80 classes: at least 1232 x 1232), so that every class
    name is readable."""
    if len(result.point.names) <= MAX_LABELLED_CELLS:
        return size
    need = CELL_PX * (len(result.point.names) + 1) + LABEL_PX
    return max(size[0], need), max(size[1], need)


def confusion_figure(
    result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE, normalized: bool = False
) -> Figure:
    return _one_axes(confusion_size(result, size), draw_confusion, result, normalized)


SIZES = ("small", "medium", "large")


def ap_by_size(result: EvaluationResult) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(size labels, AP of all classes per size (S,), AP per class and size (K, S)): means of
    the defined precision entries at the largest max_dets, as the summary takes them; NaN where
    undefined."""
    acc, params = result.accumulated, result.params
    if acc is None:
        raise DetrecallError(f"protocol {result.protocol!r} has no AP by object size")
    sizes = [s for s in SIZES if s in params.area_labels]
    prec = acc.precision[..., -1]  # (T, R, K, A)
    overall, per_class = [], []
    for s in sizes:
        p = prec[..., params.area_labels.index(s)]
        overall.append(nan_if_undefined(mean_of_defined(p)))
        per_class.append(mean_where(p, p > -1, (0, 1)))
    return sizes, np.array(overall, float), np.array(per_class, float).T


def draw_ap_by_size(ax: Axes, result: EvaluationResult) -> Axes:
    """Grouped bars: AP for small, medium and large objects, all classes (label 'all classes')
    and, with at most MAX_LEGEND classes, each class (labelled by name)."""
    sizes, overall, per_class = ap_by_size(result)
    names = [c.name for c in result.per_class]
    groups = [("all classes", overall)]
    if len(names) <= MAX_LEGEND:
        groups += list(zip(names, per_class))
    width = 0.8 / len(groups)
    x = np.arange(len(sizes))
    for i, (label, values) in enumerate(groups):
        ax.bar(
            x + (i - (len(groups) - 1) / 2) * width,
            np.nan_to_num(values),
            width,
            label=label,
            color="black" if i == 0 else None,
        )
    ax.set_xticks(x, sizes)
    ax.set(
        ylim=(0, 1.02), ylabel="AP@[.50:.95]", title="AP by object size (small < 32², medium < 96², large)"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    return ax


def ap_by_size_figure(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    return _one_axes(size, draw_ap_by_size, result)


def draw_reliability(ax: Axes, cal: Calibration) -> Axes:
    """Reliability diagram: fraction of true positives vs mean score per bin (label
    'detections', each point annotated with its count), the diagonal of perfect calibration,
    the ECE in the title."""
    ax.plot([0, 1], [0, 1], ls="--", color="0.5", label="perfectly calibrated")
    ax.plot(cal.mean_score, cal.fraction_tp, "o-", color="tab:blue", label="detections")
    for x, y, n in zip(cal.mean_score, cal.fraction_tp, cal.count):
        ax.annotate(
            str(int(n)), (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize="x-small"
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.05),
        xlabel="mean score in bin",
        ylabel=f"fraction true positive (IoU >= {cal.iou_threshold:g})",
        title=f"Reliability of scores: ECE {cal.ece:.3f} ({cal.n_bins} bins; numbers: detections)",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def reliability_figure(cal: Calibration, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    return _one_axes(size, draw_reliability, cal)


def figures(
    result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE, calibration: Calibration | None = None
) -> dict[str, Figure]:
    """Every plot that applies to the result, by file stem: pr_curves, pr_coco (COCO/LVIS),
    threshold, ap_per_class, ap_by_size (COCO/LVIS with size ranges), confusion and
    confusion_normalized (when computed), reliability (when `calibration` is given), errors_dap
    (TIDE's dAP per error type, when the result has errors)."""
    out = {"pr_curves": pr_figure(result, size)}
    if result.accumulated is not None and result.per_class:
        out["pr_coco"] = coco_pr_figure(result, size)
    out["threshold"] = threshold_figure(result, size)
    out.update({which: confidence_figure(result, size, which) for which in CONFIDENCE_CURVES})
    out["ap_per_class"] = ap_figure(result, size)
    if result.accumulated is not None and any(s in result.params.area_labels for s in SIZES):
        out["ap_by_size"] = ap_by_size_figure(result, size)
    if result.point.confusion is not None:
        out["confusion"] = confusion_figure(result, size)
        out["confusion_normalized"] = confusion_figure(result, size, normalized=True)
    if calibration is not None:
        out["reliability"] = reliability_figure(calibration, size)
    if result.errors is not None:
        out["errors_dap"] = errors_figure(result, size)
    return out


def write_plots(
    result: EvaluationResult,
    directory: str | Path,
    size: tuple[int, int] = DEFAULT_SIZE,
    calibration: Calibration | None = None,
) -> list[Path]:
    """Every plot of `figures` as DIR/<stem>.png (the folder is created); the paths written.
    The reliability diagram's calibration is computed when not given; plots the result cannot
    give (the confusion matrices of an evaluation made without `confusion=True`) are named in
    a warning, with how to get them."""
    from .diagnose import calibration as calibrate

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    drawn = figures(result, size, calibration if calibration is not None else calibrate(result))
    if result.point.confusion is None:
        warnings.warn(
            "write_plots: confusion.png and confusion_normalized.png skipped: the result has no "
            "confusion matrix (evaluate with confusion=True)",
            UserWarning,
            stacklevel=2,
        )
    return [save_png(fig, directory / f"{stem}.png") for stem, fig in drawn.items()]


# TIDE's own palette for its six error types, in ErrorKind order (cls, loc, both, dupe, bkg, miss)
ERROR_COLORS = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4")
SPECIAL_COLORS = ("#808080", "#404040")  # FP, FN


def error_bars(result: EvaluationResult) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(labels, dAP, counts) of TIDE's bars: the six error types in TIDE's order, then FP and FN
    (dAP NaN where undefined)."""
    errors = result.errors
    if errors is None:
        raise DetrecallError("this result has no error analysis: evaluate with errors=True")
    table = errors.table()  # one row per error type, then FP and FN: (key, definition, count, dAP)
    labels = [str(row[0]) for row in table.rows]
    counts = np.array([row[2] for row in table.rows], np.int64)
    dap = np.array([row[3] for row in table.rows], np.float64)
    return labels, dap, counts


def draw_error_bars(ax: Axes, result: EvaluationResult) -> Axes:
    """Vertical bars of the AP that fixing each error type recovers (TIDE's dAP): cls, loc,
    both, dupe, bkg, miss in TIDE's colours, then FP and FN in grey after a gap; each bar
    labelled with its dAP, each tick with the error's count."""
    labels, dap, counts = error_bars(result)
    n_main = len(ERROR_COLORS)
    x = np.r_[np.arange(n_main), n_main + 0.6 + np.arange(len(labels) - n_main)]
    bars = ax.bar(x, np.nan_to_num(dap), color=[*ERROR_COLORS, *SPECIAL_COLORS][: len(labels)], width=0.7)
    ax.bar_label(bars, [_dap_text(v) for v in dap], padding=2, fontsize="small")
    ax.set_xticks(x, [f"{name}\n({n})" for name, n in zip(labels, counts)])
    ax.axvline(n_main - 0.2, color="0.7", lw=1, ls=":")
    errors = result.errors
    defined = dap[np.isfinite(dap)]
    low, top = (float(defined.min()), float(defined.max())) if len(defined) else (0.0, 0.0)
    ax.set(
        ylim=(min(0.0, 1.18 * low), max(0.05, 1.18 * top)),
        ylabel="dAP (AP recovered by fixing every error of the type)",
        title=f"TIDE errors: dAP per type (AP{errors.foreground_iou * 100:g} {_dap_text(errors.AP)}; "
        "ticks: count)",
    )
    ax.grid(axis="y", alpha=0.3)
    return ax


def _dap_text(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.3f}"


def errors_figure(result: EvaluationResult, size: tuple[int, int] = DEFAULT_SIZE) -> Figure:
    return _one_axes(size, draw_error_bars, result)
