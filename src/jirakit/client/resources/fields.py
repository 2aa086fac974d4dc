"""Field definitions, and the cached name <-> id map everyone needs for custom fields."""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jirakit.client._call import Call, Flow, single
from jirakit.client._paging import IsLastPaging, Paginator
from jirakit.client.models import Field
from jirakit.client.resources._base import Resource
from jirakit.errors import ConfigurationError

if TYPE_CHECKING:
    from jirakit.client._async import AsyncJira
    from jirakit.client._sync import Jira

CACHE_KEY = "fields"


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Field ids <-> display names. Names are not unique in Jira: `id_of` refuses to guess."""

    fields: tuple[Field, ...]

    @property
    def names(self) -> Mapping[str, str]:
        return {f.id: f.name for f in self.fields}

    def id_of(self, name_or_id: str) -> str:
        """The field id for a display name, a JQL clause name, ``cf[10042]`` or an id."""
        wanted = name_or_id.strip()
        ids = {f.id for f in self.fields}
        if wanted in ids:
            return wanted
        if wanted.startswith("cf[") and wanted.endswith("]"):
            candidate = f"customfield_{wanted[3:-1]}"
            if candidate in ids:
                return candidate
        folded = wanted.casefold()
        matches = [f for f in self.fields if f.name.casefold() == folded] or [
            f for f in self.fields if folded in (c.casefold() for c in f.clause_names)
        ]
        if len(matches) == 1:
            return matches[0].id
        if not matches:
            names = sorted({f.name for f in self.fields}, key=str.casefold)
            close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
            close += [n for n in names if folded in n.casefold() and n not in close][:3]
            hint = f"; did you mean {', '.join(repr(n) for n in close)}?" if close else ""
            raise ConfigurationError(f"no field named {name_or_id!r}{hint}")
        options = ", ".join(f"{f.id} ({f.name}){_kind(f)}" for f in matches)
        raise ConfigurationError(
            f"field name {name_or_id!r} is ambiguous: {options}; pass the id instead"
        )


def _kind(field: Field) -> str:
    """`` [option]``, `` [array of user]``: tells same-named fields apart."""
    schema = field.schema
    if "type" not in schema:
        return ""
    kind = str(schema["type"])
    return f" [{kind} of {schema['items']}]" if "items" in schema else f" [{kind}]"


def fields_call() -> Call[list[Field]]:
    return Call("GET", "/field", parse=lambda r: [Field.parse(f) for f in r.json()])


def map_flow(cache: dict[str, object], refresh: bool) -> Flow[FieldMap]:
    cached = cache.get(CACHE_KEY)
    if isinstance(cached, FieldMap) and not refresh:
        return cached
    fields: Sequence[Field] = yield fields_call()
    result = FieldMap(tuple(fields))
    cache[CACHE_KEY] = result
    return result


OPTIONS_PER_REQUEST = 1000  # Jira's limit for creating context options


def contexts_call(field_id: str) -> Call[Any]:
    return Call("GET", "/field/{id}/context", {"id": field_id})


def options_call(field_id: str, context_id: str) -> Call[Any]:
    return Call("GET", "/field/{id}/context/{ctx}/option", {"id": field_id, "ctx": context_id})


def add_options_flow(
    field_id: str, context_id: str, values: Sequence[str]
) -> Flow[builtins.list[dict[str, Any]]]:
    """Create options, 1000 per request; returns every created ``{id, value, disabled}``."""
    created: builtins.list[dict[str, Any]] = []
    items = [{"value": v, "disabled": False} for v in values]
    for start in range(0, len(items), OPTIONS_PER_REQUEST):
        page = yield Call(
            "POST",
            "/field/{id}/context/{ctx}/option",
            {"id": field_id, "ctx": context_id},
            json={"options": items[start : start + OPTIONS_PER_REQUEST]},
        )
        created.extend(dict(o) for o in page["options"])
    return created


def rename_options_call(
    field_id: str, context_id: str, names: Mapping[str, str]
) -> Call[builtins.list[dict[str, Any]]]:
    return Call(
        "PUT",
        "/field/{id}/context/{ctx}/option",
        {"id": field_id, "ctx": context_id},
        json={"options": [{"id": oid, "value": value} for oid, value in names.items()]},
        parse=lambda r: [dict(o) for o in r.json()["options"]],
    )


class Fields(Resource):
    """``jira.fields``."""

    _c: Jira

    def list(self) -> list[Field]:
        """Every system and custom field (refreshes the cached map)."""
        return list(self.map(refresh=True).fields)

    def map(self, *, refresh: bool = False) -> FieldMap:
        """The cached id <-> name map (fetched once per client unless ``refresh``)."""
        return self._c._run(map_flow(self._c._cache, refresh))

    def id_of(self, name_or_id: str) -> str:
        return self.map().id_of(name_or_id)

    def contexts(self, field_id: str) -> Paginator[dict[str, Any]]:
        """A custom field's contexts (``id``, ``name``, ``isGlobalContext`` ...)."""
        return self._c._paginate(contexts_call(field_id), IsLastPaging("values", 50), dict)

    def options(self, field_id: str, context_id: str) -> Paginator[dict[str, Any]]:
        """The options of a select field in one context: ``{id, value, disabled}``."""
        call = options_call(field_id, context_id)
        return self._c._paginate(call, IsLastPaging("values", 100), dict)

    def add_options(
        self, field_id: str, context_id: str, values: Sequence[str]
    ) -> builtins.list[dict[str, Any]]:
        """Create options (in batches of 1000); returns the created options."""
        return self._c._run(add_options_flow(field_id, context_id, values))

    def rename_options(
        self, field_id: str, context_id: str, names: Mapping[str, str]
    ) -> builtins.list[dict[str, Any]]:
        """Rename options: ``{option_id: new_value}``; issues show the new values."""
        return self._c._run(single(rename_options_call(field_id, context_id, names)))


class AsyncFields(Resource):
    """``ajira.fields``."""

    _c: AsyncJira

    async def list(self) -> list[Field]:
        """Every system and custom field (refreshes the cached map)."""
        return list((await self.map(refresh=True)).fields)

    async def map(self, *, refresh: bool = False) -> FieldMap:
        """The cached id <-> name map (fetched once per client unless ``refresh``)."""
        return await self._c._run(map_flow(self._c._cache, refresh))

    async def id_of(self, name_or_id: str) -> str:
        return (await self.map()).id_of(name_or_id)

    def contexts(self, field_id: str) -> Paginator[dict[str, Any]]:
        """A custom field's contexts (``async for``)."""
        return self._c._paginate(contexts_call(field_id), IsLastPaging("values", 50), dict)

    def options(self, field_id: str, context_id: str) -> Paginator[dict[str, Any]]:
        """The options of a select field in one context (``async for``)."""
        call = options_call(field_id, context_id)
        return self._c._paginate(call, IsLastPaging("values", 100), dict)

    async def add_options(
        self, field_id: str, context_id: str, values: Sequence[str]
    ) -> builtins.list[dict[str, Any]]:
        """Create options (in batches of 1000); returns the created options."""
        return await self._c._run(add_options_flow(field_id, context_id, values))

    async def rename_options(
        self, field_id: str, context_id: str, names: Mapping[str, str]
    ) -> builtins.list[dict[str, Any]]:
        """Rename options: ``{option_id: new_value}``; issues show the new values."""
        return await self._c._run(single(rename_options_call(field_id, context_id, names)))
