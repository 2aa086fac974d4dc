"""``kill -9`` the real ``jirakit webhooks serve`` process while deliveries pour in: every
delivery answered 2xx is in the inbox afterwards, none is stored or applied twice.

The sender acts like Jira: a delivery without a 2xx (refused connection, reset, timeout)
is sent again, with the same identifier, until the receiver answers 2xx."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from webhook_helpers import SECRET, hmac_headers, issue_body

from jirakit.webhooks.store import Inbox

READY = re.compile(r"POST (http://\S+)/webhooks/jira")


@contextmanager
def receiver_process(
    store: str, log: Path, *, port: int = 0
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    env = {**os.environ, "JIRAKIT_WEBHOOK_SECRET": SECRET}
    start = log.stat().st_size if log.exists() else 0
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "jirakit", "webhooks", "serve", "--port", str(port)),
                *("--store", store, "--synchronous", "NORMAL", "--retention", "0"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            found = READY.findall(log.read_bytes()[start:].decode(errors="replace"))
            if found:
                url = found[-1]
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"receiver did not start:\n{log.read_text()}")
            else:
                time.sleep(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


class Sender:
    """Concurrent Jira-like senders: each delivery is posted until it gets a 2xx."""

    def __init__(self, deliveries: list[tuple[str, bytes]]) -> None:
        self.todo = list(deliveries)
        self.acked: set[str] = set()
        self.lock = threading.Lock()
        self.url = ""
        self.first_ack = threading.Event()  # set by each run's first 2xx

    def run(self, url: str, seconds: float, threads: int = 6) -> None:
        self.url = url
        stop = time.monotonic() + seconds
        workers = [
            threading.Thread(target=self._work, args=(stop,), daemon=True) for _ in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def _work(self, stop: float) -> None:
        with httpx.Client(timeout=2) as http:
            while time.monotonic() < stop:
                with self.lock:
                    pending = [d for d in self.todo if d[0] not in self.acked]
                if not pending:
                    return
                ident, body = random.choice(pending[:50])
                headers = hmac_headers(body, ident=ident)
                try:
                    r = http.post(f"{self.url}/webhooks/jira", content=body, headers=headers)
                except httpx.HTTPError:
                    time.sleep(0.02)
                    continue
                if 200 <= r.status_code < 300:
                    with self.lock:
                        self.acked.add(ident)
                    self.first_ack.set()


def crash_loop(tmp_path: Path, kills: int, per_round: int) -> None:
    store = f"sqlite:///{tmp_path / 'inbox.db'}"
    log = tmp_path / "receiver.log"
    deliveries = [
        (str(uuid.uuid4()), issue_body(10_000 + n % 50, summary=f"change {n}"))
        for n in range(per_round * (kills + 1))
    ]
    sender = Sender(deliveries)
    rng = random.Random(7)
    acked_before_kill: set[str] = set()
    for round_no in range(kills + 1):
        with receiver_process(store, log) as (proc, url):
            if round_no < kills:
                # kill at a random moment once deliveries are flowing
                delay = rng.uniform(0.05, 0.8)
                sender.first_ack.clear()

                def kill(pid: int = proc.pid, delay: float = delay) -> None:
                    if sender.first_ack.wait(20):
                        time.sleep(delay)
                    os.kill(pid, signal.SIGKILL)

                threading.Thread(target=kill, daemon=True).start()
                sender.run(url, seconds=3.0)
                proc.wait(10)
                assert proc.returncode == -signal.SIGKILL
                # everything answered 2xx before the kill must have survived it
                with sender.lock:
                    grew = len(sender.acked) > len(acked_before_kill)
                    acked_before_kill = set(sender.acked)
                assert grew, (
                    f"round {round_no}: nothing acknowledged before the kill ({len(acked_before_kill)})"
                )
                assert len(acked_before_kill) < len(deliveries)
                with Inbox(store) as box:
                    stored = {r.delivery_id for r in box.deliveries()}
                lost = acked_before_kill - stored
                assert not lost, f"round {round_no}: {len(lost)} acknowledged deliveries lost"
            else:  # the last run: Jira's retries bring the rest; wait until all applied
                sender.run(url, seconds=60)
                assert sender.acked == {d[0] for d in deliveries}
                deadline = time.monotonic() + 60
                while True:
                    with Inbox(store) as box:
                        counts = box.counts()
                    if counts.get("applied") == len(deliveries) or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                assert counts == {"applied": len(deliveries)}
    with Inbox(store) as box:
        rows = box.deliveries()
        journal = box.journal_counts()
    ids = [r.delivery_id for r in rows]
    assert len(ids) == len(set(ids)) == len(deliveries)  # stored once each
    assert set(journal) == set(ids) and set(journal.values()) == {1}  # applied once each


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path):
    crash_loop(tmp_path, kills=2, per_round=150)


@pytest.mark.slow
def test_kill_9_five_times_under_load(tmp_path: Path):
    crash_loop(tmp_path, kills=6, per_round=400)


@pytest.mark.slow
def test_kill_9_five_times_while_the_sandbox_retries(tmp_path: Path):
    """The sandbox delivers real events (duplicates and reordering on) to the real
    ``jirakit webhooks serve``, which is killed with SIGKILL at random moments and
    restarted on the same port while the sandbox keeps retrying: nothing is lost, nothing
    is stored or applied twice."""
    import socket

    from jirakit import BasicAuth, Jira
    from jirakit.sandbox import Sandbox

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = f"sqlite:///{tmp_path / 'inbox.db'}"
    log = tmp_path / "receiver.log"
    rng = random.Random(11)
    sandbox = Sandbox(
        seed=6,
        issues=60,
        projects=2,
        webhook_backoff=0.05,
        webhook_duplicates=0.2,
        webhook_reorder=0.2,
    )
    sandbox.webhooks.max_attempts = 40  # Jira retries for about 30 minutes; so does this
    sandbox.webhooks.backoff_cap = 0.5
    keys = sorted(r.key for r in sandbox.store.issues.values())
    with sandbox, sandbox.serve() as site, Jira(site, auth=BasicAuth(*sandbox.auth)) as jira:
        http = httpx.Client(base_url=site, auth=sandbox.auth)
        registered = False
        for round_no in range(6):
            with receiver_process(store, log, port=port) as (proc, url):
                if not registered:
                    from webhook_helpers import register_admin

                    register_admin(http, f"{url}/webhooks/jira")
                    registered = True
                edits = 0
                deadline = time.monotonic() + rng.uniform(0.5, 1.5)
                while time.monotonic() < deadline:
                    key = rng.choice(keys)
                    jira.issues.edit(key, summary=f"round {round_no} edit {edits}")
                    edits += 1
                if round_no < 5:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(10)
                    # Jira keeps changing things (and retrying) while the receiver is down
                    for n in range(10):
                        jira.issues.edit(rng.choice(keys), summary=f"while down {round_no}.{n}")
                else:
                    assert sandbox.webhooks.flush(120), "deliveries still queued"
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        with Inbox(store) as box:
                            if not box.has_pending():
                                break
                        time.sleep(0.1)
        http.close()
    engine = sandbox.webhooks
    assert engine.failed == []
    sent = {s.identifier for s in engine.log}
    assert any(s.status is None for s in engine.log)  # some attempts met a dead receiver
    with Inbox(store) as box:
        rows = box.deliveries()
        journal = box.journal_counts()
    ids = [r.delivery_id for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == sent
    assert {r.status for r in rows} == {"applied"}
    assert set(journal) == sent and set(journal.values()) == {1}
