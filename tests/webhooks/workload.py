"""A random workload of real changes through the client: create, edit, transition, comment
(add, edit, delete), worklog (add, edit, delete), link, delete. Each `step` makes one
change Jira accepts (a refused one, e.g. another thread deleted the issue first, is tried
again with another pick) and returns its kind."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from jirakit import Jira
from jirakit.errors import JiraError
from jirakit.sandbox import Sandbox

KINDS = (
    ("edit", 30),
    ("transition", 15),
    ("comment", 15),
    ("comment_edit", 5),
    ("comment_delete", 3),
    ("worklog", 10),
    ("worklog_edit", 4),
    ("worklog_delete", 3),
    ("create", 8),
    ("link", 3),
    ("delete", 4),
)


class Shared:
    """What all workers know: live leaf issues and the comments/worklogs made on them."""

    def __init__(self, sandbox: Sandbox) -> None:
        store = sandbox.store
        self.lock = threading.Lock()
        self.keys = sorted(r.key for r in store.issues.values() if not store.children.get(r.id))
        self.ids = {r.key: int(r.id) for r in store.issues.values()}
        self.projects = sorted({k.split("-")[0] for k in self.keys})
        self.comments: dict[str, list[str]] = {}
        self.worklogs: dict[str, list[str]] = {}
        self.deleted: list[str] = []
        self.done: Counter[str] = Counter()

    @property
    def deleted_ids(self) -> set[int]:
        with self.lock:
            return {self.ids[k] for k in self.deleted}

    def pick(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.keys) if self.keys else None


class Worker:
    def __init__(self, jira: Jira, shared: Shared, seed: int) -> None:
        self.jira = jira
        self.shared = shared
        self.rng = random.Random(seed)
        self.kinds = [k for k, _ in KINDS]
        self.weights = [w for _, w in KINDS]

    def run(self, changes: int) -> None:
        made = 0
        while made < changes:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            try:
                ok = getattr(self, f"_{kind}")()
            except JiraError:
                ok = False
            if ok:
                made += 1
                with self.shared.lock:
                    self.shared.done[kind] += 1

    # -- the changes --------------------------------------------------------------------

    def _edit(self) -> bool:
        key = self.shared.pick(self.rng)
        if key is None:
            return False
        self.jira.issues.edit(key, summary=f"edited {self.rng.randrange(10**9)}")
        return True

    def _transition(self) -> bool:
        key = self.shared.pick(self.rng)
        if key is None:
            return False
        options = self.jira.transitions.list(key)
        if not options:
            return False
        self.jira.transitions.do(key, str(self.rng.choice(options).id))
        return True

    def _comment(self) -> bool:
        key = self.shared.pick(self.rng)
        if key is None:
            return False
        made = self.jira.comments.add(key, f"note {self.rng.randrange(10**9)}")
        with self.shared.lock:
            self.shared.comments.setdefault(key, []).append(str(made.id))
        return True

    def _owned(self, table: dict[str, list[str]]) -> tuple[str, str] | None:
        with self.shared.lock:
            live = [(k, i) for k, ids in table.items() if k in self.shared.keys for i in ids]
        return self.rng.choice(live) if live else None

    def _comment_edit(self) -> bool:
        found = self._owned(self.shared.comments)
        if found is None:
            return False
        self.jira.comments.update(found[0], found[1], f"edited {self.rng.randrange(10**9)}")
        return True

    def _comment_delete(self) -> bool:
        found = self._owned(self.shared.comments)
        if found is None:
            return False
        with self.shared.lock:
            ids = self.shared.comments.get(found[0], [])
            if found[1] not in ids:
                return False
            ids.remove(found[1])
        self.jira.comments.delete(*found)
        return True

    def _worklog(self) -> bool:
        key = self.shared.pick(self.rng)
        if key is None:
            return False
        started = datetime.now(UTC) - timedelta(hours=self.rng.randrange(1, 48))
        made = self.jira.worklogs.add(key, 60 * self.rng.randrange(1, 240), started)
        with self.shared.lock:
            self.shared.worklogs.setdefault(key, []).append(str(made.id))
        return True

    def _worklog_edit(self) -> bool:
        found = self._owned(self.shared.worklogs)
        if found is None:
            return False
        self.jira.worklogs.update(found[0], found[1], seconds=60 * self.rng.randrange(1, 240))
        return True

    def _worklog_delete(self) -> bool:
        found = self._owned(self.shared.worklogs)
        if found is None:
            return False
        with self.shared.lock:
            ids = self.shared.worklogs.get(found[0], [])
            if found[1] not in ids:
                return False
            ids.remove(found[1])
        self.jira.worklogs.delete(*found)
        return True

    def _create(self) -> bool:
        project = self.rng.choice(self.shared.projects)
        made = self.jira.issues.create(
            project=project, summary=f"new {self.rng.randrange(10**9)}", issue_type="Task"
        )
        with self.shared.lock:
            self.shared.keys.append(str(made.key))
            self.shared.ids[str(made.key)] = int(made.id)
        return True

    def _link(self) -> bool:
        a, b = self.shared.pick(self.rng), self.shared.pick(self.rng)
        if a is None or b is None or a == b:
            return False
        types = self.jira.links.types()
        self.jira.links.create(str(types[0]["name"]), a, b)
        return True

    def _delete(self) -> bool:
        with self.shared.lock:
            if len(self.shared.keys) < 10:
                return False
            key = self.rng.choice(self.shared.keys)
            self.shared.keys.remove(key)
            self.shared.deleted.append(key)
        self.jira.issues.delete(key)
        return True


def run_workload(
    clients: list[Jira], shared: Shared, changes: int, seed: int = 0
) -> dict[str, Any]:
    """``changes`` changes split over one thread per client; returns what was done."""
    per = [
        changes // len(clients) + (1 if i < changes % len(clients) else 0)
        for i in range(len(clients))
    ]
    threads = [
        threading.Thread(target=Worker(jira, shared, seed * 100 + i).run, args=(n,))
        for i, (jira, n) in enumerate(zip(clients, per, strict=True))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(shared.done)
