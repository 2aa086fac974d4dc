"""Failures a retry cannot mend are raised on the first attempt, with what went wrong:
a redirect loop (`TooManyRedirects`) and a 2xx body that is not JSON at all, such as a
proxy's or a login page's HTML (`NotJSONResponse`). JSON cut short in transit is still
read again (`ResponseDecodeError.unreadable`)."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import httpx
import pytest
from client_doubles import BASE, FakeSleep
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client._base import MAX_REDIRECTS
from jirakit.errors import (
    JiraError,
    NotJSONResponse,
    ResponseDecodeError,
    TooManyRedirects,
    TransportError,
)
from jirakit.sandbox.serve import serve_in_thread

TOKEN = "s3cret-api-token-4321"
AUTH = BasicAuth("me@acme.com", TOKEN)
BASIC = base64.b64encode(f"me@acme.com:{TOKEN}".encode()).decode()
LOOP_REQUESTS = 1 + MAX_REDIRECTS  # the first request, then each redirect followed once

LOGIN_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate SSO</title></head>"
    f"<body><!-- you sent: Basic {BASIC} / {TOKEN} -->"
    "<form action='/login'>" + "<input>" * 200 + "</form></body></html>"
)


def looping_handler(seen: list[httpx.Request]) -> httpx.MockTransport:
    """Attachment content redirects to the media host, which bounces between two URLs."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/rest/api/3/attachment/content/10000":
            location = "https://media.example.net/file/a?token=signed-media-secret"
        elif request.url.path == "/file/a":
            location = "https://media.example.net/file/b?token=signed-media-secret"
        elif request.url.path == "/file/b":
            location = "https://media.example.net/file/a?token=signed-media-secret"
        else:
            raise AssertionError(f"unexpected request {request.url}")
        return httpx.Response(302, headers={"location": location})

    return httpx.MockTransport(handle)


def check_loop_error(error: TooManyRedirects) -> None:
    assert isinstance(error, TransportError)  # still caught where transport errors are
    assert error.redirects == MAX_REDIRECTS == 20
    assert error.url == f"{BASE}/rest/api/3/attachment/content/10000"
    assert error.location in (
        "https://media.example.net/file/a",
        "https://media.example.net/file/b",
    )
    message = str(error)
    assert error.url in message and error.location in message
    assert "redirected 20 times" in message and "redirect loop" in message
    assert "signed-media-secret" not in message


# -- redirect loops ------------------------------------------------------------------------


def test_a_redirect_loop_fails_on_the_first_attempt(fake_sleep: FakeSleep, caplog):
    seen: list[httpx.Request] = []
    caplog.set_level(logging.INFO, logger="jirakit.client")
    with Jira(BASE, auth=AUTH, transport=looping_handler(seen), sleep=fake_sleep) as jira:
        with pytest.raises(TooManyRedirects) as info:
            jira.attachments.download("10000")
        assert jira.stats.retries == 0
    assert len(seen) == LOOP_REQUESTS  # one loop's worth, not five
    assert fake_sleep.calls == []
    check_loop_error(info.value)
    assert "jira.retry" not in caplog.text and "jira.request_failed" in caplog.text


async def test_a_redirect_loop_fails_on_the_first_attempt_async(fake_sleep: FakeSleep):
    seen: list[httpx.Request] = []
    async with AsyncJira(
        BASE, auth=AUTH, transport=looping_handler(seen), sleep=fake_sleep.asleep
    ) as jira:
        with pytest.raises(TooManyRedirects) as info:
            await jira.attachments.download("10000")
        assert jira.stats.retries == 0
    assert len(seen) == LOOP_REQUESTS
    assert fake_sleep.calls == []
    check_loop_error(info.value)


def test_a_streamed_download_into_a_redirect_loop_leaves_no_file(tmp_path: Path):
    seen: list[httpx.Request] = []
    target = tmp_path / "report.pdf"
    with Jira(BASE, auth=AUTH, transport=looping_handler(seen), sleep=FakeSleep()) as jira:
        with pytest.raises(TooManyRedirects):
            jira.attachments.download_to("10000", target)
    assert len(seen) == LOOP_REQUESTS
    assert list(tmp_path.iterdir()) == []  # no target, no leftover .part file


def looping_site(hits: list[str]) -> Starlette:
    """A site whose attachment URL sends the client round /media/a -> /media/b -> /media/a."""

    async def content(request: Request) -> Response:
        hits.append(request.url.path)
        return RedirectResponse("/media/a?token=signed-media-secret", status_code=303)

    async def media(request: Request) -> Response:
        hits.append(request.url.path)
        other = "b" if request.path_params["name"] == "a" else "a"
        return RedirectResponse(f"/media/{other}?token=signed-media-secret", status_code=302)

    return Starlette(
        routes=[
            Route("/rest/api/3/attachment/content/{id}", content),
            Route("/media/{name}", media),
        ]
    )


async def test_a_redirect_loop_over_real_http_is_followed_once():
    hits: list[str] = []
    with serve_in_thread(looping_site(hits)) as url:
        with Jira(url, auth=AUTH, sleep=FakeSleep()) as jira:
            with pytest.raises(TooManyRedirects) as sync_info:
                jira.attachments.download("10000")
        assert len(hits) == LOOP_REQUESTS
        assert hits[0] == "/rest/api/3/attachment/content/10000"
        assert set(hits[1:]) == {"/media/a", "/media/b"}
        hits.clear()
        async with AsyncJira(url, auth=AUTH, sleep=FakeSleep().asleep) as ajira:
            with pytest.raises(TooManyRedirects) as async_info:
                await ajira.attachments.download("10000")
        assert len(hits) == LOOP_REQUESTS
    for error in (sync_info.value, async_info.value):
        assert error.url == f"{url}/rest/api/3/attachment/content/10000"
        assert error.location in (f"{url}/media/a", f"{url}/media/b")


def test_an_ordinary_redirect_is_still_followed():
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "media.example.net":
            return httpx.Response(200, content=b"%PDF-1.7")
        return httpx.Response(303, headers={"location": "https://media.example.net/f?token=t"})

    with Jira(BASE, auth=AUTH, transport=httpx.MockTransport(handle)) as jira:
        assert jira.attachments.download("10000") == b"%PDF-1.7"


# -- 2xx bodies that are not JSON -----------------------------------------------------------


def html_page(seen: list[httpx.Request], *, content_type: str = "text/html; charset=utf-8"):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"content-type": content_type, "x-arequestid": "proxy-7f3a"}
        return httpx.Response(200, content=LOGIN_PAGE.encode(), headers=headers)

    return httpx.MockTransport(handle)


def check_html_error(error: NotJSONResponse, *, content_type: str = "text/html") -> None:
    assert isinstance(error, ResponseDecodeError) and isinstance(error, JiraError)
    assert not error.unreadable
    assert error.status == 200
    assert error.content_type.startswith(content_type)
    assert error.request_id == "proxy-7f3a"
    assert error.method == "GET" and error.url == f"{BASE}/rest/api/3/myself"
    assert error.body_start.startswith("<!DOCTYPE html>\n<html><head><title>Sign in")
    assert len(error.body_start.encode()) <= NotJSONResponse.BODY_START
    message = str(error)
    assert message.startswith("[proxy-7f3a] GET https://acme.atlassian.net/rest/api/3/myself")
    assert f"200 with {content_type}" in message and "not JSON" in message
    assert "proxy" in message and "login" in message
    assert "<!DOCTYPE html>" in message
    # The page echoed the credentials back; they never reach the error.
    for secret in (TOKEN, BASIC):
        assert (
            secret not in message
            and secret not in error.body_start
            and secret not in repr(error.args)
        )
    assert "you sent: *** / ***" in error.body_start


def test_an_html_page_on_get_is_reported_at_once(fake_sleep: FakeSleep, caplog):
    seen: list[httpx.Request] = []
    caplog.set_level(logging.DEBUG, logger="jirakit.client")
    with Jira(BASE, auth=AUTH, transport=html_page(seen), sleep=fake_sleep) as jira:
        with pytest.raises(NotJSONResponse) as info:
            jira.myself()
        assert jira.stats.retries == 0
    assert len(seen) == 1 and fake_sleep.calls == []
    check_html_error(info.value)
    assert TOKEN not in caplog.text and BASIC not in caplog.text


async def test_an_html_page_on_get_is_reported_at_once_async(fake_sleep: FakeSleep):
    seen: list[httpx.Request] = []
    async with AsyncJira(BASE, auth=AUTH, transport=html_page(seen), sleep=fake_sleep.asleep) as j:
        with pytest.raises(NotJSONResponse) as info:
            await j.myself()
    assert len(seen) == 1 and fake_sleep.calls == []
    check_html_error(info.value)


def test_html_served_as_json_is_still_html(fake_sleep: FakeSleep):
    seen: list[httpx.Request] = []
    transport = html_page(seen, content_type="application/json")
    with Jira(BASE, auth=AUTH, transport=transport, sleep=fake_sleep) as jira:
        with pytest.raises(NotJSONResponse) as info:
            jira.myself()
    assert len(seen) == 1
    check_html_error(info.value, content_type="application/json")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"upstream connect error or disconnect/reset before headers"),
        ("text/xml", b'{"accountId": "5b10a2844c20165700ede21g"'),  # XML says it is not JSON
        ("", b"\xef\xbb\xbf  Service Temporarily Unavailable"),
    ],
)
def test_other_bodies_that_cannot_be_json_are_final(content_type, body, fake_sleep: FakeSleep):
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    with Jira(BASE, auth=AUTH, transport=httpx.MockTransport(handle), sleep=fake_sleep) as jira:
        with pytest.raises(NotJSONResponse) as info:
            jira.myself()
    assert len(seen) == 1
    assert info.value.content_type == content_type
    assert (content_type or "no Content-Type") in str(info.value)


@pytest.mark.parametrize(
    "cut", [b'{"accountId": "5b10a2844c2016570', b"[1, 2", b"  tr", b'"Pro', b"nul", b"-1."]
)
def test_json_cut_short_is_still_read_again(cut, fake_sleep: FakeSleep):
    answers = [
        httpx.Response(200, content=cut, headers={"content-type": "application/json"}),
        httpx.Response(200, json={"accountId": "5b10a2844c20165700ede21g", "active": True}),
    ]
    with Jira(
        BASE, auth=AUTH, transport=httpx.MockTransport(lambda r: answers.pop(0)), sleep=fake_sleep
    ) as jira:
        assert jira.myself().account_id == "5b10a2844c20165700ede21g"
        assert jira.stats.retries == 1
    assert answers == []


def test_an_html_page_after_a_post_is_reported_too(fake_sleep: FakeSleep):
    seen: list[httpx.Request] = []
    with Jira(BASE, auth=AUTH, transport=html_page(seen), sleep=fake_sleep) as jira:
        with pytest.raises(NotJSONResponse) as info:
            jira.request("POST", "/search/jql", json={"jql": "project = P"}, idempotent=True)
    assert len(seen) == 1 and info.value.method == "POST"


def html_site(hits: list[str]) -> Starlette:
    """A site where a login page answers for the API, as an SSO proxy does."""

    async def login(request: Request) -> Response:
        hits.append(request.url.path)
        return HTMLResponse(LOGIN_PAGE, headers={"x-arequestid": "proxy-7f3a"})

    return Starlette(routes=[Route("/rest/api/3/myself", login)])


async def test_an_html_page_over_real_http_is_one_request():
    hits: list[str] = []
    with serve_in_thread(html_site(hits)) as url:
        with Jira(url, auth=AUTH, sleep=FakeSleep()) as jira:
            with pytest.raises(NotJSONResponse) as sync_info:
                jira.myself()
        async with AsyncJira(url, auth=AUTH, sleep=FakeSleep().asleep) as ajira:
            with pytest.raises(NotJSONResponse) as async_info:
                await ajira.myself()
    assert hits == ["/rest/api/3/myself"] * 2
    for error in (sync_info.value, async_info.value):
        assert error.content_type == "text/html; charset=utf-8"
        assert error.url == f"{url}/rest/api/3/myself"
        assert TOKEN not in str(error) and BASIC not in str(error)
        assert "Sign in - Corporate SSO" in str(error)


def test_a_download_of_an_html_file_is_just_bytes():
    """Attachments are not JSON: an HTML attachment is its content, not an error."""
    page = io.BytesIO(LOGIN_PAGE.encode())

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=page.getvalue(), headers={"content-type": "text/html"})

    with Jira(BASE, auth=AUTH, transport=httpx.MockTransport(handle)) as jira:
        assert jira.attachments.download("10000") == LOGIN_PAGE.encode()
        assert jira.stats.by_status == {200: 1}
