"""Plain-text views of an EvaluationResult: pycocotools' 12 lines, then a per-class table."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..evaluate import EvaluationResult
from ..protocols.coco import SUMMARY_LABELS


def _num(v: float, width: int = 6) -> str:
    return f"{'n/a':>{width}}" if math.isnan(v) else f"{v:{width}.3f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """The first `left` columns left-aligned (labels), the others right-aligned (numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def summary_text(result: EvaluationResult) -> str:
    """The 12 numbers labelled as pycocotools prints them ('n/a' where it prints -1)."""
    return "\n".join(
        f" {SUMMARY_LABELS[name]} = {_num(value, 5)}"
        for name, value in result.coco.to_dict().items()
        for value in [math.nan if value is None else value]
    )


def per_class_text(result: EvaluationResult) -> str:
    rows = [[str(c.category_id), c.name, _num(c.AP), _num(c.AP50), _num(c.AP75), _num(c.AR100)]
            for c in result.per_class]
    md = result.params.max_dets[-1]
    return format_table(["id", "class", "AP", "AP50", "AP75", f"AR{md}"], rows, left=2)


def result_text(result: EvaluationResult) -> str:
    return f"{summary_text(result)}\n\nPer class ({result.iou_type}):\n{per_class_text(result)}\n"
