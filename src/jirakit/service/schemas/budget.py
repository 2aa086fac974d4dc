"""The points budget as one tenant sees it (``GET /budget``): `jirakit.jobs.budget.tenant_budget`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BudgetPoolPublic(BaseModel):
    """The app's pool, shared by every tenant: totals only."""

    app: str
    points: int = Field(description="The quota: points per window")
    window_seconds: float
    rate_per_second: float = Field(description="Points per second the governor hands out")
    capacity: float = Field(description="The most the governor hands out at once")
    available: float = Field(description="Points in the governor's bucket now")
    used: float = Field(description="Points granted in the last window, every tenant")
    remaining: float = Field(description="Points left in Jira's window")
    remaining_source: Literal["jira", "estimate"] = Field(
        description="jira: Jira's own figure from its last answer; estimate: quota less used"
    )
    reset_in_seconds: float | None = Field(description="Until Jira's window resets, if known")
    reset_at: str | None = None


class BudgetWindowPublic(BaseModel):
    """The tenant's use over the last ``window_seconds``."""

    window_seconds: float
    points: float
    requests: int
    waits: int = Field(description="Times a request was told to wait")
    waited_seconds: float
    pool_points: float = Field(description="Points granted to every tenant together")


class BudgetPriorityPublic(BaseModel):
    """The tenant's use by priority class, all time (since the governor started)."""

    priority: Literal["interactive", "webhook", "incremental", "backfill"]
    granted_points: float
    requests: int
    waits: int
    waited_seconds: float
    waiting: bool
    last_wait_reason: str | None = None


class BudgetWaitingPublic(BaseModel):
    now: bool = Field(description="Whether a request of this tenant waits now")
    reason: str | None = Field(
        default=None, description="refill, reserve, priority, fair_share, quota_spent or in_flight"
    )
    explanation: str | None = None


class BudgetPointPublic(BaseModel):
    """One bucket of the last window (a 60th of it)."""

    start: str
    points: float
    waits: int
    waited_seconds: float
    pool_points: float


class BudgetPublic(BaseModel):
    """The points budget of the caller's tenant."""

    tenant: str
    as_of: str
    pool: BudgetPoolPublic
    windows: list[BudgetWindowPublic]
    priorities: list[BudgetPriorityPublic]
    waiting: BudgetWaitingPublic
    series: list[BudgetPointPublic]
