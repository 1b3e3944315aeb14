"""Exceptions raised by detrecall.

    DetrecallError (ValueError)      anything detrecall refuses to compute
     └── InputError                  bad input: names the file, the record and the field
    UndefinedMetricWarning (UserWarning)   a ratio was 0/0 and zero_division="warn" set it to 0
    GeometryRepairWarning (UserWarning)    invalid polygons were repaired with shapely.make_valid

Both subclass ValueError, so code that already catches ValueError keeps working.
"""

from __future__ import annotations


class DetrecallError(ValueError):
    """Base class of every error detrecall raises on purpose."""


class InputError(DetrecallError):
    """Bad input data, located as precisely as possible.

    str(err) reads `source: record: field: what is wrong (what would be right)`, each part
    present only when known, so the CLI can print it as one line.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.record = record
        self.field = field
        parts = [p for p in (source, record, field) if p]
        super().__init__(": ".join([*parts, message]))


class UndefinedMetricWarning(UserWarning):
    """A precision, recall or F-score was 0/0; zero_division="warn" set it to 0.0."""


class GeometryRepairWarning(UserWarning):
    """Invalid polygons (self-intersecting, no area, ...) were repaired with shapely.make_valid."""
