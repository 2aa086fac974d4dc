"""Sandbox scale benchmark: generation, memory, search latencies, GET issue throughput.

    .venv/bin/python benchmarks/sandbox.py                 # 100,000 issues (the target size)
    .venv/bin/python benchmarks/sandbox.py --issues 20000  # quicker

Targets (issue #4): 100k issues generated in <= 60 s and served in <= 2 GiB RSS;
search/jql page of 100 with fields=*all p50 <= 10 ms, p99 <= 50 ms in-process; id-only
page of 5000 p50 <= 50 ms; GET issue >= 500 req/s over loopback with one worker.

Search pages are measured three times: *cold* (each page renders issues never rendered
before), *warm* (the same pages again: rendered issue JSON is cached per issue) and *after
an edit* (the same pages once more after one issue's summary changed through the API: only
that issue and the issues embedding it are rendered again).
GET issue is driven by a separate client process (raw HTTP/1.1 keep-alive sockets, so the
client's own overhead stays small and off the server's core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from typing import Any

import httpx

from jirakit.sandbox import Sandbox


def rss_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def edit_one(sb: Sandbox, key: str) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.app), base_url="http://bench", auth=sb.auth
    ) as c:
        r = await c.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "Edited"}})
        assert r.status_code == 204, r.text


async def page_latencies(sb: Sandbox, params: dict[str, Any], pages: int) -> list[float]:
    """Latency (ms) of each page while following nextPageToken from the first page."""
    out: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.app), base_url="http://bench", auth=sb.auth
    ) as c:
        token = None
        for _ in range(pages):
            p = dict(params)
            if token:
                p["nextPageToken"] = token
            t = time.perf_counter()
            r = await c.get("/rest/api/3/search/jql", params=p)
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            token = r.json().get("nextPageToken")
            if token is None:
                break
    return out


CLIENT = textwrap.dedent(
    """
    import base64, socket, sys, threading, time
    host, port, n, threads, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(",")
    auth = base64.b64encode(b"admin@example.com:sandbox-token").decode()
    done = [0]
    def worker(k):
        s = socket.create_connection((host, port))
        f = s.makefile("rb")
        for i in range(n):
            key = keys[(k * n + i) % len(keys)]
            s.sendall(f"GET /rest/api/3/issue/{key} HTTP/1.1\\r\\nHost: {host}\\r\\nAuthorization: Basic {auth}\\r\\n\\r\\n".encode())
            status = f.readline()
            assert b" 200 " in status, status
            length = 0
            while True:
                line = f.readline()
                if line in (b"\\r\\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
        s.close()
    t = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    [x.start() for x in ts]
    [x.join() for x in ts]
    print(threads * n / (time.perf_counter() - t))
    """
)


def get_rate(sb: Sandbox, keys: list[str], requests: int, threads: int) -> float:
    with sb.serve() as url:
        host, port = url.removeprefix("http://").split(":")
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CLIENT,
                host,
                port,
                str(requests // threads),
                str(threads),
                ",".join(keys),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=100_000)
    ap.add_argument("--projects", type=int, default=3)
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--get-requests", type=int, default=4000)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()
    figures: dict[str, Any] = {"issues": args.issues, "cpus": os.cpu_count()}

    t = time.perf_counter()
    sb = Sandbox(seed=0, issues=args.issues, projects=args.projects)
    figures["generate_s"] = round(time.perf_counter() - t, 2)
    figures["rss_after_generate_mib"] = round(rss_mib())
    print(
        f"generated {args.issues} issues in {figures['generate_s']} s; RSS {figures['rss_after_generate_mib']} MiB"
    )

    jql = "project = ENG ORDER BY key"
    cases = {
        "all_100": {"jql": jql, "fields": "*all", "maxResults": 100},
        "ids_5000": {"jql": "project = ENG", "maxResults": 5000},
    }
    for name, params in cases.items():
        cold = asyncio.run(page_latencies(sb, params, args.pages))
        warm = asyncio.run(page_latencies(sb, params, args.pages))
        later = cold[1:] or cold
        figures[name] = {
            "first_page_ms": round(cold[0], 1),
            "cold_p50_ms": round(statistics.median(later), 1),
            "cold_p99_ms": round(pct(later, 0.99), 1),
            "warm_p50_ms": round(statistics.median(warm[1:] or warm), 1),
            "warm_p99_ms": round(pct(warm[1:] or warm, 0.99), 1),
            "pages": len(cold),
        }
        if name == "all_100":
            asyncio.run(edit_one(sb, "ENG-500"))
            edited = asyncio.run(page_latencies(sb, params, args.pages))
            figures[name]["after_edit_p50_ms"] = round(statistics.median(edited[1:] or edited), 1)
        print(f"search/jql {name}: {figures[name]}")

    keys = [r.key for r in sb.store.iter_project_issues(10001)][:1000]  # OPS: never rendered above
    figures["get_issue_rps_cold"] = round(get_rate(sb, keys, min(args.get_requests, len(keys)), 4))
    figures["get_issue_rps_warm"] = round(get_rate(sb, keys, args.get_requests, 4))
    print(
        f"GET issue over loopback: {figures['get_issue_rps_cold']} req/s cold, {figures['get_issue_rps_warm']} req/s warm"
    )
    figures["rss_after_serving_mib"] = round(rss_mib())
    print(f"RSS after serving: {figures['rss_after_serving_mib']} MiB")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
