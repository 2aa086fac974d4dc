"""Route modules, one per resource group. Each exports ``ROUTES`` (relative paths).

``api_routes()`` is mounted under ``/rest/api/3`` (Cloud), ``/rest/api/2`` and
``/rest/api/latest``; ``agile_routes()`` is the place for ``/rest/agile/1.0`` (to come).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from jirakit.sandbox.routes import (
    comments,
    issues,
    links,
    meta,
    projects,
    search,
    transitions,
    users,
    worklogs,
)


def api_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for module in (meta, users, projects, search, issues, comments, transitions, worklogs, links):
        routes.extend(module.ROUTES)
    return routes


def agile_routes() -> list[BaseRoute]:
    """Jira Software (``/rest/agile/1.0``) routes: not emulated yet."""
    return []
