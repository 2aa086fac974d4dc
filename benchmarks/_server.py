"""A minimal, fast fake Jira for the client benchmarks, meant to run in its own process.

It answers only what the benchmarked clients ask for, with canned bodies encoded once:

- ``GET /rest/api/{2,3,latest}/issue/{key}``: a real recorded Cloud v3 issue (~50 KB,
  ``shared/jira/fixtures/cloud-v3-demisto/get_issue_test/raw_response.json``) with its
  ``key`` replaced by the requested one; a small built-in issue if the fixture is missing.
- ``GET /rest/api/{2,3,latest}/serverInfo`` (pycontribs ``jira`` calls it when it is
  constructed) and ``GET /rest/api/{2,3,latest}/myself``.
- ``GET /_stats``: how many requests each route got, the paths nobody expected, and the
  server process's CPU seconds so far.

A path prefix ``/_latency/{ms}`` delays the answer by that many milliseconds with
``asyncio.sleep`` (so concurrent requests overlap): point a client at
``http://127.0.0.1:PORT/_latency/20`` to give it a 20 ms server.

Anything else is a 404 with a Jira-shaped error body, counted and printed to stderr once
per path, so a client calling endpoints the benchmark does not expect is visible.

Run it as ``python benchmarks/_server.py``: it binds 127.0.0.1 on a free port (uvicorn,
HTTP/1.1 keep-alive), prints ``PORT <n>`` on stdout once it accepts connections, and
serves until it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

FIXTURE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "jira"
    / "fixtures"
    / "cloud-v3-demisto"
    / "get_issue_test"
    / "raw_response.json"
)

_KEY_MARK = "@@ISSUE-KEY@@"

FALLBACK_ISSUE: dict[str, Any] = {
    "expand": "renderedFields,names,schema,operations,editmeta,changelog",
    "id": "10001",
    "self": "https://example.atlassian.net/rest/api/3/issue/10001",
    "key": "BENCH-1",
    "fields": {
        "summary": "Benchmark issue",
        "issuetype": {"id": "10002", "name": "Task", "subtask": False},
        "project": {"id": "10000", "key": "BENCH", "name": "Benchmark"},
        "status": {
            "id": "3",
            "name": "In Progress",
            "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"},
        },
        "priority": {"id": "3", "name": "Medium"},
        "labels": ["bench", "perf"],
        "assignee": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Admin"},
        "reporter": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Admin"},
        "created": "2024-01-10T09:30:00.000+0000",
        "updated": "2024-01-11T10:00:00.000+0000",
        "description": {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Hello, world."}]}
            ],
        },
    },
}

SERVER_INFO: dict[str, Any] = {
    "baseUrl": "http://127.0.0.1",
    "version": "1001.0.0-SNAPSHOT",
    "versionNumbers": [1001, 0, 0],
    "deploymentType": "Cloud",
    "buildNumber": 100215,
    "buildDate": "2024-01-10T00:00:00.000+0000",
    "serverTime": "2024-01-10T09:30:00.000+0000",
    "scmInfo": "0123456789abcdef0123456789abcdef01234567",
    "serverTitle": "jirakit benchmark",
    "defaultLocale": {"locale": "en_US"},
}

MYSELF: dict[str, Any] = {
    "self": "http://127.0.0.1/rest/api/3/user?accountId=5b10a2844c20165700ede21g",
    "accountId": "5b10a2844c20165700ede21g",
    "accountType": "atlassian",
    "emailAddress": "admin@example.com",
    "displayName": "Admin",
    "active": True,
    "timeZone": "UTC",
    "locale": "en_US",
}

_ROUTE = re.compile(r"^(?:/_latency/(\d+))?/rest/api/(?:2|3|latest)/(?:issue/([^/]+)|(\w+))$")


def issue_template(small: bool = False) -> tuple[bytes, bytes, str]:
    """The issue body split around its key: ``(head, tail, source)``."""
    try:
        if small:
            raise OSError("the small built-in issue was asked for")
        issue = json.loads(FIXTURE.read_text(encoding="utf-8"))
        source = str(FIXTURE)
    except (OSError, ValueError):
        issue, source = FALLBACK_ISSUE, "small built-in issue"
    issue = dict(issue, key=_KEY_MARK)
    head, tail = json.dumps(issue, separators=(",", ":")).encode().split(_KEY_MARK.encode())
    return head, tail, source


class App:
    """A bare ASGI app: routing by one regex, bodies encoded once."""

    def __init__(self, small: bool = False) -> None:
        self.head, self.tail, self.source = issue_template(small)
        self.fixed = {
            "serverInfo": json.dumps(SERVER_INFO).encode(),
            "myself": json.dumps(MYSELF).encode(),
        }
        self.hits: Counter[str] = Counter()
        self.unexpected: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan is off; nothing else is expected
            return
        path: str = scope["path"]
        match = _ROUTE.match(path) if scope["method"] == "GET" else None
        status, body = 404, b""
        if match is not None:
            latency, key, name = match.groups()
            if key is not None:
                status, body = 200, b"".join((self.head, key.encode(), self.tail))
                self.hits["issue"] += 1
            elif name in self.fixed:
                status, body = 200, self.fixed[name]
                self.hits[name] += 1
            if latency and status == 200:
                await asyncio.sleep(int(latency) / 1000)
        elif path == "/_stats":
            status = 200
            body = json.dumps(
                {
                    "hits": self.hits,
                    "unexpected": self.unexpected,
                    "issue_source": self.source,
                    "issue_bytes": len(self.head) + len(self.tail) + len("BENCH-1"),
                    "cpu_seconds": time.process_time(),
                }
            ).encode()
        if status == 404:
            route = f"{scope['method']} {path}"
            if not self.unexpected[route]:
                print(f"[bench server] unexpected request: {route}", file=sys.stderr, flush=True)
            self.unexpected[route] += 1
            body = json.dumps({"errorMessages": [f"no route: {route}"], "errors": {}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json;charset=UTF-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument("--small-issue", action="store_true", help="serve the small issue")
    args = parser.parse_args(argv)

    # proto=IPPROTO_TCP, or asyncio does not set TCP_NODELAY on the accepted sockets and
    # every keep-alive response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]

    config = uvicorn.Config(
        App(small=args.small_issue),
        http="h11",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=60,
        backlog=1024,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
                return
            await asyncio.sleep(0.01)
        print(f"PORT {port}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
