"""What every resource namespace holds: the client it runs calls through.

Subclasses annotate ``_c`` as `Jira` or `AsyncJira`, so each twin is precisely typed.
"""

from __future__ import annotations

from typing import Any


class Resource:
    __slots__ = ("_c",)

    def __init__(self, client: Any) -> None:
        self._c = client
