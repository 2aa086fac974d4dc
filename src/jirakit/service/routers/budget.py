"""``/budget``: the Jira points budget as the caller's tenant sees it.

Jira meters an OAuth app in points per window, in one pool for all its tenants; the
governor (`jirakit.jobs.budget`, ``JIRAKIT_GOVERNOR``) shares it by priority and fair
share. A tenant sees its own use (by window, by priority, over time), why its requests
wait, and the pool's totals: never another tenant's numbers (the API key decides whose).
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from fastapi import APIRouter

from jirakit.jobs.budget import Governor, tenant_budget
from jirakit.service.deps import State, TenantId
from jirakit.service.problems import Problem
from jirakit.service.schemas.budget import BudgetPublic

router = APIRouter(tags=["budget"])


def budget_for(governor: Governor, tenant_id: str) -> dict[str, Any]:
    """The same data as ``GET /budget``, for Python callers (the dashboard)."""
    return BudgetPublic.model_validate(tenant_budget(governor, tenant_id)).model_dump()


@router.get("/budget", response_model=BudgetPublic)
async def get_budget(state: State, tenant_id: TenantId) -> dict[str, Any]:
    """The caller's use of the Jira points budget, and the pool's totals."""
    governor: Governor | None = state.extra.get("governor")
    if governor is None:
        raise Problem(
            404,
            "no points budget is kept here: the governor is off (set JIRAKIT_GOVERNOR to "
            "memory or a postgresql:// URL)",
        )
    return await to_thread.run_sync(budget_for, governor, tenant_id)
