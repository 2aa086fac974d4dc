"""The Jira REST client: `Jira` (blocking) and `AsyncJira` (asyncio), one core."""

from jirakit.client._async import AsyncJira
from jirakit.client._auth import BasicAuth, BearerAuth
from jirakit.client._bulk import BulkItem, BulkResults
from jirakit.client._call import Call
from jirakit.client._config import ClientConfig, Flavour
from jirakit.client._oauth import OAuth2Auth, authorization_url
from jirakit.client._paging import IsLastPaging, OffsetPaging, Paginator, TokenPaging
from jirakit.client._ratelimit import (
    ClientStats,
    PointsBudget,
    RateGovernor,
    RateLimitConfig,
    RateLimitState,
)
from jirakit.client._retry import RetryDecision, RetryPolicy, decide_retry
from jirakit.client._richtext import Markdown, Text, Wiki
from jirakit.client._sync import Jira
from jirakit.client._unset import UNSET, Unset

__all__ = [
    "UNSET",
    "AsyncJira",
    "BasicAuth",
    "BearerAuth",
    "BulkItem",
    "BulkResults",
    "Call",
    "ClientConfig",
    "ClientStats",
    "Flavour",
    "IsLastPaging",
    "Jira",
    "Markdown",
    "OAuth2Auth",
    "OffsetPaging",
    "Paginator",
    "PointsBudget",
    "RateGovernor",
    "RateLimitConfig",
    "RateLimitState",
    "RetryDecision",
    "RetryPolicy",
    "Text",
    "TokenPaging",
    "Unset",
    "Wiki",
    "authorization_url",
    "decide_retry",
]
