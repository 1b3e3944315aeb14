"""Issue 20 items 11 and 12: the report at many classes (confusion PNG named, on a log scale and
sized to fit; the HTML confusion table scrolling in its box; AP in the PR legends; the --ci
per-class table within 80 columns) and Ultralytics' per-class F1/P/R-confidence curves."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall import evaluate
from detrecall.analysis.point import recounted
from detrecall.report import plots
from detrecall.report.html import render_html
from detrecall.report.intervals import intervals_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
N_CLASSES = 40


def many_classes(seed: int = 0, n_images: int = 60) -> tuple[dict, list]:
    """A COCO ground truth of N_CLASSES classes (names `class_<id>`) and noisy detections: each
    object found with a jittered box, sometimes under a neighbouring class, plus background."""
    rng = np.random.default_rng(seed)
    cats = [{"id": k + 1, "name": f"class_{k + 1}"} for k in range(N_CLASSES)]
    images, anns, dets = [], [], []
    for i in range(n_images):
        images.append({"id": i + 1, "width": 640, "height": 480})
        for _ in range(rng.integers(1, 8)):
            x, y, w, h = rng.uniform(0, 400), rng.uniform(0, 300), rng.uniform(20, 200), rng.uniform(20, 150)
            c = int(rng.integers(1, N_CLASSES + 1))
            anns.append(
                {"id": len(anns) + 1, "image_id": i + 1, "category_id": c, "bbox": [x, y, w, h]}
                | {"area": w * h, "iscrowd": 0}
            )
            if rng.random() < 0.8:
                jitter = rng.normal(0, 8, 4)
                label = c if rng.random() < 0.85 else c % N_CLASSES + 1
                box = [x + jitter[0], y + jitter[1], max(w + jitter[2], 1), max(h + jitter[3], 1)]
                dets.append(
                    {"image_id": i + 1, "category_id": label, "bbox": box, "score": rng.uniform(0.3, 1)}
                )
        for _ in range(rng.integers(0, 10)):
            box = [rng.uniform(0, 500), rng.uniform(0, 400), rng.uniform(10, 100), rng.uniform(10, 80)]
            c = int(rng.integers(1, N_CLASSES + 1))
            dets.append({"image_id": i + 1, "category_id": c, "bbox": box, "score": rng.uniform(0, 0.6)})
    return {"images": images, "annotations": anns, "categories": cats}, dets


@pytest.fixture(scope="module")
def many():
    gt, dt = many_classes()
    return evaluate(gt, dt, confusion=True)


@pytest.fixture(scope="module")
def few():
    return evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", confusion=True)


def test_confusion_png_names_every_class_on_a_log_scale_and_grows_to_fit(many, few):
    from matplotlib.colors import LogNorm, Normalize

    labels = [*many.point.names, "background"]
    fig = plots.confusion_figure(many)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == labels  # names, not matrix indices
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    image = ax.images[0]
    assert_array_equal(np.asarray(image.get_array()), many.point.confusion)  # the counts drawn
    assert isinstance(image.norm, LogNorm) and image.norm.vmax == many.point.confusion.max()
    side = plots.CELL_PX * (N_CLASSES + 1) + plots.LABEL_PX  # 12 px a class + room for the labels
    assert tuple(fig.get_size_inches() * fig.dpi) == (max(800, side), max(600, side))  # 800x600 asked
    assert plots.confusion_size(many, (400, 300)) == (side, side)
    normalized = plots.confusion_figure(many, normalized=True).axes[0].images[0].norm
    assert type(normalized) is Normalize and (normalized.vmin, normalized.vmax) == (0, 1)
    small = plots.confusion_figure(few, (640, 480))  # few classes: the size asked for
    assert tuple(small.get_size_inches() * small.dpi) == (640, 480)


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_pr_legends_give_the_ap(many, few):
    texts = legend_texts(plots.pr_figure(few).axes[0])
    want = [f"{c.name} {c.AP50:.3f}" for c in few.per_class]  # AP at the operating IoU, 0.5
    assert texts == [*want, f"all classes (pooled); mAP@0.5 {few.coco.AP50:.3f}"]
    # many classes: the pooled line and one entry for the grey class lines
    texts = legend_texts(plots.pr_figure(many).axes[0])
    assert texts == [
        f"all classes (pooled); mAP@0.5 {many.coco.AP50:.3f}",
        f"each of the {N_CLASSES} classes",
    ]
    left = plots.coco_pr_figure(few).axes[0]
    assert legend_texts(left) == [
        *(f"{c.name} {c.AP:.3f}" for c in few.per_class),
        f"all classes; AP {few.coco.AP:.3f}",
    ]
    iou = evaluate(
        FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", iou_threshold=0.55, iou_thresholds=[0.5, 0.75]
    )
    assert legend_texts(plots.pr_figure(iou).axes[0])[-1] == "all classes (pooled)"  # 0.55: no AP computed


def test_html_confusion_table_scrolls_inside_its_box_with_sticky_headers(many):
    page = render_html(many)
    at = page.index("<h2>Confusion matrix")
    assert page[at:].split("</h2>\n", 1)[1].startswith('<div class="scroll">\n<table>')
    assert page.count('<div class="scroll">') == 1  # only the confusion matrix
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert ".scroll { overflow: auto;" in css and ".scroll thead th { position: sticky; top: 0;" in css


def test_ci_per_class_table_fits_80_columns(many):
    from detrecall.analysis.bootstrap import intervals

    b = intervals(many, n=20, seed=0)
    text = intervals_text(b, score_threshold=0.0)
    assert max(map(len, text.splitlines())) <= 80
    assert "precision/recall/F1 at the operating point (score >= 0)" in " ".join(text.splitlines()[:2])
    blocks = [part for part in text.split("\n\n") if part.startswith("Per class, estimate")]
    assert len(blocks) > 1
    seen: dict[tuple[str, str], str] = {}
    for block in blocks:
        lines = block.splitlines()
        headers = re.split(r"\s{2,}", lines[1].strip())
        for line in lines[3:]:
            cid, name, *cells = re.split(r"\s{2,}", line.strip())
            seen.update({(name, h): cell for h, cell in zip(headers[2:], cells, strict=True)})
    for k, name in enumerate(b.names):
        for j, metric in enumerate(b.metrics):
            e, lo, hi = b.class_estimate[k, j], b.class_low[k, j], b.class_high[k, j]
            want = (
                "n/a n/a"
                if np.isnan(e)
                else f"{e:.3f} " + ("n/a" if np.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]")
            )
            assert seen[(name, metric)] == want


def test_confidence_curves_are_the_counts_at_each_threshold(many):
    grid, precision, recall, f1 = plots.confidence_curves(many)
    assert grid[0] == 0 and grid[-1] == 1 and len(grid) == plots.CONFIDENCE_POINTS
    for x in (0.0, 0.25, 0.5, 0.75, 0.95):
        g = int(np.flatnonzero(grid == x)[0]) if x in grid else int(np.argmin(abs(grid - x)))
        at = recounted(many, float(grid[g])).point  # evaluate(score_threshold=grid[g])
        predicted = at.counts.predicted > 0
        assert_array_equal(recall[:, g], at.recall)
        assert_array_equal(f1[:, g], at.f1)
        assert_array_equal(precision[predicted, g], at.precision[predicted])
        assert np.isnan(precision[~predicted, g]).all()  # nothing counted: undefined, not drawn


@pytest.mark.parametrize("which", ["F1_curve", "P_curve", "R_curve"])
def test_ultralytics_curves_draw_each_class_and_the_bold_mean_with_its_best_point(few, which):
    grid, *values = plots.confidence_curves(few)
    curve = values[{"F1_curve": 2, "P_curve": 0, "R_curve": 1}[which]]
    ax = plots.confidence_figure(few, which=which).axes[0]
    drawn = {line.get_label(): line for line in ax.get_lines()}
    for name, row in zip(few.point.names, curve):
        assert_array_equal(drawn[name].get_ydata(), row)
    with warnings.catch_warnings():  # above every score no class has a precision: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curve[few.point.counts.support > 0], axis=0)
    assert_array_equal(drawn["all classes"].get_ydata(), mean)
    assert drawn["all classes"].get_linewidth() == 3
    best = int(np.flatnonzero(mean == np.nanmax(mean))[-1 if which == "P_curve" else 0])
    assert legend_texts(ax)[-1] == f"all classes {mean[best]:.3f} at {grid[best]:.3f}"
    assert drawn["_best"].get_xdata()[0] == grid[best]


def test_write_plots_writes_the_ultralytics_curve_files(few, tmp_path):
    names = [p.name for p in plots.write_plots(few, tmp_path, (400, 300))]
    assert {"F1_curve.png", "P_curve.png", "R_curve.png"} <= set(names)
