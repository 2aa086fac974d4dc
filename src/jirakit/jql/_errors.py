"""Evaluation-time errors (unknown function, bad date, unsupported operator).

They are `jirakit.jql.errors.JqlValidationError`s carrying Jira's wording, so callers
catch one class for validation problems found while parsing, validating or compiling.
"""

from __future__ import annotations

from jirakit.jql.errors import JqlValidationError


def evaluation_error(message: str) -> JqlValidationError:
    return JqlValidationError(message)
