"""Structured logging for all of jirakit: structlog events rendered as JSON onto stdlib
logging, so a library user sees nothing unless they enable the ``jirakit`` logger, and an
application (the CLI, the service) gets one JSON line per event.

Secrets never reach a line: jirakit code does not pass them to the logger, and the
`redact` processor masks any key that names a credential and any value that looks like an
``Authorization`` header, as a second line of defence.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"(authorization|token|secret|password|passwd|api[_-]?key|cookie|credential)", re.I
)
_SECRET_VALUES = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+", re.I)
MASK = "***"


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask credential-named keys and credential-looking values."""
    for key, value in list(event.items()):
        event[key] = _scrub(key, value)
    return event


def _scrub(key: str, value: Any) -> Any:
    if _SECRET_KEYS.search(key) and not key.endswith(("_count", "_ms", "_at")):
        return MASK if value not in (None, "") else value
    if isinstance(value, str):
        return _SECRET_VALUES.sub(lambda m: f"{m.group(1)} {MASK}", value)
    if isinstance(value, Mapping):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    return value


_PROCESSORS: list[Any] = [
    structlog.stdlib.filter_by_level,
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact,
    structlog.processors.JSONRenderer(sort_keys=True),
]


def get_logger(name: str) -> Any:
    """A structlog logger writing JSON lines to the stdlib logger ``name``."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
    )


def configure(level: int | str = logging.INFO, stream: Any = None) -> None:
    """For applications (the CLI, the service): print jirakit's JSON lines to ``stream``."""
    logger = logging.getLogger("jirakit")
    logger.setLevel(level)
    if not any(getattr(h, "_jirakit", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._jirakit = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
