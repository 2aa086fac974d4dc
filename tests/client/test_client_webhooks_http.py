"""``jira.webhooks`` (dynamic webhooks), sync and async, over real HTTP against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.client.resources.webhooks import Registered, WebhookSpec
from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.testing.webhooks import WebhookReceiver

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NEW_ISSUE = {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "W"}}


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    clock = FrozenClock(START)
    with Sandbox(seed=3, issues=20, clock=clock, webhook_backoff=0.01) as sb, sb.serve() as url:
        yield sb, url


def test_dynamic_webhooks_sync(served: tuple[Sandbox, str]) -> None:
    sb, url = served
    with WebhookReceiver(fail_with=[400]) as hook, Jira(url, auth=BasicAuth(*sb.auth)) as jira:
        results = jira.webhooks.register(
            hook.url,
            [
                WebhookSpec("project = ENG", ["jira:issue_created"], field_ids=["summary"]),
                {"jqlFilter": "summary ~ x", "events": ["jira:issue_updated"]},
            ],
        )
        assert results[0].ok
        assert results[1] == Registered(
            None, ("The clause summary is unsupported", "The operator ~ is unsupported")
        )
        [hook_id] = [r.id for r in results if r.id is not None]
        [listed] = list(jira.webhooks.list())
        assert (listed.id, listed.jql, listed.events, listed.url) == (
            hook_id,
            "project = ENG",
            ["jira:issue_created"],
            hook.url,
        )
        assert listed.expires == START + timedelta(days=30)
        sb.clock.advance(days=2)  # type: ignore[attr-defined]
        assert jira.webhooks.refresh([hook_id]) == START + timedelta(days=32)

        jira.request("POST", "/issue", json=NEW_ISSUE)
        assert sb.webhooks.flush(5)
        [failed] = list(jira.webhooks.failed())
        assert failed.id == hook.deliveries[0].identifier
        assert failed.url == hook.url
        assert failed.failed_at == START + timedelta(days=2)
        assert failed.body is not None and '"jira:issue_created"' in failed.body

        jira.webhooks.delete([hook_id])
        assert list(jira.webhooks.list()) == []


async def test_dynamic_webhooks_async(served: tuple[Sandbox, str]) -> None:
    sb, url = served
    async with AsyncJira(url, auth=BasicAuth(*sb.auth)) as jira:
        specs = [
            WebhookSpec(f"project = ENG AND issueKey != ENG-{i + 1}", ["comment_created"])
            for i in range(3)
        ]
        results = await jira.webhooks.register("http://127.0.0.1:9/hook", specs)
        ids = [r.id for r in results]
        assert all(r.ok for r in results)
        assert [w.id async for w in jira.webhooks.list()] == ids
        assert await jira.webhooks.refresh(ids) == START + timedelta(days=30)
        assert [f async for f in jira.webhooks.failed()] == []
        await jira.webhooks.delete(ids[:2])
        assert [w.id async for w in jira.webhooks.list()] == ids[2:]
