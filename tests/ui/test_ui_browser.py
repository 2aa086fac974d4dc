"""The dashboard in a real browser (Debian's chromium, driven by Playwright), served by
`jirakit dashboard` over a warehouse that a real sync of a served sandbox filled.

Every page loads at 1280x800 and 390x844 with no console error (its screenshots go to
test-artifacts/dashboard/); every chart draws its series; the filters, used from the
keyboard, change the numbers, which match SQL over the warehouse; axe-core finds no
serious or critical violation; the token login works in the browser; and a sync started
in another process is followed live on the syncs page to its end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_support import EMAIL, TOKEN, Dashboard, Synced, serve_dashboard

from jirakit.sync.outcome import PHASES
from jirakit.ui.health import WORKLOG_PEOPLE

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
DASHBOARD_TOKEN = "browser-test-token-0123456789"
RANGE = {"project": "ENG", "from": "2025-03-01", "to": "2025-09-30"}

# Series per chart, as the SVG shows them: one colour each (a line's stroke, an area's or
# a bar's fill).
SERIES_COLOURS = """(section) => {
  const svg = section.querySelector('.vis svg');
  if (!svg) { return null; }
  const colours = new Set();
  let marks = 0;
  for (const item of svg.querySelectorAll('g.role-mark path')) {
    const fill = item.getAttribute('fill');
    const stroke = item.getAttribute('stroke');
    const colour = fill && fill !== 'none' && fill !== 'transparent' ? fill : stroke;
    if (colour && colour !== 'none' && (item.getAttribute('d') || '').length > 2) {
      colours.add(colour);
      marks += 1;
    }
  }
  const legend = Array.from(svg.querySelectorAll('.role-legend-label text')).map(t => t.textContent);
  return {colours: colours.size, marks: marks, legend: legend};
}"""

# Axis labels closer than 4 px side by side, or overlapping, per chart (labels Vega
# hid, opacity 0, left out; rotated labels too: their boxes are not their glyphs).
CROWDED_LABELS = """() => {
  const GAP = 4;
  const found = [];
  for (const section of document.querySelectorAll('section.chart')) {
    for (const axis of section.querySelectorAll('.vis svg g.role-axis')) {
      const texts = Array.from(axis.querySelectorAll('g.role-axis-label text')).filter(
        t => t.textContent && t.getAttribute('opacity') !== '0'
          && !(t.getAttribute('transform') || '').includes('rotate'));
      const boxes = texts.map(t => [t.textContent, t.getBoundingClientRect()]);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [ta, a] = boxes[i];
          const [tb, b] = boxes[j];
          if (a.left < b.right + GAP && b.left < a.right + GAP
              && a.top < b.bottom && b.top < a.bottom) {
            found.push(section.id + ': ' + ta + ' / ' + tb);
          }
        }
      }
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (make test does it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dashboard(synced: Synced) -> Iterator[Dashboard]:
    with serve_dashboard("--dest", synced.dest) as served:
        yield served


@pytest.fixture(scope="module")
def token_dashboard(synced: Synced) -> Iterator[Dashboard]:
    with serve_dashboard(
        "--dest", synced.dest, env={"JIRAKIT_DASHBOARD_TOKEN": DASHBOARD_TOKEN}
    ) as served:
        yield served


class Page:
    """A page in a fresh browser context, with its console errors collected."""

    def __init__(self, browser: Any, size: str = "desktop", **context: Any) -> None:
        width, height = SIZES[size]
        self.context = browser.new_context(viewport={"width": width, "height": height}, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> Any:
        response = self.page.goto(url)
        charts = self.page.locator("[data-spec]").count()
        if charts:
            self.page.wait_for_function(
                "n => document.querySelectorAll('[data-rendered]').length === n", arg=charts
            )
        return response

    def close(self) -> None:
        self.context.close()


def shoot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def table_of(page: Any, chart: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{chart} .table-view tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )


def num(text: str) -> float:
    return float(text.replace(",", ""))


PAGES = {
    "health": "",
    "health-eng-2025": "?" + "&".join(f"{k}={v}" for k, v in RANGE.items()),
    "syncs": "syncs",
    "drift": "drift",
}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_page_loads_at_both_sizes(browser: Any, dashboard: Dashboard, size: str):
    view = Page(browser, size)
    try:
        for name, path in PAGES.items():
            response = view.open(dashboard.url + path)
            assert response.status == 200, name
            page = view.page
            assert page.locator("h1").count() == 1
            if name.startswith("health"):
                rendered = page.eval_on_selector_all(
                    "[data-rendered]", "els => els.map(e => e.dataset.rendered)"
                )
                assert rendered and set(rendered) == {"true"}, (name, rendered)
            # Readable on a phone: nothing wider than the screen but what scrolls inside
            # its own box (wide tables).
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (name, size, overflow)
            assert page.evaluate(CROWDED_LABELS) == [], (name, size)
            shoot(page, f"{name}-{size}")
        assert view.errors == []
        # Works offline: nothing was fetched from anywhere but the dashboard (no CDN).
        elsewhere = [u for u in view.requests if not u.startswith((dashboard.url, "data:"))]
        assert elsewhere == []
        assert any(u.endswith("/static/vendor/vega.min.js") for u in view.requests)
    finally:
        view.close()


def test_every_chart_draws_its_series(browser: Any, dashboard: Dashboard, synced: Synced):
    people = synced.sql(
        "select count(distinct w.author_id) from worklogs w join issues i on i.id = w.issue_id"
        " where not w.is_deleted and not i.is_deleted"
    )[0][0]
    categories = synced.sql(
        "select count(distinct coalesce(category_key, 'unknown')) from statuses"
        " where id in (select status_id from issues)"
    )[0][0]
    expected = {
        "created_vs_resolved": ["created", "resolved"],
        "cumulative_flow": ["Done", "In Progress", "To Do"][: max(3, categories)],
        "time_in_status": ["average", "median"],
        "cycle_time": ["50th percentile", "85th percentile", "95th percentile"],
        "velocity": ["committed", "completed"],
        "worklog": min(people, WORKLOG_PEOPLE) + (1 if people > WORKLOG_PEOPLE else 0),
        "oldest_open": 1,
    }
    view = Page(browser)
    try:
        view.open(dashboard.url)
        for chart, want in expected.items():
            section = view.page.locator(f"section#{chart}")
            drawn = section.evaluate(SERIES_COLOURS)
            assert drawn is not None, f"{chart}: no SVG"
            count = want if isinstance(want, int) else len(want)
            assert drawn["colours"] == count, (chart, drawn)
            assert drawn["marks"] >= count, (chart, drawn)
            if isinstance(want, list):
                assert sorted(drawn["legend"]) == sorted(want), (chart, drawn)
            assert section.get_attribute("data-series") == str(count)
            assert view.page.locator(f"#{chart} .vis").get_attribute("aria-label")
    finally:
        view.close()


def test_filters_from_the_keyboard_change_the_numbers(
    browser: Any, dashboard: Dashboard, synced: Synced
):
    view = Page(browser)
    page = view.page
    try:
        view.open(dashboard.url)
        everything = table_of(page, "created_vs_resolved")[-1]
        # The first Tab reaches the skip link, then the header links, then the filters.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "f-project":
                break
        assert page.evaluate("document.activeElement.id") == "f-project"
        # Every control has its label.
        for label, control in (("Project", "f-project"), ("Board", "f-board"), ("From", "f-from")):
            assert page.get_by_label(label, exact=True).get_attribute("id") == control
        page.keyboard.type("ENG")  # type-ahead picks the option
        assert page.eval_on_selector("#f-project", "s => s.value") == "ENG"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "f-board"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "f-from"
        page.fill("#f-from", RANGE["from"])
        page.fill("#f-to", RANGE["to"])
        with page.expect_navigation():
            page.keyboard.press("Enter")  # submits the form
        assert page.url.endswith("?project=ENG&board=&from=2025-03-01&to=2025-09-30"), page.url
        page.wait_for_function(
            "n => document.querySelectorAll('[data-rendered]').length === n",
            arg=page.locator("[data-spec]").count(),
        )
        # The table view opens from the keyboard.
        page.focus("#created_vs_resolved summary")
        page.keyboard.press("Enter")
        assert page.locator("#created_vs_resolved details").get_attribute("open") is not None
        filtered = table_of(page, "created_vs_resolved")[-1]
        created = synced.sql(
            "select count(*) from issues i join projects p on p.id = i.project_id"
            " where p.key = 'ENG' and not i.is_deleted"
            " and CAST(i.created_at AT TIME ZONE 'UTC' AS DATE) between ? and ?",
            [RANGE["from"], RANGE["to"]],
        )[0][0]
        resolved = synced.sql(
            "select count(*) from issue_enhanced where project_key = 'ENG'"
            " and CAST(resolved_at AT TIME ZONE 'UTC' AS DATE) between ? and ?",
            [RANGE["from"], RANGE["to"]],
        )[0][0]
        assert (num(filtered[3]), num(filtered[4])) == (created, resolved)
        assert (filtered[3], filtered[4]) != (everything[3], everything[4])
        oldest = [row[0] for row in table_of(page, "oldest_open")]
        assert oldest == [
            r[0]
            for r in synced.sql(
                "select issue_key from issue_enhanced where project_key = 'ENG'"
                " and not is_resolved and CAST(created_at AT TIME ZONE 'UTC' AS DATE)"
                " between ? and ? order by created_at, issue_key limit 15",
                [RANGE["from"], RANGE["to"]],
            )
        ]
        # The chosen filters stay in the form.
        assert page.eval_on_selector("#f-project", "s => s.value") == "ENG"
        assert page.eval_on_selector("#f-to", "s => s.value") == RANGE["to"]
        assert view.errors == []
    finally:
        view.close()


def axe_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [
        f"{v['id']} ({v['impact']}): {', '.join(v['nodes'][:5])}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


# The scan at phone width runs in `make slow` (the page-load tests check that width
# in `make test`); CI runs both.
@pytest.mark.parametrize("size", ["desktop", pytest.param("phone", marks=pytest.mark.slow)])
def test_axe_finds_no_serious_violations(
    browser: Any, dashboard: Dashboard, token_dashboard: Dashboard, size: str
):
    # axe is injected as an inline script, which the pages' CSP forbids: this context
    # alone lets it in.
    view = Page(browser, size, bypass_csp=True)
    try:
        problems: dict[str, list[str]] = {}
        for name, path in PAGES.items():
            view.open(dashboard.url + path)
            if name.startswith("health"):  # with a table view open, as a reader would
                view.page.click("#velocity summary")
            problems[name] = axe_violations(view.page)
        view.open(token_dashboard.url + "login")
        problems["login"] = axe_violations(view.page)
        assert {k: v for k, v in problems.items() if v} == {}
    finally:
        view.close()


def test_token_login_in_the_browser(browser: Any, token_dashboard: Dashboard):
    view = Page(browser)
    page = view.page
    try:
        view.open(token_dashboard.url + "drift")
        assert page.url.startswith(token_dashboard.url + "login?next=")
        shoot(page, "login-desktop")
        page.get_by_label("Dashboard token").fill("not the token")
        page.keyboard.press("Enter")
        page.wait_for_selector("#login-error")
        assert page.locator("#login-error").text_content() == "That token is not right."
        page.get_by_label("Dashboard token").fill(DASHBOARD_TOKEN)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == token_dashboard.url + "drift"
        assert page.locator("h1").text_content() == "Schema drift"
        # The session cookie is out of the page's reach.
        assert "jirakit_session" not in page.evaluate("document.cookie")
        cookie = next(c for c in view.context.cookies() if c["name"] == "jirakit_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        with page.expect_navigation():
            page.get_by_role("button", name="Log out").click()
        assert page.url.startswith(token_dashboard.url + "login")
        view.open(token_dashboard.url)
        assert "/login" in page.url
        # The browser logs the refused login's 401 answer, and nothing else.
        assert view.errors == [
            "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
        ]
    finally:
        view.close()


LIVE_CARD = """() => {
  const run = document.querySelector('#live-run.is-running');
  if (!run) { return null; }
  const text = (id) => (run.querySelector(id) || {}).textContent || '';
  return {phase: text('#live-phase'), requests: text('#live-requests'),
          rows: run.querySelector('#live-rows') !== null};
}"""


def test_a_sync_in_another_process_is_followed_live(browser: Any, synced: Synced, tmp_path: Path):
    db = tmp_path / "live.duckdb"
    view = Page(browser)
    page = view.page
    with serve_dashboard("--dest", f"duckdb:///{db}", "--poll", "0.3") as served:
        try:
            view.open(served.url + "syncs")
            assert page.locator("#no-runs").count() == 1
            env = {**os.environ, "JIRAKIT_EMAIL": EMAIL, "JIRAKIT_API_TOKEN": TOKEN}
            command = [sys.executable, "-m", "jirakit", "sync", "--url", synced.url]
            command += ["--dest", f"duckdb:///{db}", "--pipelines-dir", str(tmp_path / "state")]
            seen: list[tuple[str, int]] = []
            with subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            ) as sync:
                shot = False
                while sync.poll() is None:
                    # One read of the live card: a refresh may replace it between two.
                    live = page.evaluate(LIVE_CARD)
                    if live is not None:
                        phase, requests = live["phase"], live["requests"] or "0"
                        seen.append((phase.split(" for ")[0].strip(), int(num(requests))))
                        if not shot and live["rows"]:
                            shoot(page, "syncs-live-desktop")
                            shot = True
                    time.sleep(0.1)
                _, err = sync.communicate()
                assert sync.returncode == 0, err
            # The page catches up by itself: the run recorded, the live card closed.
            try:
                page.wait_for_selector("#runs tr[data-status='succeeded']", timeout=30_000)
                page.wait_for_selector("#live-run.is-succeeded", timeout=30_000)
            except Exception as exc:
                activity = page.inner_text("#sync-activity")
                raise AssertionError(f"the page did not catch up: {activity!r}") from exc
            shoot(page, "syncs-after-live-desktop")
        finally:
            view.close()
    phases = [p for p, _ in seen]
    assert seen, "the running sync never showed up"
    assert set(phases) <= set(PHASES) | {"starting", "done"}, phases
    assert len(set(phases)) >= 2, phases  # it moved on while watched
    requests = [n for _, n in seen]
    assert requests == sorted(requests)  # counts only grow
