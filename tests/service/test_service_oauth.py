"""OAuth 2.0 (3LO) end to end against the sandbox's authorization server: consent URL,
callback, site choice, refresh once under the database lock, rotation, needs_reauth."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from service_support import OAUTH_CLIENT, Service
from sqlalchemy import update

from jirakit.sandbox import Sandbox
from jirakit.sandbox.oauth import OAuthSite
from jirakit.service.models import Connection, Delivery, OAuthState, utcnow


def consent(service: Service, api: httpx.Client, **params: Any) -> httpx.Response:
    """Start, let the sandbox auto-consent, and return the callback's answer."""
    start = api.get("/unified/integration/auth/ws/jira", params=params)
    assert start.status_code == 200, start.text
    with httpx.Client() as browser:
        granted = browser.get(start.text)
        assert granted.status_code == 302
        return browser.get(granted.headers["location"])


def refreshes(service: Service) -> int:
    """How many times the sandbox rotated a refresh token."""
    assert service.sandbox.oauth is not None
    return sum(1 for r in service.sandbox.oauth._refresh.values() if r.rotated_at is not None)


def expire(service: Service, conn_id: str) -> None:
    with service.state.sessions() as session, session.begin():
        session.execute(
            update(Connection)
            .where(Connection.id == conn_id)
            .values(token_expires_at=utcnow() - timedelta(seconds=1))
        )


@pytest.fixture
def oauth_conn(service: Service, api: httpx.Client) -> str:
    response = consent(service, api)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_consent_url_has_what_atlassian_needs(service: Service, api: httpx.Client):
    start = api.get("/unified/integration/auth/ws/jira")
    url = urlsplit(start.text)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/authorize"
    assert query["audience"] == "api.atlassian.com" and query["prompt"] == "consent"
    assert query["client_id"] == OAUTH_CLIENT and query["response_type"] == "code"
    assert "read:jira-work" in query["scope"] and "offline_access" in query["scope"]
    with service.state.sessions() as session:
        stored = session.get(OAuthState, query["state"])
    assert stored is not None and stored.expires_at > utcnow()
    redirect = api.get(
        "/unified/integration/auth/ws/jira", params={"redirect": "true"}, follow_redirects=False
    )
    assert redirect.status_code == 302 and redirect.headers["location"].startswith(
        service.sandbox_url
    )


def test_callback_stores_a_working_connection(service: Service, api: httpx.Client, oauth_conn: str):
    record = api.get(f"/unified/connection/{oauth_conn}").json()
    assert record["kind"] == "oauth2" and record["status"] == "healthy"
    assert record["site"] == service.sandbox_url
    assert "read:jira-work" in record["scopes"] and record["token_expires_at"]
    tasks = api.get(f"/task/{oauth_conn}/task", params={"limit": 3})
    assert tasks.status_code == 200 and len(tasks.json()) == 3
    assert tasks.json()[0]["url"].startswith(service.sandbox_url + "/browse/")


def test_state_is_single_use_and_bound(service: Service, api: httpx.Client):
    start = api.get("/unified/integration/auth/ws/jira")
    with httpx.Client() as browser:
        back = browser.get(browser.get(start.text).headers["location"])
        assert back.status_code == 200
        again = browser.get(start.text)
        replay = browser.get(again.headers["location"])
        assert replay.status_code == 400 and "state" in replay.json()["detail"]
        forged = browser.get(
            f"{service.url}/oauth/callback", params={"code": "x", "state": "made-up"}
        )
        assert forged.status_code == 400


def test_expired_state_is_refused(service: Service, api: httpx.Client):
    start = api.get("/unified/integration/auth/ws/jira")
    state = parse_qs(urlsplit(start.text).query)["state"][0]
    with service.state.sessions() as session, session.begin():
        session.execute(
            update(OAuthState).where(OAuthState.state == state).values(expires_at=utcnow())
        )
    with httpx.Client() as browser:
        back = browser.get(browser.get(start.text).headers["location"])
    assert back.status_code == 400 and "expired" in back.json()["detail"]


def test_a_grant_without_the_wanted_site_waits_for_a_choice(service: Service, api: httpx.Client):
    waiting = consent(service, api, subdomain="https://other.atlassian.net")
    assert waiting.status_code == 200
    body = waiting.json()
    assert [s["url"] for s in body["sites"]] == [service.sandbox_url]
    other = service.client(service.tenant())
    wrong_tenant = other.post(
        "/unified/connection/oauth/select",
        json={"pending_id": body["pending_id"], "site": service.sandbox_url},
    )
    assert wrong_tenant.status_code == 404
    bad = api.post(
        "/unified/connection/oauth/select", json={"pending_id": body["pending_id"], "site": "nope"}
    )
    assert bad.status_code == 422
    chosen = api.post(
        "/unified/connection/oauth/select",
        json={"pending_id": body["pending_id"], "site": service.sandbox_url},
    )
    assert chosen.status_code == 200 and chosen.json()["kind"] == "oauth2"
    assert api.get(f"/task/{chosen.json()['id']}/project").status_code == 200


def test_refresh_happens_once_under_concurrency(
    service: Service, api: httpx.Client, oauth_conn: str
):
    expire(service, oauth_conn)
    before = refreshes(service)
    results: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=service.url, headers=dict(api.headers)) as http:
            results.append(http.get(f"/task/{oauth_conn}/project").status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8
    assert refreshes(service) == before + 1
    with service.state.sessions() as session:
        row = session.get(Connection, oauth_conn)
        assert row is not None and row.lock_owner is None
        stored = service.state.vault.decrypt(row.credentials)
    # The stored refresh token is the newest one: the rotated one is spent.
    assert service.sandbox.oauth is not None
    assert service.sandbox.oauth._refresh[stored["refresh_token"]].rotated_at is None


def test_two_service_processes_refresh_once(
    make_service: Any, service: Service, api: httpx.Client, oauth_conn: str
):
    second = make_service()  # another `jirakit serve` on the same database
    expire(service, oauth_conn)
    before = refreshes(service)
    codes: list[int] = []

    def call(url: str) -> None:
        with httpx.Client(base_url=url, headers=dict(api.headers)) as http:
            codes.append(http.get(f"/task/{oauth_conn}/project").status_code)

    threads = [threading.Thread(target=call, args=(u,)) for u in [service.url, second.url] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8
    assert refreshes(service) == before + 1


def test_refused_refresh_marks_needs_reauth_and_tells_the_app(
    service: Service, api: httpx.Client, oauth_conn: str
):
    hook = api.post(
        "/unified/webhook",
        json={
            "connection_id": oauth_conn,
            "object_type": "task_task",
            "event": "updated",
            "hook_url": "https://example.com/hook",
        },
    ).json()
    assert service.sandbox.oauth is not None
    service.sandbox.oauth.revoke_all()  # the customer removed the app
    expire(service, oauth_conn)
    response = api.get(f"/task/{oauth_conn}/task")
    assert response.status_code == 409 and "authorize again" in response.json()["detail"]
    record = api.get(f"/unified/connection/{oauth_conn}").json()
    assert record["status"] == "needs_reauth" and "refused" in record["last_error"]
    with service.state.sessions() as session:
        queued = session.query(Delivery).filter_by(webhook_id=hook["id"]).all()
    assert [d.event_type for d in queued] == ["connection.needs_reauth"]
    again = api.get(f"/task/{oauth_conn}/task")
    assert again.status_code == 409


def test_unified_shape_accepts_oauth_tokens(service: Service, api: httpx.Client):
    """Tokens obtained elsewhere (Unified's `auth` with access/refresh tokens)."""
    from jirakit import OAuth2Auth

    start = api.get("/unified/integration/auth/ws/jira")
    with httpx.Client() as browser:
        location = browser.get(start.text).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    auth = OAuth2Auth.from_code(
        code,
        client_id=OAUTH_CLIENT,
        client_secret=service.state.settings.oauth_client_secret or "",
        redirect_uri=service.state.settings.oauth_redirect_uri or "",
        auth_url=service.sandbox_url,
        api_url=service.sandbox_url,
    )
    made = api.post(
        "/unified/connection",
        json={
            "integration_type": "jira",
            "auth": {
                "access_token": auth.token["access_token"],
                "refresh_token": auth.token["refresh_token"],
                "expires_in": 0,  # already expired: checking it refreshes (and rotates)
            },
        },
    )
    assert made.status_code == 200, made.text
    assert made.json()["kind"] == "oauth2" and made.json()["site"] == service.sandbox_url
    with service.state.sessions() as session:
        row = session.get(Connection, made.json()["id"])
        assert row is not None
        stored = service.state.vault.decrypt(row.credentials)
    assert service.sandbox.oauth is not None
    assert stored["refresh_token"] != auth.token["refresh_token"]  # the rotated one is kept
    assert service.sandbox.oauth._refresh[stored["refresh_token"]].rotated_at is None
    assert api.get(f"/task/{made.json()['id']}/task", params={"limit": 1}).status_code == 200


def test_background_refreshes_before_expiry(service: Service, api: httpx.Client, oauth_conn: str):
    from jirakit.service.connections import refresh_expiring

    expire(service, oauth_conn)
    before = refreshes(service)
    assert refresh_expiring(service.state) == 1
    assert refreshes(service) == before + 1
    record = api.get(f"/unified/connection/{oauth_conn}").json()
    assert record["token_expires_at"] > utcnow().isoformat().replace("+00:00", "Z")
    assert refresh_expiring(service.state) == 0  # nothing is due any more


def test_a_401_refreshes_once_and_retries(service: Service, api: httpx.Client, oauth_conn: str):
    """The access token dies early (Atlassian revoked it): the request refreshes and retries."""
    assert service.sandbox.oauth is not None
    with service.state.sessions() as session:
        row = session.get(Connection, oauth_conn)
        assert row is not None
        access = service.state.vault.decrypt(row.credentials)["access_token"]
    service.sandbox.oauth._access.pop(access)
    before = refreshes(service)
    response = api.get(f"/task/{oauth_conn}/project")
    assert response.status_code == 200
    assert refreshes(service) == before + 1


def test_several_sites_are_offered_by_url_name_or_id():
    from jirakit.service.routers.connection import _pick

    sites = [
        {"id": "c1", "url": "https://a.atlassian.net", "name": "a"},
        {"id": "c2", "url": "https://b.atlassian.net", "name": "b"},
    ]
    assert _pick(sites, None) is None  # several: the caller must choose
    assert _pick(sites, "https://b.atlassian.net/")["id"] == "c2"  # type: ignore[index]
    assert _pick(sites, "A")["id"] == "c1"  # type: ignore[index]
    assert _pick(sites, "c2")["url"] == "https://b.atlassian.net"  # type: ignore[index]
    assert _pick(sites[:1], None) == sites[0]


def test_native_webhooks_are_registered_for_oauth_connections(make_service: Any):
    from jirakit.testing.webhooks import WebhookReceiver

    with WebhookReceiver() as receiver:  # stands in for the Jira webhook receiver
        service = make_service(receiver_url=receiver.url)
        api = service.client(service.tenant())
        conn_id = consent(service, api).json()["id"]
        hook = api.post(
            "/unified/webhook",
            json={"connection_id": conn_id, "object_type": "task_task", "event": "updated",
                  "hook_url": "https://app.example/h"},
        )  # fmt: skip
        assert hook.status_code == 200, hook.text
        assert hook.json()["webhook_type"] == "native"  # the default where Jira can push
        engine = service.sandbox.webhooks
        registered = list(engine.of_kind("dynamic", engine.app_key))
        assert [r.url for r in registered] == [receiver.url]
        # A second subscription reuses the registration.
        api.post(
            "/unified/webhook",
            json={"connection_id": conn_id, "object_type": "task_comment", "event": "created",
                  "hook_url": "https://app.example/h"},
        )  # fmt: skip
        assert len(engine.of_kind("dynamic", engine.app_key)) == 1
        # Jira now pushes this connection's changes to the receiver.
        task = api.get(f"/task/{conn_id}/task", params={"limit": 1}).json()[0]
        api.patch(f"/task/{conn_id}/task/{task['id']}", json={"name": "Pushed"})
        [delivery] = receiver.wait_for(1, timeout=10)
        assert delivery.json()["webhookEvent"] == "jira:issue_updated"
        assert delivery.json()["issue"]["id"] == task["id"]
        # Registrations near their 30 days are extended by the background job.
        from jirakit.service.native import _remember, refresh_native

        ids = [r.id for r in registered]
        _remember(service.state, conn_id, ids, utcnow() + timedelta(days=1))
        assert refresh_native(service.state) == 1
        with service.state.sessions() as session:
            row = session.get(Connection, conn_id)
            assert row is not None
            expires = row.extra["native_webhooks"]["expires"]
        assert expires > (utcnow() + timedelta(days=20)).isoformat()
        assert refresh_native(service.state) == 0


def test_the_rotated_refresh_token_is_committed_before_the_new_access_token_is_used(
    db_url: str, sandbox: Any, sandbox_url: str
):
    """Every Bearer request the service sends (here: accessible-resources right after a
    refresh) carries the access token already committed to the database, beside the
    refresh token the sandbox now holds valid: a crash after the token exchange loses
    nothing."""
    from service_support import serve_app, settings_for

    from jirakit.service import create_app
    from jirakit.service.server import free_port

    watched: dict[str, Any] = {}
    seen: list[tuple[str, dict[str, Any]]] = []

    class Watch(httpx.BaseTransport):
        """The service's transport for token and refresh calls, reading the row at each use."""

        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            bearer = request.headers.get("authorization", "")
            if bearer.startswith("Bearer ") and "conn" in watched:
                state = watched["state"]
                with state.sessions() as session:
                    row = session.get(Connection, watched["conn"])
                    seen.append((bearer[len("Bearer ") :], state.vault.decrypt(row.credentials)))
            return self.inner.handle_request(request)

        def close(self) -> None:
            self.inner.close()

    port = free_port()
    app = create_app(
        settings_for(
            db_url, sandbox_url, oauth_redirect_uri=f"http://127.0.0.1:{port}/oauth/callback"
        ),
        transport=Watch(),
    )
    with serve_app(app, port=port) as url:
        service = Service(url, app.state.service, sandbox, sandbox_url)
        try:
            api = service.client(service.tenant())
            conn_id = consent(service, api).json()["id"]
            watched.update(conn=conn_id, state=service.state)
            expire(service, conn_id)
            before = refreshes(service)
            assert api.get(f"/task/{conn_id}/project").status_code == 200
            assert refreshes(service) == before + 1
        finally:
            for http in service.clients:
                http.close()
            service.forget_tenants()
    service.state.engine.dispose()
    assert seen, "no Bearer request followed the refresh"
    assert sandbox.oauth is not None
    for bearer, stored in seen:
        assert bearer == stored["access_token"]
        assert sandbox.oauth._refresh[stored["refresh_token"]].rotated_at is None


@pytest.mark.slow  # starts a second `jirakit serve` process (~3 s) beside the served one
def test_two_os_processes_refresh_once(
    db_url: str, service: Service, api: httpx.Client, oauth_conn: str
):
    """As `test_two_service_processes_refresh_once`, with the second service a real
    `jirakit serve` process on the same database: the lock is the database's."""
    import os
    import subprocess
    import sys
    import time

    from service_support import ENCRYPTION_KEY, OAUTH_SECRET

    from jirakit.service.server import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRAKIT_")}
    env.update(
        JIRAKIT_ENCRYPTION_KEYS=ENCRYPTION_KEY, JIRAKIT_BACKGROUND="false", JIRAKIT_RATE_LIMIT="0",
        JIRAKIT_OAUTH_CLIENT_ID=OAUTH_CLIENT, JIRAKIT_OAUTH_CLIENT_SECRET=OAUTH_SECRET,
        JIRAKIT_OAUTH_REDIRECT_URI=f"http://127.0.0.1:{port}/oauth/callback",
        JIRAKIT_OAUTH_AUTH_URL=service.sandbox_url, JIRAKIT_OAUTH_API_URL=service.sandbox_url,
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "jirakit", "serve", "--port", str(port), "--db", db_url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    other = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{other}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        expire(service, oauth_conn)
        before = refreshes(service)
        codes: list[int] = []

        def call(url: str) -> None:
            with httpx.Client(base_url=url, headers=dict(api.headers), timeout=30) as http:
                codes.append(http.get(f"/task/{oauth_conn}/project").status_code)

        threads = [threading.Thread(target=call, args=(u,)) for u in [service.url, other] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert codes == [200] * 8
    assert refreshes(service) == before + 1


def test_a_grant_over_two_sites_lets_the_caller_pick_one(service: Service, api: httpx.Client):
    """The customer's consent covers two sites: the callback lists both and waits; the
    chosen one is the connection's, and its data is that site's (a second sandbox with one
    project, reached through the same gateway at /ex/jira/{its cloudId})."""
    assert service.sandbox.oauth is not None
    second_id = "0a1b2c3d-0000-4000-8000-00000000002f"
    with Sandbox(seed=0, issues=12, projects=1, cloud_id=second_id) as second:
        with second.serve() as second_url:
            site = OAuthSite(cloud_id=second_id, name="second-site", url=second_url)
            service.sandbox.oauth.add_site(site, second.app)
            try:
                waiting = consent(service, api)
                assert waiting.status_code == 200, waiting.text
                body = waiting.json()
                assert sorted(s["url"] for s in body["sites"]) == sorted(
                    [service.sandbox_url, second_url]
                )
                chosen = api.post(
                    "/unified/connection/oauth/select",
                    json={"pending_id": body["pending_id"], "site": second_url},
                )
                assert chosen.status_code == 200, chosen.text
                conn = chosen.json()
                projects = api.get(f"/task/{conn['id']}/project").json()
                assert [p["name"] for p in projects] == [
                    p["name"] for p in second.store.projects.values()
                ]
                assert len(service.sandbox.store.projects) == 2  # the first site has two
                record = api.get(f"/unified/connection/{conn['id']}").json()
                assert record["site"] == second_url and record["status"] == "healthy"
                # Asked for the first site by its URL, the callback picks it at once.
                direct = consent(service, api, subdomain=service.sandbox_url)
                assert direct.status_code in (200, 201) and "pending_id" not in direct.text
                first = api.get(f"/task/{direct.json()['id']}/project").json()
                assert len(first) == 2
            finally:
                service.sandbox.oauth.other_sites.clear()
