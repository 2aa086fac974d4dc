"""Webhook receiver benchmark: durable ingest rate and ack latency, against a plain FastAPI
handler that inserts each delivery into SQLite.

    .venv/bin/python benchmarks/webhooks.py                      # SQLite (FULL, NORMAL), Postgres
    .venv/bin/python benchmarks/webhooks.py --stores sqlite --seconds 5

Targets (issue #12): >= 2,000 verified deliveries/s with SQLite, p99 ack <= 20 ms.

Each server runs in its own process (uvicorn, one worker, HTTP/1.1 keep-alive) and is
driven by this process over raw sockets with real sandbox payloads (issue, comment and
worklog events, 2-15 KB), each delivery signed (``X-Hub-Signature``) under its own
``X-Atlassian-Webhook-Identifier``. Two measurements per server:

- *throughput*: closed loop, ``--connections`` connections each sending the next delivery
  as soon as the last is answered, for ``--seconds``: deliveries answered 2xx per second;
- *latency at a fixed rate*: open loop at ``--rate`` deliveries/s; each delivery's latency
  is measured from the moment it was due (not from when a busy connection got to send
  it), so a stalled server cannot hide its queue (no coordinated omission).

After each run the store is read back: every delivery answered 2xx must be in it.

jirakit runs as ``jirakit webhooks serve`` does: verifying each signature and committing
through its group-commit writer before answering, in two set-ups: *all in one* (the same
process applies what it stored, on a background thread, while it receives) and *ingest
only* (``serve --no-process``; a ``jirakit webhooks work`` process started after the load
applies the backlog, and that apply rate is reported on its own). The baseline is what a
plain handler looks like: ``async def hook(request)``: read the body, ``INSERT`` it into
SQLite (WAL, the same ``synchronous`` setting), commit, answer; no signature check, no
dedupe. The server's CPU time per delivery (all its threads, from ``/proc``) is reported
too: on a shared machine it moves far less than the rates do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET = "bench-secret"
PG_DSN = os.environ.get("JIRAKIT_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")


# -- payloads --------------------------------------------------------------------------------


def sample_bodies(n: int = 40) -> list[bytes]:
    """Real deliveries from the sandbox: edits, comments, worklogs, transitions."""
    import httpx

    from jirakit.sandbox import Sandbox
    from jirakit.testing.webhooks import WebhookReceiver

    events = [
        "jira:issue_created",
        "jira:issue_updated",
        "comment_created",
        "worklog_created",
    ]
    with (
        Sandbox(seed=1, issues=40, projects=2, webhook_backoff=0.01) as sb,
        sb.serve() as url,
        WebhookReceiver(secret=SECRET) as hook,
        httpx.Client(base_url=url, auth=sb.auth) as http,
    ):
        http.post(
            "/rest/webhooks/1.0/webhook",
            json={"name": "bench", "url": hook.url, "events": events, "secret": SECRET},
        ).raise_for_status()
        keys = sorted(r.key for r in sb.store.issues.values())[:n]
        for i, key in enumerate(keys):
            if i % 3 == 0:
                http.post(f"/rest/api/2/issue/{key}/comment", json={"body": f"comment {i}"})
            elif i % 3 == 1:
                http.post(f"/rest/api/2/issue/{key}/worklog", json={"timeSpentSeconds": 600})
            else:
                http.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": f"s{i}"}})
        sb.webhooks.flush(30)
        return [d.body for d in hook.deliveries][:n]


def render(body: bytes, signature: str, path: str = "/webhooks/jira") -> bytes:
    ident = uuid.uuid4()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Hub-Signature: {signature}\r\n"
        f"X-Atlassian-Webhook-Identifier: {ident}\r\n\r\n"
    )
    return head.encode() + body


class Requests:
    """An endless supply of distinct signed deliveries (pre-rendered in batches)."""

    def __init__(self, bodies: list[bytes]) -> None:
        from jirakit.webhooks import sign

        self.templates = [(b, sign(b, SECRET)) for b in bodies]
        self.n = 0

    def next(self) -> bytes:
        body, signature = self.templates[self.n % len(self.templates)]
        self.n += 1
        return render(body, signature)


# -- the load generator ---------------------------------------------------------------------


@dataclass
class Run:
    sent: int = 0
    ok: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds
    seconds: float = 0.0

    def record(self, status: int, latency: float) -> None:
        self.sent += 1
        if 200 <= status < 300:
            self.ok += 1
            self.latencies.append(latency)
        else:
            self.errors[status] = self.errors.get(status, 0) + 1

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rate": round(self.ok / self.seconds) if self.seconds else 0,
            "p50_ms": round(self.pct(0.50), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "max_ms": round(self.pct(1.0), 2),
            "errors": self.errors,
        }


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> int:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if match:
        await reader.readexactly(int(match.group(1)))
    return status


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    import socket

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


async def closed_loop(port: int, reqs: Requests, connections: int, seconds: float) -> Run:
    run = Run()
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await _connect(port)
        try:
            while time.perf_counter() < stop:
                req = reqs.next()
                t = time.perf_counter()
                status = await _exchange(reader, writer, req)
                run.record(status, time.perf_counter() - t)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    run.seconds = time.perf_counter() - started
    return run


async def open_loop(
    port: int, reqs: Requests, rate: float, connections: int, seconds: float
) -> Run:
    """Deliveries due every 1/rate s, spread over the connections; latency from due time."""
    run = Run()
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    start = time.perf_counter() + 0.2

    async def schedule() -> None:
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, reqs.next()))
        for _ in range(connections):
            queue.put_nowait(None)

    async def worker() -> None:
        reader, writer = await _connect(port)
        try:
            while (item := await queue.get()) is not None:
                due, req = item
                status = await _exchange(reader, writer, req)
                run.record(status, time.perf_counter() - due)
        finally:
            writer.close()

    await asyncio.gather(schedule(), *(worker() for _ in range(connections)))
    run.seconds = time.perf_counter() - start
    return run


# -- the servers -------------------------------------------------------------------------------

BASELINE = r"""
import socket, sqlite3, sys, time, uvicorn
from fastapi import FastAPI, Request

db, synchronous = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, check_same_thread=False)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute(f"PRAGMA synchronous={synchronous}")
conn.execute("CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, "
             "delivery_id TEXT, received REAL, body BLOB)")
conn.commit()
app = FastAPI()

@app.post("/webhooks/jira")
async def hook(request: Request):
    body = await request.body()
    conn.execute("INSERT INTO deliveries (delivery_id, received, body) VALUES (?, ?, ?)",
                 (request.headers.get("x-atlassian-webhook-identifier"), time.time(), body))
    conn.commit()
    return {"status": "accepted"}

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
print("PORT", sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
"""


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    count: Any  # () -> rows stored
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    store: str = ""

    def stop(self) -> None:
        for proc in [self.proc, *self.helpers]:
            proc.terminate()
            proc.wait(20)


def _wait_port(proc: subprocess.Popen[bytes], pattern: str, log: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = re.search(pattern, text)
        if found:
            return int(found.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{text}")
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def start_baseline(work: Path, synchronous: str) -> Server:
    db = work / f"baseline-{synchronous}.db"
    log = work / f"baseline-{synchronous}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", BASELINE, str(db), synchronous], stdout=out, stderr=out
        )
    port = _wait_port(proc, r"PORT (\d+)", log)

    def count() -> int:
        with sqlite3.connect(db) as c:
            return int(c.execute("select count(*) from deliveries").fetchone()[0])

    return Server(f"FastAPI + SQLite ({synchronous})", proc, port, count)


def start_jirakit(
    work: Path, store: str, label: str, synchronous: str = "FULL", *, split: bool = False
) -> Server:
    """``jirakit webhooks serve``; with ``split``, ``serve --no-process`` (ingest only: a
    ``jirakit webhooks work`` process applies what it stored afterwards, timed apart)."""
    log = work / f"jirakit-{label}.log"
    env = {**os.environ, "JIRAKIT_WEBHOOK_SECRET": SECRET}
    args = [sys.executable, "-m", "jirakit", "webhooks", "serve", "--port", "0", "--store", store]
    args += ["--synchronous", synchronous, "--retention", "0"]
    if split:
        args.append("--no-process")
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out, env=env)
    port = _wait_port(proc, r"POST http://127\.0\.0\.1:(\d+)/webhooks/jira", log)
    helpers: list[subprocess.Popen[bytes]] = []

    def count() -> int:
        from jirakit.webhooks.store import Inbox

        box = Inbox(store)
        try:
            return sum(box.counts().values())
        finally:
            box.close()

    return Server(f"jirakit ({label})", proc, port, count, helpers, store)


def postgres_store(work: Path) -> tuple[str, Any] | None:
    try:
        import psycopg
    except ImportError:
        return None
    name = f"jirakit_wh_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"Postgres unavailable ({exc}); skipped", file=sys.stderr)
        return None
    dsn = dict(p.split("=", 1) for p in PG_DSN.split())
    url = f"postgresql://{dsn.get('user', 'postgres')}@{dsn.get('host', '127.0.0.1')}:{dsn.get('port', '5432')}/{name}"

    def drop() -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


# -- main -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def apply_rate(store: str, work: Path) -> dict[str, Any]:
    """Start ``jirakit webhooks work`` on a store full of accepted deliveries and time
    how long it takes to apply them all."""
    from jirakit.webhooks.store import Inbox

    box = Inbox(store)
    try:
        total = box.counts().get("accepted", 0)
        worker = [sys.executable, "-m", "jirakit", "webhooks", "work", "--store", store]
        with (work / "worker.log").open("ab") as out:
            proc = subprocess.Popen([*worker, "--retention", "0"], stdout=out, stderr=out)
        started = time.perf_counter()
        while box.has_pending() and time.perf_counter() - started < 600:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        proc.terminate()
        proc.wait(20)
        applied = box.counts().get("applied", 0)
    finally:
        box.close()
    return {"applied": applied, "of": total, "rate": round(applied / seconds) if seconds else 0}


def measure(server: Server, reqs: Requests, args: argparse.Namespace) -> dict[str, Any]:
    asyncio.run(closed_loop(server.port, reqs, 4, 1.0))  # warm up
    cpu = cpu_seconds(server.proc.pid)
    tput = asyncio.run(closed_loop(server.port, reqs, args.connections, args.seconds))
    time.sleep(2.0)  # let a background applier catch up: its CPU counts too
    cpu_per = (cpu_seconds(server.proc.pid) - cpu) / max(1, tput.ok)
    fixed = asyncio.run(open_loop(server.port, reqs, args.rate, args.connections, args.seconds))
    load = os.getloadavg()[0]  # the machine's 1-minute load average, others' work included
    server.stop()
    stored = server.count()
    acked = tput.ok + fixed.ok
    return {
        "server": server.name,
        "throughput": tput.summary(),
        "server_cpu_us_per_delivery": round(cpu_per * 1e6),
        f"at_{int(args.rate)}": fixed.summary(),
        "stored": stored,
        "acked_measured": acked,
        "load": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stores", default="baseline,sqlite,postgres")
    parser.add_argument("--json", type=Path, default=None, help="Write the results here too.")
    args = parser.parse_args()
    wanted = set(args.stores.split(","))
    reqs = Requests(sample_bodies())
    sizes = sorted(len(b) for b, _ in reqs.templates)
    print(f"payloads: {len(sizes)} real deliveries, {sizes[0]}-{sizes[-1]} bytes", flush=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="jirakit-wh-bench-") as tmp:
        work = Path(tmp)
        plans: list[tuple[str, Any]] = []
        for sync in ("NORMAL", "FULL"):
            if "baseline" in wanted:
                plans.append((f"baseline-{sync}", lambda s=sync: start_baseline(work, s)))
            if "sqlite" in wanted:
                store = f"sqlite:///{work / f'inbox-{sync}.db'}"
                plans.append(
                    (
                        f"sqlite-{sync}",
                        lambda st=store, s=sync: start_jirakit(work, st, f"SQLite, {s}", s),
                    )
                )
                split = f"sqlite:///{work / f'split-{sync}.db'}"
                plans.append(
                    (
                        f"split-{sync}",
                        lambda st=split, s=sync: start_jirakit(
                            work, st, f"SQLite, {s}, ingest only", s, split=True
                        ),
                    )
                )
        cleanup = None
        if "postgres" in wanted:
            pg = postgres_store(work)
            if pg is not None:
                url, cleanup = pg
                plans.append(
                    (
                        "split-postgres",
                        lambda u=url: start_jirakit(work, u, "Postgres, ingest only", split=True),
                    )
                )
        try:
            for label, start in plans:
                server = start()
                result = measure(server, reqs, args)
                result["label"] = label
                if label.startswith("split"):  # then the apply side, on its own
                    result["apply"] = apply_rate(server.store, work)
                results.append(result)
                print(json.dumps(result), flush=True)
        finally:
            if cleanup is not None:
                cleanup()
    print()
    print(
        f"| server | deliveries/s (closed loop, {args.connections} conns) | p50 / p99 ms "
        f"| server CPU µs / delivery | at {int(args.rate)}/s: achieved, p50 / p99 / max ms "
        "| load | errors | stored >= acked |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        t, f = r["throughput"], r[f"at_{int(args.rate)}"]
        print(
            f"| {r['server']} | {t['rate']:,} | {t['p50_ms']} / {t['p99_ms']} "
            f"| {r['server_cpu_us_per_delivery']} "
            f"| {f['rate']:,}/s, {f['p50_ms']} / {f['p99_ms']} / {f['max_ms']} | {r['load']} "
            f"| {t['errors'] or f['errors'] or '-'} | {r['stored'] >= r['acked_measured']} |"
        )
    for r in results:
        if "apply" in r:
            a = r["apply"]
            print(f"{r['server']}: then applied {a['applied']:,} of {a['of']:,} at {a['rate']:,}/s")
    base = {r["label"].split("-")[1]: r for r in results if r["label"].startswith("baseline")}
    for r in results:
        if r["label"].startswith(("sqlite", "split")):
            sync = r["label"].split("-")[1]
            if sync in base:
                ratio = r["throughput"]["rate"] / max(1, base[sync]["throughput"]["rate"])
                print(f"{r['server']} / baseline throughput: {ratio:.2f}x")
                p99 = r[f"at_{int(args.rate)}"]["p99_ms"]
                base_p99 = max(0.01, base[sync][f"at_{int(args.rate)}"]["p99_ms"])
                print(f"{r['server']} / baseline p99 at {int(args.rate)}/s: {p99 / base_p99:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
