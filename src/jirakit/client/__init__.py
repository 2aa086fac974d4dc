"""The Jira REST client: `Jira` (blocking) and `AsyncJira` (asyncio), one core."""

from jirakit.client._async import AsyncJira
from jirakit.client._auth import BasicAuth, BearerAuth
from jirakit.client._call import Call
from jirakit.client._config import ClientConfig, Flavour
from jirakit.client._oauth import OAuth2Auth, authorization_url
from jirakit.client._paging import IsLastPaging, OffsetPaging, Paginator, TokenPaging
from jirakit.client._ratelimit import ClientStats, RateLimitConfig, RateLimitState
from jirakit.client._retry import RetryDecision, RetryPolicy, decide_retry
from jirakit.client._sync import Jira
from jirakit.client._unset import UNSET, Unset

__all__ = [
    "UNSET",
    "AsyncJira",
    "BasicAuth",
    "BearerAuth",
    "Call",
    "ClientConfig",
    "ClientStats",
    "Flavour",
    "IsLastPaging",
    "Jira",
    "OAuth2Auth",
    "OffsetPaging",
    "Paginator",
    "RateLimitConfig",
    "RateLimitState",
    "RetryDecision",
    "RetryPolicy",
    "TokenPaging",
    "Unset",
    "authorization_url",
    "decide_retry",
]
