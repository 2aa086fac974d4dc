"""Bulk work: the bounded-concurrency helper (sync threads, async tasks) and two-phase
search (ids, then issue/bulkfetch), over real HTTP against the sandbox with request
counts, plus MockTransport cases the sandbox cannot stage."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from client_doubles import BASE, Router, ok

from jirakit import AsyncJira, BasicAuth, Jira, RateLimitConfig
from jirakit.client import BulkItem, BulkResults
from jirakit.client._bulk import AsyncBulk, Bulk
from jirakit.errors import ConfigurationError, NotFound
from jirakit.sandbox import Sandbox

AUTH = BasicAuth("admin@example.com", "sandbox-token")
JQL = "project = ENG ORDER BY key"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(seed=1, issues=450, projects=1)
    with sandbox.serve() as url:
        yield sandbox, url


# -- the bulk helper --------------------------------------------------------------------


def test_sync_and_async_bulk_are_twins():
    sig, asig = inspect.signature(Bulk.run), inspect.signature(AsyncBulk.run)
    assert list(sig.parameters) == list(asig.parameters)
    for p, ap in zip(sig.parameters.values(), asig.parameters.values(), strict=True):
        assert (p.kind, p.default) == (ap.kind, ap.default)
    assert inspect.iscoroutinefunction(AsyncBulk.run)
    assert not inspect.iscoroutinefunction(Bulk.run)


async def test_async_bulk_transitions_with_bounded_concurrency(site: tuple[Sandbox, str]):
    sandbox, url = site
    async with AsyncJira(url, auth=AUTH) as ajira:
        query = 'project = ENG AND status = "To Do" ORDER BY key'
        todo = [i.key async for i in ajira.search.iter(query, fields=["key"], limit=40) if i.key]
        assert len(todo) >= 5
        in_flight, peak = 0, 0

        async def start(key: str) -> str:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await ajira.transitions.do(key, to="In Progress", comment="bulk **moved**")
                return key
            finally:
                in_flight -= 1

        seen: list[BulkItem[str, str]] = []
        results = await ajira.bulk.run(
            [*todo, "ENG-999999"], start, concurrency=4, on_result=seen.append
        )
    assert isinstance(results, BulkResults) and len(results) == len(todo) + 1
    assert peak <= 4 and len(seen) == len(results)
    assert [i.item for i in results] == [*todo, "ENG-999999"]  # input order
    assert results.results[: len(todo)] == todo
    assert not results.ok and [i.index for i in results.failed] == [len(todo)]
    assert isinstance(results.failed[0].error, NotFound)  # one bad key, not a failed batch
    for key in todo:
        assert sandbox.store.issue(key).fields["status"]["name"] == "In Progress"
    with pytest.raises(ExceptionGroup, match="1 of"):
        results.raise_errors()


def test_sync_bulk_runs_on_threads_and_respects_pacing(site: tuple[Sandbox, str]):
    _, url = site
    threads: set[str] = set()
    lock = threading.Lock()
    with Jira(url, auth=AUTH, rate_limit=RateLimitConfig(rate=100, burst=5)) as jira:
        keys = [f"ENG-{n}" for n in range(1, 31)]

        def summary(key: str) -> str | None:
            with lock:
                threads.add(threading.current_thread().name)
            return jira.issues.get(key, fields=["summary"]).summary

        started = time.monotonic()
        results = jira.bulk.run(keys, summary, concurrency=6)
        elapsed = time.monotonic() - started
        assert results.ok and all(isinstance(r, str) for r in results.results)
        # 30 GETs of one endpoint bucket, burst 5 at 100/s: the pacer held the rest back
        assert jira.stats.throttled_seconds > 0.1 and elapsed >= 0.2
    assert 1 < len(threads) <= 6 and all(t.startswith("jirakit-bulk") for t in threads)


async def test_bulk_reports_errors_per_item_and_checks_concurrency():
    async with AsyncJira(BASE, auth=AUTH, transport=httpx.MockTransport(lambda r: ok({}))) as a:

        async def half(n: int) -> int:
            await asyncio.sleep(0)
            if n % 2:
                raise ValueError(f"odd {n}")
            return n * 10

        results = await a.bulk.run(range(6), half, concurrency=3)
        assert results.results == [0, None, 20, None, 40, None]
        assert [str(i.error) for i in results.failed] == ["odd 1", "odd 3", "odd 5"]
        assert (await a.bulk.run([], half)).ok
        with pytest.raises(ConfigurationError, match="concurrency"):
            await a.bulk.run([1], half, concurrency=0)


# -- two-phase search -------------------------------------------------------------------


def _keys_and_requests(jira: Jira, **kwargs: object) -> tuple[list[str | None], int, int]:
    before = jira.stats.requests
    paginator = jira.search.iter(JQL, fields=["summary", "status"], **kwargs)  # type: ignore[arg-type]
    keys = [i.key for i in paginator]
    return keys, jira.stats.requests - before, paginator.pages


def test_two_phase_needs_fewer_requests_and_gives_the_same_issues(site: tuple[Sandbox, str]):
    _, url = site
    with Jira(url, auth=AUTH) as jira:
        paged, paged_requests, _ = _keys_and_requests(jira, page_size=20, two_phase=False)
        assert len(paged) == 450 and paged_requests == 23  # ceil(450 / 20)
        auto, auto_requests, pages = _keys_and_requests(jira, page_size=20)
        assert auto == paged  # same issues, same order
        # one page of 20, one page of ids (all 450), ceil(430 / 100) bulkfetches
        assert auto_requests == pages == 1 + 1 + 5
        forced, forced_requests, _ = _keys_and_requests(jira, page_size=20, two_phase=True)
        assert forced == paged and forced_requests == 1 + 5  # ids, ceil(450 / 100)
        full = jira.search.iter(JQL, fields=["summary"], page_size=20).all()
        slow = jira.search.iter(JQL, fields=["summary"], page_size=20, two_phase=False).all()
        assert [i.raw for i in full] == [i.raw for i in slow]  # the same JSON, field for field


def test_two_phase_is_not_used_when_paging_is_as_cheap(site: tuple[Sandbox, str]):
    _, url = site
    with Jira(url, auth=AUTH) as jira:
        keys, requests, _ = _keys_and_requests(jira)  # 100 per page: already optimal
        assert len(keys) == 450 and requests == 5
        few = jira.search.iter("key in (ENG-1, ENG-2)", fields=["summary"], page_size=20)
        assert len(few.all()) == 2 and few.pages == 1  # the first page was the last
        ids = jira.search.iter(JQL, page_size=20, limit=30)  # ids only: nothing to bulkfetch
        assert len(ids.all()) == 30 and ids.pages == 2


def test_two_phase_counts_with_a_limit(site: tuple[Sandbox, str]):
    _, url = site
    with Jira(url, auth=AUTH) as jira:
        keys, requests, _ = _keys_and_requests(jira, page_size=20, limit=30)
        assert len(keys) == 30 and requests == 2  # 10 more: one page beats ids + bulkfetch
        keys, requests, _ = _keys_and_requests(jira, page_size=20, limit=300)
        paged, _, _ = _keys_and_requests(jira, page_size=20, limit=300, two_phase=False)
        assert keys == paged and requests == 1 + 1 + 3  # 280 more: ids + 3 bulkfetches


async def test_async_two_phase(site: tuple[Sandbox, str]):
    _, url = site
    async with AsyncJira(url, auth=AUTH) as ajira:
        auto = ajira.search.iter(JQL, fields=["summary"], page_size=50, limit=300)
        keys = [i.key async for i in auto]
        paged = ajira.search.iter(JQL, fields=["summary"], page_size=50, two_phase=False)
        assert keys == [i.key async for i in paged][:300]
        assert auto.pages == 1 + 1 + 3  # page, ids, 250 more by bulkfetch


def test_two_phase_is_cloud_only():
    router = Router()
    with Jira(BASE, auth=AUTH, flavour="datacenter", transport=router.transport()) as dc:
        with pytest.raises(ConfigurationError, match="bulkfetch"):
            dc.search.iter("project = P", fields=["summary"], two_phase=True)


def _issue(n: int) -> dict:
    return {"id": str(n), "key": f"P-{n}", "fields": {"summary": f"s{n}"}}


def test_switches_when_jira_serves_short_pages_and_skips_deleted_issues():
    # Jira Cloud returns fewer issues per page than asked for heavy fields; ids + bulkfetch
    # then win. An issue deleted between the two phases is simply not returned.
    router = Router()
    ids = [{"id": str(n)} for n in range(1, 251)]
    router.add(
        "GET",
        "/rest/api/3/search/jql",
        ok({"issues": [_issue(n) for n in range(1, 41)], "nextPageToken": "t1"}),
        ok({"issues": ids, "isLast": True}),
    )

    def bulkfetch(request: httpx.Request) -> httpx.Response:
        import json

        wanted = json.loads(request.content)["issueIdsOrKeys"]
        found = [_issue(int(i)) for i in reversed(wanted) if i != "77"]  # any order
        errors = [{"id": "77", "errorMessage": "Issue does not exist"}] if "77" in wanted else []
        return ok({"issues": found, "issueErrors": errors})

    router.always("POST", "/rest/api/3/issue/bulkfetch", bulkfetch)
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        got = jira.search.iter("project = P", fields=["*all"], expand=["names"]).all()
    assert [i.id for i in got] == [str(n) for n in range(1, 251) if n != 77]
    first, id_page, *bulk = router.requests
    assert first.url.params["maxResults"] == "100"
    assert id_page.url.params["fields"] == "id" and id_page.url.params["maxResults"] == "5000"
    assert len(bulk) == 3  # 210 remaining ids: ceil(210 / 100), not ceil(210 / 40) = 6 pages
    import json

    assert json.loads(bulk[0].content)["fields"] == ["*all"]
    assert json.loads(bulk[0].content)["expand"] == ["names"]


def test_resumes_paging_when_few_issues_remain():
    # 40 per page and 30 left: one more page beats one bulkfetch? equal; paging resumes
    router = Router()
    router.add(
        "GET",
        "/rest/api/3/search/jql",
        ok({"issues": [_issue(n) for n in range(1, 41)], "nextPageToken": "t1"}),
        ok({"issues": [{"id": str(n)} for n in range(1, 71)], "isLast": True}),
        ok({"issues": [_issue(n) for n in range(41, 71)], "isLast": True}),
    )
    with Jira(BASE, auth=AUTH, transport=router.transport()) as jira:
        got = jira.search.iter("project = P", fields=["summary"]).all()
    assert [i.id for i in got] == [str(n) for n in range(1, 71)]
    assert router.requests[-1].url.params["nextPageToken"] == "t1"
