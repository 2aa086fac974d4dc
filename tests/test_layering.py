"""Imports flow one way (DESIGN.md): jql and adf are leaves, client uses only them,
the sandbox never imports the client, webhooks and the service never import the sandbox,
jobs sits on what it runs and never on the sandbox, the dashboard (ui) reads through sync and service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "jirakit"
SHARED = {"jirakit.errors", "jirakit._logging"}  # error types, logging

ALLOWED: dict[str, set[str]] = {
    "jql": set(),
    "adf": set(),
    "client": {"jql", "adf"},
    "sandbox": {"jql", "adf"},
    "sync": {"client", "jql", "adf"},
    # the receiver sits on the client and reuses the sync's transform; never the sandbox
    "webhooks": {"client", "jql", "adf", "sync"},
    # jobs runs the work of the parts it sits on (webhooks and service once they exist);
    # never the sandbox, and nothing below it imports jobs.
    "jobs": {"client", "sync", "webhooks", "service", "jql", "adf"},
    # the service sits on the client (and the receiver, the sync); never the sandbox
    "service": {"client", "jql", "adf", "sync", "webhooks"},
    # The dashboard reads the warehouse (through sync's destination and progress file)
    # and, mounted in `jirakit serve`, the service, its job queue and budget governor
    # (jobs) and its webhook inboxes (webhooks); nothing imports it but the CLI.
    "ui": {"sync", "service", "jobs", "webhooks"},
}
# Single modules a package may import beyond ALLOWED. The governor (one points budget
# for every serve and worker process) is jobs', and the service hands it to its clients;
# it imports only the client (checked below), so no cycle comes in through it.
# The job queue is jobs' too: `jirakit serve` defers its background work to it and, on one
# machine, runs those jobs in-process (service/jobs.py imports it inside functions, as the
# jobs' tasks import the service's work: a cycle the two keep lazy on purpose).
ALSO: dict[str, set[str]] = {"service": {"jirakit.jobs.budget", "jirakit.jobs.queue"}}


def imports_of(package: str) -> set[str]:
    found: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = {alias.name for alias in node.names}
                # `from jirakit import __version__` is fine; anything else from the root
                # package would pull in the client through jirakit/__init__.py.
                found.add(
                    node.module if node.module != "jirakit" or names != {"__version__"} else ""
                )
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name == "jirakit" or name.startswith("jirakit.")}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str):
    bad = []
    for module in imports_of(package):
        if (
            module in SHARED
            or module in ALSO.get(package, set())
            or module == f"jirakit.{package}"
            or module.startswith(f"jirakit.{package}.")
        ):
            continue
        # `from jirakit import Jira, ...` is the client's public face (jirakit/__init__.py).
        target = module.split(".")[1] if "." in module else "client"
        if target not in ALLOWED[package]:
            bad.append(module)
    assert bad == [], f"jirakit.{package} must not import {sorted(bad)}"


def test_the_governor_sits_on_the_client_only():
    tree = ast.parse((SRC / "jobs" / "budget.py").read_text(encoding="utf-8"))
    modules = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jirakit")
    }
    # the client, and the sync's state only to tell a backfill (imported when a sync runs)
    assert modules <= {"jirakit.client", "jirakit.sync", "jirakit.sync.destination"}, modules
