"""Service overhead: get-task and list-tasks through `jirakit serve` against the same calls
made directly with the jirakit client, over the same served sandbox.

    python benchmarks/service.py [--requests 300] [--issues 500] [--limit 50] [--latency 50-150]

Three processes on loopback: the sandbox (``jirakit sandbox serve``), the service
(``jirakit serve`` on a SQLite file, one connection to the sandbox), and this one, which
times sequential requests after a warm-up, direct and service calls alternated (so both
see the same machine load):

- direct:  ``Jira(sandbox).issues.get(key)`` and ``search.page(jql, fields=["*all"],
  max_results=limit)`` (the client's parsed models);
- service: ``GET /task/{connection}/task/{id}`` and ``GET /task/{connection}/task?limit=``
  with an httpx client (Unified's TaskTask JSON, parsed).

Reported: p50 and p99 latency of each, and the service/direct ratio. Goal: <= 1.2x at
p50. ``--latency MIN-MAX`` adds the sandbox's latency per request (milliseconds), as a real
Jira Cloud site has, so the ratio is measured where the service's fixed cost meets a
realistic call; without it the sandbox answers in under a millisecond and the second HTTP
hop alone is more than 20% of the call. See docs/benchmarks.md for figures.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from jirakit import BasicAuth, Jira

TOKEN = "bench-token"
EMAIL = "admin@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def jirakit(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "jirakit", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_pair(
    direct: Callable[[], Any], service: Callable[[], Any], n: int, warmup: int = 20
) -> tuple[list[float], list[float]]:
    """Latencies in ms, the two calls alternated so both see the same machine load."""
    for _ in range(warmup):
        direct()
        service()
    out: tuple[list[float], list[float]] = ([], [])
    for _ in range(n):
        for fn, samples in ((direct, out[0]), (service, out[1])):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument(
        "--latency", default=None, help="the sandbox's added latency per request, MIN-MAX ms"
    )
    args = parser.parse_args()
    latency = ["--latency", args.latency] if args.latency else []

    workdir = Path(tempfile.mkdtemp(prefix="jirakit-bench-"))
    db = f"sqlite:///{workdir / 'service.db'}"
    env = {**os.environ, "JIRAKIT_DB": db, "JIRAKIT_RATE_LIMIT": "0", "JIRAKIT_BACKGROUND": "false"}
    sandbox_port, service_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    service_url = f"http://127.0.0.1:{service_port}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jirakit", "sandbox", "serve", "--port", str(sandbox_port),
             "--issues", str(args.issues), "--api-token", TOKEN, *latency],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "jirakit", "serve", "--port", str(service_port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        wait_for(f"{sandbox_url}/rest/api/3/serverInfo")
        wait_for(f"{service_url}/healthz")
        key = jirakit("tenants", "create", "bench", env=env)
        conn = jirakit(
            "connections", "create", "--tenant", "bench", "--kind", "api_token",
            "--site", sandbox_url, "--email", EMAIL, "--token", TOKEN, env=env,
        )  # fmt: skip
        jql = "project IS NOT EMPTY ORDER BY updated DESC, key DESC"
        with (
            Jira(sandbox_url, auth=BasicAuth(EMAIL, TOKEN)) as jira,
            httpx.Client(base_url=service_url, headers={"Authorization": f"Bearer {key}"}) as api,
        ):
            first = api.get(f"/task/{conn}/task", params={"limit": 1}).json()[0]
            issue = first["id"]
            get_direct, get_service = timed_pair(
                lambda: jira.issues.get(issue).summary,
                lambda: api.get(f"/task/{conn}/task/{issue}").json()["name"],
                args.requests,
            )
            list_direct, list_service = timed_pair(
                lambda: jira.search.page(jql, fields=["*all"], max_results=args.limit).issues,
                lambda: api.get(f"/task/{conn}/task", params={"limit": args.limit}).json(),
                args.requests,
            )
            # Where the time goes: one bare request to the service (no Jira, no database),
            # and the same Jira call from an async client (as the service makes it).
            healthz, _ = timed_pair(lambda: api.get("/healthz"), lambda: None, args.requests)
            rows = {
                "service hop (healthz)": healthz,
                "get-task direct": get_direct,
                "get-task service": get_service,
                "list-tasks direct": list_direct,
                "list-tasks service": list_service,
            }
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    print(
        f"{args.requests} sequential requests each, sandbox with {args.issues} issues, "
        f"limit {args.limit}, added latency {args.latency or 'none'} ms"
    )
    print(f"{'case':<24}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, samples in rows.items():
        print(
            f"{name:<24}{percentile(samples, 0.5):9.2f}{percentile(samples, 0.99):9.2f}{statistics.mean(samples):9.2f}"
        )
    for what in ("get-task", "list-tasks"):
        d, s = rows[f"{what} direct"], rows[f"{what} service"]
        print(
            f"{what}: service/direct p50 {percentile(s, 0.5) / percentile(d, 0.5):.2f}x, "
            f"p99 {percentile(s, 0.99) / percentile(d, 0.99):.2f}x (goal <= 1.2x at p50)"
        )


if __name__ == "__main__":
    main()
