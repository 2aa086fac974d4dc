"""Errors: status -> class in one function; Jira's bodies and request ids reach the error."""

from __future__ import annotations

import json
from typing import Any

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
    NotJSONResponse,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    body_start,
    clearly_not_json,
    error_class_for_status,
    error_for_response,
)
from needs import cases

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
    # An HTML page is a gateway's, not Jira's: summarised by its title, else its text.
    assert str(error) == (
        f"502 Bad gateway (an HTML page: a proxy or gateway answered, not Jira) (GET {BASE}/x)"
    )
    assert "<html>" not in str(error)
    plain = error_for_response(httpx.Response(502, text="upstream  gone " * 40, request=request))
    assert plain.message.startswith("upstream gone upstream gone") and len(plain.message) <= 200


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


def jiras_words(body: dict[str, Any]) -> list[str]:
    """What Jira said in an error body, read here without jirakit: ``errorMessages``, then
    each ``errors`` entry as ``field: message``."""
    return [
        *body.get("errorMessages", []),
        *(f"{k}: {v}" for k, v in body.get("errors", {}).items()),
    ]


RECORDED = cases(
    [
        pytest.param(path, id=path.relative_to(FIXTURES).as_posix())
        for path in sorted(FIXTURES.rglob("*invalid*.json"))
    ],
    what="recorded error bodies (*invalid*.json)",
    source=FIXTURES,
)


@pytest.mark.parametrize("path", RECORDED)
def test_every_recorded_error_keeps_jiras_words_and_the_request_id(path):
    """Each real ``*invalid*`` body: the error leads with the request id and the status,
    then says exactly what Jira said, in Jira's order."""
    body = json.loads(path.read_text(encoding="utf-8"))
    words = jiras_words(body)
    assert words, f"{path} holds no error message"
    error = error_for_response(_response(400, body, **{"X-AREQUESTID": "930x7781x2"}))
    assert isinstance(error, BadRequest)
    assert error.request_id == "930x7781x2"
    assert error.message == "; ".join(words)
    assert str(error).startswith(f"[930x7781x2] 400 {words[0]}")
    for said in words:
        assert said in str(error)


class Recording(httpx.BaseTransport):
    """Passes requests on and keeps each response as it came off the wire."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.responses: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.responses.append(response)
        return response

    def close(self) -> None:
        self.inner.close()


SANDBOX_ERRORS = [
    pytest.param("GET", "/issue/ENG-99999", None, NotFound, id="missing-issue"),
    pytest.param("POST", "/search/jql", {"jql": "project = ENG AND"}, BadRequest, id="bad-jql"),
    pytest.param(
        "POST",
        "/issue",
        {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}}},
        BadRequest,
        id="no-summary",
    ),
    pytest.param(
        "PUT", "/issue/ENG-1", {"fields": {"nonsense": "x"}}, BadRequest, id="unknown-field"
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "cls"), SANDBOX_ERRORS)
def test_sandbox_errors_over_http_keep_jiras_words_and_the_request_id(
    jira_sandbox_server, method, path, body, cls
):
    """The client's error against what came over the wire (read with httpx and json, not
    with jirakit): the same request id, every word Jira said, the status class."""
    recording = Recording()
    auth = BasicAuth(*jira_sandbox_server.auth)
    with Jira(jira_sandbox_server.url, auth=auth, transport=recording) as jira:
        with pytest.raises(cls) as info:
            jira.request(method, path, json=body)
    [wire] = recording.responses  # a 4xx is not retried
    sent = wire.json()
    words = jiras_words(sent)
    request_id = wire.headers["x-arequestid"]
    assert words and request_id
    error = info.value
    assert (error.status, error.request_id) == (wire.status_code, request_id)
    assert str(error).startswith(f"[{request_id}] {wire.status_code} {words[0]}")
    for said in words:
        assert said in str(error)
    assert error.error_messages == sent.get("errorMessages", [])
    assert error.errors == sent.get("errors", {})


# -- bodies that are not JSON ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=UTF-8", b'{"looks": "like json"}', True),
        ("application/xhtml+xml", b"", True),
        ("application/json", b"<!DOCTYPE html><html>", True),
        ("application/json", b"\r\n  <html>", True),
        ("application/json", b"Bad gateway", True),
        ("application/json", b"nothing here", True),
        ("application/json", b"\xef\xbb\xbf<?xml version='1.0'?>", True),
        # JSON cut short in transit, and empty bodies: not "clearly not JSON"
        ("application/json", b'{"id": "10001", "ke', False),
        ("application/json", b"[", False),
        ("application/json", b'  "str', False),
        ("application/json", b"-12.", False),
        ("application/json", b"tru", False),
        ("application/json", b"fals", False),
        ("application/json", b"nu", False),
        ("application/json", b"\xef\xbb\xbf{", False),
        ("", b"", False),
        ("text/plain", b'{"id": 1', False),
    ],
)
def test_clearly_not_json(content_type, body, expected):
    assert clearly_not_json(content_type, body) is expected


def test_the_body_start_masks_every_credential_of_the_request():
    request = httpx.Request(
        "GET",
        f"{BASE}/rest/api/3/myself?jwt=query-secret-123",
        headers={"authorization": "Bearer pat-secret-abc", "cookie": "tenant.session=cookie-zz9"},
    )
    body = (
        b"<html>echo: Bearer pat-secret-abc | pat-secret-abc | cookie-zz9 | query-secret-123"
        b" | Basic c29tZW9uZTplbHNl </html>"
    )
    text = body_start(body, request, limit=200)
    for secret in ("pat-secret-abc", "cookie-zz9", "query-secret-123", "c29tZW9uZTplbHNl"):
        assert secret not in text
    assert text.startswith("<html>echo: *** | *** | *** | *** | Basic *** </html>")


def test_the_body_start_is_cut_at_the_limit_after_masking():
    request = httpx.Request("GET", f"{BASE}/x", headers={"authorization": "Bearer pat-secret-abc"})
    body = b"<p>" + b"x" * 195 + b"pat-secret-abc</p>"  # the secret straddles byte 200
    text = body_start(body, request, limit=200)
    assert len(text.encode()) == 200 and "pat-sec" not in text
    assert body_start("<p>\u00e9\u00e9</p>".encode(), None, limit=4) == "<p>"  # no split char


def test_not_json_response_from_a_bare_response():
    response = httpx.Response(
        200, content=b"<html>hi</html>", headers={"content-type": "text/html"}
    )
    error = NotJSONResponse.from_response(response)
    assert error.method == "" and error.url == "" and error.request_id is None
    assert str(error).startswith("Jira answered 200 with text/html, not JSON")
    assert error.body_start == "<html>hi</html>"


def test_a_gateway_html_page_is_summarised_by_its_title_on_one_line():
    request = httpx.Request("POST", f"{BASE}/rest/api/3/issue/bulkfetch")
    page = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body><h1>nginx</h1></body></html>"
    error = error_for_response(httpx.Response(502, text=page, request=request))
    assert error.message == "502 Bad Gateway (an HTML page: a proxy or gateway answered, not Jira)"
    assert "\n" not in str(error) and "<" not in str(error)
