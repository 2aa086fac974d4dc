"""Validation against the official ADF JSON schema (draft-04, bundled).

Checking a whole document with one ``Draft4Validator`` is exact but exponential in
nesting depth: every ``content`` item is an ``anyOf`` over ~20 node definitions, each
of which checks its own children the same way. So validation is type-directed:
each node is checked with ``jsonschema`` against the definitions its parent allows
*for its ``type``*, with the children left out (``items: {}``), and the children are
then checked the same way, one level down. The verdict is the same as the single
validator's (a test checks this), in time linear in the size of the document.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped,unused-ignore]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped,unused-ignore]

from .errors import AdfValidationError

__all__ = ["is_valid", "schema", "validate"]

_SCHEMA_FILE = "adf-schema-full.v1.json"


@cache
def schema() -> dict[str, Any]:
    """The bundled official ADF schema (parsed once; do not mutate)."""
    package = resources.files("jirakit.adf")
    text = package.joinpath("schema").joinpath(_SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --- the schema, split into per-definition shallow checks plus child specs ---------------

Spec = tuple[str, ...]  # definitions a child may match (any one of)


@dataclass(frozen=True)
class _Definition:
    name: str
    types: frozenset[str]  # the node ``type`` values it accepts (empty: any)
    shallow: Draft4Validator  # the definition with ``content``/``marks`` items set to {}
    children: tuple[tuple[str, Spec], ...]  # (key, spec): every item must match each spec
    positional: tuple[tuple[str, tuple[Spec, ...]], ...]  # tuple-form ``items``, by index


class _Compiled:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.definitions: dict[str, Any] = raw["definitions"]
        shallow_defs = copy.deepcopy(self.definitions)
        for definition in shallow_defs.values():
            _strip_items(definition)
            content = definition.get("properties", {}).get("content", {})
            if "$ref" in content:  # a shared array definition (table_cell_content)
                shallow_defs[_ref_name(content["$ref"])]["items"] = {}
        self.shallow_defs = shallow_defs
        self.root = _ref_name(raw["$ref"])
        self._cache: dict[str, _Definition] = {}

    def definition(self, name: str) -> _Definition:
        found = self._cache.get(name)
        if found is None:
            fragment = {"$ref": f"#/definitions/{name}", "definitions": self.shallow_defs}
            children, positional = self._content_specs(self.definitions[name])
            found = _Definition(
                name=name,
                types=frozenset(self._types(self.definitions[name])),
                shallow=Draft4Validator(fragment),
                children=children,
                positional=positional,
            )
            self._cache[name] = found
        return found

    def _resolve(self, fragment: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in fragment:
            fragment = self.definitions[_ref_name(fragment["$ref"])]
        return fragment

    def _types(self, fragment: dict[str, Any]) -> set[str]:
        fragment = self._resolve(fragment)
        kinds: set[str] = set()
        enum = fragment.get("properties", {}).get("type", {}).get("enum")
        if enum:
            kinds.update(str(value) for value in enum)
        for part in fragment.get("allOf", []):
            kinds.update(self._types(part))
        return kinds

    def _node_names(self, fragment: dict[str, Any]) -> Spec:
        """Definition names an ``items`` schema accepts, flattening ``anyOf`` groups."""
        if "$ref" in fragment:
            name = _ref_name(fragment["$ref"])
            target = self.definitions[name]
            if "anyOf" in target and not self._types(target):
                return self._node_names(target)
            return (name,)
        names: list[str] = []
        for option in fragment.get("anyOf", []):
            names.extend(self._node_names(option))
        return tuple(names)

    def _content_specs(
        self, fragment: dict[str, Any]
    ) -> tuple[tuple[tuple[str, Spec], ...], tuple[tuple[str, tuple[Spec, ...]], ...]]:
        fragment = self._resolve(fragment)
        children: list[tuple[str, Spec]] = []
        positional: list[tuple[str, tuple[Spec, ...]]] = []
        for key in _CHILD_KEYS:
            array = fragment.get("properties", {}).get(key)
            if array is None:
                continue
            items = self._resolve(array).get("items")
            if isinstance(items, dict) and items:
                children.append((key, self._node_names(items)))
            elif isinstance(items, list):
                positional.append((key, tuple(self._node_names(item) for item in items)))
        for part in fragment.get("allOf", []):
            more, more_positional = self._content_specs(part)
            children.extend(more)
            positional.extend(more_positional)
        return tuple(children), tuple(positional)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


_CHILD_KEYS = ("content", "marks")


def _strip_items(fragment: Any) -> None:
    """Replace the ``items`` of ``content``/``marks`` arrays (checked one by one instead)."""
    if isinstance(fragment, dict):
        props = fragment.get("properties")
        for key in _CHILD_KEYS:
            array = props.get(key) if isinstance(props, dict) else None
            if isinstance(array, dict) and "items" in array:
                array["items"] = {}
        for value in fragment.values():
            _strip_items(value)
    elif isinstance(fragment, list):
        for value in fragment:
            _strip_items(value)


@cache
def _compiled() -> _Compiled:
    return _Compiled(schema())


# --- checking ----------------------------------------------------------------------------

_Problem = tuple[tuple[Any, ...], str]  # (path, reason)


class _Checker:
    def __init__(self, compiled: _Compiled) -> None:
        self.compiled = compiled
        self.memo: dict[tuple[int, Spec], _Problem | None] = {}

    def node(self, node: Any, spec: Spec, path: tuple[Any, ...]) -> _Problem | None:
        key = (id(node), spec)
        if key in self.memo:
            return self.memo[key]
        problem = self._node(node, spec, path)
        self.memo[key] = problem
        return problem

    def _node(self, node: Any, spec: Spec, path: tuple[Any, ...]) -> _Problem | None:
        definitions = [self.compiled.definition(name) for name in spec]
        kind = node.get("type") if isinstance(node, dict) else None
        if isinstance(kind, str):
            matching = [d for d in definitions if not d.types or kind in d.types]
            if not matching:
                allowed = sorted({t for d in definitions for t in d.types})
                return (*path, "type"), f"{kind!r} is not one of {allowed}"
            definitions = matching
        first: _Problem | None = None
        for definition in definitions:
            problem = self._against(node, definition, path)
            if problem is None:
                return None
            first = first or problem
        return first

    def _against(
        self, node: Any, definition: _Definition, path: tuple[Any, ...]
    ) -> _Problem | None:
        error = next(iter(definition.shallow.iter_errors(node)), None)
        if error is not None:
            where, reason = _explain(error)
            return (*path, *where), reason
        if not isinstance(node, dict):
            return None
        for key, spec in definition.children:
            items = node.get(key)
            for index, child in enumerate(items if isinstance(items, list) else ()):
                problem = self.node(child, spec, (*path, key, index))
                if problem:
                    return problem
        for key, specs in definition.positional:
            items = node.get(key)
            for index, child in enumerate(items if isinstance(items, list) else ()):
                if index < len(specs):
                    problem = self.node(child, specs[index], (*path, key, index))
                    if problem:
                        return problem
        return None


def _json_path(parts: tuple[Any, ...]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _explain(error: ValidationError) -> tuple[tuple[Any, ...], str]:
    """The relative path and reason of the real problem behind a shallow ``error``.

    For an ``anyOf`` (marks, media attrs), follow the branches whose ``type`` matched;
    if none did, the ``type`` itself is wrong.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return tuple(error.absolute_path), error.message
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    type_path = [*error.absolute_path, "type"]

    def wrong_type(sub: ValidationError) -> bool:
        return sub.validator == "enum" and list(sub.absolute_path) == type_path

    matched = [subs for subs in branches.values() if not any(wrong_type(s) for s in subs)]
    if matched:
        best = max(matched, key=lambda subs: max(len(s.absolute_path) for s in subs))
        return _explain(max(best, key=lambda s: len(s.absolute_path)))
    allowed = sorted(
        {
            str(v)
            for subs in branches.values()
            for s in subs
            if wrong_type(s)
            for v in s.validator_value
        }
    )
    instance = error.instance.get("type") if isinstance(error.instance, dict) else error.instance
    return tuple(type_path), f"{instance!r} is not one of {allowed}"


def _check(doc: Any) -> _Problem | None:
    compiled = _compiled()
    return _Checker(compiled).node(doc, (compiled.root,), ())


def validate(doc: Any) -> None:
    """Raise :class:`AdfValidationError` (naming the JSON path) unless ``doc`` is valid ADF."""
    problem = _check(doc)
    if problem is not None:
        path, reason = problem
        raise AdfValidationError(_json_path(path), reason)


def is_valid(doc: Any) -> bool:
    """True if ``doc`` is a valid ADF document."""
    return _check(doc) is None
