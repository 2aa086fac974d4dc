"""JQL parse rate: queries per second for five typical queries.

    .venv/bin/python benchmarks/jql_parse.py [--seconds 2] [--check]

Measures the parser proper (the per-text cache bypassed) and the cached ``parse`` that
applications call, best of three runs each. ``--check`` exits 1 when the uncached rate is
below 5,000 queries/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from jirakit.jql import parse
from jirakit.jql.parser import _parse

QUERIES = [
    'project = ABC AND status IN ("In Progress", Done) ORDER BY updated DESC',
    "assignee = currentUser() AND resolution IS EMPTY ORDER BY priority DESC, created ASC",
    'project in (ENG, OPS) AND updated >= -7d AND labels not in (wontfix) AND summary ~ "login"',
    'status changed from "To Do" to "In Progress" after startOfWeek() OR status was Done',
    "issuetype = Bug AND (priority = High OR priority = Highest) AND fixVersion = 1.2.3",
]
TARGET = 5_000


def rate(function: Callable[[str], object], seconds: float) -> float:
    best = 0.0
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while time.perf_counter() < deadline:
            for query in QUERIES:
                function(query)
            count += len(QUERIES)
        best = max(best, count / (time.perf_counter() - start))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    parse(QUERIES[0])  # build the parser once
    uncached = rate(_parse, args.seconds)
    cached = rate(parse, args.seconds)
    print(f"{'parser (uncached)':<20} {uncached:>12,.0f} queries/s")
    print(f"{'parse() (cached)':<20} {cached:>12,.0f} queries/s")
    if args.check and uncached < TARGET:
        print(f"below the target of {TARGET:,} queries/s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
