"""The service's one error shape: `{"error": what is wrong, "where": which part of the request}`.

Every refusal is an ApiError with a 4xx status (503 for an evaluation past its time limit, 429
for a full queue); the app turns it, FastAPI's validation errors and anything unexpected into
that JSON, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """A request the service refuses: HTTP `status`, `error` (one line), `where` (e.g. `body.model`)."""

    def __init__(self, status: int, error: str, where: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.where = where
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"error": self.error, "where": self.where}


def where_of(location: tuple[int | str, ...] | list[int | str]) -> str:
    """`("body", "options", "iou_thresholds", 0)` → `body.options.iou_thresholds[0]`."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "request"
