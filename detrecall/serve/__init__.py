"""The monitoring service over HTTP (the `serve` extra: FastAPI and uvicorn).

create_app(ServeConfig(...))   the ASGI app: /v1 API, /health, /ready, /metrics, the dashboard at /
prepare_store(url)             create or migrate the store and the service's table
detrecall serve --store ...    the command (serve/cli.py)

Nothing below this package imports it; `import detrecall` never loads FastAPI.
"""

from .app import ServeConfig, create_app, prepare_store

__all__ = ["ServeConfig", "create_app", "prepare_store"]
