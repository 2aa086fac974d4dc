"""Search: ``search/jql`` (GET/POST), ``search/approximate-count``, ``jql/parse`` and the
legacy ``search`` (410 on Cloud unless enabled; startAt/total paging otherwise)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.jql.ast import (
    And,
    Clause,
    Empty,
    Field,
    Function,
    Node,
    Not,
    Operand,
    Or,
    Query,
    Value,
    ValueList,
)
from jirakit.jql.errors import JqlError
from jirakit.jql.evaluator import compile as compile_jql
from jirakit.jql.parser import parse
from jirakit.sandbox.app import Ctx, JiraJSON, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.inputs import INVALID_PAYLOAD, body_dict, body_int, body_str, body_str_list
from jirakit.sandbox.search import SearchEngine
from jirakit.sandbox.store import API, BASE, IssueRecord
from jirakit.sandbox.views import ViewCache, id_only, join_json, split_list, to_json_bytes

REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
ID_ONLY_MAX = 5000
FIELDS_MAX = 100


def _engine(c: Ctx) -> SearchEngine:
    engine: SearchEngine = c.state.search
    return engine


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"The '{name}' parameter must be an integer.") from None


async def _search_params(c: Ctx) -> dict[str, Any]:
    if c.request.method == "POST":
        body = body_dict(await c.json())
        expand = body.get("expand")
        reconcile = body.get("reconcileIssues")
        if reconcile is not None and not isinstance(reconcile, list):
            raise bad_request(INVALID_PAYLOAD)
        return {
            "jql": body_str(body, "jql"),
            "nextPageToken": body_str(body, "nextPageToken"),
            "maxResults": body_int(body, "maxResults", 50),
            "fields": split_list(
                [body["fields"]]
                if isinstance(body.get("fields"), str)
                else body_str_list(body, "fields")
            ),
            "expand": split_list(
                [expand] if isinstance(expand, str) else body_str_list(body, "expand")
            ),
            "reconcileIssues": reconcile or [],
            "startAt": body_int(body, "startAt", 0),
        }
    rec = c.params("reconcileIssues")
    return {
        "jql": c.param("jql"),
        "nextPageToken": c.param("nextPageToken"),
        "maxResults": _int(c.param("maxResults"), "maxResults", 50),
        "fields": split_list(c.params("fields")),
        "expand": split_list(c.params("expand")),
        "reconcileIssues": [x for r in rec for x in r.split(",") if x],
        "startAt": _int(c.param("startAt"), "startAt", 0),
    }


def _render(
    c: Ctx,
    recs: list[IssueRecord],
    fields: list[str],
    expand: list[str],
    default: str,
    *,
    caps: bool = False,
) -> tuple[list[bytes], list[str]]:
    """(UTF-8 JSON of each issue with the request's URLs, selected field ids). ``caps``:
    embedded changelog and comments capped as ``search/jql`` does."""
    if default == "id" and id_only(fields):
        if any(f in ("key", "issuekey") for f in fields):
            text = ",".join(
                f'{{"id":"{r.id}","key":{to_json_bytes(r.key).decode()}}}' for r in recs
            )
        else:
            text = ",".join(f'{{"id":"{r.id}"}}' for r in recs)
        return ([text.encode()] if recs else []), []
    cache: ViewCache = c.state.views
    selected = cache.select(fields, default)
    issue_expand = [e for e in expand if e not in ("names", "schema")]
    texts = c.issue_jsons(recs, selected, issue_expand, caps=caps)
    return texts, selected


def _page(c: Ctx, issues: list[bytes], rest: dict[str, Any]) -> Response:
    """``{"issues": [...], **rest}`` from already-rendered issues (their URLs are final:
    only the small tail is checked for URL markers, not the whole page)."""
    tail = b"".join(b"," + to_json_bytes(k) + b":" + to_json_bytes(v) for k, v in rest.items())
    if b"@@" in tail:
        tail = tail.replace(API.encode(), c.api.encode()).replace(BASE.encode(), c.base.encode())
    body = join_json(b'{"issues":[', issues, b"]" + tail + b"}")
    return Response(body, 200, media_type=JiraJSON.media_type)


def _names_schema(c: Ctx, out: dict[str, Any], selected: list[str], expand: list[str]) -> None:
    if "names" in expand:
        names = {f["id"]: f["name"] for f in c.store.fields}
        out["names"] = {fid: names[fid] for fid in selected}
    if "schema" in expand:
        schemas = {f["id"]: f["schema"] for f in c.store.fields}
        out["schema"] = {fid: schemas[fid] for fid in selected}


async def search_jql(request: Request) -> Response:
    c = ctx(request)
    p = await _search_params(c)
    fields: list[str] = p["fields"]
    cap = ID_ONLY_MAX if id_only(fields) else FIELDS_MAX
    size = max(1, min(p["maxResults"], cap)) if p["maxResults"] > 0 else 1
    try:
        reconcile = frozenset(int(x) for x in p["reconcileIssues"])
    except (TypeError, ValueError):
        raise bad_request("reconcileIssues must be a list of issue ids.") from None
    with c.store.lock:
        recs, token = _engine(c).page(
            p["jql"], c.account_id, token=p["nextPageToken"], max_results=size, reconcile=reconcile
        )
        issues, selected = _render(c, recs, fields, p["expand"], "id", caps=True)
    out: dict[str, Any] = {}
    if token:
        out["nextPageToken"] = token
    out["isLast"] = token is None
    _names_schema(c, out, selected, p["expand"])
    return _page(c, issues, out)


async def approximate_count(request: Request) -> Response:
    c = ctx(request)
    jql = body_str(body_dict(await c.json()), "jql")
    with c.store.lock:
        n = _engine(c).count(jql, c.account_id)
    return c.respond({"count": n})


async def legacy_search(request: Request) -> Response:
    c = ctx(request)
    if c.config.flavour == "cloud" and not c.config.legacy_search:
        raise JiraHttpError(410, [REMOVED])
    p = await _search_params(c)
    start = max(0, p["startAt"])
    size = max(0, min(p["maxResults"], 100 if c.config.flavour == "cloud" else 1000))
    fields = p["fields"] or ["*navigable"]
    with c.store.lock:
        recs, total = _engine(c).legacy(p["jql"], c.account_id, start, size)
        issues, selected = _render(c, recs, fields, p["expand"], "*navigable")
    out: dict[str, Any] = {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": size,
        "total": total,
    }
    _names_schema(c, out, selected, p["expand"])
    return _page(c, issues, out)


# -- jql/parse ------------------------------------------------------------------------


def _field_json(f: Field) -> dict[str, Any]:
    name = f.name if f.cf_id is None else f"cf[{f.cf_id}]"
    out: dict[str, Any] = {"name": name}
    if " " in name or any(ch in name for ch in "\"'=!<>~(),"):
        out["encodedName"] = '"' + name.replace('"', '\\"') + '"'
    else:
        out["encodedName"] = name
    if f.property_key is not None:
        out["property"] = [
            {"entity": "issue", "key": f.property_key, "path": ".".join(f.property_path)}
        ]
    return out


def _operand_json(o: Operand | None) -> dict[str, Any]:
    if isinstance(o, Value):
        return {
            "value": o.text,
            "encodedValue": f'"{o.text}"' if o.quoted or " " in o.text else o.text,
        }
    if isinstance(o, Empty):
        return {"keyword": "empty"}
    if isinstance(o, Function):
        return {
            "function": o.name,
            "arguments": list(o.args),
            "encodedOperand": f"{o.name}({', '.join(o.args)})",
        }
    if isinstance(o, ValueList):
        return {
            "values": [_operand_json(i) for i in o.items],
            "encodedOperand": str(o) if hasattr(o, "__str__") else "",
        }
    return {}


def _clause_json(node: Node) -> dict[str, Any]:
    if isinstance(node, And | Or):
        return {
            "operator": "and" if isinstance(node, And) else "or",
            "clauses": [_clause_json(c) for c in node.clauses],
        }
    if isinstance(node, Not):
        return {"operator": "not", "clauses": [_clause_json(node.clause)]}
    assert isinstance(node, Clause)
    out: dict[str, Any] = {"field": _field_json(node.field), "operator": node.operator.value}
    if node.operand is not None:
        out["operand"] = _operand_json(node.operand)
    if (
        node.predicates
        or node.operator.value in ("changed",)
        or node.operator.value.startswith("was")
    ):
        out["predicates"] = [
            {"operator": p.kind.value, "operand": _operand_json(p.operand)} for p in node.predicates
        ]
    return out


def _structure(q: Query) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if q.where is not None:
        out["where"] = _clause_json(q.where)
    if q.order_by:
        out["orderBy"] = {
            "fields": [
                {
                    "field": _field_json(o.field),
                    **({"direction": o.direction.value} if o.direction else {}),
                }
                for o in q.order_by
            ]
        }
    return out


async def jql_parse(request: Request) -> Response:
    c = ctx(request)
    body = await c.json()
    validation = (c.param("validation") or "strict").lower()
    if not isinstance(body, dict) or not isinstance(body.get("queries"), list):
        raise bad_request(
            "Invalid request payload. Refer to the REST API documentation and try again."
        )
    engine = _engine(c)
    out = []
    for raw in body["queries"]:
        if not isinstance(raw, str | int | float):
            raise bad_request(INVALID_PAYLOAD)
        text = str(raw)
        item: dict[str, Any] = {"query": text}
        try:
            q = parse(text)
        except JqlError as exc:
            item["errors"] = exc.messages
            out.append(item)
            continue
        item["structure"] = _structure(q)
        if validation != "none":
            found = engine.problems(q)
            if not found:
                try:
                    compile_jql(q, engine.context(c.account_id))
                except JqlError as exc:
                    found = exc.messages
            if found:
                item["errors" if validation == "strict" else "warnings"] = found
        out.append(item)
    return c.respond({"queries": out})


ROUTES = [
    Route("/search/jql", search_jql, methods=["GET", "POST"]),
    Route("/search/approximate-count", approximate_count, methods=["POST"]),
    Route("/search", legacy_search, methods=["GET", "POST"]),
    Route("/jql/parse", jql_parse, methods=["POST"]),
]
