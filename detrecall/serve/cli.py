"""`detrecall serve`: the monitoring service on 127.0.0.1 unless told otherwise.

`detrecall/cli.py` wires it in with `add_parser(subparsers)` and `run(args)`; `python -m
detrecall.serve ...` runs the same command without the rest of the CLI. Exit status 0 after a
clean shutdown (SIGTERM or Ctrl-C), 2 on a bad store or token configuration (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import DetrecallError
from ..monitor.store import Dialect, parse_url
from .auth import ENV, TokenError, Tokens, load_tokens, new_token_file


def add_parser(subparsers: Any) -> None:
    """Add `serve` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "serve",
        help="the monitoring service: REST evaluations, stored runs, alerts, a dashboard",
        description="Serve the run store over HTTP: POST evaluations, read runs and alerts; dashboard at /.",
    )
    configure(p)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="SQLite file (created on first use) or postgresql:// URL")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument(
        "--token-file",
        type=Path,
        help=f"bearer tokens, one per line (or sha256:HEX); also ${ENV}. Default for a SQLite store: "
        "STORE.token, created with a random token when missing",
    )
    p.add_argument("--workers", type=int, default=_default_workers(), help="evaluation worker processes")
    p.add_argument("--queue", type=int, default=32, help="evaluations waiting beyond the workers before 429")
    p.add_argument(
        "--max-body-mb", type=float, default=64.0, help="largest request body in MiB (413 past it)"
    )
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds per evaluation (503 past it)")
    p.add_argument(
        "--max-drop",
        action="append",
        default=[],
        metavar="METRIC[@CLASS]=AMOUNT[%]",
        help="alert rules for every model, e.g. AP=0.02 (requests may add their own)",
    )
    p.add_argument(
        "--drift-threshold", action="append", default=[], metavar="KIND=VALUE|off", help="as in monitor run"
    )
    p.add_argument("--webhook", metavar="URL", help="POST each alert's JSON to URL")
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (default info)",
    )
    p.add_argument("--openapi", action="store_true", help="print the OpenAPI schema and exit")


def _default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _tokens(args: argparse.Namespace) -> Tokens:
    digests = load_tokens(args.token_file)
    if digests:
        return Tokens(digests)
    dialect, target = parse_url(args.store)
    if dialect is not Dialect.SQLITE:
        raise TokenError(f"a PostgreSQL store needs --token-file or ${ENV} (no token configured)")
    path = Path(target + ".token")
    existed = path.exists()
    new_token_file(path)
    state = "read" if existed else "created"
    print(
        f"detrecall: serve: no token given; {state} {path} (send it as Authorization: Bearer ...)",
        file=sys.stderr,
    )
    return Tokens(load_tokens(path, environ={}))


def _config(args: argparse.Namespace) -> Any:
    from ..monitor.cli import parse_drift, parse_max_drop
    from .app import MiB, ServeConfig

    parse_max_drop(args.max_drop)  # refused now rather than at the first evaluation
    if args.workers < 1 or args.queue < 0 or args.max_body_mb <= 0 or args.time_limit <= 0:
        raise DetrecallError("--workers >= 1, --queue >= 0, --max-body-mb > 0 and --time-limit > 0 expected")
    return ServeConfig(
        store=args.store,
        tokens=_tokens(args) if not args.openapi else Tokens([b"\0" * 32]),
        workers=args.workers,
        queue=args.queue,
        max_body=int(args.max_body_mb * MiB),
        time_limit=args.time_limit,
        max_drop=tuple(args.max_drop),
        drift_rules=tuple(parse_drift(args.drift_threshold)),
        webhook=args.webhook,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM / Ctrl-C: 0; 2 on a bad configuration."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        print(
            f"detrecall: error: detrecall serve needs the serve extra ({e.name} is not installed): "
            "pip install 'detrecall[serve]'",
            file=sys.stderr,
        )
        return 2
    try:
        if args.openapi:
            from .app import openapi_schema

            args.store = args.store or ":memory:"
            sys.stdout.write(json.dumps(openapi_schema(_config(args)), indent=2, sort_keys=True) + "\n")
            return 0
        if not args.store:
            raise DetrecallError("--store is required (a SQLite file or postgresql:// URL)")
        import uvicorn

        from .app import create_app, prepare_store

        config = _config(args)
        prepare_store(config.store)
        app = create_app(config)
    except (DetrecallError, TokenError) as e:
        print(f"detrecall: error: {e}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"detrecall: serve: listening on {args.host}, beyond this machine: put a TLS proxy in front",
            file=sys.stderr,
        )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            timeout_graceful_shutdown=int(config.time_limit) + 10,
            server_header=False,
            access_log=args.log_level == "debug",
        )
    )
    for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises the signal once it has shut down
        signal.signal(sig, _stopped)
    try:
        server.run()
    except _Stopped:
        pass
    return 0


class _Stopped(Exception):
    """The server shut down on SIGTERM / SIGINT, cleanly."""


def _stopped(signum: int, frame: Any) -> None:
    raise _Stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="detrecall serve", description="the detrecall monitoring service")
    configure(parser)
    return run(parser.parse_args(argv))
