"""The monitoring service over HTTP (the `serve` extra: FastAPI and uvicorn).

create_app(ServeConfig(...))   the ASGI app: /v1 API, /health, /ready, /metrics, the dashboard at /
prepare_store(url)             create or migrate the store and the service's table
detrecall serve --store ...    the command (serve/cli.py)

Nothing below this package imports it, and importing the package (or its command line) does
not load FastAPI: the names below are loaded on first use, so `detrecall --help` works without
the extra installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServeConfig", "create_app", "prepare_store"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'detrecall.serve' has no attribute {name!r}")
