"""Dynamic webhook registration (JQL subset checked before sending), refresh before the
30-day expiry, admin webhooks, and recovery of failed deliveries, against the sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from webhook_helpers import SECRET, issue_body

from jirakit import BasicAuth, Jira
from jirakit.cli import app
from jirakit.client.resources.webhooks import WebhookSpec
from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.testing.asgi import SyncASGITransport
from jirakit.testing.webhooks import WebhookReceiver
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.recovery import recover_failed
from jirakit.webhooks.registration import (
    AdminWebhooks,
    UnsupportedWebhook,
    jql_problems,
    refresh,
    register,
)
from jirakit.webhooks.store import Incoming

EVENTS = ["jira:issue_updated"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def sandbox(clock: FrozenClock) -> Iterator[Sandbox]:
    with Sandbox(seed=2, issues=20, projects=2, clock=clock, webhook_backoff=0.001) as sb:
        yield sb


@pytest.fixture
def jira(sandbox: Sandbox) -> Iterator[Jira]:
    transport = SyncASGITransport(sandbox.app)
    with Jira("http://sandbox.local", auth=BasicAuth(*sandbox.auth), transport=transport) as j:
        yield j
    transport.close()


def test_jql_subset_problems_name_the_field_operator_or_function():
    assert jql_problems("project = ENG AND status IN (Done, 'To Do') OR assignee != x") == []
    assert jql_problems('issue.property[seen].flag = "yes" AND cf[10010] = 3') == []
    assert jql_problems("watchers = 1") == ["The clause watchers is unsupported"]
    assert jql_problems("project ~ ENG") == ["The operator ~ is unsupported"]
    assert jql_problems("assignee = currentUser()") == ["The function currentUser is unsupported"]
    assert jql_problems("NOT project = ENG") == ["The operator NOT is unsupported"]
    assert jql_problems("project = ENG ORDER BY key") == ["The ORDER BY clause is unsupported"]
    assert jql_problems("") == ["The JQL filter must not be empty."]
    assert jql_problems("project = ")[0].startswith("Error in JQL Query: Expecting")


def test_register_refuses_before_sending():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing should be sent, got {request.method} {request.url}")

    with Jira("https://x.atlassian.net", transport=httpx.MockTransport(refuse)) as jira:
        with pytest.raises(UnsupportedWebhook) as info:
            register(
                jira,
                "https://me/hook",
                [
                    WebhookSpec("project = ENG", EVENTS),
                    WebhookSpec("labels = x ORDER BY key", ["worklog_created"]),
                ],
            )
    message = str(info.value)
    assert "webhook 2: The clause labels is unsupported" in message
    assert "The ORDER BY clause is unsupported" in message
    assert "the event worklog_created is not available" in message
    assert "webhook 1" not in message


def test_register_list_refresh_before_expiry(
    jira: Jira, clock: FrozenClock, store_url: str, sandbox: Sandbox
):
    receiver = Receiver(store_url, Secrets(jwt=("x",)))
    [made] = register(
        jira, "https://me/hook", [WebhookSpec("project = ENG", EVENTS)], inbox=receiver.inbox
    )
    assert made.ok
    [hook] = list(jira.webhooks.list())
    assert hook.expires == clock.now() + timedelta(days=30)
    # not due yet: nothing sent
    assert refresh(jira, within=timedelta(days=7)).refreshed == ()
    clock.advance(days=25)
    result = refresh(jira, within=timedelta(days=7), inbox=receiver.inbox)
    assert result.refreshed == (made.id,)
    assert result.expires == clock.now() + timedelta(days=30)
    [hook] = list(jira.webhooks.list())
    assert hook.expires == clock.now() + timedelta(days=30)
    assert receiver.inbox.get_state("dynamic_webhooks") == {
        str(made.id): int(result.expires.timestamp() * 1000)
    }
    receiver.close()


def test_cli_register_refresh_list_delete(sandbox: Sandbox, clock: FrozenClock, store_url: str):
    runner = CliRunner()
    with sandbox.serve() as url:
        env = {
            "JIRAKIT_URL": url,
            "JIRAKIT_EMAIL": sandbox.auth[0],
            "JIRAKIT_API_TOKEN": sandbox.auth[1],
        }
        bad = runner.invoke(
            app,
            [
                "webhooks",
                "register",
                "--target",
                "https://me/h",
                "--jql",
                "text ~ x",
                "--store",
                store_url,
            ],
            env=env,
        )
        assert bad.exit_code == 2 and "The clause text is unsupported" in bad.output
        assert "Traceback" not in bad.output
        ok = runner.invoke(
            app,
            [
                "webhooks",
                "register",
                "--target",
                "https://me/h",
                "--jql",
                "project = ENG",
                "--store",
                store_url,
            ],
            env=env,
        )
        assert ok.exit_code == 0 and "registered" in ok.output, ok.output
        clock.advance(days=28)
        done = runner.invoke(app, ["webhooks", "refresh", "--store", store_url], env=env)
        assert done.exit_code == 0 and "1 webhooks refreshed until" in done.output, done.output
        listed = runner.invoke(app, ["webhooks", "list"], env=env)
        wid = listed.output.split()[0]
        expected = (clock.now() + timedelta(days=30)).isoformat(timespec="minutes")
        assert f"expires {expected}" in listed.output
        gone = runner.invoke(app, ["webhooks", "delete", wid], env=env)
        assert gone.exit_code == 0
        assert runner.invoke(app, ["webhooks", "list"], env=env).output == ""


def test_admin_webhooks_with_a_secret(jira: Jira, sandbox: Sandbox):
    admin = AdminWebhooks(jira)
    made = admin.create("hooks", "https://me/h", EVENTS, jql="project = ENG", secret=SECRET)
    assert made["filters"]["issue-related-events-section"] == "project = ENG"
    assert [w["name"] for w in admin.list()] == ["hooks"]
    [reg] = [r for r in sandbox.webhooks.registrations.values() if r.kind == "admin"]
    assert reg.secret == SECRET
    admin.delete(made["self"].rsplit("/", 1)[1])
    assert admin.list() == []


def test_failed_deliveries_are_recovered_once(
    sandbox: Sandbox, jira: Jira, store_url: str, wait: Any
):
    """The receiver was unreachable: Jira gave up after its retries; the failures come back
    through webhook/failed, each stored once (one that did arrive is a duplicate)."""
    with WebhookReceiver(fail_with=[503] * 1000) as down:
        register(jira, down.url, [WebhookSpec("project = ENG", EVENTS)])
        keys = sorted(r.key for r in sandbox.store.issues.values() if r.key.startswith("ENG"))[:3]
        for key in keys:
            jira.issues.edit(key, summary=f"while down {key}")
        assert sandbox.webhooks.flush(30)
    failures = list(jira.webhooks.failed())
    assert len(failures) == 3
    receiver = Receiver(store_url, Secrets(jwt=("x",)))
    # one of them did reach the receiver (Jira timed out waiting for the answer)
    receiver.inbox.store(Incoming(failures[0].id, (failures[0].body or "").encode(), {}, 0, "jwt"))
    assert recover_failed(jira, receiver.inbox) == 2
    assert recover_failed(jira, receiver.inbox) == 0  # the cursor moved past them
    seen: list[Any] = []
    receiver.on("jira:issue_updated")(seen.append)
    receiver.process_pending()
    assert sorted(e.raw["issue"]["key"] for e in seen) == keys
    assert {e.source for e in seen} == {"jwt", "recovered"}
    receiver.close()


def test_recovery_is_skipped_for_accounts_that_may_not_list_failures(store_url: str):
    def forbidden(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"errorMessages": ["Only apps may list failures."]})

    with Jira("https://x.atlassian.net", transport=httpx.MockTransport(forbidden)) as jira:
        receiver = Receiver(store_url, Secrets(hmac=("x",)))
        assert recover_failed(jira, receiver.inbox) == 0
        receiver.close()


def test_a_real_issue_body_round_trips_through_recovery_storage(store_url: str):
    receiver = Receiver(store_url, Secrets(hmac=("x",)))
    body = issue_body()
    assert receiver.inbox.store(
        Incoming("x-1", body, {}, int(time.time() * 1000), "recovered")
    ) == ("stored")
    receiver.close()
