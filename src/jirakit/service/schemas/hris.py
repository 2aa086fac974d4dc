"""Unified's HRIS models for Jira's people: HrisEmployee (users) and HrisGroup (groups)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict

from jirakit.service.schemas.common import Metadata, Model


class HrisEmail(Model):
    model_config = ConfigDict(extra="ignore")

    email: str
    type: Literal["WORK", "HOME", "OTHER"] | None = None


class HrisEmployee(Model):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    emails: list[HrisEmail] | None = None
    employment_status: Literal["ACTIVE", "INACTIVE"] | None = None
    image_url: str | None = None
    timezone: str | None = None
    language_locale: str | None = None
    title: str | None = None
    metadata: list[Metadata] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] | None = None


class HrisGroup(Model):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str | None = None
    description: str | None = None
    type: (
        Literal[
            "TEAM", "GROUP", "DEPARTMENT", "DIVISION", "BUSINESS_UNIT", "BRANCH",
            "SUB_DEPARTMENT", "PAY_GROUP",
        ]
        | None
    ) = None  # fmt: skip
    is_active: bool | None = None
    user_ids: list[str] | None = None
    manager_ids: list[str] | None = None
    parent_id: str | None = None
    metadata: list[Metadata] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] | None = None
