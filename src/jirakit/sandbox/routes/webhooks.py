"""Webhook registration: admin webhooks (``/rest/webhooks/1.0/webhook``, `ADMIN_ROUTES`) and
an app's dynamic webhooks (``/rest/api/{2,3}/webhook``, `ROUTES`). Delivery lives in
`jirakit.sandbox.webhooks`.

Dynamic webhooks belong to an app; the sandbox has one (``Sandbox.webhooks.app_key``,
signing with ``app_secret``) and lets any authenticated caller act for it, Basic auth
included (Jira only lets Connect and OAuth 2.0 apps call these operations).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jirakit.jql.errors import JqlError
from jirakit.sandbox.app import Ctx, ctx
from jirakit.sandbox.errors import JiraHttpError, bad_request
from jirakit.sandbox.search import parse_jql
from jirakit.sandbox.webhooks import (
    DYNAMIC_EVENTS,
    DYNAMIC_TTL_MS,
    Registration,
    WebhookEngine,
    dynamic_jql_problems,
)

ADMIN_GROUPS = ("site-admins", "jira-admins", "jira-administrators")
JQL_SECTION = "issue-related-events-section"
INVALID = "Invalid request payload. Refer to the REST API documentation and try again."


def _engine(c: Ctx) -> WebhookEngine:
    engine = getattr(c.request.app.state, "webhooks", None)
    if not isinstance(engine, WebhookEngine):
        raise JiraHttpError(404, ["null for uri: " + str(c.request.url)])
    return engine


def _valid_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# -- admin webhooks ------------------------------------------------------------------------


def _require_admin(c: Ctx) -> None:
    groups = [g for g in ADMIN_GROUPS if g in c.store.group_members]
    if groups and not any(c.account_id in c.store.group_members[g] for g in groups):
        raise JiraHttpError(403, ["You do not have the permission to manage webhooks."])


def _admin_view(c: Ctx, reg: Registration) -> dict[str, Any]:
    user = c.store.users.get(reg.owner) or {}
    return {
        "name": reg.name,
        "url": reg.url,
        "excludeBody": reg.exclude_body,
        "filters": {JQL_SECTION: reg.jql},
        "events": list(reg.events),
        "enabled": reg.enabled,
        "self": f"{c.base}/rest/webhooks/1.0/webhook/{reg.id}",
        "lastUpdatedUser": reg.owner,
        "lastUpdatedDisplayName": user.get("displayName", ""),
        "lastUpdated": reg.updated_ms,
    }


def _admin_fields(c: Ctx, body: Any, reg: Registration | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(INVALID)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if "name" in body or reg is None:
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            errors["name"] = "The webhook name must not be empty."
        else:
            out["name"] = body["name"]
    if "url" in body or reg is None:
        if not _valid_url(body.get("url")):
            errors["url"] = "The webhook URL must be a valid http or https URL."
        else:
            out["url"] = body["url"]
    if "events" in body:
        events = body["events"]
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            errors["events"] = "The events must be a list of event names."
        else:
            out["events"] = tuple(events)
    if "filters" in body:
        filters = body["filters"]
        jql = filters.get(JQL_SECTION, "") if isinstance(filters, dict) else None
        if not isinstance(jql, str):
            errors["filters"] = "The filters must be an object of JQL strings."
        else:
            if jql.strip():
                c.state.search.parse(jql, bounded=False)  # 400 with Jira's JQL messages
            out["jql"] = jql.strip()
    for key, attr in (("enabled", "enabled"), ("excludeBody", "exclude_body")):
        if key in body:
            if not isinstance(body[key], bool):
                errors[key] = f"The field {key} must be a boolean."
            else:
                out[attr] = body[key]
    if "secret" in body:
        secret = body["secret"]
        if secret is not None and not isinstance(secret, str):
            errors["secret"] = "The secret must be a string."
        else:
            out["secret"] = secret or None
    if errors:
        raise bad_request(errors=errors)
    return out


def _admin_reg(c: Ctx, engine: WebhookEngine) -> Registration:
    raw = c.request.path_params["id"]
    reg = engine.registrations.get(int(raw)) if raw.isdigit() else None
    if reg is None or reg.kind != "admin":
        raise JiraHttpError(404, [f"Webhook with id {raw} not found."])
    return reg


async def admin_create(request: Request) -> Response:
    c = ctx(request)
    engine = _engine(c)
    _require_admin(c)
    fields = _admin_fields(c, await c.json(), None)
    reg = Registration(
        id=engine.next_id(),
        kind="admin",
        url=fields["url"],
        events=fields.get("events", ()),
        jql=fields.get("jql", ""),
        name=fields["name"],
        secret=fields.get("secret"),
        enabled=fields.get("enabled", True),
        exclude_body=fields.get("exclude_body", False),
        owner=c.account_id,
        base=c.base,
        updated_ms=engine.now_ms(),
    )
    engine.add(reg)
    return c.respond(_admin_view(c, reg), 201)


async def admin_list(request: Request) -> Response:
    c = ctx(request)
    engine = _engine(c)
    _require_admin(c)
    return c.respond([_admin_view(c, r) for r in engine.of_kind("admin")])


async def admin_get(request: Request) -> Response:
    c = ctx(request)
    engine = _engine(c)
    _require_admin(c)
    return c.respond(_admin_view(c, _admin_reg(c, engine)))


async def admin_update(request: Request) -> Response:
    c = ctx(request)
    engine = _engine(c)
    _require_admin(c)
    reg = _admin_reg(c, engine)
    fields = _admin_fields(c, await c.json(), reg)
    fields.update(owner=c.account_id, base=c.base, updated_ms=engine.now_ms())
    engine.update(reg, **fields)
    return c.respond(_admin_view(c, reg))


async def admin_delete(request: Request) -> Response:
    c = ctx(request)
    engine = _engine(c)
    _require_admin(c)
    engine.remove([_admin_reg(c, engine).id])
    return c.empty(204)


# -- dynamic webhooks ----------------------------------------------------------------------


def _dynamic_engine(c: Ctx) -> WebhookEngine:
    if c.config.flavour != "cloud":  # Data Center has no dynamic webhooks
        raise JiraHttpError(404, ["null for uri: " + str(c.request.url)])
    return _engine(c)


def _dynamic_view(reg: Registration) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": reg.id,
        "jqlFilter": reg.jql,
        "events": list(reg.events),
        "expirationDate": reg.expires_ms,
        "url": reg.url,
    }
    if reg.field_ids is not None:
        out["fieldIdsFilter"] = list(reg.field_ids)
    if reg.property_keys is not None:
        out["issuePropertyKeysFilter"] = list(reg.property_keys)
    return out


def _string_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _register_one(c: Ctx, engine: WebhookEngine, url: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {"errors": [INVALID]}
    problems: list[str] = []
    events = _string_list(raw.get("events"))
    if not events:
        problems.append("The list of events must not be empty.")
    else:
        problems += [f"The event {e} is not supported." for e in events if e not in DYNAMIC_EVENTS]
    jql = raw.get("jqlFilter")
    if not isinstance(jql, str) or not jql.strip():
        problems.append("The JQL filter must not be empty.")
    else:
        try:
            query = parse_jql(jql.strip())
        except JqlError as exc:
            problems += exc.messages
        else:
            problems += dynamic_jql_problems(query)
            if not problems:
                problems += c.state.search.problems(query)
    field_ids = raw.get("fieldIdsFilter")
    if field_ids is not None and _string_list(field_ids) is None:
        problems.append("The fieldIdsFilter must be a list of field ids.")
    keys = raw.get("issuePropertyKeysFilter")
    if keys is not None and _string_list(keys) is None:
        problems.append("The issuePropertyKeysFilter must be a list of property keys.")
    if problems:
        return {"errors": list(dict.fromkeys(problems))}
    assert events is not None
    assert isinstance(jql, str)
    now = engine.now_ms()
    reg = Registration(
        id=engine.next_id(),
        kind="dynamic",
        url=url,
        events=events,
        jql=jql.strip(),
        expires_ms=now + DYNAMIC_TTL_MS,
        field_ids=_string_list(field_ids),
        property_keys=_string_list(keys),
        app=engine.app_key,
        owner=c.account_id,
        base=c.base,
        updated_ms=now,
    )
    engine.add(reg)
    return {"createdWebhookId": reg.id}


async def dynamic_register(request: Request) -> Response:
    c = ctx(request)
    engine = _dynamic_engine(c)
    body = await c.json()
    if not isinstance(body, dict) or not isinstance(body.get("webhooks"), list):
        raise bad_request(INVALID)
    url = body.get("url")
    if not _valid_url(url):
        raise bad_request(errors={"url": "The webhook URL must be a valid http or https URL."})
    assert isinstance(url, str)
    existing = {r.url for r in engine.of_kind("dynamic", engine.app_key)}
    if existing and url not in existing:
        raise bad_request("Only a single URL per app is allowed to be registered.")
    results = [_register_one(c, engine, url, raw) for raw in body["webhooks"]]
    return c.respond({"webhookRegistrationResult": results})


async def dynamic_list(request: Request) -> Response:
    c = ctx(request)
    engine = _dynamic_engine(c)
    values = [_dynamic_view(r) for r in engine.of_kind("dynamic", engine.app_key)]
    start = max(0, c.int_param("startAt", 0))
    size = max(1, min(c.int_param("maxResults", 100), 100))
    page: dict[str, Any] = {
        "self": f"{c.api}/webhook?maxResults={size}&startAt={start}",
        "maxResults": size,
        "startAt": start,
        "total": len(values),
        "isLast": start + size >= len(values),
        "values": values[start : start + size],
    }
    if start + size < len(values):
        page["nextPage"] = f"{c.api}/webhook?maxResults={size}&startAt={start + size}"
    return c.respond(page)


async def _webhook_ids(c: Ctx) -> list[int]:
    body = await c.json()
    ids = body.get("webhookIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise bad_request(errors={"webhookIds": "The list of webhook IDs must not be null."})
    return [int(i) for i in ids]


async def dynamic_delete(request: Request) -> Response:
    c = ctx(request)
    engine = _dynamic_engine(c)
    ids = await _webhook_ids(c)
    if not ids:
        raise bad_request(errors={"webhookIds": "The list of webhook IDs must not be empty."})
    mine = {r.id for r in engine.of_kind("dynamic", engine.app_key)}
    engine.remove(i for i in ids if i in mine)
    return c.empty(202)


async def dynamic_refresh(request: Request) -> Response:
    c = ctx(request)
    engine = _dynamic_engine(c)
    expires = engine.refresh(await _webhook_ids(c), engine.app_key)
    return c.respond({"expirationDate": expires})


async def dynamic_failed(request: Request) -> Response:
    c = ctx(request)
    engine = _dynamic_engine(c)
    size = max(1, min(c.int_param("maxResults", 100), 100))
    after_raw = c.param("failedAfter") or c.param("after")
    try:
        after = int(after_raw) if after_raw else None
    except ValueError:
        raise bad_request("The 'failedAfter' parameter must be an integer.") from None
    failures = engine.failures(engine.app_key)
    if after is not None:
        failures = [f for f in failures if f.failure_time_ms > after]
    chosen = failures[:size]
    page: dict[str, Any] = {
        "values": [
            {"id": f.id, "body": f.body, "url": f.url, "failureTime": f.failure_time_ms}
            for f in chosen
        ],
        "maxResults": size,
    }
    if chosen:
        last = chosen[-1].failure_time_ms
        page["next"] = f"{c.api}/webhook/failed?failedAfter={last}&maxResults={size}"
    return c.respond(page)


ROUTES = [
    Route("/webhook", dynamic_register, methods=["POST"]),
    Route("/webhook", dynamic_list, methods=["GET"]),
    Route("/webhook", dynamic_delete, methods=["DELETE"]),
    Route("/webhook/refresh", dynamic_refresh, methods=["PUT"]),
    Route("/webhook/failed", dynamic_failed, methods=["GET"]),
]

ADMIN_ROUTES = [
    Route("/webhook", admin_create, methods=["POST"]),
    Route("/webhook", admin_list, methods=["GET"]),
    Route("/webhook/{id}", admin_get, methods=["GET"]),
    Route("/webhook/{id}", admin_update, methods=["PUT"]),
    Route("/webhook/{id}", admin_delete, methods=["DELETE"]),
]
