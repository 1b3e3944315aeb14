"""Plots: the data drawn (read back from the Figure before saving) equals the result's curves;
files are valid PNGs of the requested size, and the same bytes twice."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from detrecall import DetrecallError, evaluate
from detrecall.report import plots
from detrecall.report.diagnose import calibration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def result():
    return evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", confusion=True)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG file, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def lines(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_pr_curves_drawn_are_the_results(result):
    p = result.point
    drawn = lines(plots.pr_figure(result).axes[0])
    for name, curve in zip(p.names, p.curves):
        assert_array_equal(drawn[name].get_xdata(), curve.recall)
        assert_array_equal(drawn[name].get_ydata(), curve.precision)
    assert_array_equal(drawn["all classes"].get_xdata(), p.curve.recall)
    assert_array_equal(drawn["all classes"].get_ydata(), p.curve.precision)


def test_coco_pr_curves_average_to_ap(result):
    left, right = plots.coco_pr_figure(result).axes[:2]
    per_class, per_iou = lines(left), lines(right)
    recall = result.params.recall_thresholds
    prec = result.accumulated.precision[:, :, :, 0, -1]
    for k, c in enumerate(result.per_class):
        line = per_class[c.name]
        assert_array_equal(line.get_xdata(), recall)
        assert_array_equal(line.get_ydata(), prec[:, :, k].mean(axis=0))
        assert np.mean(line.get_ydata()) == pytest.approx(c.AP, abs=1e-12)  # its mean is the class's AP
    assert np.mean(per_class["all classes"].get_ydata()) == pytest.approx(result.coco.AP, abs=1e-12)
    assert np.mean(per_iou["IoU 0.50"].get_ydata()) == pytest.approx(result.coco.AP50, abs=1e-12)
    assert np.mean(per_iou["IoU 0.75"].get_ydata()) == pytest.approx(result.coco.AP75, abs=1e-12)
    assert len(per_iou) == len(result.params.iou_thresholds)


def test_threshold_curves_and_best_f1(result):
    p = result.point
    drawn = lines(plots.threshold_figure(result).axes[0])
    for key in ("precision", "recall"):
        assert_array_equal(drawn[key].get_xdata(), p.curve.thresholds)
        assert_array_equal(drawn[key].get_ydata(), getattr(p.curve, key))
    assert_array_equal(drawn["F1"].get_ydata(), p.curve.f1)
    best = next(line for label, line in drawn.items() if label.startswith("best F1"))
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (p.best_f1_overall.threshold, p.best_f1_overall.f1)


def test_ap_bars_sorted(result):
    ax = plots.ap_figure(result).axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    want = sorted(((c.AP, c.name) for c in result.per_class), key=lambda t: -t[0])
    assert widths == [ap for ap, _ in want]
    ticks = sorted(
        zip(
            [t.get_position()[1] for t in ax.get_yticklabels()], [t.get_text() for t in ax.get_yticklabels()]
        ),
        reverse=True,
    )
    assert [name for _, name in ticks] == [name for _, name in want]


def test_confusion_heatmaps(result):
    m = result.point.confusion
    raw = plots.confusion_figure(result).axes[0].images[0].get_array()
    assert_array_equal(np.asarray(raw), m)
    normalized = np.asarray(plots.confusion_figure(result, normalized=True).axes[0].images[0].get_array())
    assert_array_equal(normalized[:-1], m[:-1] / m[:-1].sum(axis=1, keepdims=True))
    assert_array_equal(normalized[-1], m[-1] / m[-1].sum())
    with pytest.raises(DetrecallError, match="confusion=True"):
        plots.confusion_figure(evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"))


def test_ap_by_size_equals_the_summary(result):
    ax = plots.ap_by_size_figure(result).axes[0]
    bars = {c.get_label(): [b.get_height() for b in c] for c in ax.containers}
    coco = result.coco
    assert bars["all classes"] == pytest.approx([coco.APs, coco.APm, coco.APl], abs=1e-15)
    sizes, _, per_class = plots.ap_by_size(result)
    assert sizes == ["small", "medium", "large"]
    for k, c in enumerate(result.per_class):
        assert bars[c.name] == list(np.nan_to_num(per_class[k]))
    # a class's AP by size is the mean of its defined precision entries in that range
    prec = result.accumulated.precision[:, :, 0, 1, -1]
    assert per_class[0, 0] == pytest.approx(prec[prec > -1].mean(), abs=1e-15)


def test_reliability_diagram(result):
    cal = calibration(result)
    drawn = lines(plots.reliability_figure(cal).axes[0])
    assert_array_equal(drawn["detections"].get_xdata(), cal.mean_score)
    assert_array_equal(drawn["detections"].get_ydata(), cal.fraction_tp)
    assert f"ECE {cal.ece:.3f}" in plots.reliability_figure(cal).axes[0].get_title()


def test_files_are_pngs_of_the_requested_size_and_deterministic(result, tmp_path):
    paths = plots.write_plots(result, tmp_path / "a", (640, 480), calibration(result))
    assert [p.name for p in paths] == [
        "pr_curves.png",
        "pr_coco.png",
        "threshold.png",
        "F1_curve.png",
        "P_curve.png",
        "R_curve.png",
        "ap_per_class.png",
        "ap_by_size.png",
        "confusion.png",
        "confusion_normalized.png",
        "reliability.png",
    ]
    for path in paths:
        assert png_size(path) == (640, 480)
    again = plots.save_png(plots.threshold_figure(result, (640, 480)), tmp_path / "again.png")
    assert again.read_bytes() == (tmp_path / "a" / "threshold.png").read_bytes()
    odd = plots.save_png(plots.pr_figure(result, (333, 201)), tmp_path / "odd.png")
    assert png_size(odd) == (333, 201)


def test_voc_result_gets_the_plots_that_apply(tmp_path):
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", protocol="voc")
    figs = plots.figures(r)
    assert list(figs) == ["pr_curves", "threshold", "F1_curve", "P_curve", "R_curve", "ap_per_class"]
    widths = [bar.get_width() for bar in figs["ap_per_class"].axes[0].patches]
    assert widths == sorted((c.ap[0] for c in r.voc.classes), reverse=True)


@pytest.mark.parametrize(("text", "size"), [("800x600", (800, 600)), ("1024X768", (1024, 768))])
def test_parse_size(text, size):
    assert plots.parse_size(text) == size


@pytest.mark.parametrize("text", ["800", "axb", "50x50", "800x600x2"])
def test_parse_size_refuses(text):
    with pytest.raises(DetrecallError, match="plot size"):
        plots.parse_size(text)


def test_drawing_changes_no_global_state(result):
    import matplotlib

    before = dict(matplotlib.rcParams)
    plots.figures(result)
    assert dict(matplotlib.rcParams) == before


def test_write_plots_computes_what_it_can_and_names_what_it_skips(tmp_path):
    """Issue: without confusion=True, 5 of 8 plots were written silently."""
    r = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json")
    with pytest.warns(UserWarning, match="confusion.png and confusion_normalized.png skipped"):
        paths = plots.write_plots(r, tmp_path)
    assert "reliability.png" in [p.name for p in paths] and len(paths) == 9
