"""Route modules, one per resource group. Each exports ``ROUTES`` (relative paths).

``api_routes()`` is mounted under ``/rest/api/3`` (Cloud), ``/rest/api/2`` and
``/rest/api/latest``; ``agile_routes()`` mounts Jira Software's ``/rest/agile/1.0``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from jirakit.sandbox.routes import (
    admin,
    agile,
    attachments,
    comments,
    config,
    filters,
    issues,
    links,
    meta,
    permissions,
    projects,
    search,
    software,
    transitions,
    users,
    webhooks,
    worklogs,
)


def api_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for module in (
        meta,
        permissions,  # literal paths (/user/assignable/..., /project/{key}/role) first
        config,  # /project/type before /project/{key}
        users,
        admin,
        projects,
        search,
        filters,
        issues,
        comments,
        transitions,
        worklogs,
        links,
        attachments,
    ):
        routes.extend(module.ROUTES)
    routes.extend(webhooks.ROUTES)
    return routes


def webhook_admin_routes() -> list[BaseRoute]:
    """Admin webhooks, mounted under ``/rest/webhooks/1.0``."""
    return list(webhooks.ADMIN_ROUTES)


def agile_routes() -> list[BaseRoute]:
    """Jira Software: ``/rest/agile/1.0`` (boards, sprints, backlog, epics) and the
    token-paged issue reads of ``/rest/software/1.0``."""
    return [agile.mount(), software.mount()]


def media_routes() -> list[BaseRoute]:
    """Attachment bytes behind signed links (``/media/...``, no credentials needed)."""
    return list(attachments.MEDIA_ROUTES)
