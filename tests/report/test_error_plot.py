"""The TIDE dAP bar plot: the bars drawn are the result's dAPs and counts; written by write_plots
only when the result has errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detrecall import DetrecallError, evaluate
from detrecall.report import plots

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def result():
    return evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", errors=True, confusion=True)


def test_bars_are_the_dap_of_each_error_type(result):
    e = result.errors
    ax = plots.errors_figure(result).axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    expected = [e.dap(k) for k in ("cls", "loc", "both", "dupe", "bkg", "miss")] + [e.fp_dAP, e.fn_dAP]
    np.testing.assert_array_equal(heights, expected)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == f"cls\n({e.count('cls')})" and ticks[5] == f"miss\n({e.count('miss')})"
    assert ticks[6] == f"FP\n({sum(e.counts[:5])})" and ticks[7] == f"FN\n({e.count('miss')})"
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == f"{e.dap('cls'):.3f}"
    assert f"AP50 {e.AP:.3f}" in ax.get_title()


def test_write_plots_adds_it_with_errors_only(result, tmp_path):
    written = plots.write_plots(result, tmp_path / "with")
    assert tmp_path / "with" / "errors_dap.png" in written
    plain = evaluate(FIXTURES / "gt.json", FIXTURES / "dt_bbox.json", confusion=True)
    assert "errors_dap" not in plots.figures(plain)
    with pytest.raises(DetrecallError, match="errors=True"):
        plots.errors_figure(plain)
