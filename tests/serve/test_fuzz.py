"""A schema-driven fuzz of the API (schemathesis, from the served OpenAPI schema): no 5xx, ever.

Bounded: a fixed number of generated requests per operation, derandomized, a few seconds each."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from .server import Server  # noqa: E402

EXAMPLES = 25


@pytest.mark.filterwarnings("ignore")  # schemathesis' own deprecations are not our warnings
def test_no_5xx_from_generated_requests(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    seen: dict[str, int] = {}
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: object) -> None:
            for headers in ({"Authorization": f"Bearer {server.token}"}, {}):
                response = case.call(headers=headers, timeout=30)  # type: ignore[attr-defined]
                seen[response.status_code // 100] = seen.get(response.status_code // 100, 0) + 1
                if response.status_code >= 500:
                    where = f"{case.method} {case.formatted_path}"  # type: ignore[attr-defined]
                    failures.append(f"{where} -> {response.status_code}: {response.text[:200]}")

        from hypothesis import given

        given(strategy)(run)()
    assert not failures, failures[:5]
    assert seen.get(4, 0) > 0 and seen.get(2, 0) > 0  # both refusals and successes were exercised
