"""schemathesis against our own OpenAPI document: no 5xx, and every response conforms
(status documented, body matching its schema, content type declared).

The app runs in-process with the sandbox mounted through `httpx.ASGITransport`; every
``connection_id`` is pointed at a real connection, so generated requests reach Jira."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from service_support import ENCRYPTION_KEY, JIRA_TOKEN

from jirakit.sandbox import Sandbox
from jirakit.service import create_app, load_settings
from jirakit.service.connections import build_connection
from jirakit.service.tenants import create_tenant

SITE = "http://jira.sandbox.test"
# "No 5xx, responses conform". Not positive_data_acceptance: a schema-valid request may
# still name a project Jira does not have, and Jira's 400 is passed on as it is.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    sandbox = Sandbox(seed=0, issues=20, projects=2, api_token=JIRA_TOKEN)
    db = tmp_path_factory.mktemp("schemathesis") / "service.db"
    app = create_app(
        load_settings(
            database_url=f"sqlite:///{Path(db)}",
            encryption_keys=ENCRYPTION_KEY,
            background=False,
            rate_limit=0,
        ),
        async_transport=httpx.ASGITransport(app=sandbox.app),
        transport=None,
    )
    state = app.state.service
    with state.sessions() as session, session.begin():
        tenant, key = create_tenant(session, "fuzz")
        conn = build_connection(
            state, tenant.id, "api_token", site=SITE, email=sandbox.admin_email, token=JIRA_TOKEN
        )
        session.add(conn)
        conn_id = conn.id
    yield {"app": app, "key": key, "conn_id": conn_id}
    sandbox.close()
    state.engine.dispose()


def test_no_server_errors_and_responses_conform(world: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world["app"])
    headers = {"Authorization": f"Bearer {world['key']}"}
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            if "connection_id" in (case.path_parameters or {}):
                case.path_parameters["connection_id"] = world["conn_id"]
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
        tried.append(f"{operation.method.upper()} {operation.path}")
    assert len(tried) >= 50
