"""Commands that need an optional extra say which one, in one line, when it is missing."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from jirakit.cli._root import error_line

# What the sync extra brings (pyproject.toml), by the module each package imports as.
SYNC = ("dlt", "duckdb", "pyarrow", "matplotlib", "psycopg")

# The extra each command's missing imports come from (pyproject.toml's extras), by the
# command's first word; and, for any other command, by the module that failed to import.
EXTRA_OF_COMMAND = {
    "sync": "sync",
    "report": "sync",
    "demo": "sync",
    "sql": "sync",
    "serve": "service",
    "tenants": "service",
    "connections": "service",
    "keys": "service",
    "webhooks": "webhooks",
    "worker": "jobs",
    "jobs": "jobs",
    "dashboard": "ui",
}
EXTRA_OF_MODULE = {
    **dict.fromkeys(SYNC, "sync"),
    **dict.fromkeys(("fastapi", "alembic", "pydantic_settings", "uvloop", "httptools"), "service"),
    "sqlalchemy": "webhooks",
    "procrastinate": "jobs",
    "jinja2": "ui",
    "keyring": "keyring",
}


def missing_extra(command: str, module: str | None) -> str | None:
    """The one line for ``jirakit COMMAND`` failing to import ``module``, when that module
    comes from one of jirakit's extras (None otherwise: a real bug, shown as one)."""
    root = (module or "").split(".")[0]
    if root not in EXTRA_OF_MODULE:
        return None
    extra = EXTRA_OF_COMMAND.get(command) or EXTRA_OF_MODULE[root]
    return (
        f"jirakit {command} needs the {extra} extra (missing: {root}): "
        f"pip install 'jirakit[{extra}]'"
    )


def require_extra(command: str, modules: Sequence[str] = SYNC, extra: str = "sync") -> None:
    """Exit 1 with ``jirakit COMMAND needs the EXTRA extra: pip install 'jirakit[EXTRA]'``
    when one of ``modules`` (the ones the command imports) cannot be imported; the
    command imports them next anyway, so checking costs nothing."""
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise error_line(
            f"jirakit {command} needs the {extra} extra "
            f"(missing: {', '.join(missing)}): pip install 'jirakit[{extra}]'",
            1,
        )
