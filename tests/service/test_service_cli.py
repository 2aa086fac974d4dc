"""`jirakit tenants|connections|keys` against a served sandbox, and `keys rotate`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from service_support import ENCRYPTION_KEY, JIRA_TOKEN, serve_app, settings_for
from sqlalchemy import select
from typer.testing import CliRunner

from jirakit.cli.app import app
from jirakit.sandbox import Sandbox
from jirakit.service import create_app
from jirakit.service.crypto import Vault
from jirakit.service.models import Connection


@contextmanager
def served(db_url: str, site_url: str, key: str) -> Iterator[httpx.Client]:
    """The service on ``db_url`` (its connections' site ``site_url``), served, and a client
    with the tenant's API key."""
    service = create_app(settings_for(db_url, site_url))
    try:
        with (
            serve_app(service) as url,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http,
        ):
            yield http
    finally:
        service.state.service.engine.dispose()


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def env() -> dict[str, str]:
    return {"JIRAKIT_ENCRYPTION_KEYS": ENCRYPTION_KEY}


@pytest.fixture(autouse=True)
def forget_cli_tenants(request: pytest.FixtureRequest) -> Iterator[None]:
    """The tenants a test made through the CLI are deleted after it (their connections
    with them): the Postgres database is the session's, and a row left encrypted under a
    test's own key would stop the next `keys rotate` there. (Only for tests on `db_url`.)"""
    from sqlalchemy import create_engine, delete, inspect

    from jirakit.service.models import Tenant

    if "db_url" not in request.fixturenames:
        yield
        return
    engine = create_engine(str(request.getfixturevalue("db_url")))
    try:
        with engine.connect() as db:
            there = inspect(db).has_table("tenants")
            before = set(db.scalars(select(Tenant.id))) if there else set()
        yield
        if inspect(engine).has_table("tenants"):
            with engine.begin() as db:
                db.execute(delete(Tenant).where(Tenant.id.not_in(before)))
    finally:
        engine.dispose()


def test_tenant_and_connection_from_the_cli_drive_the_api(
    db_url: str, sandbox: Sandbox, sandbox_url: str, env: dict[str, str]
):
    code, out, _ = run("tenants", "create", "acme", "--db", db_url, env=env)
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("jk_")
    code, out, _ = run(
        "connections", "create", "--db", db_url, "--tenant", "acme", "--kind", "api_token",
        "--site", sandbox_url, "--email", sandbox.admin_email, "--token", JIRA_TOKEN,
        env=env,
    )  # fmt: skip
    assert code == 0, out
    conn_id = out.strip().splitlines()[-1]
    with served(db_url, sandbox_url, key) as http:
        tasks = http.get(f"/task/{conn_id}/task", params={"limit": 5})
    assert tasks.status_code == 200 and len(tasks.json()) == 5


def test_pat_connection_on_data_center_from_the_cli(db_url: str, env: dict[str, str]):
    """`connections create --kind pat` against a Data Center site prints the id last; its
    task list pages on the cursor and carries X-Total-Count (Data Center searches give a
    total)."""
    import uuid

    name = f"dc-{uuid.uuid4().hex[:8]}"
    with (
        Sandbox(seed=0, issues=30, projects=2, flavour="datacenter", api_token=JIRA_TOKEN) as dc,
        dc.serve() as dc_url,
    ):
        code, out, _ = run("tenants", "create", name, "--db", db_url, env=env)
        assert code == 0
        key = out.strip().splitlines()[-1]
        code, out, err = run(
            "connections", "create", "--db", db_url, "--tenant", name, "--kind", "pat",
            "--site", dc_url, "--token", JIRA_TOKEN, env=env,
        )  # fmt: skip
        assert code == 0, err
        conn_id = out.strip().splitlines()[-1]
        with served(db_url, dc_url, key) as http:
            record = http.get(f"/unified/connection/{conn_id}").json()
            # Unified's connection shape with no email is a PAT too.
            unified = http.post(
                "/unified/connection",
                json={"integration_type": "jira", "auth": {"api_url": dc_url, "token": JIRA_TOKEN}},
            )
            seen: list[str] = []
            totals: set[str] = set()
            params: dict[str, str] = {"limit": "7"}
            for _ in range(10):
                page = http.get(f"/task/{conn_id}/task", params=params)
                assert page.status_code == 200, page.text
                seen += [t["id"] for t in page.json()]
                totals.add(page.headers["x-total-count"])
                if "x-next-cursor" not in page.headers:
                    break
                params = {"limit": "7", "cursor": page.headers["x-next-cursor"]}
    assert record["kind"] == "pat" and record["status"] == "healthy"
    assert unified.status_code == 200, unified.text
    assert unified.json()["kind"] == "pat" and unified.json()["site"] == dc_url
    assert JIRA_TOKEN not in str(record)
    assert totals == {"30"}
    assert len(seen) == len(set(seen)) == 30


def test_cli_errors_are_one_line(db_url: str, sandbox_url: str, env: dict[str, str]):
    assert run("tenants", "create", "dup", "--db", db_url, env=env)[0] == 0
    code, _, err = run("tenants", "create", "dup", "--db", db_url, env=env)
    assert code == 1 and err.strip() == "error: a tenant named 'dup' already exists"
    code, _, err = run(
        "connections", "create", "--db", db_url, "--tenant", "dup", "--kind", "api_token",
        "--site", sandbox_url, "--email", "admin@example.com", "--token", "wrong", env=env,
    )  # fmt: skip
    assert code == 1 and err.startswith("error: Jira refused the credentials")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(
        "connections", "create", "--db", db_url, "--tenant", "nobody", "--kind", "pat",
        "--site", sandbox_url, "--token", "x", env=env,
    )  # fmt: skip
    assert code == 1 and "no tenant named 'nobody'" in err


def test_production_refuses_the_development_key(tmp_path: Path):
    code, _, err = run(
        "tenants", "create", "x", "--db", f"sqlite:///{tmp_path / 'p.db'}",
        env={"JIRAKIT_ENV": "production"},
    )  # fmt: skip
    assert code == 1 and "development key" in err


@pytest.mark.parametrize("keys", [None, "", "  ,  "])
def test_serve_in_production_refuses_a_missing_or_empty_key(tmp_path: Path, keys: str | None):
    """`jirakit serve` itself, before anything is served: no key (the development default)
    or an empty one, one line each."""
    env = {"JIRAKIT_ENV": "production", "JIRAKIT_ENCRYPTION_KEYS": keys}  # None: unset
    code, out, err = run("serve", "--db", f"sqlite:///{tmp_path / 's.db'}", env=env)
    assert code == 1 and "jirakit serve on" not in out
    assert len(err.strip().splitlines()) == 1
    assert ("development key" if keys is None else "JIRAKIT_ENCRYPTION_KEYS is empty") in err


def test_keys_rotate_reencrypts_every_row(
    db_url: str, sandbox: Sandbox, sandbox_url: str, env: dict[str, str]
):
    run("tenants", "create", "rot", "--db", db_url, env=env)
    code, out, _ = run(
        "connections", "create", "--db", db_url, "--tenant", "rot", "--kind", "api_token",
        "--site", sandbox_url, "--email", sandbox.admin_email, "--token", JIRA_TOKEN, env=env,
    )  # fmt: skip
    conn_id = out.strip().splitlines()[-1]
    code, out, _ = run(
        "connections", "webhook-secret", conn_id, "--db", db_url, env=env
    )  # fmt: skip
    assert code == 1
    code, out, _ = run(
        "connections", "webhook-secret", conn_id, "--db", db_url,
        env={**env, "JIRAKIT_JIRA_WEBHOOK_SECRET": "SEKRIT-admin-hook"},
    )  # fmt: skip
    assert code == 0 and "webhook secret set" in out
    new_key = Fernet.generate_key().decode()
    code, out, _ = run(
        "keys", "rotate", "--db", db_url,
        env={"JIRAKIT_ENCRYPTION_KEYS": f"{new_key},{ENCRYPTION_KEY}"},
    )  # fmt: skip
    assert code == 0 and "re-encrypted" in out
    state = create_app(settings_for(db_url, sandbox_url, encryption_keys=new_key)).state.service
    with state.sessions() as session:
        row = session.scalar(select(Connection).where(Connection.id == conn_id))
    assert row is not None
    # Only the new key is needed now; the old one alone no longer opens it.
    assert Vault([new_key]).decrypt(row.credentials)["token"] == JIRA_TOKEN
    with pytest.raises(Exception, match="cannot be decrypted"):
        Vault([ENCRYPTION_KEY]).decrypt(row.credentials)
    # The admin-webhook secret too (it signs what Jira posts to /webhooks/jira/<id>).
    from jirakit.service.inbound import secrets_for

    assert secrets_for(state, row).hmac == ("SEKRIT-admin-hook",)
    assert run("connections", "webhook-secret", "conn_nope", "--clear", "--db", db_url,
               env={"JIRAKIT_ENCRYPTION_KEYS": new_key})[0] == 1  # fmt: skip
    state.engine.dispose()


def test_jirakit_serve_starts_with_no_setting(tmp_path: Path):
    """Development mode: no environment at all, a SQLite file in the working directory."""
    import os
    import subprocess
    import sys
    import time

    from jirakit.service.server import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRAKIT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jirakit", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/unified/connection").status_code == 401
        assert (tmp_path / "jirakit-service.db").exists()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert '"event": "request"' in err and "/healthz" in err  # one JSON line per request


def test_serve_refuses_a_bad_jobs_url(tmp_path: Path, env: dict[str, str]):
    code, _, err = run(
        "serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--jobs", "mysql://x", env=env
    )  # fmt: skip
    assert code == 1 and err.strip() == (
        "error: jobs URL 'mysql://x': use sqlite:///path.db or postgresql://..."
    )


def test_keys_rotate_covers_kept_idempotent_responses(
    db_url: str, sandbox: Sandbox, sandbox_url: str, env: dict[str, str]
):
    """A response kept for an Idempotency-Key (encrypted: it may hold a webhook secret)
    still replays after `keys rotate` and the old key's removal."""
    import uuid

    from service_support import Service

    new_key = Fernet.generate_key().decode()
    hook = {"object_type": "task_task", "event": "updated", "hook_url": "https://a.example/h"}
    headers = {"Idempotency-Key": f"rotate-{uuid.uuid4().hex[:8]}"}
    before = create_app(settings_for(db_url, sandbox_url))
    with serve_app(before) as url:
        service = Service(url, before.state.service, sandbox, sandbox_url)
        api = service.client(service.tenant())
        hook["connection_id"] = service.connect(api)
        first = api.post("/unified/webhook", json=hook, headers=headers)
        assert first.status_code == 200, first.text
        key = str(api.headers["authorization"])
        api.close()
    before.state.service.engine.dispose()
    code, _, err = run(
        "keys", "rotate", "--db", db_url,
        env={"JIRAKIT_ENCRYPTION_KEYS": f"{new_key},{ENCRYPTION_KEY}"},
    )  # fmt: skip
    assert code == 0, err
    after = create_app(settings_for(db_url, sandbox_url, encryption_keys=new_key))
    try:
        with (
            serve_app(after) as url,
            httpx.Client(base_url=url, headers={"Authorization": key}) as http,
        ):
            again = http.post("/unified/webhook", json=hook, headers=headers)
    finally:
        service.state = after.state.service
        service.forget_tenants()
        after.state.service.engine.dispose()
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_keys_rotate_leaves_a_kept_response_no_key_decrypts_and_goes_on(make_service: Any):
    """A kept response whose key was dropped before it was rotated cannot be replayed
    whatever happens: rotation counts it and goes on (it aborted, every run, until the
    record expired); expired records are not touched."""
    from datetime import timedelta

    from jirakit.service.crypto_rotate import rotate_all
    from jirakit.service.models import IdempotencyRecord, utcnow
    from jirakit.service.tenants import tenant_for_key

    service = make_service()
    key = service.tenant()
    lost = Fernet(Fernet.generate_key()).encrypt(b'{"secret": "x"}')
    readable = service.state.vault.encrypt({"ok": True}).encode("ascii")
    now = utcnow()
    with service.state.sessions() as session, session.begin():
        tenant_id = tenant_for_key(session, key)
        assert tenant_id is not None
        for name, body, expires in (
            ("lost", lost, now + timedelta(hours=1)),
            ("readable", readable, now + timedelta(hours=1)),
            ("expired", lost, now - timedelta(seconds=1)),
        ):
            session.add(
                IdempotencyRecord(
                    tenant_id=tenant_id,
                    key=name,
                    fingerprint="f" * 64,
                    status="done",
                    response_status=200,
                    response_headers=[],
                    response_body=body,
                    expires_at=expires,
                )
            )
    counts = rotate_all(service.state)
    assert counts["kept idempotent responses"] == 1
    assert counts["kept idempotent responses no configured key decrypts (left as they are)"] == 1
    with service.state.sessions() as session:
        kept = session.get(IdempotencyRecord, (tenant_id, "readable"))
        assert kept is not None and kept.response_body is not None
        assert service.state.vault.decrypt(kept.response_body.decode("ascii")) == {"ok": True}
        untouched = session.get(IdempotencyRecord, (tenant_id, "lost"))
        assert untouched is not None and untouched.response_body == lost
