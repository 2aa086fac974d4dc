"""Unified's ``/unified`` models: Connection (with its health) and Webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from jirakit.service.schemas.common import Model

TASK_CATEGORIES = ["task", "hris", "storage", "passthrough"]
PERMISSIONS = ["task_task_read", "task_task_write", "task_project_read", "task_comment_read",
               "task_comment_write", "task_change_read", "hris_employee_read", "hris_group_read",
               "storage_file_read", "webhook"]  # fmt: skip


class ConnectionAuth(Model):
    """Unified's ``auth``: how the connection authenticates. Written, never read back."""

    model_config = ConfigDict(extra="ignore")

    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: float | None = None
    expiry_date: datetime | None = None
    token: str | None = Field(default=None, description="API token (Cloud) or PAT (Data Center)")
    key: str | None = Field(default=None, description="An API key; same as token")
    api_url: str | None = Field(default=None, description="The Jira site URL")
    emails: list[str] | None = None
    name: str | None = None
    user_id: str | None = None
    meta: dict[str, Any] | None = None
    other_auth_info: list[str] | None = None


class ConnectionBase(Model):
    integration_type: str = Field(description='Always "jira"')
    categories: list[str] = Field(default_factory=lambda: list(TASK_CATEGORIES))
    permissions: list[str] = Field(default_factory=lambda: list(PERMISSIONS))
    auth: ConnectionAuth | None = None
    environment: str | None = "Production"
    external_xref: str | None = None
    is_paused: bool | None = None
    # Read-only; accepted so a record read from us can be sent back.
    id: str | None = None
    integration_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_healthy_at: datetime | None = None
    last_unhealthy_at: datetime | None = None
    last_unhealthy_code: str | None = None
    workspace_id: str | None = None
    auth_aws_arn: str | None = None
    secretsmanager_id: str | None = None
    secretsmanager_key: str | None = None


class ConnectionCreate(ConnectionBase):
    # extra keys Unified's SDK may send are tolerated (it fills defaults we ignore)
    model_config = ConfigDict(extra="ignore")

    kind: Literal["api_token", "pat", "oauth2"] | None = Field(
        default=None, description="jirakit: which credentials `auth` holds (guessed if absent)"
    )


class ConnectionUpdate(ConnectionBase):
    model_config = ConfigDict(extra="ignore")
    integration_type: str = "jira"


class ConnectionPublic(Model):
    """Unified's Connection plus jirakit's health fields (status, site, scopes, token
    expiry, last error, last activity)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    integration_type: str = "jira"
    integration_name: str = "Jira"
    categories: list[str]
    permissions: list[str]
    auth: dict[str, Any] | None = Field(
        default=None, description="Never contains a secret: only non-secret facts"
    )
    environment: str | None = None
    external_xref: str | None = None
    is_paused: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_healthy_at: datetime | None = None
    last_unhealthy_at: datetime | None = None
    last_unhealthy_code: str | None = None
    # jirakit's health record
    kind: str
    status: Literal["healthy", "needs_reauth", "paused"]
    site: str
    scopes: list[str] = Field(default_factory=list)
    token_expires_at: datetime | None = None
    last_error: str | None = None
    last_activity_at: datetime | None = None


WebhookEvent = Literal["created", "updated", "deleted"]
WebhookType = Literal["virtual", "native"]


class WebhookBase(Model):
    model_config = ConfigDict(extra="ignore")

    connection_id: str
    object_type: str = Field(description="task_task, task_comment, task_project, ...")
    event: WebhookEvent
    hook_url: str | None = None
    webhook_type: WebhookType | None = None
    interval: float | None = Field(
        default=None, description="Minutes between polls of a virtual webhook"
    )
    fields: str | None = None
    filters: dict[str, str] | None = None
    is_paused: bool | None = None
    environment: str | None = "Production"
    # Read-only
    id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    checked_at: datetime | None = None
    is_healthy: bool | None = None
    integration_type: str | None = None
    runs: list[str] | None = None


class WebhookCreate(WebhookBase):
    pass


class WebhookUpdate(WebhookBase):
    connection_id: str | None = None  # type: ignore[assignment]
    object_type: str | None = None  # type: ignore[assignment]
    event: WebhookEvent | None = None  # type: ignore[assignment]


class WebhookPublic(Model):
    model_config = ConfigDict(extra="ignore")

    id: str
    connection_id: str
    object_type: str
    event: WebhookEvent
    hook_url: str
    webhook_type: WebhookType
    interval: float | None = None
    fields: str | None = None
    filters: dict[str, str] | None = None
    is_paused: bool
    is_healthy: bool
    environment: str = "Production"
    integration_type: str = "jira"
    checked_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(
        default=None,
        description="jirakit: the signing secret (whsec_...), shown on create and rotate only",
    )


class DeliveryPublic(Model):
    model_config = ConfigDict(extra="ignore")

    id: str
    webhook_id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict[str, Any]
