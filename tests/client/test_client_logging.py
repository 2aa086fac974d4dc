"""Every request is a structured JSON event; no secret ever reaches a log line."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from client_doubles import BASE, Router, ok
from test_client_auth import TokenServer, oauth_router

from jirakit import BasicAuth, BearerAuth, Jira, OAuth2Auth
from jirakit._logging import redact
from jirakit.errors import NotFound

SECRETS = ["api-tok-SECRET", "pat-SECRET", "csecret-SECRET", "r0-SECRET"]


def test_request_events_are_json_with_the_useful_fields(
    router: Router, caplog: pytest.LogCaptureFixture
):
    router.add(
        "GET", "/rest/api/3/issue/P-1", ok({}, 503, **{"Retry-After": "0", "X-AREQUESTID": "rq-1"})
    )
    router.add(
        "GET", "/rest/api/3/issue/P-1", ok({"id": "1", "key": "P-1"}, **{"X-AREQUESTID": "rq-2"})
    )
    caplog.set_level(logging.DEBUG, logger="jirakit")
    with Jira(
        BASE, auth=BasicAuth("me@acme.com", "x"), transport=router.transport(), sleep=lambda s: None
    ) as jira:
        jira.issues.get("P-1")
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "jirakit.client"]
    assert [e["event"] for e in events] == ["jira.retry", "jira.request"]
    retry, done = events
    assert retry["status"] == 503 and retry["attempt"] == 1 and retry["request_id"] == "rq-1"
    assert done["endpoint"] == "/rest/api/3/issue/{key}" and done["method"] == "GET"
    assert done["status"] == 200 and done["attempt"] == 2 and "duration_ms" in done


def test_no_secret_reaches_any_log_line(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)  # everything, every library
    api_token, pat, client_secret, refresh = SECRETS
    basic = Router().always("GET", "/rest/api/3/myself", ok({"accountId": "a"}))
    with Jira(BASE, auth=BasicAuth("me@acme.com", api_token), transport=basic.transport()) as jira:
        jira.myself()
    bearer = Router().always("GET", "/rest/api/2/myself", ok({"name": "a"}))
    with Jira(
        BASE, auth=BearerAuth(pat), flavour="datacenter", transport=bearer.transport()
    ) as jira:
        jira.myself()
    server = TokenServer()
    server.valid_refresh = refresh

    def token(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        body["client_secret"] = "csecret" if body["client_secret"] == client_secret else "bad"
        return server(httpx.Request("POST", request.url, json=body))

    router = oauth_router(server)
    router.always("POST", "/oauth/token", token)
    router.always(
        "GET", "/ex/jira/cloud-1/rest/api/3/nothing-here", ok({"errorMessages": ["gone"]}, 404)
    )
    auth = OAuth2Auth("cid", client_secret, refresh_token=refresh)
    with Jira(auth=auth, transport=router.transport()) as jira:
        jira.myself()
        for _ in range(2):
            try:
                jira.request("GET", "/nothing-here")
            except NotFound as exc:  # the error message itself must be clean too
                logging.getLogger("jirakit.test").error("failed: %s %r", exc, exc)
    assert auth.refresh_count == 1
    new_tokens = [auth.token["access_token"], auth.token["refresh_token"]]
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(auth)
    assert "jira.request" in text  # the capture did see our events
    for secret in [*SECRETS, *new_tokens]:
        assert secret not in text


def test_redact_processor_masks_by_key_and_by_value():
    event = redact(
        None,
        "info",
        {
            "event": "x",
            "authorization": "Basic abc",
            "refresh_token": "r",
            "note": "header was Bearer eyJhbGciOi.xyz",
            "nested": {"client_secret": "s", "ok": 1},
            "retry_count": 3,
        },
    )
    assert event["authorization"] == "***" and event["refresh_token"] == "***"
    assert event["note"] == "header was Bearer ***"
    assert event["nested"] == {"client_secret": "***", "ok": 1}
    assert event["retry_count"] == 3
