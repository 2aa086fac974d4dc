"""The dashboard as an ASGI app: server-rendered pages (Jinja2), a little plain JS.

`create_app(providers, access=...)` builds it; `jirakit dashboard` serves it over one
warehouse, and `jirakit serve` mounts it at ``/ui`` (every link is made from the mount's
``root_path``, so it works under any prefix).

Pages (each offered when its provider is given):

``/``             project health: seven charts with captions and table views, filtered
                  by GET parameters ``project``, ``board``, ``from``, ``to`` (linkable)
``/syncs``        sync runs, and the run in progress; ``/syncs/live`` is the part the
                  page polls (an HTML fragment)
``/drift``        schema drift events
``/login``        (token access) the login form; ``/logout`` ends the session

Why server-rendered pages with a little JS rather than a single-page app: every page is
a plain HTML document (tables readable without JS, links that keep filters, forms that
work with the keyboard), and the only scripts are the chart embedder and a poller.
Why polling for live progress rather than server-sent events: a poll every two seconds
is one short request through any proxy, needs no open connection per viewer in the
worker threads, and a fragment rendered by the same template as the page cannot drift
from it; SSE would save a second of latency nobody watching a sync needs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from jirakit import __version__
from jirakit.ui.access import (
    COOKIE,
    Access,
    OpenAccess,
    SecurityHeaders,
    Session,
    SessionStore,
    check_csrf,
    clear_session_cookie,
    set_session_cookie,
)
from jirakit.ui.providers import (
    BadFilter,
    ConnectionSummary,
    HealthFilters,
    Providers,
    SyncActivity,
    Unavailable,
    Viewer,
)
from jirakit.ui.service_charts import box_chart, budget_chart, budget_rate_chart

__all__ = ["UiSettings", "create_app"]

HERE = Path(__file__).parent
P = TypeVar("P")  # a page's provider
# A failed login waits this long before answering (a guessing script gets nowhere).
LOGIN_DELAY = 0.5


@dataclass(frozen=True)
class UiSettings:
    """``title`` heads every page; ``source`` says what the data is (a file, a server);
    ``poll_seconds`` is how often the syncs page asks for news (cheap: the warehouse is
    opened again only when its file changed); ``service``: the login asks for a tenant's
    API key."""

    title: str = "jirakit"
    source: str = ""
    poll_seconds: float = 2.0
    service: bool = False  # inside `jirakit serve`: tenants log in with their API key


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    env.filters["number"] = lambda n: "–" if n is None else f"{int(n):,}"
    env.filters["spec_json"] = _spec_json
    return env


def _when(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _spec_json(spec: Mapping[str, Any]) -> Markup:
    """A spec inside ``<script type="application/json">``: ``<`` escaped, so that no
    value (a summary, a sprint name) can close the element."""
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _parse_date(text: str | None, name: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"'{name}' must be a date like 2026-03-01 (got {text[:40]!r}).") from None


def _parse_instant(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A UTC instant from a form: ``2026-03-01``, ``2026-03-01T10:30`` or with seconds
    (a day alone means its start, or for ``end`` the start of the next day)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            return day + timedelta(days=1) if end else day
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadFilter(
            f"'{name}' must be a UTC time like 2026-03-01T10:30 (got {text[:40]!r})."
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_filters(params: Mapping[str, str]) -> HealthFilters:
    """Project health's filters from GET parameters; `BadFilter` says what is wrong."""
    project = (params.get("project") or "").strip() or None
    if project is not None and len(project) > 255:
        raise BadFilter("'project' is a project key, such as ENG.")
    board_text = (params.get("board") or "").strip()
    board: int | None = None
    if board_text:
        try:
            board = int(board_text)
        except ValueError:
            raise BadFilter(
                f"'board' must be a board's number (got {board_text[:40]!r})."
            ) from None
    return HealthFilters(
        project, board, _parse_date(params.get("from"), "from"), _parse_date(params.get("to"), "to")
    )


class _Pages:
    def __init__(
        self,
        providers: Providers,
        access: Access,
        settings: UiSettings,
        sessions: SessionStore,
    ) -> None:
        self.providers = providers
        self.access = access
        self.settings = settings
        self.sessions = sessions
        self.env = _environment()

    # -- plumbing ------------------------------------------------------------------

    def nav(self) -> list[tuple[str, str, str]]:
        """(key, path, label) of the pages on offer."""
        pages = []
        if self.providers.connections is not None:
            pages.append(("connections", "/connections", "Connections"))
        if self.providers.analytics is not None:
            pages.append(("health", "/", "Project health"))
        if self.providers.sync_runs is not None or self.providers.sync_control is not None:
            pages.append(("syncs", "/syncs", "Syncs"))
        if self.providers.drift is not None:
            pages.append(("drift", "/drift", "Schema drift"))
        if self.providers.webhooks is not None:
            pages.append(("webhooks", "/webhooks", "Webhooks"))
        if self.providers.budget is not None:
            pages.append(("budget", "/budget", "Rate-limit budget"))
        return pages

    def home(self) -> str:
        """The first page on offer (where ``/`` leads when there is no project health)."""
        return self.nav()[0][1] if self.nav() else "/"

    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        session: Session | None = None,
        headers: Mapping[str, str] | None = None,
        fragment: bool = False,
    ) -> HTMLResponse:
        root = request.scope.get("root_path") or ""
        new_session = None
        if session is None and not fragment:
            session = new_session = self.sessions.new()

        def link(path: str, query: Mapping[str, str] | None = None) -> str:
            url = root + path
            return url + ("?" + urlencode(query) if query else "")

        html = self.env.get_template(template).render(
            request=request,
            link=link,
            static=lambda name: f"{root}/static/{name}",
            nav=self.nav(),
            settings=self.settings,
            csrf=session.csrf if session is not None else "",
            logged_in=bool(self.access.login_required and session and session.viewer),
            # What the data is and which pages exist: for those who may look only.
            private=self.access.viewer(request, session) is not None,
            version=__version__,
            flash=session.flash.pop(0) if session is not None and session.flash else None,
            **{"connections": None, "chosen": None, **context},
        )
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        if new_session is not None:
            set_session_cookie(response, request, new_session)
        return response

    def viewer(self, request: Request) -> tuple[Viewer | None, Session | None]:
        session = self.session(request)
        return self.access.viewer(request, session), session

    def denied(self, request: Request, fragment: bool = False) -> Response:
        if fragment or request.method != "GET":
            return Response("Log in first.", status_code=401, media_type="text/plain")
        root = request.scope.get("root_path") or ""
        target = request.url.path
        if root and target.startswith(root):  # the path inside this app, as links are made
            target = target[len(root) :] or "/"
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"{root}/login?{urlencode({'next': target})}", status_code=303)

    def unavailable(
        self,
        request: Request,
        page: str,
        exc: Unavailable,
        session: Session | None,
        **context: Any,
    ) -> HTMLResponse:
        return self.render(
            request,
            "message.html",
            {
                "page": page,
                "heading": "Not available right now",
                "message": exc.message,
                "retry_after": exc.retry_after,
                **context,
            },
            status=503,
            session=session,
            headers={"Retry-After": str(exc.retry_after)},
        )

    # -- pages ---------------------------------------------------------------------

    def health(self, request: Request) -> Response:
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        analytics = self.providers.analytics
        if analytics is None:
            if self.home() != "/":
                root = request.scope.get("root_path") or ""
                return RedirectResponse(root + self.home(), status_code=303)
            raise HTTPException(404)
        error: str | None = None
        filters = HealthFilters()
        try:
            filters = parse_filters(request.query_params)
        except BadFilter as exc:
            error = str(exc)
        connections, chosen = self.choose(request, viewer)
        which = chosen.id if chosen else None
        try:
            choices = analytics.filter_choices(viewer, which)
            report = None
            if error is None:
                try:
                    report = analytics.project_health(viewer, filters, which)
                except BadFilter as exc:
                    error = str(exc)
        except Unavailable as exc:
            return self.unavailable(
                request, "health", exc, session, connections=connections, chosen=chosen
            )
        return self.render(
            request,
            "health.html",
            {
                "page": "health",
                "filters": filters,
                "raw": {
                    k: request.query_params.get(k, "") for k in ("project", "board", "from", "to")
                },
                "choices": choices,
                "report": report,
                "error": error,
                "connections": connections,
                "chosen": chosen,
            },
            status=400 if error else 200,
            session=session,
        )

    def _activity(self, viewer: Viewer) -> SyncActivity:
        assert self.providers.sync_runs is not None
        return self.providers.sync_runs.sync_activity(viewer)

    def syncs(self, request: Request) -> Response:
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        if self.providers.sync_control is not None:
            return self.render(
                request,
                "service_syncs.html",
                {"page": "syncs", **self._service_syncs(request, viewer)},
                session=session,
            )
        if self.providers.sync_runs is None:
            raise HTTPException(404)
        activity = self._activity(viewer)
        return self.render(
            request,
            "syncs.html",
            {"page": "syncs", **self._live_context(activity)},
            session=session,
        )

    def syncs_live(self, request: Request) -> Response:
        viewer, _ = self.viewer(request)
        if viewer is None:
            return self.denied(request, fragment=True)
        if self.providers.sync_control is not None:
            return self.render(
                request,
                "_service_sync.html",
                self._service_syncs(request, viewer),
                fragment=True,
            )
        if self.providers.sync_runs is None:
            raise HTTPException(404)
        activity = self._activity(viewer)
        return self.render(
            request, "_sync_activity.html", self._live_context(activity), fragment=True
        )

    def _live_context(self, activity: SyncActivity) -> dict[str, Any]:
        now = datetime.now(UTC)
        running = activity.live is not None and activity.live.running
        poll = self.settings.poll_seconds
        return {"activity": activity, "now": now, "running": running, "poll_ms": int(poll * 1000)}

    def drift(self, request: Request) -> Response:
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        if self.providers.drift is None:
            raise HTTPException(404)
        connections, chosen = self.choose(request, viewer)
        try:
            events = self.providers.drift.drift_events(viewer, chosen.id if chosen else None)
        except Unavailable as exc:
            return self.unavailable(
                request, "drift", exc, session, connections=connections, chosen=chosen
            )
        kinds: dict[str, int] = {}
        for event in events:
            kinds[event.kind] = kinds.get(event.kind, 0) + 1
        return self.render(
            request,
            "drift.html",
            {
                "page": "drift",
                "events": events,
                "kinds": sorted(kinds.items()),
                "connections": connections,
                "chosen": chosen,
            },
            session=session,
        )

    # -- the service's pages -------------------------------------------------------

    def choose(
        self, request: Request, viewer: Viewer
    ) -> tuple[list[ConnectionSummary] | None, ConnectionSummary | None]:
        """The viewer's connections and the one a page shows (``?connection=``, else the
        first with a sync target, else the first); (None, None) without connections. An
        id that is not the viewer's is a 404, as an unknown one."""
        provider = self.providers.connections
        if provider is None:
            return None, None
        connections = list(provider.connections(viewer))
        wanted = (request.query_params.get("connection") or "").strip()
        if wanted:
            for c in connections:
                if c.id == wanted:
                    return connections, c
            raise HTTPException(404)
        for c in connections:
            if c.sync_target:
                return connections, c
        return connections, (connections[0] if connections else None)

    def connections_page(self, request: Request) -> Response:
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        if self.providers.connections is None:
            raise HTTPException(404)
        connections = list(self.providers.connections.connections(viewer))
        return self.render(
            request,
            "connections.html",
            {"page": "connections", "items": connections, "now": datetime.now(UTC)},
            session=session,
        )

    def _service_syncs(self, request: Request, viewer: Viewer) -> dict[str, Any]:
        control = self.providers.sync_control
        assert control is not None
        connections, chosen = self.choose(request, viewer)
        jobs: list[Any] = []
        activity: SyncActivity | None = None
        notice: str | None = None
        if chosen is not None:
            jobs = list(control.jobs(viewer, chosen.id))
            if chosen.sync_target and self.providers.sync_runs is not None:
                try:
                    activity = self.providers.sync_runs.sync_activity(viewer, chosen.id)
                except Unavailable as exc:
                    notice = exc.message
        running = any(j.status in ("todo", "doing") for j in jobs) or bool(
            activity and activity.live and activity.live.running
        )
        poll = self.settings.poll_seconds
        return {
            "connections": connections,
            "chosen": chosen,
            "jobs": jobs,
            "activity": activity,
            "notice": notice,
            "now": datetime.now(UTC),
            "running": running,
            "poll_ms": int(poll * 1000),
            "full_refresh": control.full_refresh_supported,
        }

    async def _form(
        self, request: Request, provider: P | None
    ) -> tuple[P, Viewer, Session | None, Mapping[str, str]] | Response:
        """A POST's provider, viewer, session and form, or the answer refusing it: 404
        when the page's ``provider`` is not given, 401 without a viewer, 403 when a
        browser's form lacks this session's CSRF token (a script sending its key as a
        Bearer credential has no ambient credential to abuse)."""
        if provider is None:
            raise HTTPException(404)
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        form = await request.form()
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        # the same test the access's viewer() makes: a Bearer header with a credential
        # (an empty one falls back to the session cookie, which then needs its token)
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        bearer = scheme.lower() == "bearer" and bool(credential.strip())
        if not bearer and not check_csrf(session, fields.get("csrf_token")):
            return Response(
                "This form has expired (or came from elsewhere): reload the page.",
                status_code=403,
                media_type="text/plain",
            )
        return provider, viewer, session, fields

    def _done(
        self, request: Request, session: Session | None, path: str, message: str, status: int = 303
    ) -> Response:
        if session is not None:
            del session.flash[:]
            session.flash.append(message)
        root = request.scope.get("root_path") or ""
        response = RedirectResponse(root + path, status_code=status)
        response.headers["X-Jirakit-Result"] = message.encode("ascii", "replace").decode()
        return response

    async def sync_action(self, request: Request) -> Response:
        posted = await self._form(request, self.providers.sync_control)
        if isinstance(posted, Response):
            return posted
        control, viewer, session, _ = posted
        connection = str(request.path_params["connection"])
        action = str(request.path_params["action"])
        back = "/syncs?" + urlencode({"connection": connection})
        try:
            if action == "start":
                job = await run_in_threadpool(control.start, viewer, connection)
                message = (
                    f"Sync queued (job {job})."
                    if job is not None
                    else "A sync of this connection is queued already."
                )
            elif action == "full-refresh":
                job = await run_in_threadpool(
                    lambda: control.start(viewer, connection, full_refresh=True)
                )
                message = (
                    f"Full refresh queued (job {job})."
                    if job is not None
                    else "A sync of this connection is queued already."
                )
            elif action == "stop":
                cancelled, stopping = await run_in_threadpool(control.stop, viewer, connection)
                parts = []
                if cancelled or not stopping:
                    parts.append(
                        f"Cancelled {cancelled} queued sync{'s' if cancelled != 1 else ''}."
                    )
                if stopping:
                    parts.append(
                        "The running sync stops at its next safe point: what it committed "
                        "stays, the run is recorded as interrupted, and the next sync "
                        "resumes from there."
                    )
                message = " ".join(parts)
            else:
                raise HTTPException(404)
        except KeyError:
            raise HTTPException(404) from None
        except BadFilter as exc:
            return self._done(request, session, back, str(exc))
        return self._done(request, session, back, message)

    async def reauthorize(self, request: Request) -> Response:
        posted = await self._form(request, self.providers.connections)
        if isinstance(posted, Response):
            return posted
        provider, viewer, session, _ = posted
        connection = str(request.path_params["connection"])
        try:
            url = await run_in_threadpool(provider.reauthorize, viewer, connection)
        except KeyError:
            raise HTTPException(404) from None
        except BadFilter as exc:
            return self._done(request, session, "/connections", str(exc))
        return RedirectResponse(url, status_code=303)

    def webhooks_page(self, request: Request) -> Response:
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        provider = self.providers.webhooks
        if provider is None:
            raise HTTPException(404)
        connections, chosen = self.choose(request, viewer)
        inbox = None
        inbox_notice = None
        if chosen is not None:
            try:
                inbox = provider.inbox(viewer, chosen.id)
            except Unavailable as exc:
                inbox_notice = exc.message
        else:
            inbox_notice = "You have no connection yet, so no webhook inbox."
        outbox = provider.outbox(viewer)
        return self.render(
            request,
            "webhooks.html",
            {
                "page": "webhooks",
                "connections": connections,
                "chosen": chosen,
                "inbox": inbox,
                "inbox_notice": inbox_notice,
                "inbox_chart": box_chart(
                    "inbox_events",
                    "Inbox: events per type",
                    inbox,
                    ("received", "verified", "rejected", "duplicate"),
                    "Jira webhook deliveries",
                    more=("retried by Jira", "replayed"),
                )
                if inbox is not None
                else None,
                "outbox": outbox,
                "outbox_chart": box_chart(
                    "outbox_messages",
                    "Outbox: messages per type",
                    outbox,
                    ("delivered", "retrying", "dead", "pending"),
                    "Messages to your endpoints",
                ),
                "raw": {k: request.query_params.get(k, "") for k in ("from", "to")},
            },
            session=session,
        )

    async def webhook_replay(self, request: Request) -> Response:
        posted = await self._form(request, self.providers.webhooks)
        if isinstance(posted, Response):
            return posted
        provider, viewer, session, form = posted
        connection = form.get("connection", "")
        back = "/webhooks?" + urlencode({"connection": connection})
        try:
            start = _parse_instant(form.get("from"), "from")
            end = _parse_instant(form.get("to"), "to", end=True)
            if start is None or end is None:
                raise BadFilter("Give both ends of the range to replay ('from' and 'to').")
            n = await run_in_threadpool(provider.replay, viewer, connection, start, end)
        except KeyError:
            raise HTTPException(404) from None
        except BadFilter as exc:
            return self._done(request, session, back, str(exc))
        except Unavailable as exc:
            return self._done(request, session, back, exc.message)
        return self._done(
            request,
            session,
            back,
            f"{n} deliver{'ies' if n != 1 else 'y'} received from {start:%Y-%m-%d %H:%M:%S} "
            f"to {end:%Y-%m-%d %H:%M:%S} UTC queued to be applied again.",
        )

    async def webhook_retry(self, request: Request) -> Response:
        posted = await self._form(request, self.providers.webhooks)
        if isinstance(posted, Response):
            return posted
        provider, viewer, session, form = posted
        message_id = form.get("message") or None
        back = "/webhooks"
        if form.get("connection"):
            back += "?" + urlencode({"connection": form["connection"]})
        try:
            n = await run_in_threadpool(provider.retry, viewer, message_id)
        except KeyError:
            raise HTTPException(404) from None
        return self._done(
            request,
            session,
            back,
            f"{n} dead letter{'s' if n != 1 else ''} queued to be sent again.",
        )

    def _budget(self, viewer: Viewer) -> dict[str, Any]:
        provider = self.providers.budget
        assert provider is not None
        snapshot = provider.budget(viewer)
        return {
            "budget": snapshot,
            "chart": budget_chart(snapshot),
            "rate_chart": budget_rate_chart(snapshot),
            "poll_ms": int(self.settings.poll_seconds * 1000),
        }

    def budget_page(self, request: Request) -> Response:
        viewer, session = self.viewer(request)
        if viewer is None:
            return self.denied(request)
        if self.providers.budget is None:
            raise HTTPException(404)
        try:
            context = self._budget(viewer)
        except Unavailable as exc:
            return self.unavailable(request, "budget", exc, session)
        return self.render(request, "budget.html", {"page": "budget", **context}, session=session)

    def budget_live(self, request: Request) -> Response:
        viewer, _ = self.viewer(request)
        if viewer is None:
            return self.denied(request, fragment=True)
        if self.providers.budget is None:
            raise HTTPException(404)
        try:
            context = self._budget(viewer)
        except Unavailable as exc:
            return Response(exc.message, status_code=503, media_type="text/plain")
        return self.render(request, "_budget.html", context, fragment=True)

    # -- login ---------------------------------------------------------------------

    def _next(self, value: str | None) -> str:
        """Where to go after logging in: a path of this app only (no open redirect)."""
        if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
            return value
        return "/"

    async def login(self, request: Request) -> Response:
        session = self.session(request)
        if not self.access.login_required:
            return RedirectResponse((request.scope.get("root_path") or "") + "/", status_code=303)
        if request.method == "GET":
            return self.render(
                request,
                "login.html",
                {
                    "page": "login",
                    "error": None,
                    "next": self._next(request.query_params.get("next")),
                },
                session=session,
            )
        form = await request.form()
        target = self._next(str(form.get("next") or ""))
        if not check_csrf(session, str(form.get("csrf_token") or "")):
            return self.render(
                request,
                "login.html",
                {
                    "page": "login",
                    "next": target,
                    "error": "This form has expired (or came from elsewhere): log in again.",
                },
                status=403,
                session=session,
            )
        viewer = self.access.login(str(form.get("token") or ""))
        if viewer is None:
            await asyncio.sleep(LOGIN_DELAY)  # a guessing script gets nowhere
            return self.render(
                request,
                "login.html",
                {"page": "login", "next": target, "error": "That token is not right."},
                status=401,
                session=session,
            )
        assert session is not None
        self.sessions.drop(session.id)  # a new id on login: no session fixation
        fresh = self.sessions.new(viewer)
        response = RedirectResponse(
            (request.scope.get("root_path") or "") + target, status_code=303
        )
        set_session_cookie(response, request, fresh)
        return response

    async def logout(self, request: Request) -> Response:
        session = self.session(request)
        form = await request.form()
        if not check_csrf(session, str(form.get("csrf_token") or "")):
            return Response(
                "This form has expired: reload the page.", status_code=403, media_type="text/plain"
            )
        assert session is not None
        self.sessions.drop(session.id)
        response = RedirectResponse(
            (request.scope.get("root_path") or "") + "/login", status_code=303
        )
        clear_session_cookie(response, request)
        return response

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.render(
            request,
            "message.html",
            {
                "page": "",
                "heading": "Not found",
                "message": "There is no page here; the pages are listed above.",
                "retry_after": None,
            },
            status=404,
            session=self.session(request),
        )


def create_app(
    providers: Providers,
    *,
    access: Access | None = None,
    settings: UiSettings | None = None,
    hosts: Iterable[str] | None = None,
    sessions: SessionStore | None = None,
) -> ASGIApp:
    """The dashboard app. ``access`` defaults to `OpenAccess` (no login: bind it to
    loopback and pass ``hosts=LOOPBACK_HOSTS``); ``hosts``, when given, are the only
    ``Host`` names answered."""
    pages = _Pages(
        providers, access or OpenAccess(), settings or UiSettings(), sessions or SessionStore()
    )
    routes = [
        Route("/", pages.health, name="health"),
        Route("/syncs", pages.syncs, name="syncs"),
        Route("/syncs/live", pages.syncs_live, name="syncs_live"),
        Route("/drift", pages.drift, name="drift"),
        Route("/connections", pages.connections_page, name="connections"),
        Route(
            "/connections/{connection}/reauthorize",
            pages.reauthorize,
            methods=["POST"],
            name="reauthorize",
        ),
        Route(
            "/syncs/{connection}/{action}", pages.sync_action, methods=["POST"], name="sync_action"
        ),
        Route("/webhooks", pages.webhooks_page, name="webhooks"),
        Route("/webhooks/replay", pages.webhook_replay, methods=["POST"], name="webhook_replay"),
        Route("/webhooks/retry", pages.webhook_retry, methods=["POST"], name="webhook_retry"),
        Route("/budget", pages.budget_page, name="budget"),
        Route("/budget/live", pages.budget_live, name="budget_live"),
        Route("/login", pages.login, methods=["GET", "POST"], name="login"),
        Route("/logout", pages.logout, methods=["POST"], name="logout"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: pages.not_found})
    return SecurityHeaders(app, hosts=hosts)
