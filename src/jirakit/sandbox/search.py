"""Query execution for the search endpoints: parsing, planning, lag, ordering and paging.

- JQL goes through `jirakit.jql` (parser, planner, evaluator) with an `EvalContext` built
  from the store; parse errors become 400s carrying the parser's (Jira's) messages.
- Planning: `Query.constraints()` narrows candidates through store indexes (issue
  keys/ids, projects, the ``updated``-ordered index) before the evaluator runs.
- Eventual consistency: an issue changed less than ``search_lag`` seconds ago is matched
  on its *previous* state (or not at all when just created); a deleted one still shows.
- Paging: results are computed once per (query, user, store generation) and cached; the
  opaque ``nextPageToken`` carries the query's hash, the offset and the cached result's
  id, signed, so a token presented with another JQL is a 400.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jirakit.jql.ast import And, Clause, Not, Operator, Or, Query, Value, ValueList
from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlError
from jirakit.jql.evaluator import compile as compile_jql
from jirakit.jql.evaluator import sort_key
from jirakit.jql.parser import parse
from jirakit.jql.validate import FieldSpec, Schema, operators_for
from jirakit.jql.validate import problems as jql_problems
from jirakit.sandbox.clock import Clock, to_ms
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.store import History, IssueRecord, Json, Store
from jirakit.sandbox.views import DERIVED, derived_field, history_view

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
BAD_TOKEN = "The provided next page token is invalid or expired."
HISTORY_OPERATORS = frozenset(
    {Operator.WAS, Operator.WAS_IN, Operator.WAS_NOT, Operator.WAS_NOT_IN, Operator.CHANGED}
)
_DERIVED = frozenset(DERIVED)
_MISSING = object()


class LazyFields(Mapping[str, Any]):
    """Issue fields for the evaluator: stored values, derived ones computed on demand."""

    __slots__ = ("fields", "rec", "store")

    def __init__(self, store: Store, rec: IssueRecord, fields: Json) -> None:
        self.store, self.rec, self.fields = store, rec, fields

    def get(self, key: str, default: Any = None) -> Any:
        v = self.fields.get(key, _MISSING)
        if v is not _MISSING:
            return v
        if key == "comment":  # the stored comments already have the shape JQL reads
            comments = self.rec.comments
            return {"comments": comments, "total": len(comments), "startAt": 0}
        if key in _DERIVED:
            return derived_field(self.store, self.rec, key, 3, None)
        return default

    def __getitem__(self, key: str) -> Any:
        v = self.get(key, _MISSING)
        if v is _MISSING:
            raise KeyError(key)
        return v

    def __iter__(self) -> Iterator[str]:
        yield from self.fields
        yield from (k for k in DERIVED if k not in self.fields)

    def __len__(self) -> int:
        return len(self.fields) + len(DERIVED)


class _IdSets(Mapping[str, frozenset[str]]):
    """issue id -> watcher/voter accountIds, read lazily from the store."""

    __slots__ = ("attr", "store")

    def __init__(self, store: Store, attr: str) -> None:
        self.store, self.attr = store, attr

    def __getitem__(self, key: str) -> frozenset[str]:
        rec = self.store.issue(str(key))
        if rec is None:
            raise KeyError(key)
        return frozenset(getattr(rec, self.attr))

    def get(self, key: str, default: Any = None) -> Any:
        rec = self.store.issue(str(key))
        return default if rec is None else frozenset(getattr(rec, self.attr))

    def __iter__(self) -> Iterator[str]:
        return (r.sid for r in self.store.issues.values())

    def __len__(self) -> int:
        return len(self.store.issues)


def uses_history(query: Query) -> bool:
    def walk(node: Any) -> bool:
        if isinstance(node, Clause):
            return node.operator in HISTORY_OPERATORS
        if isinstance(node, And | Or):
            return any(walk(c) for c in node.clauses)
        if isinstance(node, Not):
            return walk(node.clause)
        return False

    return query.where is not None and walk(query.where)


def _field_names(query: Query) -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Clause):
            names.add(node.field.name)
        elif isinstance(node, And | Or):
            for c in node.clauses:
                walk(c)
        elif isinstance(node, Not):
            walk(node.clause)

    walk(query.where)
    names.update(o.field.name for o in query.order_by)
    return names


def exact_project_filter(query: Query) -> bool:
    """True when the where-clause is just ``project = X`` / ``project in (X, Y)``: the
    planner's candidates (the projects' issues) are then exactly the matches."""
    node = query.where
    if not isinstance(node, Clause) or node.predicates or node.field.cf_id is not None:
        return False
    if node.field.name.lower() != "project" or node.field.property_key is not None:
        return False
    if node.operator is Operator.EQUALS:
        return isinstance(node.operand, Value)
    if node.operator is Operator.IN:
        return isinstance(node.operand, ValueList) and all(
            isinstance(i, Value) for i in node.operand.items
        )
    return False


@lru_cache(maxsize=512)
def parse_jql(jql: str) -> Query:
    return parse(jql)


def jql_error(exc: JqlError) -> JiraHttpError:
    return bad_request(*exc.messages)


@dataclass
class Result:
    """One executed query: matching issue ids in order."""

    ids: list[int]
    qhash: str
    snap: int


class SearchEngine:
    def __init__(self, store: Store, clock: Clock, lag_seconds: float, secret: bytes) -> None:
        self.store = store
        self.clock = clock
        self.lag_ms = int(lag_seconds * 1000)
        self.secret = secret
        self._cache: OrderedDict[tuple[str, str, int], Result] = OrderedDict()
        self._snaps: OrderedDict[int, Result] = OrderedDict()
        self._snap_seq = 0
        self._meta: dict[str, Any] | None = None
        self._schema_cache: Schema | None = None

    # -- context -------------------------------------------------------------------

    def invalidate_meta(self) -> None:
        """Call after changing users, fields, projects ... (not issues) in the store."""
        self._meta = None
        self._schema_cache = None

    def _meta_parts(self) -> dict[str, Any]:
        if self._meta is None:
            s = self.store
            self._meta = {
                "users": tuple(s.users.values()),
                "groups": {g: frozenset(m) for g, m in s.group_members.items()},
                "fields": tuple(s.fields),
                "projects": tuple(s.projects.values()),
                "sprints": tuple(s.sprints.values()),
                "versions": tuple(s.versions.values()),
                "components": tuple(s.components.values()),
                "statuses": tuple(s.statuses.values()),
                "watchers": _IdSets(s, "watchers"),
                "voters": _IdSets(s, "voters"),
            }
        return self._meta

    def context(self, account_id: str | None) -> EvalContext:
        user = self.store.users.get(account_id or "")
        tz_name = (user or {}).get("timeZone") or "UTC"
        try:
            tz = ZoneInfo(tz_name)
        except (KeyError, ValueError):
            tz = ZoneInfo("UTC")
        return EvalContext(
            now=self.clock.now(),
            tz=tz,
            current_user=account_id,
            issue_by_key=self._issue_by_key,
            **self._meta_parts(),
        )

    def _issue_by_key(self, key: str) -> Json | None:
        rec = self.store.issue(str(key))
        if rec is None:
            return None
        return {"id": rec.sid, "key": rec.key, "fields": LazyFields(self.store, rec, rec.fields)}

    # -- parsing ---------------------------------------------------------------------

    def parse(self, jql: str | None, *, bounded: bool = True) -> Query:
        text = (jql or "").strip()
        try:
            query = parse_jql(text) if text else Query()
        except JqlError as exc:
            raise jql_error(exc) from None
        if bounded and query.where is None:
            raise bad_request(UNBOUNDED)
        found = self.problems(query)
        if found:
            raise bad_request(*found)
        return query

    def validate(self, jql: str, account_id: str | None) -> Query:
        """Parse and compile ``jql`` as a search would (unbounded allowed): what a saved
        filter must pass. 400 with Jira's messages otherwise."""
        query = self.parse(jql, bounded=False)
        try:
            compile_jql(query, self.context(account_id))
            sort_key(query, self.context(account_id))
        except JqlError as exc:
            raise jql_error(exc) from None
        return query

    # -- validation ------------------------------------------------------------------

    def problems(self, query: Query) -> list[str]:
        """Jira's validation messages for unknown values and unsupported operators.

        Field existence is left to the evaluator (it knows pseudo-fields such as
        ``text`` or ``statusCategory``): names the site's field list does not have are
        given a permissive spec here.
        """
        schema = self._schema()
        extra = {
            name: FieldSpec()
            for name in _field_names(query)
            if name.casefold() not in schema.fields
        }
        if extra:
            schema = Schema(fields={**schema.fields, **extra}, functions=None)
        return jql_problems(query, schema)

    def _schema(self) -> Schema:
        if self._schema_cache is None:
            s = self.store

            def names(items: Iterable[Json], *attrs: str) -> set[str]:
                return {str(i[a]) for i in items for a in attrs if i.get(a) is not None}

            values: dict[str, set[str]] = {
                "project": names(s.projects.values(), "key", "id", "name"),
                "status": names(s.statuses.values(), "name", "id"),
                "priority": names(s.priorities.values(), "name", "id"),
                "resolution": names(s.resolutions.values(), "name", "id") | {"Unresolved"},
                "issuetype": names(s.issuetypes.values(), "name", "id"),
                "components": names(s.components.values(), "name", "id"),
                "fixVersions": names(s.versions.values(), "name", "id"),
                "versions": names(s.versions.values(), "name", "id"),
            }
            for fid, options in s.field_options.items():
                values[fid] = names(options, "value", "id")
            specs: dict[str, FieldSpec] = {}
            for f in s.fields:
                if f["id"] in ("issuekey", "parent", "customfield_10014"):
                    spec = FieldSpec()
                else:
                    spec = FieldSpec(
                        operators=operators_for(f["schema"]), values=values.get(f["id"])
                    )
                for name in (f["id"], f["name"], *f.get("clauseNames", ())):
                    specs.setdefault(name, spec)
            self._schema_cache = Schema(fields=specs, functions=None)
        return self._schema_cache

    # -- execution -------------------------------------------------------------------

    def candidates(self, query: Query, ctx: EvalContext) -> list[IssueRecord]:
        s = self.store
        try:
            cons = query.constraints()
        except (JqlError, ValueError):
            cons = None
        if cons is None or cons.unrestricted:
            return self._everything()
        ids: set[int] | None = None
        if cons.issues is not None:
            ids = set()
            for ref in cons.issues:
                rec = s.issue(ref.upper())
                if rec is not None:
                    ids.add(rec.id)
                elif ref.isdigit():
                    ids.add(int(ref))
            for iid, tomb in s.tombstones.items():
                if cons.allows_issue(tomb.record.key) or cons.allows_issue(str(iid)):
                    ids.add(iid)
        if cons.projects is not None:
            pids = {int(p["id"]) for p in s.projects.values() if cons.allows_project(p)}
            in_projects: set[int] = set()
            for pid in pids:
                in_projects.update(s.by_project.get(pid, ()))
            in_projects.update(
                iid for iid, t in s.tombstones.items() if t.record.project_id in pids
            )
            ids = in_projects if ids is None else ids & in_projects
        if cons.updated and self.lag_ms == 0:
            try:
                start, end = cons.time_range("updated", ctx)
            except (JqlError, ValueError):
                start = end = None
            if start is not None or end is not None:
                lo = 0 if start is None else bisect.bisect_left(s.updated_index, (to_ms(start), -1))
                hi = (
                    len(s.updated_index)
                    if end is None
                    else bisect.bisect_left(s.updated_index, (to_ms(end), -1))
                )
                in_range = {iid for _, iid in s.updated_index[lo:hi]}
                ids = in_range if ids is None else ids & in_range
        if ids is None:
            return self._everything()
        out = []
        for iid in ids:
            rec = s.issues.get(iid)
            if rec is None:
                dead = s.tombstones.get(iid)
                rec = dead.record if dead is not None else None
            if rec is not None:
                out.append(rec)
        return out

    def _everything(self) -> list[IssueRecord]:
        s = self.store
        return [*s.issues.values(), *(t.record for t in s.tombstones.values())]

    def execute(
        self,
        query: Query,
        jql: str,
        account_id: str | None,
        reconcile: frozenset[int] = frozenset(),
    ) -> Result:
        s = self.store
        now_ms = to_ms(self.clock.now())
        pending = s.pending_until_ms > now_ms
        key = (jql, account_id or "", s.generation)
        if not pending and not reconcile:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        if s.tombstones:
            s.expire_tombstones(now_ms)
        ctx = self.context(account_id)
        try:
            pred = compile_jql(query, ctx)
            order = sort_key(query, ctx)
        except JqlError as exc:
            raise jql_error(exc) from None
        with_history = uses_history(query)
        exact = exact_project_filter(query)
        views: list[Json] = []
        candidates = self.candidates(query, ctx)
        allowed = s.browsable_projects(account_id)
        if allowed is not None:  # browse permission
            candidates = [r for r in candidates if r.project_id in allowed]
        tomb_ids = set(s.tombstones)
        for rec in candidates:
            fields: Json | None = rec.fields
            histories: list[History] = rec.histories
            if rec.id in tomb_ids and rec.id not in s.issues:
                if rec.id in reconcile:
                    continue
            elif rec.searchable_ms > now_ms and rec.id not in reconcile:
                fields = rec.search_fields
                histories = rec.search_histories or []
                if fields is None:
                    continue
            assert fields is not None
            view: Json = {"id": rec.sid, "key": rec.key, "fields": LazyFields(s, rec, fields)}
            if with_history:
                view["changelog"] = {"histories": [history_view(s, h) for h in histories]}
            try:
                if exact or pred(view):
                    views.append(view)
            except JqlError as exc:
                raise jql_error(exc) from None
        try:
            views.sort(key=order)
        except JqlError as exc:
            raise jql_error(exc) from None
        self._snap_seq += 1
        qhash = hashlib.sha256(jql.encode()).hexdigest()[:16]
        result = Result([int(v["id"]) for v in views], qhash, self._snap_seq)
        self._snaps[result.snap] = result
        while len(self._snaps) > 64:
            self._snaps.popitem(last=False)
        if not pending and not reconcile:
            self._cache[key] = result
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return result

    # -- tokens ----------------------------------------------------------------------

    def make_token(self, result: Result, offset: int) -> str:
        payload = f"{result.qhash}.{offset}.{result.snap}"
        mac = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{payload}.{mac}".encode()).decode().rstrip("=")

    def read_token(self, token: str, jql: str) -> tuple[int, Result | None]:
        """(offset, cached result or None) for a token issued for this ``jql``."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            qhash, offset_s, snap_s, mac = raw.split(".")
            payload = f"{qhash}.{offset_s}.{snap_s}"
            good = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()[:16]
            if not hmac.compare_digest(mac, good):
                raise ValueError("bad mac")
            offset, snap = int(offset_s), int(snap_s)
        except (ValueError, UnicodeDecodeError):
            raise bad_request(BAD_TOKEN) from None
        if qhash != hashlib.sha256(jql.encode()).hexdigest()[:16]:
            raise bad_request(BAD_TOKEN)
        result = self._snaps.get(snap)
        if result is not None:  # a query being paged stays: later pages need no re-run
            self._snaps.move_to_end(snap)
        return offset, result

    def page(
        self,
        jql: str | None,
        account_id: str | None,
        *,
        token: str | None,
        max_results: int,
        reconcile: frozenset[int] = frozenset(),
    ) -> tuple[list[IssueRecord], str | None]:
        """One page of ``search/jql``: (issues, next token or None)."""
        text = (jql or "").strip()
        query = self.parse(text)
        offset, result = 0, None
        if token:
            offset, result = self.read_token(token, text)
        if result is None:
            result = self.execute(query, text, account_id, reconcile)
        ids = result.ids[offset : offset + max_results]
        live = self.store.issues
        tombstones = self.store.tombstones
        if not tombstones:
            recs = [r for r in map(live.get, ids) if r is not None]
        else:
            recs = []
            for iid in ids:
                rec = live.get(iid)
                if rec is None:
                    dead = tombstones.get(iid)
                    rec = dead.record if dead is not None else None
                if rec is not None:
                    recs.append(rec)
        nxt = offset + max_results
        token_out = self.make_token(result, nxt) if nxt < len(result.ids) else None
        return recs, token_out

    def count(self, jql: str | None, account_id: str | None) -> int:
        text = (jql or "").strip()
        return len(self.execute(self.parse(text), text, account_id).ids)

    def legacy(
        self, jql: str | None, account_id: str | None, start: int, size: int
    ) -> tuple[list[IssueRecord], int]:
        text = (jql or "").strip()
        result = self.execute(self.parse(text, bounded=False), text, account_id)
        recs = [
            self.store.issues[i] for i in result.ids[start : start + size] if i in self.store.issues
        ]
        return recs, len(result.ids)
