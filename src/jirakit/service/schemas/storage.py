"""Unified's Storage model for Jira attachments: StorageFile."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict

from jirakit.service.schemas.common import Model


class StorageFile(Model):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str | None = None
    type: Literal["FILE", "FOLDER"] | None = None
    mime_type: str | None = None
    size: float | None = None
    user_id: str | None = None
    parent_id: str | None = None
    download_url: str | None = None
    web_url: str | None = None
    description: str | None = None
    data: str | None = None
    hash: str | None = None
    version: str | None = None
    tags: list[str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] | None = None
