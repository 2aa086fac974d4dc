"""The I/O-free half of the client, shared by `Jira` and `AsyncJira`.

It builds requests from `Call`s, names endpoint buckets, maps responses to results or
errors, records rate-limit state and metrics, and decides retries. The two subclasses
only implement the send loop (blocking vs awaiting), nothing else.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from jirakit._logging import get_logger
from jirakit.client._call import Call
from jirakit.client._config import ClientConfig, Flavour
from jirakit.client._ratelimit import (
    ClientStats,
    Pacer,
    PointsBudget,
    PointsPacer,
    RateGovernor,
    RateLimitConfig,
    RateLimitState,
)
from jirakit.client._retry import RetryDecision, RetryPolicy, decide_retry
from jirakit.errors import (
    ConfigurationError,
    ConnectError,
    HTTPError,
    JiraError,
    NotJSONResponse,
    RateLimited,
    ResponseDecodeError,
    TimeoutError,
    TooManyRedirects,
    TransportError,
    clearly_not_json,
    error_for_response,
    public_url,
)

log = get_logger("jirakit.client")
_debug = logging.getLogger("jirakit.client")

AGILE_PREFIX = "/rest/agile/1.0"
MAX_REDIRECTS = 20
"""Redirects followed for one request (calls with ``follow_redirects``), httpx's default."""


class BaseJira:
    """Shared state and pure logic. Not used directly: see `Jira` and `AsyncJira`."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        auth: httpx.Auth | None = None,
        flavour: Flavour = "cloud",
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimitConfig | None = None,
        user_agent: str | None = None,
        config: ClientConfig | None = None,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        governor: RateGovernor | None = None,
    ) -> None:
        if config is None:
            kwargs: dict[str, Any] = {"base_url": _strip(base_url), "flavour": flavour}
            if timeout is not None:
                kwargs["timeout"] = (
                    timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
                )
            if retry is not None:
                kwargs["retry"] = retry
            if rate_limit is not None:
                kwargs["rate_limit"] = rate_limit
            if user_agent is not None:
                kwargs["user_agent"] = user_agent
            config = ClientConfig(**kwargs)
        if config.base_url is None and not hasattr(auth, "resolve_site_call"):
            raise ConfigurationError(
                "base_url is required (e.g. https://your-site.atlassian.net) "
                "unless auth is OAuth2Auth, which finds the site itself"
            )
        self.config = config
        self.auth = auth
        self._base_url: str | None = config.base_url
        self._pacer = Pacer(config.rate_limit)
        self._points = PointsPacer(config.rate_limit)
        self.governor = governor
        self._rand = rand
        self._clock = clock
        self.stats = ClientStats()
        self.rate_limit: RateLimitState | None = None
        self._cache: dict[str, Any] = {}

    # -- requests -------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """The site's base URL (for OAuth: ``https://api.atlassian.com/ex/jira/{cloudId}``
        once resolved)."""
        return self._base_url

    @property
    def flavour(self) -> Flavour:
        return self.config.flavour

    def _prefix(self, call: Call[Any]) -> str:
        if call.api == "agile":
            return AGILE_PREFIX
        if call.api == "absolute":
            return ""
        return self.config.api_prefix

    def bucket(self, call: Call[Any]) -> str:
        """The endpoint bucket: method + path template, as Jira's limiter sees it."""
        return f"{call.method.upper()} {self._prefix(call)}{call.path}"

    def url(self, call: Call[Any]) -> str:
        path = call.path
        if call.path_params:
            path = path.format(**{k: quote(str(v), safe="") for k, v in call.path_params.items()})
        if call.api == "absolute":
            return path
        if self._base_url is None:
            raise ConfigurationError("the Jira site is not resolved yet")
        return f"{self._base_url}{self._prefix(call)}{path}"

    @property
    def default_headers(self) -> dict[str, str]:
        """Sent with every request (set once on the httpx client, not merged per call)."""
        return {"User-Agent": self.config.user_agent, "Accept": "application/json"}

    def _request_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        # Only what this call adds: an empty params= or headers= still costs httpx a
        # merge and a URL re-parse on every request.
        kwargs: dict[str, Any] = {}
        if call.headers:
            kwargs["headers"] = dict(call.headers)
        if call.params:
            params = _encode_params(call.params)
            if params:
                kwargs["params"] = params
        if call.json is not None:
            kwargs["json"] = call.json
        elif call.content is not None:
            kwargs["content"] = call.content
        if call.files is not None:
            kwargs["files"] = call.files
        return kwargs

    # -- responses ------------------------------------------------------------------

    def _observe(self, response: httpx.Response, bucket: str) -> PointsBudget | None:
        """Record what the answer says about the limits; the points budget if it told one."""
        now = self._clock()
        headers = response.headers
        budget = PointsBudget.from_headers(headers, previous=self._points.budget)
        if budget is not None:
            self._points.observe(budget, bucket, now, learn=response.status_code != 429)
        state = RateLimitState.from_headers(headers, bucket, points=budget or self._points.budget)
        if state is not None:
            self.rate_limit = state
            if state.near_limit:
                self._pacer.near_limit(bucket, now)
        self.stats.count(response.status_code)
        return budget

    def _points_wait(self, call: Call[Any], estimate: float, now: float) -> float:
        """Seconds to wait for the points budget (without a governor). A quota spent for
        longer than the retry policy waits raises `RateLimited` without sending: sending
        would only earn another 429 from a pool that is the whole app's."""
        blocked = self._points.blocked_for(now)
        if blocked > self.config.retry.max_retry_after:
            budget = self._points.budget
            until = budget.reset.isoformat(timespec="seconds") if budget and budget.reset else "?"
            raise RateLimited(
                429,
                error_messages=[
                    f"The app's points quota is spent until {until} ({blocked:.0f} s): "
                    "the request was not sent"
                ],
                headers={
                    "retry-after": str(int(blocked) + 1),
                    "ratelimit-reason": (budget.reason if budget else None) or "jira-quota",
                },
                method=call.method.upper(),
                url=call.path,
            )
        if self.governor is not None:
            return blocked  # the governor paces the rest
        return self._points.reserve(estimate, now)

    def _finish(self, call: Call[Any], response: httpx.Response) -> Any:
        """A result for a 2xx response; raise the mapped error otherwise."""
        if response.is_success or response.status_code in call.also_ok:
            try:
                return call.parse(response)
            except ValueError as exc:
                # JSON cut short in transit is worth reading again; a body that is not
                # JSON at all (an HTML login or proxy page) or a shape we did not expect
                # will not change on a retry.
                if isinstance(exc, json.JSONDecodeError) and clearly_not_json(
                    response.headers.get("content-type", ""), response.content
                ):
                    raise NotJSONResponse.from_response(response) from exc
                raise ResponseDecodeError(
                    f"could not read the response to {call.method} {call.path}: {exc}",
                    request_id=response.headers.get("x-arequestid"),
                    unreadable=isinstance(exc, json.JSONDecodeError),
                ) from exc
        raise error_for_response(response)

    def _transport_error(self, exc: httpx.HTTPError, request: httpx.Request) -> TransportError:
        method, url = request.method, public_url(request.url)
        if isinstance(exc, httpx.TooManyRedirects):
            return TooManyRedirects(
                method=method,
                url=url,
                location=public_url(exc.request.url),
                redirects=MAX_REDIRECTS,
            )
        text = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectTimeout):
            return TimeoutError(text, method=method, url=url, phase="connect")
        if isinstance(exc, httpx.PoolTimeout):
            return TimeoutError(text, method=method, url=url, phase="pool")
        if isinstance(exc, httpx.ReadTimeout):
            return TimeoutError(text, method=method, url=url, phase="read")
        if isinstance(exc, httpx.WriteTimeout):
            return TimeoutError(text, method=method, url=url, phase="write")
        if isinstance(exc, httpx.ConnectError):
            return ConnectError(text, method=method, url=url)
        return TransportError(text, method=method, url=url)

    def _decide(
        self, error: JiraError, attempt: int, call: Call[Any], waited: float
    ) -> RetryDecision:
        decision = decide_retry(
            error,
            attempt,
            method=call.method,
            policy=self.config.retry,
            idempotent=call.idempotent,
            waited=waited,
            now=datetime.now(UTC),
            rand=self._rand,
        )
        if decision.retry:
            self.stats.retries += 1
            self.stats.retry_wait_seconds += decision.delay
        return decision

    def _log(
        self,
        call: Call[Any],
        bucket: str,
        *,
        attempt: int,
        started: float,
        status: int | None,
        request_id: str | None,
        throttled: float,
        error: JiraError | None = None,
        decision: RetryDecision | None = None,
    ) -> None:
        if error is None and not _debug.isEnabledFor(logging.DEBUG):
            return  # the hot path: nothing to build when nobody listens
        fields: dict[str, Any] = {
            "method": call.method.upper(),
            "endpoint": bucket.split(" ", 1)[1],
            "status": status,
            "duration_ms": round((self._clock() - started) * 1000, 2),
            "attempt": attempt,
            "request_id": request_id,
        }
        if throttled:
            fields["throttled_s"] = round(throttled, 3)
        if error is None:
            log.debug("jira.request", **fields)
            return
        fields["error"] = type(error).__name__
        if decision is not None and decision.retry:
            log.info("jira.retry", delay_s=round(decision.delay, 3), **fields)
        else:
            log.info("jira.request_failed", **fields)


def _strip(url: str | None) -> str | None:
    return url.rstrip("/") if url else url


def _encode_params(params: Any) -> dict[str, Any]:
    """Drop None values; join lists with commas (Jira's convention for fields/expand); a
    tuple repeats the parameter (``accountId=a&accountId=b``)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, tuple):
            out[key] = [str(v) for v in value]
        elif isinstance(value, list | set):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = value
    return out


__all__ = ["BaseJira", "HTTPError"]
