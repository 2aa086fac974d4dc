"""Frozen client configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import httpx

from jirakit import __version__
from jirakit.client._ratelimit import RateLimitConfig
from jirakit.client._retry import RetryPolicy
from jirakit.errors import ConfigurationError

Flavour = Literal["cloud", "datacenter"]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything that shapes a client's behaviour. Build one, share it, never mutate it.

    ``flavour="cloud"`` talks to ``/rest/api/3`` with rich text as ADF;
    ``flavour="datacenter"`` to ``/rest/api/2`` with wiki/plain text and startAt paging.
    """

    base_url: str | None = None
    flavour: Flavour = "cloud"
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    user_agent: str = f"jirakit/{__version__}"

    def __post_init__(self) -> None:
        if self.flavour not in ("cloud", "datacenter"):
            raise ConfigurationError(
                f"flavour must be 'cloud' or 'datacenter', not {self.flavour!r}"
            )
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"base_url must start with http:// or https://, got {self.base_url!r}"
            )
        if self.timeout.read is None or self.timeout.connect is None:
            raise ConfigurationError("timeouts must be finite (read and connect)")

    @property
    def api_version(self) -> str:
        return "3" if self.flavour == "cloud" else "2"

    @property
    def api_prefix(self) -> str:
        return f"/rest/api/{self.api_version}"
