"""Passthrough: any Jira REST call on the connection's site, and nothing off it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from service_support import Service

from jirakit.service.routers.passthrough import safe_url


def test_get_and_post_reach_jira(service: Service, api: httpx.Client, conn_id: str):
    me = api.get(f"/passthrough/{conn_id}/rest/api/3/myself")
    assert me.status_code == 200 and me.json()["emailAddress"] == service.sandbox.admin_email
    project = next(iter(service.sandbox.store.projects.values()))
    made = api.post(
        f"/passthrough/{conn_id}/rest/api/3/issue",
        json={
            "fields": {
                "project": {"id": project["id"]},
                "summary": "via passthrough",
                "issuetype": {"name": "Task"},
            }
        },
    )
    assert made.status_code == 201, made.text
    assert service.sandbox.store.issue(made.json()["key"]) is not None
    search = api.get(
        f"/passthrough/{conn_id}/rest/api/3/search/jql",
        params={"jql": f"key = {made.json()['key']}"},
    )
    assert search.status_code == 200 and search.json()["issues"][0]["id"] == made.json()["id"]
    agile = api.get(f"/passthrough/{conn_id}/rest/agile/1.0/board")
    assert agile.status_code == 200 and "values" in agile.json()


def test_jira_errors_come_back_as_jira_sent_them(api: httpx.Client, conn_id: str):
    missing = api.get(f"/passthrough/{conn_id}/rest/api/3/issue/NOPE-1")
    assert missing.status_code == 404
    assert missing.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


@pytest.mark.parametrize(
    "path",
    [
        "rest/api/3/../../../etc/passwd",
        "rest/api/3/%2e%2e/%2e%2e/admin",
        "rest/api/3/%252e%252e/admin",
        "admin/secret",
        "http:%2F%2Fevil.example/rest/api/3/myself",
        "%2F%2Fevil.example/rest/api/3/myself",
        "rest/api/3/myself%3Fx=1",
        "rest/api/3/issue/%5C..%5Cadmin",
        "rest\\api",
    ],
)
def test_paths_that_could_leave_the_site_are_refused(api: httpx.Client, conn_id: str, path: str):
    response = api.get(f"/passthrough/{conn_id}/{path}")
    assert response.status_code in (400, 404), (path, response.status_code)
    assert response.status_code != 200


def test_no_request_reaches_another_host(service: Service, api: httpx.Client, conn_id: str):
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        other = f"127.0.0.1:{server.server_address[1]}"
        for path in (
            f"http://{other}/rest/api/3/myself",
            f"//{other}/rest/api/3",
            f"@{other}/rest",
        ):
            api.get(f"/passthrough/{conn_id}/{path}")
            api.get(f"/passthrough/{conn_id}/rest/api/3/{path}")
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_safe_url_keeps_the_api_root():
    base = "https://api.atlassian.com/ex/jira/abc"
    assert safe_url(base, "rest/api/3/myself") == f"{base}/rest/api/3/myself"
    for bad in ("rest/../x", "x/rest/api/3", "rest//api", "https://evil/rest", "rest/api/3/?a"):
        with pytest.raises(Exception, match="passthrough"):
            safe_url(base, bad)


def test_other_tenants_cannot_pass_through(service: Service, conn_id: str):
    other = service.client(service.tenant())
    assert other.get(f"/passthrough/{conn_id}/rest/api/3/myself").status_code == 404
