"""Commands that need an optional extra say which one, in one line, when it is missing."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from jirakit.cli._root import error_line

# What the sync extra brings (pyproject.toml), by the module each package imports as.
SYNC = ("dlt", "duckdb", "pyarrow", "matplotlib", "psycopg")


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
