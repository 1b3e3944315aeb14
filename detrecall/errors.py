"""Exceptions raised by detrecall.

    DetrecallError (ValueError)      anything detrecall refuses to compute
     └── InputError                  bad input: names the file, the record and the field
                                     (one problem, or several collected: one per line)
    UndefinedMetricWarning (UserWarning)   a ratio was 0/0 and zero_division="warn" set it to 0
    DataWarning (UserWarning)              suspicious but legal input (boxes outside the image, ...)
    GeometryRepairWarning (UserWarning)    invalid polygons were repaired with shapely.make_valid

Both subclass ValueError, so code that already catches ValueError keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence


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
        self.problems: tuple[InputError, ...] = (self,)
        parts = [p for p in (source, record, field) if p]
        super().__init__(": ".join([*parts, message]))

    @classmethod
    def collected(cls, problems: Sequence[InputError], omitted: int = 0) -> InputError:
        """One error for several problems found in one pass: the first one's place and message,
        str() one line per problem (and a last line counting the `omitted` ones)."""
        first = problems[0]
        if len(problems) == 1 and not omitted:
            return first
        err = cls(first.message, source=first.source, record=first.record, field=first.field)
        err.problems = tuple(problems)
        lines = [str(p) for p in problems]
        if omitted:
            lines.append(f"... and {omitted} more problem(s) not shown")
        err.args = ("\n".join(lines),)
        return err


class UndefinedMetricWarning(UserWarning):
    """A precision, recall or F-score was 0/0; zero_division="warn" set it to 0.0."""


class DataWarning(UserWarning):
    """Input that is legal but probably not what was meant: boxes outside their image, scores
    outside [0, 1], duplicate detections, classes predicted but absent from the ground truth."""


class GeometryRepairWarning(UserWarning):
    """Invalid polygons (self-intersecting, no area, ...) were repaired with shapely.make_valid."""
