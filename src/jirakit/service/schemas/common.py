"""Shared pieces of Unified's models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MetadataValue = dict[str, Any] | str | float | bool | list[dict[str, Any] | str | float | bool]


class Model(BaseModel):
    """Unknown fields are refused on input (422 naming them), never silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Metadata(Model):
    """A custom field: ``id`` is Jira's field id, ``slug`` its friendly name."""

    id: str | None = None
    slug: str | None = None
    namespace: str | None = None
    value: MetadataValue | None = None
    format: (
        Literal[
            "TEXT", "NUMBER", "DATE", "BOOLEAN", "FILE", "TEXTAREA", "SINGLE_SELECT",
            "MULTIPLE_SELECT", "MEASUREMENT", "PRICE", "YES_NO", "CURRENCY", "URL",
        ]
        | None
    ) = None  # fmt: skip
    extra_data: MetadataValue | None = None


class Status(StrEnum):
    OPENED = "OPENED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


Timestamp = datetime
Raw = dict[str, Any]
RawField = Field(default=None, description="The Jira object as Jira sent it")
