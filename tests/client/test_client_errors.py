"""Errors: status -> class in one function; Jira's bodies and request ids reach the error."""

from __future__ import annotations

import json

import httpx
import pytest
from client_doubles import BASE, FIXTURES, Router, fixture_json, ok

from jirakit import BasicAuth, Jira
from jirakit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    HTTPError,
    JiraError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    error_class_for_status,
    error_for_response,
)

AUTH = BasicAuth("me@acme.com", "tok")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (413, PayloadTooLarge),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (418, HTTPError),
    ],
)
def test_one_function_picks_the_class(status, cls):
    assert error_class_for_status(status) is cls
    assert issubclass(cls, JiraError)


def _response(status: int, body: object, **headers: str) -> httpx.Response:
    request = httpx.Request("PUT", f"{BASE}/rest/api/2/issue/10002?notifyUsers=false")
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (("jira-ruby", "issue", "10002.invalid.put.json"), "invalid: Field 'invalid' is not valid"),
        (("jira-ruby", "issue", "10002.put.missing_field_update.json"), "one of 'fields' or"),
        (("jira-ruby", "component", "10000.invalid.put.json"), 'Unrecognized field "invalid"'),
    ],
)
def test_real_error_bodies_reach_the_error(fixture, message):
    body = fixture_json(*fixture)
    error = error_for_response(_response(400, body, **{"X-AREQUESTID": "1234x5678x1"}))
    assert isinstance(error, BadRequest)
    assert error.request_id == "1234x5678x1"
    assert str(error).startswith("[1234x5678x1] 400 ")
    assert message in str(error)
    assert error.error_messages == body["errorMessages"]
    assert error.errors == body["errors"] if "errors" in body else error.errors == {}
    assert "notifyUsers" not in str(error)  # the query string is not echoed


def test_not_found_uses_jiras_words():
    body = {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
    error = error_for_response(_response(404, body))
    assert isinstance(error, NotFound)
    assert str(error).startswith("404 Issue does not exist")


def test_non_json_bodies_are_kept_short():
    request = httpx.Request("GET", f"{BASE}/x")
    error = error_for_response(
        httpx.Response(502, text="<html>Bad gateway</html>", request=request)
    )
    assert isinstance(error, ServerError)
    assert "Bad gateway" in str(error)


def test_rate_limited_exposes_retry_after():
    error = error_for_response(_response(429, {}, **{"Retry-After": "12"}))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0


def test_client_raises_mapped_errors_with_request_id(router: Router):
    body = {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
    router.add("GET", "/rest/api/3/issue/NOPE-1", ok(body, 404, **{"X-AREQUESTID": "abc-1"}))
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        with pytest.raises(NotFound) as info:
            jira.issues.get("NOPE-1")
    assert info.value.request_id == "abc-1"
    assert info.value.status == 404
    assert "Issue does not exist" in str(info.value)


def test_every_fixture_error_body_parses():
    """Every *.invalid.* fixture is an error body our parser reads."""
    found = sorted(FIXTURES.rglob("*invalid*.json"))
    if not found:
        pytest.skip("no shared fixtures")
    for path in found:
        body = json.loads(path.read_text())
        error = error_for_response(_response(400, body))
        assert error.message, path
