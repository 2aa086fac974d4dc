"""The retry decision is a pure function: tested with a pinned clock and pinned jitter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jirakit.client import RetryPolicy, decide_retry
from jirakit.client._retry import backoff_delay, server_wait
from jirakit.errors import (
    BadRequest,
    ConnectError,
    NotFound,
    NotJSONResponse,
    RateLimited,
    ResponseDecodeError,
    ServerError,
    TimeoutError,
    TooManyRedirects,
    TransportError,
    Unauthorized,
)

NOW = datetime(2026, 6, 5, 5, 59, 30, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, backoff_base=1.0, backoff_max=30.0, max_total_wait=120.0)


def decide(error, attempt=1, method="GET", policy=POLICY, **kw):
    return decide_retry(
        error, attempt, method=method, policy=policy, now=NOW, rand=lambda: 0.5, **kw
    )


def test_429_honours_retry_after_seconds_for_any_method():
    error = RateLimited(429, headers={"Retry-After": "7"})
    for method in ("GET", "POST", "PUT", "DELETE"):
        decision = decide(error, method=method)
        assert decision.retry and decision.delay == 7.0


def test_429_honours_retry_after_http_date():
    error = RateLimited(429, headers={"Retry-After": "Fri, 05 Jun 2026 06:00:00 GMT"})
    assert decide(error).delay == pytest.approx(30.0)


def test_429_falls_back_to_iso_ratelimit_reset():
    error = RateLimited(429, headers={"X-RateLimit-Reset": "2026-06-05T06:00Z"})
    assert decide(error).delay == pytest.approx(30.0)


def test_429_without_hints_backs_off_with_full_jitter():
    error = RateLimited(429)
    assert decide(error, attempt=1).delay == pytest.approx(0.5)  # 0.5 * 1
    assert decide(error, attempt=3).delay == pytest.approx(2.0)  # 0.5 * 4


def test_backoff_is_capped():
    assert backoff_delay(20, POLICY, lambda: 0.999) == pytest.approx(29.97)


def test_503_honours_retry_after_but_only_for_idempotent_requests():
    error = ServerError(503, headers={"Retry-After": "3"})
    assert decide(error, method="GET").delay == 3.0
    assert decide(error, method="PUT").retry
    assert not decide(error, method="POST").retry


def test_5xx_retried_for_idempotent_only_unless_post_opted_in():
    error = ServerError(502)
    assert decide(error, method="DELETE").retry
    assert not decide(error, method="POST").retry
    assert decide(error, method="POST", policy=RetryPolicy(retry_post=True)).retry
    assert decide(error, method="POST", idempotent=True).retry  # read-only POST (search/jql)


def test_connection_errors_before_sending_are_retried_for_every_method():
    assert decide(ConnectError("refused"), method="POST").retry
    assert decide(TimeoutError("pool", phase="pool"), method="POST").retry
    assert decide(TimeoutError("connect", phase="connect"), method="POST").retry


def test_read_timeouts_and_other_transport_errors_only_for_idempotent():
    assert decide(TimeoutError("read", phase="read"), method="GET").retry
    assert not decide(TimeoutError("read", phase="read"), method="POST").retry
    assert not decide(TransportError("reset"), method="POST").retry
    assert decide(TransportError("reset"), method="PUT").retry


def test_a_redirect_loop_is_never_retried():
    loop = TooManyRedirects(method="GET", url="https://a/x", location="https://b/y", redirects=20)
    for method in ("GET", "PUT", "DELETE", "POST"):
        assert not decide(loop, method=method).retry
        assert not decide(loop, method=method, idempotent=True).retry


def test_a_body_that_is_not_json_is_never_retried_but_json_cut_short_is():
    page = NotJSONResponse(status=200, content_type="text/html", body_start="<html>")
    assert not decide(page, method="GET").retry
    assert not decide(page, method="POST", idempotent=True).retry
    assert decide(ResponseDecodeError("cut short", unreadable=True), method="GET").retry


@pytest.mark.parametrize("error", [BadRequest(400), Unauthorized(401), NotFound(404)])
def test_client_errors_are_never_retried(error):
    assert not decide(error).retry


def test_attempts_are_bounded():
    error = ServerError(500)
    assert decide(error, attempt=4).retry
    assert not decide(error, attempt=5).retry


def test_total_wait_is_bounded():
    error = RateLimited(429, headers={"Retry-After": "30"})
    assert decide(error, waited=90.0).retry
    assert not decide(error, waited=91.0).retry


def test_a_server_asking_for_too_long_a_wait_is_not_waited_for():
    error = RateLimited(429, headers={"Retry-After": "3600"})
    assert not decide(error).retry


def test_server_wait_ignores_garbage():
    assert server_wait({"retry-after": "soon"}, NOW) is None
    assert server_wait({"x-ratelimit-reset": "tomorrow"}, NOW) is None
    assert server_wait({"x-ratelimit-reset": "2026-06-05T05:00Z"}, NOW) == 0.0
