"""Unified's Task API models: TaskTask, TaskProject, TaskComment, TaskChange.

Field names, types and enum values are those of ``unified_python_sdk.models.shared``.
Each writable model is split Base (what a client may send) / Create / Update / Public
(what we answer, with ids, timestamps and ``raw``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from jirakit.service.schemas.common import Metadata, Model, Status


class TaskTaskBase(Model):
    name: str | None = Field(default=None, description="The task's title")
    notes: str | None = Field(default=None, description="Markdown; stored in Jira as ADF")
    project_id: str | None = None
    status: Status | None = None
    priority: str | None = None
    tags: list[str] | None = None
    assigned_user_ids: list[str] | None = None
    follower_user_ids: list[str] | None = None
    parent_id: str | None = None
    due_at: datetime | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    story_points: float | None = None
    type: str | None = Field(default=None, description="The Jira issue type name")
    metadata: list[Metadata] | None = None
    # Read-only in Jira; accepted so an object read from us can be sent back.
    id: str | None = None
    creator_user_id: str | None = None
    has_children: bool | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None
    time_spent: float | None = None
    time_spent_unit: str | None = None
    attachment_ids: list[str] | None = None
    group_ids: list[str] | None = None
    progress: float | None = None
    raw: dict[str, Any] | None = None


class TaskTaskCreate(TaskTaskBase):
    pass


class TaskTaskUpdate(TaskTaskBase):
    pass


class TaskTask(TaskTaskBase):
    """What we answer (extra keys are never produced, so none are forbidden)."""

    model_config = ConfigDict(extra="ignore")


class TaskProjectBase(Model):
    name: str | None = None
    description: str | None = None
    parent_id: str | None = None
    user_ids: list[str] | None = None
    group_ids: list[str] | None = None
    metadata: list[Metadata] | None = None
    id: str | None = None
    has_children: bool | None = None
    has_tasks: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] | None = None


class TaskProject(TaskProjectBase):
    model_config = ConfigDict(extra="ignore")


class TaskCommentBase(Model):
    text: str | None = Field(default=None, description="Markdown; stored in Jira as ADF")
    task_id: str | None = None
    parent_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    metadata: list[Metadata] | None = None
    id: str | None = None
    has_children: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] | None = None


class TaskCommentCreate(TaskCommentBase):
    pass


class TaskCommentUpdate(TaskCommentBase):
    pass


class TaskComment(TaskCommentBase):
    model_config = ConfigDict(extra="ignore")


class TaskChangeItem(Model):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    field: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class TaskChange(Model):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    task_id: str | None = None
    user_id: str | None = None
    items: list[TaskChangeItem] | None = None
    metadata: list[Metadata] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] | None = None
