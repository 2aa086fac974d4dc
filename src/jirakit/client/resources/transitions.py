"""Workflow transitions: list them, or move an issue by transition id or target status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, Flow, single
from jirakit.client._names import _already_json, fields_flow
from jirakit.client._richtext import rich_text
from jirakit.client.models import Transition
from jirakit.client.resources._base import Resource
from jirakit.errors import ConfigurationError, InvalidTransition

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


def list_call(key: str, expand_fields: bool) -> Call[list[Transition]]:
    params = {"expand": "transitions.fields"} if expand_fields else None
    return Call(
        "GET",
        "/issue/{key}/transitions",
        {"key": key},
        params=params,
        parse=lambda r: [Transition.parse(t) for t in r.json().get("transitions") or []],
    )


def pick(key: str, transitions: list[Transition], to: str) -> Transition:
    """The transition leading to status ``to`` (or named ``to``), case-insensitively."""
    wanted = to.strip().casefold()
    by_status = [t for t in transitions if t.to and (t.to.name or "").casefold() == wanted]
    by_name = [t for t in transitions if (t.name or "").casefold() == wanted]
    found = by_status or by_name
    if not found:
        available = [
            f"{t.name} -> {t.to.name}" if t.to and t.to.name != t.name else str(t.name)
            for t in transitions
        ]
        raise InvalidTransition(key, to, available)
    return found[0]


def do_flow(
    cache: dict[str, Any],
    flavour: str,
    key: str,
    transition: str | None,
    to: str | None,
    fields: Mapping[str, Any] | None,
    update: Mapping[str, Any] | None,
    comment: Any,
) -> Flow[None]:
    if (transition is None) == (to is None):
        raise ConfigurationError("pass exactly one of transition= (an id) or to= (a status)")
    if transition is None:
        assert to is not None
        transitions = yield list_call(key, expand_fields=False)
        transition = pick(key, transitions, to).id
    body: dict[str, Any] = {"transition": {"id": str(transition)}}
    if fields:
        # Values already in Jira's JSON go as they are; names and plain values are resolved
        # as in issues.create: {"Resolution": "Won't Do", "Story Points": 3}.
        ready = {k: v for k, v in fields.items() if k.isidentifier() and _already_json(v)}
        rest = {k: v for k, v in fields.items() if k not in ready}
        values = dict(ready)
        if rest:
            shaped = yield from fields_flow(cache, flavour, rest)
            values.update(shaped.values)
        body["fields"] = values
    ops: dict[str, Any] = dict(update or {})
    if comment is not None:
        ops.setdefault("comment", []).append({"add": {"body": rich_text(comment, flavour)}})
    if ops:
        body["update"] = ops
    yield Call("POST", "/issue/{key}/transitions", {"key": key}, json=body, parse=lambda r: None)


class Transitions(Resource):
    """``jira.transitions``."""

    _c: Jira

    def list(self, key: str, *, expand_fields: bool = False) -> list[Transition]:
        """Transitions available from the issue's current status."""
        return self._c._run(single(list_call(key, expand_fields)))

    def do(
        self,
        key: str,
        transition: str | None = None,
        *,
        to: str | None = None,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        comment: Any = None,
    ) -> None:
        """Move an issue: by ``transition`` id, or ``to="Done"`` (target status or
        transition name). Raises `InvalidTransition` listing what is available."""
        self._c._run(
            do_flow(self._c._cache, self._c.flavour, key, transition, to, fields, update, comment)
        )


class AsyncTransitions(Resource):
    """``ajira.transitions``."""

    _c: AsyncJira

    async def list(self, key: str, *, expand_fields: bool = False) -> list[Transition]:
        """Transitions available from the issue's current status."""
        return await self._c._run(single(list_call(key, expand_fields)))

    async def do(
        self,
        key: str,
        transition: str | None = None,
        *,
        to: str | None = None,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        comment: Any = None,
    ) -> None:
        """Move an issue: by ``transition`` id, or ``to="Done"`` (target status or
        transition name). Raises `InvalidTransition` listing what is available."""
        await self._c._run(
            do_flow(self._c._cache, self._c.flavour, key, transition, to, fields, update, comment)
        )
