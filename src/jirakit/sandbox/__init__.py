"""A faithful local Jira Cloud (and Data Center flavour) emulator, as an ASGI app.

    from jirakit.sandbox import Sandbox

    sandbox = Sandbox(seed=0, issues=200)
    transport = httpx.ASGITransport(app=sandbox.app)        # in-process
    with sandbox.serve() as base_url: ...                   # on a real port

``sandbox.store`` is the ground truth for tests. ``sandbox.webhooks`` registers and
delivers webhooks (`jirakit.sandbox.webhooks`) from a background thread: ``flush()`` waits
for them, ``close()`` (or ``with Sandbox(...)``) stops it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from jirakit.sandbox.app import SandboxConfig, SandboxState, create_app
from jirakit.sandbox.clock import Clock, FrozenClock, SystemClock
from jirakit.sandbox.faults import FaultMiddleware, FaultSpec, parse_latency
from jirakit.sandbox.generator import DEFAULT_ANCHOR, GenSpec, generate
from jirakit.sandbox.limits import RateLimitMiddleware
from jirakit.sandbox.oauth import OAuthMiddleware, OAuthProvider, OAuthSite
from jirakit.sandbox.points import PointsMiddleware, PointsQuota
from jirakit.sandbox.search import SearchEngine
from jirakit.sandbox.serve import serve_in_thread
from jirakit.sandbox.store import Store
from jirakit.sandbox.tls import TlsFiles
from jirakit.sandbox.views import ViewCache
from jirakit.sandbox.webhooks import WebhookEngine

__all__ = [
    "Clock",
    "FrozenClock",
    "PointsQuota",
    "Sandbox",
    "SandboxConfig",
    "Store",
    "SystemClock",
]

FLAVOURS = ("cloud", "datacenter")


class Sandbox:
    """One emulated Jira site: seeded state, an ASGI app over it, and a way to serve it.

    Attachment downloads (``/attachment/content/{id}``) redirect, like Cloud, to a signed
    ``/media/...`` URL that needs no credentials; ``media_base_url`` serves those from
    another origin (``sandbox.state.media_base`` may be set later, once a port is known).

    Credentials: every seeded user authenticates with Basic ``email:api_token``; the
    admin is ``admin_email``. In the ``datacenter`` flavour ``api_token`` is also the
    admin's Bearer personal access token, and users may log in by username.
    """

    def __init__(
        self,
        seed: int = 0,
        issues: int = 200,
        projects: int = 3,
        flavour: str = "cloud",
        admin_email: str = "admin@example.com",
        api_token: str = "sandbox-token",
        search_lag: float = 0.0,
        clock: Clock | None = None,
        *,
        legacy_search: bool = False,
        store: Store | None = None,
        anchor: Any = None,
        middleware: Sequence[Middleware] = (),
        base_url: str | None = None,
        rate_limit: float | None = None,
        per_issue_writes: int | None = None,
        faults: str | FaultSpec | None = None,
        latency: str | tuple[float, float] | None = None,
        fault_seed: int | None = None,
        oauth: bool = True,
        webhook_duplicates: float = 0.0,
        webhook_reorder: float = 0.0,
        webhook_backoff: float = 1.0,
        webhook_seed: int | None = None,
        media_base_url: str | None = None,
        points_per_hour: int | None = None,
        points_pool: str = "global",
        points_window: float = 3600.0,
        points_quota: PointsQuota | None = None,
        cloud_id: str | None = None,
    ) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
        if search_lag < 0:
            raise ValueError("search_lag must be >= 0")
        self.admin_email = admin_email
        self.api_token = api_token
        self.clock: Clock = clock or SystemClock()
        self.store = store or generate(
            GenSpec(
                seed=seed,
                issues=issues,
                projects=projects,
                flavour=flavour,
                admin_email=admin_email,
                api_token=api_token,
                anchor=anchor or DEFAULT_ANCHOR,
            )
        )
        self.store.site["search_lag"] = search_lag
        self.config = SandboxConfig(
            flavour=flavour, search_lag=search_lag, legacy_search=legacy_search, base_url=base_url
        )
        secret = hashlib.sha256(f"jirakit-sandbox:{seed}:{api_token}".encode()).digest()
        self.search = SearchEngine(self.store, self.clock, search_lag, secret)
        self.state = SandboxState(
            self.store,
            self.clock,
            self.config,
            self.search,
            ViewCache(self.store),
            media_secret=hashlib.sha256(b"media:" + secret).digest(),
            media_base=media_base_url.rstrip("/") if media_base_url else None,
        )
        self.oauth: OAuthProvider | None = None
        self.faults: FaultMiddleware | None = None
        layers: list[Middleware] = []
        # Outermost first: OAuth rewrites /ex/jira/{cloudId} paths and names the account,
        # faults come before limits so injected 429s spend no tokens, then the limiter.
        if oauth and flavour == "cloud":
            site = OAuthSite(cloud_id=cloud_id) if cloud_id else None
            self.oauth = OAuthProvider(
                account_id=self.admin_account_id, clock=self.clock, site=site
            )
            layers.append(Middleware(OAuthMiddleware, provider=self.oauth))
        spec = FaultSpec.parse(faults) if isinstance(faults, str) else faults
        pause = parse_latency(latency) if isinstance(latency, str) else latency
        if (spec is not None and not spec.empty) or pause is not None:
            layers.append(
                Middleware(
                    FaultMiddleware,
                    spec=spec or FaultSpec(),
                    seed=seed if fault_seed is None else fault_seed,
                    latency=pause,
                    clock=self.clock,
                )
            )
        if rate_limit is not None:
            layers.append(
                Middleware(
                    RateLimitMiddleware,
                    rate=rate_limit,
                    clock=self.clock,
                    per_issue_writes=per_issue_writes,
                )
            )
        # The hourly points quota of OAuth apps (`jirakit.sandbox.points`): ``points_quota``
        # shares one quota between sandboxes (one app's global pool over several sites).
        if points_quota is None and points_per_hour is not None:
            if points_pool not in ("global", "site"):
                raise ValueError(f"points_pool must be 'global' or 'site', not {points_pool!r}")
            points_quota = PointsQuota(
                points_per_hour,
                window=points_window,
                pool="site" if points_pool == "site" else "global",
                clock=self.clock,
            )
        self.points: PointsQuota | None = points_quota
        if points_quota is not None:
            if self.oauth is None:
                raise ValueError("the points quota meters OAuth apps: it needs oauth=True on cloud")
            layers.append(
                Middleware(PointsMiddleware, quota=points_quota, site=self.oauth.site.cloud_id)
            )
        layers.extend(middleware)
        self.app: Starlette = create_app(self.state, middleware=layers)
        # webhook registrations and delivery (`jirakit.sandbox.webhooks`); routes find it here
        app_client = next(iter(self.oauth.clients.values()), None) if self.oauth else None
        self.webhooks = WebhookEngine(
            self.store,
            self.clock,
            self.search,
            app_key=app_client.client_id if app_client else "sandbox-client",
            app_secret=app_client.client_secret if app_client else "sandbox-secret",
            duplicates=webhook_duplicates,
            reorder=webhook_reorder,
            backoff=webhook_backoff,
            seed=seed if webhook_seed is None else webhook_seed,
        )
        self.app.state.webhooks = self.webhooks

    @property
    def auth(self) -> tuple[str, str]:
        """``(email, api_token)`` of the seeded admin, for Basic auth."""
        return (self.admin_email, self.api_token)

    @property
    def admin_account_id(self) -> str:
        user = self.store.user_by_login(self.admin_email)
        assert user is not None
        return str(user["accountId"])

    def restrict_project(self, key: str, groups: Sequence[str]) -> None:
        """Only members of ``groups`` may browse project ``key`` (issues, search, project
        routes); everyone else gets Jira's 404s. An empty list opens it again."""
        project = self.store.project(key)
        if project is None:
            raise KeyError(key)
        known = {g.casefold() for g in self.store.groups}
        unknown = [g for g in groups if g.casefold() not in known]
        if unknown:
            raise KeyError(f"unknown groups: {unknown}")
        with self.store.lock:
            if groups:
                self.store.project_access[project["id"]] = list(groups)
            else:
                self.store.project_access.pop(project["id"], None)
            self.store.changed()

    @contextmanager
    def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: TlsFiles | None = None
    ) -> Iterator[str]:
        """Serve on a real port (0 = any free one) for the block; yields the base URL
        (``https://`` with ``tls``, a certificate from `jirakit.sandbox.tls.make_self_signed`)."""
        try:
            with serve_in_thread(self.app, host, port, tls=tls) as url:
                yield url
        finally:
            self.webhooks.stop()  # restarts by itself if deliveries come later

    def close(self) -> None:
        """Stop background work (webhook deliveries still queued are dropped)."""
        self.webhooks.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- persistence ---------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the whole state as JSON (``--data FILE``)."""
        with self.store.lock:
            data = self.store.to_json()
        tmp = Path(f"{path}.tmp")
        tmp.write_text(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Sandbox:
        """A sandbox over state saved by `save` (other options as for the constructor)."""
        store = Store.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        kwargs.setdefault("flavour", store.flavour)
        return cls(store=store, **kwargs)
