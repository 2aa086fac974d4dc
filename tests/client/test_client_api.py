"""The public API is pinned, and every sync method has an async twin with the same signature."""

from __future__ import annotations

import inspect

import jirakit
from jirakit import AsyncJira, Jira
from jirakit.client.resources import (
    agile,
    attachments,
    changelogs,
    comments,
    fields,
    filters,
    groups,
    issues,
    links,
    meta,
    projects,
    search,
    transitions,
    users,
    webhooks,
    worklogs,
)


def test_public_api_is_pinned():
    assert sorted(jirakit.__all__) == sorted(
        [
            "UNSET",
            "AsyncJira",
            "BasicAuth",
            "BearerAuth",
            "ClientConfig",
            "Jira",
            "OAuth2Auth",
            "RateLimitConfig",
            "RetryPolicy",
            "__version__",
            "authorization_url",
        ]
    )
    from jirakit.errors import JiraError, NotFound, RateLimited  # noqa: F401 - importable


def _public(cls: type) -> dict[str, object]:
    return {n: m for n, m in inspect.getmembers(cls) if not n.startswith("_") and callable(m)}


PAIRS = [
    (Jira, AsyncJira),
    (issues.Issues, issues.AsyncIssues),
    (search.Search, search.AsyncSearch),
    (comments.Comments, comments.AsyncComments),
    (transitions.Transitions, transitions.AsyncTransitions),
    (projects.Projects, projects.AsyncProjects),
    (fields.Fields, fields.AsyncFields),
    (changelogs.Changelogs, changelogs.AsyncChangelogs),
    (worklogs.Worklogs, worklogs.AsyncWorklogs),
    (users.Users, users.AsyncUsers),
    (meta.Meta, meta.AsyncMeta),
    (agile.Boards, agile.AsyncBoards),
    (agile.Sprints, agile.AsyncSprints),
    (links.Links, links.AsyncLinks),
    (links.Watchers, links.AsyncWatchers),
    (groups.Groups, groups.AsyncGroups),
    (filters.Filters, filters.AsyncFilters),
    (webhooks.Webhooks, webhooks.AsyncWebhooks),
    (attachments.Attachments, attachments.AsyncAttachments),
]


def test_every_sync_method_has_an_async_twin():
    for sync_cls, async_cls in PAIRS:
        sync_methods, async_methods = _public(sync_cls), _public(async_cls)
        assert set(sync_methods) == set(async_methods), sync_cls
        for name, method in sync_methods.items():
            twin = async_methods[name]
            if twin is method:
                continue  # shared, I/O-free (BaseJira.bucket, .url)
            sig, asig = inspect.signature(method), inspect.signature(twin)
            assert list(sig.parameters) == list(asig.parameters), f"{sync_cls.__name__}.{name}"
            for p, ap in zip(sig.parameters.values(), asig.parameters.values(), strict=True):
                assert (p.kind, p.default) == (ap.kind, ap.default), f"{sync_cls.__name__}.{name}"
            if name not in {"close"} and inspect.iscoroutinefunction(twin) is False:
                # only paginators (returned for `async for`) may be plain methods
                assert sig.return_annotation == asig.return_annotation
                assert "Paginator" in str(asig.return_annotation), f"{async_cls.__name__}.{name}"


def test_resource_namespaces_exist_on_both_clients():
    names = {
        "issues",
        "search",
        "comments",
        "transitions",
        "projects",
        "fields",
        "changelogs",
        "worklogs",
        "users",
        "meta",
        "webhooks",
        "boards",
        "sprints",
        "links",
        "watchers",
        "groups",
        "filters",
        "bulk",
        "attachments",
    }
    jira = Jira("https://x.atlassian.net", auth=jirakit.BasicAuth("a@b.c", "t"))
    try:
        assert names <= set(vars(jira))
    finally:
        jira.close()
