"""Errors raised by :mod:`jirakit.adf`.

::

    ValueError
     └── AdfValidationError   a document does not match the official ADF schema
"""

from __future__ import annotations

__all__ = ["AdfValidationError"]


class AdfValidationError(ValueError):
    """An ADF document does not validate against the official schema.

    ``path`` is the JSON path of the offending node (``$.content[0].attrs``) and
    ``reason`` the schema's complaint; ``str()`` leads with the path.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"invalid ADF at {path}: {reason}")
