"""Bearer tokens: read from a token file or an environment variable, kept only as SHA-256 digests,
compared in constant time.

A token file holds one token per line (blank lines and `#` comments skipped); a line
`sha256:HEX` gives a token by its digest, so the file on the server need not hold the secret.
`DETRECALL_SERVE_TOKENS` holds tokens separated by commas or whitespace.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

ENV = "DETRECALL_SERVE_TOKENS"
_HEX = re.compile(r"^[0-9a-f]{64}$")
MIN_LENGTH = 16  # characters: a shorter secret is refused when the tokens are read


class TokenError(ValueError):
    """The configured tokens cannot be used (a file missing, a token too short)."""


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(lines: Iterable[str], source: str) -> list[bytes]:
    """The digests of the tokens in `lines`."""
    out = []
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("sha256:"):
            hexdigest = line[len("sha256:") :].strip().lower()
            if not _HEX.match(hexdigest):
                raise TokenError(f"{source}: line {i}: sha256: expects 64 hex digits")
            out.append(bytes.fromhex(hexdigest))
        elif len(line) < MIN_LENGTH:
            raise TokenError(f"{source}: line {i}: a token needs at least {MIN_LENGTH} characters")
        else:
            out.append(digest(line))
    return out


def load_tokens(token_file: Path | None, environ: dict[str, str] | None = None) -> list[bytes]:
    """Digests from `token_file` and the environment variable; empty when neither gives any."""
    env = os.environ if environ is None else environ
    found: list[bytes] = []
    if token_file is not None:
        try:
            text = token_file.read_text()
        except OSError as e:
            raise TokenError(f"{token_file}: cannot read the token file ({e.strerror})") from None
        found += parse_tokens(text.splitlines(), str(token_file))
    found += parse_tokens(re.split(r"[,\s]+", env.get(ENV, "")), ENV)
    return found


def new_token_file(path: Path) -> str:
    """Write a fresh random token to `path` (mode 0600), or read the one already there."""
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


class Tokens:
    """The accepted tokens' digests; `accepts(header)` for an `Authorization` header value."""

    def __init__(self, digests: Iterable[bytes]) -> None:
        self._digests = tuple(digests)
        if not self._digests:
            raise TokenError("no token configured")

    def accepts(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        given = digest(token.strip())
        ok = False
        for d in self._digests:  # every digest compared: the time does not tell which matched
            ok |= hmac.compare_digest(given, d)
        return ok
