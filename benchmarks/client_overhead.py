"""Client overhead: CPU per request of jirakit vs pycontribs ``jira`` and
``atlassian-python-api``, and jirakit's async throughput against a slow server.

    python benchmarks/client_overhead.py [--requests 2000] [--latency-ms 20] [--concurrency 32]
    NO_PROXY=localhost,127.0.0.1 python benchmarks/client_overhead.py      # NO_PROXY alone
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        python benchmarks/client_overhead.py   # a proxy set, the server added to NO_PROXY

A fake Jira (``benchmarks/_server.py``: uvicorn, HTTP/1.1 keep-alive, a real recorded
~35 KB Cloud issue) runs in a separate process, so only the client's CPU is measured here.

Part 1, CPU per request with no added latency: each client fetches ``GET issue/BENCH-1``
N times, one request at a time (the async client awaits them sequentially: this measures
overhead, not concurrency), after a warm-up; every client reads the parsed issue's key.
Reported: client-process CPU (``time.process_time``) per request, wall-clock requests/s,
and the ratio to pycontribs ``jira``. Target: jirakit <= 0.5x pycontribs CPU/request.

Part 2, throughput with a server that takes ``--latency-ms`` per request: jirakit sync,
sequential, vs jirakit async with ``max_concurrency=--concurrency`` and all requests
gathered at once. Target: async >= 5x sync requests/s.

Rows marked "(reference)" are raw httpx doing the same requests: the floor jirakit is built
on. If ``httpx-aiohttp`` is importable (it is not a jirakit dependency), extra rows run
jirakit's async client on its ``AiohttpTransport``; they are informative, not checked.

``--check`` exits 1 if a target is missed. See docs/benchmarks.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEY = "BENCH-1"
USER, TOKEN = "admin@example.com", "bench-token"
WARMUP = 50
CPU_TARGET = 0.5  # jirakit CPU/request <= this x pycontribs jira's
THROUGHPUT_TARGET = 5.0  # jirakit async req/s >= this x jirakit sync's
PROXY_VARS = tuple(
    name
    for base in ("http", "https", "all", "no")
    for name in (f"{base}_proxy", f"{base.upper()}_PROXY")
)


# -- the server -------------------------------------------------------------------------


@contextmanager
def fake_jira(small_issue: bool = False) -> Iterator[str]:
    """Start ``_server.py`` in its own process; yield its base URL; stop it."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_server.py"), *(["--small-issue"] if small_issue else [])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "PORT <n>" once it accepts connections
        if not line.startswith("PORT "):
            raise RuntimeError(f"the benchmark server did not start (said {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_stats", timeout=10) as response:
        stats: dict[str, Any] = json.load(response)
        return stats


# -- part 1: CPU per request ------------------------------------------------------------


@dataclass
class Run:
    cpu: float  # seconds of client-process CPU
    wall: float  # seconds
    n: int

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.n * 1e6

    @property
    def rps(self) -> float:
        return self.n / self.wall


@dataclass
class Result:
    name: str
    runs: list[Run] = field(default_factory=list)
    reference: bool = False
    optional: bool = False

    @property
    def cpu_us(self) -> float:
        return statistics.median(r.cpu_us for r in self.runs)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)


def _check(key: Any) -> None:
    if key != KEY:
        raise AssertionError(f"expected issue {KEY}, got {key!r}")


def _timed(fetch: Callable[[], str], n: int) -> Run:
    _check(fetch())
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        key = fetch()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    _check(key)
    return Run(cpu, wall, n)


async def _atimed(fetch: Callable[[], Awaitable[str]], n: int) -> Run:
    """N sequential awaits (overhead, not concurrency)."""
    _check(await fetch())
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        key = await fetch()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    _check(key)
    return Run(cpu, wall, n)


@dataclass
class Client:
    name: str
    fetch: Callable[[], str] | None = None  # blocking: GET the issue, parse it, its key
    afetch: Callable[[], Awaitable[str]] | None = None  # the same, awaited
    reference: bool = False  # raw httpx: the floor jirakit builds on, not a competitor
    optional: bool = False  # a setup jirakit does not ship by default: not held to a target


def aiohttp_transport(max_connections: int) -> Any | None:
    """httpx-aiohttp's transport for ``AsyncJira(transport=...)``, if it is installed: an
    optional row (it is not a jirakit dependency), to compare against httpcore's pool."""
    try:
        import httpx
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return None
    return AiohttpTransport(limits=httpx.Limits(max_connections=max_connections))


def part1_clients(url: str, stack: ExitStack, runner: asyncio.Runner) -> list[Client]:
    import httpx
    from atlassian import Jira as AtlassianJira
    from jira import JIRA

    from jirakit import AsyncJira, BasicAuth, Jira

    jirakit = stack.enter_context(Jira(url, auth=BasicAuth(USER, TOKEN)))
    ajirakit = AsyncJira(url, auth=BasicAuth(USER, TOKEN))
    stack.callback(lambda: runner.run(ajirakit.close()))
    pycontribs = JIRA(server=url, basic_auth=(USER, TOKEN))
    stack.callback(pycontribs.close)
    atlassian = AtlassianJira(url=url, username=USER, password=TOKEN, cloud=True)
    stack.callback(atlassian.close)
    issue_url = f"{url}/rest/api/3/issue/{KEY}"
    headers = {"Accept": "application/json"}
    raw = stack.enter_context(httpx.Client(auth=(USER, TOKEN), headers=headers))
    araw = httpx.AsyncClient(auth=(USER, TOKEN), headers=headers)
    stack.callback(lambda: runner.run(araw.aclose()))

    async def ajirakit_fetch() -> str:
        return (await ajirakit.issues.get(KEY)).key

    async def araw_fetch() -> str:
        return (await araw.get(issue_url)).raise_for_status().json()["key"]

    optional = []
    transport = aiohttp_transport(16)
    if transport is not None:
        ajirakit_aio = AsyncJira(url, auth=BasicAuth(USER, TOKEN), transport=transport)
        stack.callback(lambda: runner.run(ajirakit_aio.close()))

        async def ajirakit_aio_fetch() -> str:
            return (await ajirakit_aio.issues.get(KEY)).key

        name = "jirakit (async, sequential, httpx-aiohttp transport)"
        optional.append(Client(name, afetch=ajirakit_aio_fetch, optional=True))

    return [
        Client("jirakit (sync)", fetch=lambda: jirakit.issues.get(KEY).key),
        Client("jirakit (async, sequential)", afetch=ajirakit_fetch),
        Client("pycontribs jira", fetch=lambda: pycontribs.issue(KEY).key),
        Client("atlassian-python-api", fetch=lambda: atlassian.issue(KEY)["key"]),
        Client(
            "raw httpx.Client (reference)",
            fetch=lambda: raw.get(issue_url).raise_for_status().json()["key"],
            reference=True,
        ),
        *optional,
        Client("raw httpx.AsyncClient (reference)", afetch=araw_fetch, reference=True),
    ]


def part1(url: str, n: int, repeats: int) -> list[Result]:
    with asyncio.Runner() as runner, ExitStack() as stack:
        clients = part1_clients(url, stack, runner)
        results = [Result(c.name, reference=c.reference, optional=c.optional) for c in clients]

        def run(client: Client, count: int) -> Run:
            if client.fetch is not None:
                return _timed(client.fetch, count)
            assert client.afetch is not None
            return runner.run(_atimed(client.afetch, count))

        for client in clients:
            run(client, WARMUP)
        # Interleave the clients, round after round, so drift and neighbours' load hit
        # them all alike; report each client's median round.
        for _ in range(repeats):
            for client, result in zip(clients, results, strict=True):
                result.runs.append(run(client, n))
        return results


# -- part 2: throughput against a slow server --------------------------------------------


def part2(url: str, n: int, latency_ms: int, concurrency: int) -> tuple[list[tuple[str, Run]], str]:
    """The runs, and the transport AsyncJira chose for the server."""
    import httpx

    from jirakit import AsyncJira, BasicAuth, Jira, RateLimitConfig

    slow = f"{url}/_latency/{latency_ms}"
    used: list[str] = []
    with Jira(slow, auth=BasicAuth(USER, TOKEN)) as jira:
        sync_run = _timed(lambda: jira.issues.get(KEY).key, n)

    async def gathered(get: Callable[[], Awaitable[Any]]) -> Run:
        async def many(count: int) -> list[Any]:
            return await asyncio.gather(*(get() for _ in range(count)))

        await many(concurrency)  # open the connections
        wall0, cpu0 = time.perf_counter(), time.process_time()
        keys = await many(n)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        for key in set(keys):
            _check(key)
        return Run(cpu, wall, n)

    async def jirakit_async(transport: Any = None) -> Run:
        limits = RateLimitConfig(max_concurrency=concurrency)
        async with AsyncJira(
            slow, auth=BasicAuth(USER, TOKEN), rate_limit=limits, transport=transport
        ) as ajira:
            if transport is None:
                used.append(transport_used(ajira, slow))

            async def get() -> Any:
                return (await ajira.issues.get(KEY)).key

            return await gathered(get)

    async def raw_async() -> Run:
        # What jirakit does, minus jirakit: a pool of `concurrency` connections and a
        # semaphore in front of it.
        limits = httpx.Limits(max_connections=concurrency)
        slots = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(auth=(USER, TOKEN), limits=limits) as client:

            async def get() -> Any:
                async with slots:
                    response = await client.get(f"{slow}/rest/api/3/issue/{KEY}")
                return response.raise_for_status().json()["key"]

            return await gathered(get)

    runs = [
        ("jirakit sync, sequential", sync_run),
        (f"jirakit async, concurrency {concurrency}", asyncio.run(jirakit_async())),
    ]
    transport = aiohttp_transport(concurrency)
    if transport is not None:
        name = f"jirakit async, concurrency {concurrency}, httpx-aiohttp transport"
        runs.append((name, asyncio.run(jirakit_async(transport))))
    name = f"raw httpx.AsyncClient, concurrency {concurrency} (reference)"
    runs.append((name, asyncio.run(raw_async())))
    return runs, used[0]


def transport_used(ajira: Any, url: str) -> str:
    """Which transport httpx picks for the site (private httpx and jirakit attributes:
    reported, not relied on)."""
    import httpx

    from jirakit.client._transport import ShardedAsyncTransport

    chosen = ajira._http._transport_for_url(httpx.URL(url))
    if isinstance(chosen, ShardedAsyncTransport):
        return f"sharded, {chosen.shards} pools of up to 4 connections"
    return f"one httpx pool ({type(chosen).__name__})"


# -- report ----------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _importable(module: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return "no"
    return "yes"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "-"


def _proxy_env() -> str:
    """The *_proxy variables as the run sees them, credentials in proxy URLs masked."""
    shown = []
    for name in PROXY_VARS:
        value = os.environ.get(name)
        if value:
            shown.append(f"{name}={re.sub(r'//[^/@]*@', '//***@', value)}")
    return " ".join(shown) or "none"


def environment(url: str) -> list[str]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "-"
    versions = ", ".join(
        f"{d} {_version(d)}"
        for d in ("jirakit", "httpx", "httpcore", "anyio", "jira", "atlassian-python-api")
    )
    return [
        f"command: {shlex.join([sys.executable, *sys.argv])}",
        f"python: {platform.python_implementation()} {platform.python_version()} "
        f"on {platform.platform()}",
        f"cpus: {os.cpu_count()} (usable: {affinity}); load average at start: {_load()}",
        f"packages: {versions}, requests {_version('requests')}, uvicorn {_version('uvicorn')};"
        f" sniffio importable: {_importable('sniffio')}",
        f"proxy environment: {_proxy_env()}",
        "issue body: {issue_source} ({issue_bytes:,} bytes for {key})".format(
            key=KEY, **server_stats(url)
        ),
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table, readable as plain text too."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 2)) if i == 0 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="CPU per request and async throughput of jirakit vs other Jira clients."
    )
    parser.add_argument("--requests", type=int, default=2000, help="part 1: requests per run")
    parser.add_argument("--repeats", type=int, default=3, help="part 1: runs per client (median)")
    parser.add_argument("--latency-ms", type=int, default=20, help="part 2: server latency")
    parser.add_argument("--concurrency", type=int, default=32, help="part 2: async in-flight")
    parser.add_argument(
        "--throughput-requests", type=int, default=640, help="part 2: requests per client"
    )
    parser.add_argument(
        "--small-issue",
        action="store_true",
        help="serve a ~1 KB issue instead of the recorded ~34 KB one (parsing costs less)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    # Every client honours *_proxy variables: when a proxy is set, keep the loopback server
    # out of it. NO_PROXY is left alone otherwise, so runs with and without it differ only
    # in what the caller set (AsyncJira used to lose its sharded pools to a bare NO_PROXY).
    if any(os.environ.get(v) for v in PROXY_VARS if v.lower() != "no_proxy"):
        for var in ("NO_PROXY", "no_proxy"):
            os.environ[var] = ",".join(
                filter(None, [os.environ.get(var), "127.0.0.1", "localhost"])
            )

    # Library defaults (WARNING) for every client's logger: nothing is printed per request,
    # and each client pays what it pays by default to decide not to log.
    for name in ("jirakit", "jira", "atlassian", "urllib3", "requests", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)

    with fake_jira(args.small_issue) as url:
        print("\n".join(environment(url)))
        print()

        before = server_stats(url)
        results = part1(url, args.requests, args.repeats)
        after = server_stats(url)
        served = after["hits"]["issue"] - before["hits"].get("issue", 0)
        server_us = (after["cpu_seconds"] - before["cpu_seconds"]) / served * 1e6
        base = next(r for r in results if r.name == "pycontribs jira")
        print(
            f"Part 1: CPU per request, GET issue/{KEY}, no added latency "
            f"({args.requests:,} requests x {args.repeats} rounds, median round; "
            f"warm-up {WARMUP}; server CPU {server_us:,.0f} us/request, not counted)"
        )
        rows = [
            [r.name, f"{r.cpu_us:,.0f}", f"{r.rps:,.0f}", f"{r.cpu_us / base.cpu_us:.2f}x"]
            for r in results
        ]
        print(table(["client", "CPU us/request", "requests/s", "CPU vs pycontribs"], rows))
        print()

        runs, used = part2(url, args.throughput_requests, args.latency_ms, args.concurrency)
        ceiling = args.concurrency * 1000 / args.latency_ms if args.latency_ms else float("inf")
        print(
            f"Part 2: throughput, server latency {args.latency_ms} ms, "
            f"{args.throughput_requests:,} requests each "
            f"(ideal: sync {1000 / max(args.latency_ms, 1):,.0f} req/s, "
            f"async {ceiling:,.0f} req/s)"
        )
        sync_run = runs[0][1]
        rows = [
            [name, f"{run.rps:,.1f}", f"{run.cpu_us:,.0f}", f"{run.rps / sync_run.rps:.1f}x"]
            for name, run in runs
        ]
        print(table(["client", "requests/s", "CPU us/request", "vs jirakit sync"], rows))
        print(f"AsyncJira's transport for the server: {used}")
        print()

        stats = server_stats(url)
        if stats["unexpected"]:
            print(f"server: unexpected requests: {stats['unexpected']}")
    print(f"load average at end: {_load()}")

    verdicts = []
    for r in results:
        if r.name.startswith("jirakit"):
            ratio = r.cpu_us / base.cpu_us
            ok = ratio <= CPU_TARGET
            if not r.optional:
                verdicts.append(ok)
            print(
                f"{r.name}: CPU/request {ratio:.2f}x pycontribs jira "
                f"(target <= {CPU_TARGET}x): {'met' if ok else 'MISSED'}"
                f"{' (optional setup, not checked)' if r.optional else ''}"
            )
    for i, (name, run) in enumerate(runs[1:-1]):
        speedup = run.rps / sync_run.rps
        ok = speedup >= THROUGHPUT_TARGET
        if i == 0:
            verdicts.append(ok)
        print(
            f"{name} vs jirakit sync: {speedup:.1f}x requests/s "
            f"(target >= {THROUGHPUT_TARGET}x): {'met' if ok else 'MISSED'}"
            f"{' (optional setup, not checked)' if i else ''}"
        )
    return 1 if args.check and not all(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
