"""JQL errors.

::

    JqlError(ValueError)           anything wrong with a JQL query
    ├── JqlSyntaxError             the text is not JQL (parse)
    └── JqlValidationError         JQL, but not valid against a schema (validate)

Each carries ``messages``: Jira's wordings, as Jira lists them in ``errorMessages``.
``str(error)`` is the messages joined by a space. A syntax error also carries where it
happened: ``line`` and ``column`` (alias ``character``), both 1-based like Jira, or
``None`` when it happened at the end of the query.
"""

from __future__ import annotations

from collections.abc import Sequence


class JqlError(ValueError):
    """Base class of JQL errors; ``messages`` holds Jira's wordings."""

    def __init__(
        self,
        messages: str | Sequence[str],
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        self.line = line
        self.column = column
        super().__init__(" ".join(self.messages))

    @property
    def character(self) -> int | None:
        """Jira's name for the 1-based column."""
        return self.column

    @property
    def message(self) -> str:
        """The first (for syntax errors: the only) message."""
        return self.messages[0] if self.messages else ""


class JqlSyntaxError(JqlError):
    """The query is not valid JQL; raised by `jirakit.jql.parse`."""


class JqlValidationError(JqlError):
    """The query is JQL but refers to unknown fields, values, functions or operators;
    raised by `jirakit.jql.validate`, with every problem found in ``messages``."""
