"""The dashboard inside `jirakit serve` (/ui) in a real browser (Debian's chromium,
driven by Playwright), the service served by uvicorn over the world of
tests/ui/service_world.py (two tenants, a job queue, webhook inboxes, a governor).

Every service page loads at 1280x800 and 390x844 after logging in with the tenant's API
key, with no console error and nothing wider than the screen (screenshots in
test-artifacts/dashboard/service-*.png); the webhook and budget charts draw their
series; replaying a webhook range from the page re-delivers it; starting a sync from the
page shows it queued, running and done, live; axe-core finds no serious or critical
violation."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from service_world import TOKEN_ENV, World
from test_ui_browser import (
    CROWDED_LABELS,
    SERIES_COLOURS,
    SIZES,
    Page,
    axe_violations,
    browser,
    shoot,
)

from jirakit.jobs.queue import WorkerOptions
from jirakit.service.server import serve_in_thread

__all__ = ["browser"]  # the fixture, shared with the warehouse dashboard's browser tests


@pytest.fixture(scope="module")
def served(world: World) -> Iterator[str]:
    with serve_in_thread(world.app) as url:
        yield url + "/ui/"


def logged_in(browser: Any, base: str, key: str, size: str = "desktop", **context: Any) -> Page:
    view = Page(browser, size, **context)
    page = view.page
    view.open(base + "connections")
    assert "/ui/login?next=" in page.url
    page.get_by_label("API key").fill(key)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == base + "connections", page.url
    return view


def service_pages(world: World) -> dict[str, str]:
    conn = world.conns["a"]
    return {
        "connections": "connections",
        "syncs": f"syncs?connection={conn}",
        "health": f"?connection={conn}&project=ENG",
        "drift": f"drift?connection={conn}",
        "webhooks": f"webhooks?connection={conn}",
        "budget": "budget",
    }


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_service_page_loads_at_both_sizes(
    browser: Any, world: World, served: str, size: str
) -> None:
    view = logged_in(browser, served, world.keys["a"], size)
    try:
        for name, path in service_pages(world).items():
            response = view.open(served + path)
            assert response.status == 200, name
            page = view.page
            assert page.locator("h1").count() == 1, name
            rendered = page.eval_on_selector_all(
                "[data-rendered]", "els => els.map(e => e.dataset.rendered)"
            )
            assert set(rendered) <= {"true"}, (name, rendered)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (name, size, overflow)
            assert page.evaluate(CROWDED_LABELS) == [], (name, size)
            shoot(page, f"service-{name}-{size}")
        assert view.errors == []
        elsewhere = [u for u in view.requests if not u.startswith((served[:-3], "data:"))]
        assert elsewhere == []
    finally:
        view.close()


def drawn(page: Any, chart: str) -> dict[str, Any]:
    found: dict[str, Any] | None = page.locator(f"section#{chart}").evaluate(SERIES_COLOURS)
    assert found is not None, f"{chart}: no SVG"
    return found


def test_webhook_and_budget_charts_draw_their_series(
    browser: Any, world: World, served: str
) -> None:
    view = logged_in(browser, served, world.keys["a"])
    page = view.page
    try:
        view.open(served + f"webhooks?connection={world.conns['a']}")
        inbox = drawn(page, "inbox_events")
        assert sorted(inbox["legend"]) == ["duplicate", "received", "rejected", "verified"]
        assert inbox["colours"] == 4 and inbox["marks"] >= 4
        outbox = drawn(page, "outbox_messages")
        assert sorted(outbox["legend"]) == ["dead", "delivered", "pending", "retrying"]
        assert outbox["colours"] == 4 and outbox["marks"] >= 4
        view.open(served + "budget")
        # The page samples the budget at each refresh: wait for a second sample.
        page.wait_for_function(
            "() => document.querySelectorAll('#budget_used tbody tr').length >= 2",
            timeout=15_000,
        )
        page.wait_for_selector("#budget_used [data-rendered='true']")
        budget = drawn(page, "budget_used")
        assert sorted(budget["legend"]) == ["other tenants", "you"]
        assert budget["colours"] == 2
        page.wait_for_selector("#budget_rate [data-rendered='true']", timeout=15_000)
        rate = drawn(page, "budget_rate")
        assert sorted(rate["legend"]) == ["other tenants", "pool", "you"]
        assert rate["colours"] == 3
        shoot(page, "service-budget-charts-desktop")
        assert view.errors == []
    finally:
        view.close()


def test_replaying_a_webhook_range_from_the_page_redelivers_it(
    browser: Any, world: World, served: str
) -> None:
    applied = [
        r[0]
        for r in world.inbox_sql(
            "select delivery_id from webhook_deliveries where status = 'applied'"
        )
    ]
    assert applied
    before = len(world.seen)
    view = logged_in(browser, served, world.keys["a"])
    page = view.page
    try:
        view.open(served + f"webhooks?connection={world.conns['a']}")
        assert page.get_by_label("From (UTC)").input_value()  # the first arrival, filled in
        end = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
        page.get_by_label("To (UTC)").fill(end.strftime("%Y-%m-%dT%H:%M:%S"))
        with page.expect_navigation():
            page.get_by_role("button", name="Replay").click()
        said = page.locator("#flash").text_content() or ""
        assert said.startswith(f"{len(applied)} deliveries received"), said
        shoot(page, "service-webhooks-replayed-desktop")
    finally:
        view.close()
    world.receiver_a.process_pending()
    assert sorted(world.seen[before:]) == sorted(applied)


def test_starting_a_sync_shows_it_live_to_the_end(
    browser: Any, world: World, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "sandbox-token")
    conn = world.conns["a"]
    view = logged_in(browser, served, world.keys["a"])
    page = view.page
    worker: threading.Thread | None = None
    try:
        view.open(served + f"syncs?connection={conn}")
        runs_before = page.locator("#runs tr[data-run]").count()
        with page.expect_navigation():
            page.get_by_role("button", name="Start sync").click()
        said = page.locator("#flash").text_content() or ""
        found = re.search(r"job (\d+)", said)
        assert found, said
        job = found.group(1)
        row = f"#jobs tr[data-job='{job}']"
        assert page.locator(row).get_attribute("data-status") == "todo"
        assert "queued" in (page.locator(f"{row} .badge").text_content() or "")
        worker = threading.Thread(
            target=world.queue.run_worker,
            args=(WorkerOptions(until_idle=True, schedule_every=0, poll=0.05),),
        )
        worker.start()
        # The page follows by itself (no reload): running, then done.
        page.wait_for_selector(f"{row}[data-status='doing']", timeout=60_000)
        assert "running" in (page.locator(f"{row} .badge").text_content() or "")
        shoot(page, "service-syncs-running-desktop")
        page.wait_for_selector(f"{row}[data-status='succeeded']", timeout=120_000)
        page.wait_for_function(
            "n => document.querySelectorAll('#runs tr[data-run]').length > n",
            arg=runs_before,
            timeout=30_000,
        )
        newest = page.locator("#runs tr[data-run]").first
        assert newest.get_attribute("data-status") == "succeeded"
        assert page.locator(f"{row} td[data-label='queued to ended']").text_content() != "–"
        shoot(page, "service-syncs-done-desktop")
        assert view.errors == []
    finally:
        if worker is not None:
            worker.join(timeout=120)
        view.close()


# The scan at phone width runs in `make slow` (the page-load tests check that width
# in `make test`); CI runs both.
@pytest.mark.parametrize("size", ["desktop", pytest.param("phone", marks=pytest.mark.slow)])
def test_axe_finds_no_serious_violations_on_the_service_pages(
    browser: Any, world: World, served: str, size: str
) -> None:
    view = logged_in(browser, served, world.keys["a"], size, bypass_csp=True)
    try:
        problems: dict[str, list[str]] = {}
        for name, path in service_pages(world).items():
            view.open(served + path)
            if name in ("webhooks", "budget"):
                time.sleep(0.5)  # a refresh or two in, as a reader would see it
            problems[name] = axe_violations(view.page)
        assert {k: v for k, v in problems.items() if v} == {}
    finally:
        view.close()
    anonymous = Page(browser, size, bypass_csp=True)
    try:
        anonymous.open(served + "login")
        assert axe_violations(anonymous.page) == []
        shoot(anonymous.page, f"service-login-{size}")
    finally:
        anonymous.close()
