"""Issue links and link types, remote links, watchers and votes."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, single
from jirakit.client._richtext import rich_text
from jirakit.client.models import User
from jirakit.client.resources._base import Resource

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira


def _none(_response: Any) -> None:
    return None


def link_call(flavour: str, link_type: str, source: str, target: str, comment: Any) -> Call[None]:
    """``source`` [outward description] ``target``: ``("Blocks", "P-1", "P-2")`` reads
    "P-1 blocks P-2". Jira calls the source ``inwardIssue`` and the target
    ``outwardIssue`` (P-1 then lists P-2 under ``outwardIssue``)."""
    body: dict[str, Any] = {
        "type": {"name": link_type},
        "inwardIssue": {"key": source},
        "outwardIssue": {"key": target},
    }
    if comment is not None:
        body["comment"] = {"body": rich_text(comment, flavour)}
    return Call("POST", "/issueLink", json=body, parse=_none)


def types_call() -> Call[builtins.list[dict[str, Any]]]:
    return Call(
        "GET", "/issueLinkType", parse=lambda r: [dict(t) for t in r.json()["issueLinkTypes"]]
    )


def get_call(link_id: str) -> Call[dict[str, Any]]:
    return Call("GET", "/issueLink/{id}", {"id": link_id}, parse=lambda r: dict(r.json()))


def delete_call(link_id: str) -> Call[None]:
    return Call("DELETE", "/issueLink/{id}", {"id": link_id}, parse=_none)


def remote_list_call(key: str) -> Call[builtins.list[dict[str, Any]]]:
    return Call("GET", "/issue/{key}/remotelink", {"key": key}, parse=lambda r: list(r.json()))


def remote_add_call(key: str, url: str, title: str, global_id: str | None) -> Call[dict[str, Any]]:
    body: dict[str, Any] = {"object": {"url": url, "title": title}}
    if global_id is not None:
        body["globalId"] = global_id
    return Call(
        "POST", "/issue/{key}/remotelink", {"key": key}, json=body, parse=lambda r: dict(r.json())
    )


def remote_delete_call(key: str, link_id: str) -> Call[None]:
    return Call("DELETE", "/issue/{key}/remotelink/{id}", {"key": key, "id": link_id}, parse=_none)


class Links(Resource):
    """``jira.links``: issue links, link types and remote links."""

    _c: Jira

    def create(self, link_type: str, source: str, target: str, *, comment: Any = None) -> None:
        """Link by type name: ``create("Blocks", "P-1", "P-2")`` = "P-1 blocks P-2"."""
        self._c._run(single(link_call(self._c.flavour, link_type, source, target, comment)))

    def get(self, link_id: str) -> dict[str, Any]:
        return self._c._run(single(get_call(link_id)))

    def delete(self, link_id: str) -> None:
        self._c._run(single(delete_call(link_id)))

    def types(self) -> builtins.list[dict[str, Any]]:
        return self._c._run(single(types_call()))

    def remote(self, key: str) -> builtins.list[dict[str, Any]]:
        """Remote (web) links of an issue."""
        return self._c._run(single(remote_list_call(key)))

    def add_remote(
        self, key: str, url: str, title: str, *, global_id: str | None = None
    ) -> dict[str, Any]:
        """Add (or, with the same ``global_id``, update) a web link on an issue."""
        return self._c._run(single(remote_add_call(key, url, title, global_id)))

    def delete_remote(self, key: str, link_id: str) -> None:
        self._c._run(single(remote_delete_call(key, link_id)))


class AsyncLinks(Resource):
    """``ajira.links``."""

    _c: AsyncJira

    async def create(
        self, link_type: str, source: str, target: str, *, comment: Any = None
    ) -> None:
        """Link by type name: ``create("Blocks", "P-1", "P-2")`` = "P-1 blocks P-2"."""
        await self._c._run(single(link_call(self._c.flavour, link_type, source, target, comment)))

    async def get(self, link_id: str) -> dict[str, Any]:
        return await self._c._run(single(get_call(link_id)))

    async def delete(self, link_id: str) -> None:
        await self._c._run(single(delete_call(link_id)))

    async def types(self) -> builtins.list[dict[str, Any]]:
        return await self._c._run(single(types_call()))

    async def remote(self, key: str) -> builtins.list[dict[str, Any]]:
        """Remote (web) links of an issue."""
        return await self._c._run(single(remote_list_call(key)))

    async def add_remote(
        self, key: str, url: str, title: str, *, global_id: str | None = None
    ) -> dict[str, Any]:
        """Add (or, with the same ``global_id``, update) a web link on an issue."""
        return await self._c._run(single(remote_add_call(key, url, title, global_id)))

    async def delete_remote(self, key: str, link_id: str) -> None:
        await self._c._run(single(remote_delete_call(key, link_id)))


def watchers_call(key: str) -> Call[builtins.list[User]]:
    return Call(
        "GET",
        "/issue/{key}/watchers",
        {"key": key},
        parse=lambda r: [User.parse(u) for u in r.json().get("watchers") or []],
    )


def watch_call(key: str, user: str) -> Call[None]:
    # The body is the bare accountId as a JSON string (Jira's quirk).
    return Call("POST", "/issue/{key}/watchers", {"key": key}, json=user, parse=_none)


def unwatch_call(flavour: str, key: str, user: str) -> Call[None]:
    params = {"accountId": user} if flavour == "cloud" else {"username": user}
    return Call("DELETE", "/issue/{key}/watchers", {"key": key}, params=params, parse=_none)


def votes_call(key: str) -> Call[dict[str, Any]]:
    return Call("GET", "/issue/{key}/votes", {"key": key}, parse=lambda r: dict(r.json()))


def vote_call(key: str, method: str) -> Call[None]:
    return Call(method, "/issue/{key}/votes", {"key": key}, parse=_none)


class Watchers(Resource):
    """``jira.watchers``: who watches an issue, and votes."""

    _c: Jira

    def list(self, key: str) -> builtins.list[User]:
        return self._c._run(single(watchers_call(key)))

    def add(self, key: str, user: str) -> None:
        """Start watching: ``user`` is an accountId (Cloud) or username (Data Center)."""
        self._c._run(single(watch_call(key, user)))

    def remove(self, key: str, user: str) -> None:
        self._c._run(single(unwatch_call(self._c.flavour, key, user)))

    def votes(self, key: str) -> dict[str, Any]:
        """``{"votes": n, "hasVoted": bool, "voters": [...]}``."""
        return self._c._run(single(votes_call(key)))

    def vote(self, key: str) -> None:
        """Vote for the issue as the current user (not allowed on your own issues)."""
        self._c._run(single(vote_call(key, "POST")))

    def unvote(self, key: str) -> None:
        self._c._run(single(vote_call(key, "DELETE")))


class AsyncWatchers(Resource):
    """``ajira.watchers``."""

    _c: AsyncJira

    async def list(self, key: str) -> builtins.list[User]:
        return await self._c._run(single(watchers_call(key)))

    async def add(self, key: str, user: str) -> None:
        """Start watching: ``user`` is an accountId (Cloud) or username (Data Center)."""
        await self._c._run(single(watch_call(key, user)))

    async def remove(self, key: str, user: str) -> None:
        await self._c._run(single(unwatch_call(self._c.flavour, key, user)))

    async def votes(self, key: str) -> dict[str, Any]:
        """``{"votes": n, "hasVoted": bool, "voters": [...]}``."""
        return await self._c._run(single(votes_call(key)))

    async def vote(self, key: str) -> None:
        """Vote for the issue as the current user (not allowed on your own issues)."""
        await self._c._run(single(vote_call(key, "POST")))

    async def unvote(self, key: str) -> None:
        await self._c._run(single(vote_call(key, "DELETE")))
