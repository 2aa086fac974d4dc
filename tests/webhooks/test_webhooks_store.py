"""The inbox's SQLite housekeeping: checkpoints that keep the WAL small under steady load."""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid
from pathlib import Path

from jirakit.webhooks.store import Inbox, Incoming, now_ms


def _restarts(wal: Path) -> int:
    """The WAL header's first salt: SQLite adds one to it each time it starts the WAL over
    from its beginning (whichever connection does)."""
    with wal.open("rb") as f:
        header = f.read(32)
    return int(struct.unpack(">I", header[16:20])[0])


def _delivery(body: bytes) -> Incoming:
    return Incoming(
        delivery_id=str(uuid.uuid4()),
        body=body,
        headers={"content-type": "application/json"},
        received_ms=now_ms(),
        source="hmac",
    )


def test_a_checkpoint_lets_the_wal_start_over_while_a_writer_never_pauses(tmp_path: Path):
    # A receiver under steady load commits again while a checkpoint copies the WAL: a
    # checkpoint that only copies what was there when it began never catches up, and the
    # WAL is not started over until wal_autocheckpoint runs one inside a commit.
    db = tmp_path / "inbox.db"
    body = b'{"webhookEvent":"jira:issue_updated","pad":"' + os.urandom(1500).hex().encode() + b'"}'
    stop = threading.Event()
    stored: list[int] = []
    with Inbox(f"sqlite:///{db}", synchronous="NORMAL") as inbox:
        inbox.store(_delivery(body))
        before = _restarts(Path(f"{db}-wal"))

        def write() -> None:
            while not stop.is_set():
                inbox.store(_delivery(body))
                stored.append(1)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            done = []
            # Not a speed bound: three passes usually take well under a second; the limit
            # only stops a run whose checkpoints never catch up (the failure asserted below).
            deadline = time.monotonic() + 15
            while len(done) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
                if inbox.checkpoint(restart_at=1):
                    done.append(len(stored))
            time.sleep(0.05)  # the writer commits again: it starts the WAL over
        finally:
            stop.set()
            writer.join(10)
        after = _restarts(Path(f"{db}-wal"))
        total = inbox.counts()["accepted"]
    assert len(done) == 3, "no checkpoint copied the whole WAL"
    assert done[-1] > done[0], "the writer paused during the checkpoints"
    assert (after - before) % 2**32 >= 2, (before, after)
    assert total == len(stored) + 1


def test_a_small_wal_is_copied_and_left_for_the_writer_to_start_over(tmp_path: Path):
    db = tmp_path / "inbox.db"
    with Inbox(f"sqlite:///{db}", synchronous="NORMAL") as inbox:
        inbox.store(_delivery(b'{"webhookEvent":"jira:issue_created"}'))
        before = _restarts(Path(f"{db}-wal"))
        assert not inbox.checkpoint()  # copied, not restarted by the checkpoint itself
        inbox.store(_delivery(b'{"webhookEvent":"jira:issue_updated"}'))
        assert (_restarts(Path(f"{db}-wal")) - before) % 2**32 == 1  # the writer did
        assert inbox.counts() == {"accepted": 2}
