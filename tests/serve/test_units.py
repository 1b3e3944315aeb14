"""The service's small parts without a server: tokens, JSON depth, metrics text, error places."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from detrecall.serve.auth import TokenError, Tokens, load_tokens, new_token_file, parse_tokens  # noqa: E402
from detrecall.serve.errors import where_of  # noqa: E402
from detrecall.serve.limits import json_depth  # noqa: E402
from detrecall.serve.metrics import Metrics  # noqa: E402


def test_tokens_are_kept_as_digests_and_checked(tmp_path: Path) -> None:
    secret = "s3cret-token-of-some-length"
    other = "another-token-0123456789"
    f = tmp_path / "tokens"
    f.write_text(f"# ops\n\n{secret}\nsha256:{hashlib.sha256(other.encode()).hexdigest()}\n")
    digests = load_tokens(f, environ={"DETRECALL_SERVE_TOKENS": "env-token-0123456789ab, "})
    assert digests == [hashlib.sha256(t.encode()).digest() for t in (secret, other, "env-token-0123456789ab")]
    tokens = Tokens(digests)
    assert tokens.accepts(f"Bearer {secret}") and tokens.accepts(f"bearer {other}")
    assert tokens.accepts("Bearer env-token-0123456789ab")
    for bad in (None, "", secret, f"Basic {secret}", "Bearer ", f"Bearer {secret}x"):
        assert not tokens.accepts(bad)
    with pytest.raises(TokenError, match="at least 16"):
        parse_tokens(["short"], "f")
    with pytest.raises(TokenError, match="64 hex"):
        parse_tokens(["sha256:abc"], "f")
    with pytest.raises(TokenError, match="no token"):
        Tokens([])


def test_a_new_token_file_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db.token"
    token = new_token_file(path)
    assert len(token) >= 40 and path.stat().st_mode & 0o777 == 0o600
    assert new_token_file(path) == token


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": [2]}]}', 4),
        (b'["]]]]", [[1]]]', 3),  # brackets in strings do not count
        (b'["\\"[[[[", 1]', 1),  # nor do escaped quotes end a string
        (b"[" * 40 + b"]" * 40, 40),
    ],
)
def test_json_depth(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


def test_where_of() -> None:
    assert where_of(("body", "options", "iou_thresholds", 0)) == "body.options.iou_thresholds[0]"
    assert where_of(()) == "request"


def test_metrics_exposition() -> None:
    m = Metrics()
    m.request("GET", "/health", 200, 0.003)
    m.request("GET", "/health", 200, 0.2)
    m.evaluations[("detection", "stored")] += 2
    m.gauges["detrecall_serve_queue_depth"] = ("waiting", lambda: 3)
    text = m.render()
    assert 'detrecall_serve_requests_total{method="GET",route="/health",status="200"} 2' in text
    assert 'detrecall_serve_request_seconds_bucket{method="GET",route="/health",le="0.005"} 1' in text
    assert 'detrecall_serve_request_seconds_bucket{method="GET",route="/health",le="+Inf"} 2' in text
    assert 'detrecall_serve_request_seconds_sum{method="GET",route="/health"} 0.203000' in text
    assert 'detrecall_serve_evaluations_total{task="detection",outcome="stored"} 2' in text
    assert "detrecall_serve_queue_depth 3" in text
