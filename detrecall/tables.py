"""The one table model: a titled table of raw values, and its plain-text layout.

Result parts describe what they show as `Table`s; the views (`report/`: rich, Markdown, HTML,
CSV, plain text) only render them. Cells hold raw values: str, int, float (NaN = undefined,
shown "n/a") or None (not applicable, shown empty).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Kind(str, Enum):
    """What a column holds: how its cells are aligned and coloured."""

    LABEL = "label"  # names, ids: left-aligned, bold
    TEXT = "text"  # descriptions: left-aligned
    COUNT = "count"  # integers
    RATE = "rate"  # a rate in [0, 1]: coloured when low
    SCORE = "score"  # a score threshold: never coloured

    def __str__(self) -> str:
        return self.value


LOW, VERY_LOW = 0.3, 0.1  # rates below these are shown yellow / red (terminal, HTML)


@dataclass(frozen=True)
class Table:
    """A titled table of raw values; `kinds` says per column what its values are; the last
    `footer` rows are averages or totals (kept below the others when the HTML table is sorted)."""

    title: str
    headers: tuple[str, ...]
    kinds: tuple[Kind, ...]
    rows: tuple[tuple[Any, ...], ...]
    footer: int = 0


def cell_text(value: Any) -> str:
    """How every text format shows a cell: 3 decimals, 'n/a' for NaN, '' for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def number_text(v: float, width: int = 6) -> str:
    """A number right-aligned in `width` with 3 decimals, 'n/a' where undefined."""
    return f"{'n/a':>{width}}" if math.isnan(v) else f"{v:{width}.3f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Plain text: the first `left` columns left-aligned (labels), the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def json_number(v: Any) -> Any:
    """JSON has no NaN: an undefined number is null; everything else as it is."""
    return None if isinstance(v, float) and math.isnan(v) else v


def strict_json(value: Any) -> Any:
    """`value` with every number JSON can hold: NaN as null, an infinite bound as the string
    "Infinity" / "-Infinity" (what JavaScript's Number() reads), containers copied through."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Standard JSON (no NaN or Infinity tokens, which strict parsers refuse), indented."""
    import json

    return json.dumps(strict_json(value), indent=2, allow_nan=False) + "\n"


def import_pandas() -> Any:
    """The pandas module, for the `to_pandas()` views; an ImportError saying how to install it.

    pandas is optional (no dependency of detrecall) and has no stubs here, hence `Any`."""
    try:
        import pandas  # type: ignore[import-untyped,unused-ignore]
    except ImportError as e:
        raise ImportError(
            "to_pandas() needs pandas, which is not installed: pip install pandas", name="pandas"
        ) from e
    return pandas
