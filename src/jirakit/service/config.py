"""Settings from the environment (``JIRAKIT_*``), read once into a frozen object.

Development mode (the default) starts with no setting at all: a SQLite file in the working
directory and a fixed development encryption key. Production mode (``JIRAKIT_ENV=production``)
refuses to start with that key or without one, as the full-stack FastAPI template refuses its
placeholder secrets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jirakit.errors import ConfigurationError

# Fernet key used only in development; production refuses it (see `Settings.check`).
DEV_ENCRYPTION_KEY = "amlyYWtpdC1kZXYta2V5LW5ldmVyLXByb2R1Y3Rpb24="
DEFAULT_DB = "sqlite:///jirakit-service.db"
# Standard Webhooks' recommended schedule (seconds after the first attempt failed).
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class Settings(BaseSettings):
    """Every knob of `jirakit serve`. Environment variables are ``JIRAKIT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="JIRAKIT_", frozen=True, extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = Field(
        default=DEFAULT_DB,
        validation_alias=AliasChoices("database_url", "JIRAKIT_DB", "JIRAKIT_DATABASE_URL"),
    )
    # Comma-separated Fernet keys, newest first: the first encrypts, all decrypt.
    encryption_keys: str = DEV_ENCRYPTION_KEY
    # Atlassian OAuth 2.0 (3LO) app for customers connecting through consent.
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_redirect_uri: str | None = None
    oauth_scopes: str = "read:jira-work write:jira-work read:jira-user manage:jira-webhook"
    oauth_auth_url: str = "https://auth.atlassian.com"
    oauth_api_url: str = "https://api.atlassian.com"
    oauth_state_ttl: float = 600.0
    # The Jira webhook receiver's public URL (`jirakit.webhooks`); with it, OAuth
    # connections get native (pushed) webhooks instead of polling.
    receiver_url: str | None = None
    # Refresh an access token this many seconds before it expires.
    refresh_leeway: float = 300.0
    # Requests per second per tenant on our API (burst = 2x); 0 turns the limit off.
    rate_limit: float = 50.0
    # Outgoing webhooks: retry delays in seconds (comma-separated), request timeout.
    webhook_retry_schedule: str = ",".join(str(d) for d in DEFAULT_RETRY_SCHEDULE)
    webhook_timeout: float = 15.0
    idempotency_ttl: float = 24 * 3600.0
    # How long a duplicate waits for the first request with its key before a 409.
    idempotency_wait: float = 10.0
    # Background loop (outbox, refreshes, virtual webhooks) inside `jirakit serve`.
    background: bool = True
    background_interval: float = 1.0
    # The points budget every process shares (`jirakit.jobs.budget`): ``memory`` (one per
    # process), ``postgresql://...`` (one for every serve and worker given the same URL),
    # or ``off``; the quota is points per window seconds (Jira's default tier: 65000/3600).
    governor: str = "memory"
    governor_points: int = Field(default=65_000, ge=1)
    governor_window: float = Field(default=3600.0, gt=0)
    governor_app: str = "app"
    # Webhooks to loopback/private addresses: allowed in development (local receivers),
    # refused in production unless set (an SSRF guard).
    allow_private_hook_urls: bool | None = None

    # -- native events and jobs (issue 13: the receiver inside serve; issue 14: the queue)
    # The service's public base URL (https://jirakit.example.com): native registrations
    # point at ``<public_url>/webhooks/jira/<connection_id>``, served here. Without it,
    # ``receiver_url`` (an external receiver) is used as before.
    public_url: str | None = None
    # Where received Jira deliveries are stored (`jirakit.webhooks` inbox); default: the
    # service's own database (its ``webhook_*`` tables).
    inbox_url: str | None = None
    # Largest Jira delivery accepted (bytes); larger ones are answered 413 unread.
    inbox_max_body: int = 10 * 1024 * 1024
    # The job queue (``JIRAKIT_JOBS_URL``, as `jirakit worker`): unset, background work
    # runs in this process's loop; ``sqlite:///jobs.db``, as jobs run in-process by this
    # process; ``postgresql://...``, as jobs only deferred here and run by `jirakit worker`.
    jobs_url: str | None = None

    @field_validator("encryption_keys")
    @classmethod
    def _keys_present(cls, value: str) -> str:
        if not [k for k in value.split(",") if k.strip()]:
            raise ValueError("JIRAKIT_ENCRYPTION_KEYS is empty")
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.env == "production":
            keys = [k.strip() for k in self.encryption_keys.split(",") if k.strip()]
            if DEV_ENCRYPTION_KEY in keys:
                raise ValueError(
                    "JIRAKIT_ENCRYPTION_KEYS still holds the development key; generate one "
                    "with `jirakit keys generate` before running in production"
                )
        return self

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        return tuple(float(d) for d in self.webhook_retry_schedule.split(",") if d.strip())

    @property
    def private_hooks_allowed(self) -> bool:
        if self.allow_private_hook_urls is not None:
            return self.allow_private_hook_urls
        return self.env == "development"

    @property
    def key_list(self) -> list[str]:
        return [k.strip() for k in self.encryption_keys.split(",") if k.strip()]

    @property
    def native_url_base(self) -> str | None:
        """Where native registrations point: our own receiver, else an external one."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/webhooks/jira"
        return self.receiver_url

    @property
    def oauth_configured(self) -> bool:
        return bool(self.oauth_client_id and self.oauth_client_secret and self.oauth_redirect_uri)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with ``overrides`` on top; one clear error if invalid."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"invalid service settings: {problems}") from None
