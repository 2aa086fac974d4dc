"""Errors raised by sandbox handlers, rendered in Jira's body shape.

``{"errorMessages": [...], "errors": {"field": "message"}}`` with the HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

NOT_FOUND_ISSUE = "Issue does not exist or you do not have permission to see it."
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


class JiraHttpError(Exception):
    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, list(messages), dict(errors or {}))
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {"errorMessages": self.messages, "errors": self.errors}


def bad_request(*messages: str, errors: Mapping[str, str] | None = None) -> JiraHttpError:
    return JiraHttpError(400, messages, errors)


def not_found(*messages: str) -> JiraHttpError:
    return JiraHttpError(404, messages)


def issue_not_found() -> JiraHttpError:
    return JiraHttpError(404, [NOT_FOUND_ISSUE])
