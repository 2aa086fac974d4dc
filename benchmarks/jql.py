"""Benchmark the JQL evaluator (and parser) over generated issues.

    .venv/bin/python benchmarks/jql.py              # 100k issues
    .venv/bin/python benchmarks/jql.py --issues 20000 --repeat 3

Generates issues in the REST JSON shape in memory, compiles each query once and measures
how many issues per second the compiled predicate evaluates (best of ``--repeat`` runs),
plus the ORDER BY cost and the parse rate. Prints a table.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from jirakit.jql.context import EvalContext
from jirakit.jql.evaluator import compile, sort_key
from jirakit.jql.parser import parse

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
PROJECTS = [("ABC", "10000"), ("DEF", "10001"), ("XYZ", "10002")]
STATUSES = [
    ({"name": "To Do", "id": "1"}, {"key": "new", "name": "To Do", "id": 2}),
    ({"name": "In Progress", "id": "3"}, {"key": "indeterminate", "name": "In Progress", "id": 4}),
    ({"name": "Done", "id": "10001"}, {"key": "done", "name": "Done", "id": 3}),
]
USERS = [
    {"accountId": f"acc-{n}", "displayName": f"User {n}", "emailAddress": f"u{n}@example.com"}
    for n in range(50)
]
SPRINTS = [
    {
        "id": n,
        "name": f"Sprint {n}",
        "state": "closed" if n < 8 else "active" if n < 10 else "future",
    }
    for n in range(12)
]
WORDS = [
    *("login", "crash", "page", "slow", "timeout", "error", "user", "report", "export"),
    *("import", "button", "screen", "mobile", "android", "ios", "api", "token", "refresh"),
    *("cache", "search", "filter", "dashboard", "chart", "billing", "invoice"),
]

QUERIES = [
    ("simple: project", "project = ABC"),
    ("simple: status", "status = Done"),
    ("project + updated range", "project = ABC AND updated >= -30d AND updated <= now() ORDER BY updated DESC"),
    ("statusCategory + assignee", "statusCategory = done AND assignee = currentUser()"),
    ("text search", 'text ~ "login crash"'),
    ("WAS / CHANGED", 'status WAS "In Progress" AND status CHANGED TO Done AFTER -60d'),
    ("sprint function", "sprint in openSprints()"),
]  # fmt: skip


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def adf(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def generate(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    issues = []
    for n in range(count):
        project_key, project_id = PROJECTS[n % len(PROJECTS)]
        created = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
        updated = created + (NOW - created) * rng.random()
        final = rng.randrange(len(STATUSES))
        status, category = STATUSES[final]
        histories = []
        moment = created
        for step in range(1, final + 1):
            moment = moment + (updated - moment) * rng.random()
            old, new = STATUSES[step - 1][0], STATUSES[step][0]
            histories.append(
                {
                    "id": str(step),
                    "created": stamp(moment),
                    "author": rng.choice(USERS),
                    "items": [
                        {"field": "status", "fieldId": "status", "from": old["id"],
                         "fromString": old["name"], "to": new["id"], "toString": new["name"]}
                    ],
                }
            )  # fmt: skip
        issues.append(
            {
                "id": str(10000 + n),
                "key": f"{project_key}-{n + 1}",
                "fields": {
                    "project": {"key": project_key, "id": project_id, "name": project_key},
                    "status": {**status, "statusCategory": category},
                    "assignee": rng.choice(USERS) if rng.random() < 0.8 else None,
                    "priority": {"name": "Medium", "id": "3"},
                    "summary": " ".join(rng.choices(WORDS, k=6)),
                    "description": adf(" ".join(rng.choices(WORDS, k=20))),
                    "created": stamp(created),
                    "updated": stamp(updated),
                    "labels": rng.sample(WORDS, k=2),
                    "customfield_10020": [rng.choice(SPRINTS)] if rng.random() < 0.7 else None,
                },
                "changelog": {"histories": histories},
            }
        )
    return issues


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Best CPU time (``process_time``) of ``repeat`` runs: steadier than wall time on a
    shared machine."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000, help="issues to generate")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query (best is kept)")
    args = parser.parse_args()

    started = time.perf_counter()
    issues = generate(args.issues)
    print(f"generated {len(issues):,} issues in {time.perf_counter() - started:.1f}s\n")
    ctx = EvalContext(now=NOW, current_user="acc-7", users=USERS, sprints=SPRINTS)

    print("CPU seconds (best of --repeat); evals/s = issues evaluated per CPU second\n")
    print(f"{'query':<28} {'matches':>8} {'eval s':>8} {'evals/s':>12} {'sort s':>8}")
    print("-" * 68)
    for label, jql in QUERIES:
        query = parse(jql)
        predicate = compile(query, ctx)
        elapsed = best_of(args.repeat, lambda p=predicate: [i for i in issues if p(i)])
        matched = [issue for issue in issues if predicate(issue)]
        sort_time = ""
        if query.order_by:
            key = sort_key(query, ctx)
            ordering = best_of(args.repeat, lambda k=key, m=matched: sorted(m, key=k))
            sort_time = f"{ordering:.3f}"
        rate = len(issues) / elapsed
        print(f"{label:<28} {len(matched):>8,} {elapsed:>8.3f} {rate:>12,.0f} {sort_time:>8}")

    # Parse rate: distinct texts, so the parser's cache does not answer.
    texts = [
        f'project = ABC AND key > ABC-{n} AND status in ("In Progress", Done) ORDER BY updated DESC'
        for n in range(2000)
    ]
    started = time.process_time()
    for text in texts:
        parse(text)
    elapsed = time.process_time() - started
    print(
        f"\nparse (uncached, {len(texts)} distinct queries): {len(texts) / elapsed:,.0f} queries/s"
    )


if __name__ == "__main__":
    main()
