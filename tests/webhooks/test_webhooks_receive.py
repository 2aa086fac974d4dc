"""The receiver over real HTTP: verify, durable inbox before the 2xx, dedupe, bad input."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from webhook_helpers import JWT_SECRET, SECRET, Served, hmac_headers, issue_body, register_admin

from jirakit.sandbox import Sandbox
from jirakit.sandbox.webhooks import jwt_encode, query_string_hash
from jirakit.sandbox.webhooks import sign as jira_sign
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.serve import serve_in_thread
from jirakit.webhooks.store import Inbox, content_id


def test_a_signed_delivery_is_committed_before_the_200(served: Served):
    body = issue_body()
    headers = hmac_headers(body)
    r = served.post(body, headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted", "id": headers["X-Atlassian-Webhook-Identifier"]}
    # A second connection to the same file sees it at once: committed, not buffered.
    with Inbox(served.receiver.inbox.url) as other:
        row = other.get(headers["X-Atlassian-Webhook-Identifier"])
    assert row is not None and row.body == body
    assert row.event == "jira:issue_updated" and row.issue_id == 10001
    assert row.issue_key == "ENG-1" and row.source == "hmac"
    assert row.headers["x-hub-signature"] == headers["X-Hub-Signature"]


def test_authorization_is_never_stored(served: Served):
    body = issue_body()
    token = jwt_encode(
        {
            "iss": "site",
            "iat": int(time.time()),
            "exp": int(time.time()) + 180,
            "qsh": query_string_hash("POST", "/webhooks/jira"),
        },
        JWT_SECRET,
    )
    ident = str(uuid.uuid4())
    r = served.post(
        body,
        {
            "Content-Type": "application/json",
            "Authorization": f"JWT {token}",
            "X-Atlassian-Webhook-Identifier": ident,
            "Cookie": "session=abc",
        },
    )
    assert r.status_code == 200, r.text
    row = served.receiver.inbox.get(ident)
    assert row is not None and row.source == "jwt"
    assert "authorization" not in row.headers and "cookie" not in row.headers
    assert token not in json.dumps(row.headers)


def test_duplicates_are_answered_200_and_stored_once(served: Served):
    body = issue_body()
    headers = hmac_headers(body)
    first = served.post(body, headers)
    again = served.post(body, {**headers, "X-Atlassian-Webhook-Retry": "1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "duplicate"
    rows = served.receiver.inbox.deliveries()
    assert [r.delivery_id for r in rows] == [headers["X-Atlassian-Webhook-Identifier"]]
    assert rows[0].retry == 0  # the first copy is the one kept
    assert served.receiver.metrics.get("deliveries_total", "duplicate") == 1
    # Counted in the inbox too, per event type (the dashboard's inbox page reads it).
    assert served.receiver.inbox.duplicates() == {"jira:issue_updated": 1}
    other = issue_body(10003, event="comment_created")
    other_headers = hmac_headers(other)
    for _ in range(3):
        served.post(other, other_headers)
    assert served.receiver.inbox.duplicates() == {"jira:issue_updated": 1, "comment_created": 2}


def test_without_an_identifier_the_content_hash_dedupes(served: Served):
    body = issue_body(10002)
    headers = hmac_headers(body)
    del headers["X-Atlassian-Webhook-Identifier"]
    assert served.post(body, headers).json()["status"] == "accepted"
    assert served.post(body, headers).json()["status"] == "duplicate"
    [row] = served.receiver.inbox.deliveries()
    assert row.delivery_id == content_id(body)


def test_a_replay_with_a_changed_body_is_refused_and_not_stored(served: Served):
    body = issue_body()
    headers = hmac_headers(body)
    assert served.post(body, headers).status_code == 200
    forged = issue_body(summary="forged")
    # under the genuine HMAC: the signature does not cover the new body
    r = served.post(forged, headers)
    assert r.status_code == 401 and r.json()["reason"] == "bad_signature"
    # correctly signed but under an identifier already bound to another body
    r = served.post(
        forged,
        {
            **hmac_headers(forged),
            "X-Atlassian-Webhook-Identifier": headers["X-Atlassian-Webhook-Identifier"],
        },
    )
    assert r.status_code == 409
    [row] = served.receiver.inbox.deliveries()
    assert row.body == body


def test_bad_signatures_get_401_a_counter_and_a_log_line_without_the_body(
    served: Served, caplog: pytest.LogCaptureFixture
):
    body = issue_body(summary="top-secret-summary")
    caplog.set_level(logging.WARNING, logger="jirakit.webhooks")
    bad = served.post(body, hmac_headers(body, secret="wrong"))
    missing = served.post(body, {"Content-Type": "application/json"})
    assert (bad.status_code, missing.status_code) == (401, 401)
    assert bad.json()["reason"] == "bad_signature"
    assert missing.json()["reason"] == "missing_signature"
    assert served.receiver.inbox.deliveries() == []
    assert served.receiver.metrics.get("rejected_total", "bad_signature") == 1
    assert served.receiver.metrics.get("rejected_total", "missing_signature") == 1
    lines = [r.getMessage() for r in caplog.records if "webhooks.rejected" in r.getMessage()]
    assert len(lines) == 2
    assert all("top-secret-summary" not in line and SECRET not in line for line in lines)
    assert '"reason": "bad_signature"' in lines[0]
    metrics = served.http.get(f"{served.url}/metrics").text
    assert 'jirakit_webhooks_rejected_total{result="bad_signature"} 1' in metrics


def test_bad_input_gets_the_right_status_and_never_a_500(served: Served):
    # 415: not JSON
    r = served.post(b"a=b", {**hmac_headers(b"a=b"), "Content-Type": "text/plain"})
    assert r.status_code == 415
    # 413: declared too large (64 KiB limit in this fixture) and streamed too large
    big = b'{"x":"' + b"a" * 70_000 + b'"}'
    assert served.post(big, hmac_headers(big)).status_code == 413

    def chunks() -> Any:
        for _ in range(80):
            yield b"a" * 1000

    r = served.http.post(served.hook, content=chunks(), headers=hmac_headers(b"{}"))
    assert r.status_code == 413
    # 400: valid signature over malformed JSON, stored as rejected for inspection
    broken = b'{"webhookEvent": "jira:issue_updated", '
    headers = hmac_headers(broken)
    r = served.post(broken, headers)
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
    not_object = b"[1, 2]"
    assert served.post(not_object, hmac_headers(not_object)).status_code == 400
    rejected = served.receiver.inbox.deliveries(status="rejected")
    assert rejected[0].delivery_id == headers["X-Atlassian-Webhook-Identifier"]
    assert {r.outcome for r in rejected} == {"malformed"}
    assert len(rejected) == 2
    # other methods and paths
    assert served.http.get(served.hook).status_code == 405
    assert served.http.post(f"{served.url}/elsewhere", content=b"{}").status_code == 404


def test_unknown_events_are_stored_acknowledged_and_ignored(served: Served, wait: Any):
    body = json.dumps({"webhookEvent": "something_new", "timestamp": 1}).encode()
    headers = hmac_headers(body)
    seen: list[Any] = []
    served.receiver.on("*")(seen.append)
    assert served.post(body, headers).status_code == 200
    ident = headers["X-Atlassian-Webhook-Identifier"]
    wait(lambda: (served.receiver.inbox.get(ident) or _Row()).status == "applied")
    row = served.receiver.inbox.get(ident)
    assert row is not None and row.outcome == "ignored"
    assert [e.ordering for e in seen] == ["ignored"]


class _Row:
    status = ""


def test_healthz(served: Served):
    r = served.http.get(f"{served.url}/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and "inbox" in r.json()


def test_mounted_in_a_starlette_app(store_url: str):
    receiver = Receiver(store_url, Secrets(hmac=(SECRET,)))
    outer = Starlette(routes=[Mount("/jira", app=receiver.app)])
    try:
        with serve_in_thread(outer) as url, httpx.Client() as http:
            body = issue_body()
            r = http.post(f"{url}/jira/webhooks/jira", content=body, headers=hmac_headers(body))
            assert r.status_code == 200, r.text
            assert http.get(f"{url}/jira/healthz").json()["status"] == "ok"
    finally:
        receiver.close()
    assert len(Inbox(store_url).deliveries()) == 1


def test_jwt_qsh_is_checked_against_the_mounted_path(store_url: str):
    """Jira signs the URL it posts to: with the receiver mounted under /jira the qsh covers
    /jira/webhooks/jira, and a token minted for another path is refused."""
    receiver = Receiver(store_url, Secrets(jwt=(JWT_SECRET,)))
    outer = Starlette(routes=[Mount("/jira", app=receiver.app)])

    def token(path: str) -> str:
        now = int(time.time())
        qsh = query_string_hash("POST", path)
        return jwt_encode({"iss": "s", "iat": now, "exp": now + 60, "qsh": qsh}, JWT_SECRET)

    try:
        with serve_in_thread(outer) as url, httpx.Client() as http:
            body = issue_body()
            for path, want in (("/jira/webhooks/jira", 200), ("/webhooks/jira", 401)):
                headers = {
                    "Content-Type": "application/json",
                    "Authorization": f"JWT {token(path)}",
                    "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
                }
                r = http.post(f"{url}/jira/webhooks/jira", content=body, headers=headers)
                assert r.status_code == want, (path, r.text)
    finally:
        receiver.close()


def test_a_receiver_needs_a_secret_unless_told_otherwise(store_url: str):
    with pytest.raises(ValueError, match="no webhook secret"):
        Receiver(store_url, Secrets())
    Receiver(store_url, Secrets(allow_unsigned=True)).close()


def test_the_sandbox_deliveries_with_duplicates_reordering_and_retries(store_url: str, wait: Any):
    """Real deliveries from the sandbox (admin webhook with a secret, 30% duplicates, 30%
    reordered, the first answers failing so Jira retries): every identifier stored once."""
    receiver = Receiver(store_url, Secrets(hmac=(SECRET,)), poll_interval=0.05)
    failures = {"left": 5}

    async def flaky(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and failures["left"] > 0:
            failures["left"] -= 1
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await receiver.app(scope, receive, send)

    sandbox = Sandbox(
        seed=9,
        issues=20,
        projects=1,
        webhook_backoff=0.01,
        webhook_duplicates=0.3,
        webhook_reorder=0.3,
    )
    receiver.start()
    try:
        with (
            sandbox,
            sandbox.serve() as site,
            serve_in_thread(flaky) as url,
            httpx.Client(base_url=site, auth=sandbox.auth) as http,
        ):
            register_admin(http, f"{url}/webhooks/jira")
            keys = sorted(r.key for r in sandbox.store.issues.values())[:10]
            for key in keys:
                for n in range(3):
                    r = http.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": f"v{n}"}})
                    assert r.status_code == 204
            assert sandbox.webhooks.flush(30)
            log = sandbox.webhooks.log
            sent = {s.identifier for s in log}
            assert any(s.duplicate for s in log) and any(s.attempt > 0 for s in log)
            assert len(sent) == 30
            stored = {r.delivery_id for r in receiver.inbox.deliveries()}
            assert stored == sent
            wait(lambda: receiver.inbox.counts() == {"applied": 30}, what="all applied")
            # Every duplicate answered is counted in the inbox, under its event type.
            counted = receiver.inbox.duplicates()
            assert set(counted) <= {r.event for r in receiver.inbox.deliveries()}
            assert sum(counted.values()) == receiver.metrics.get("deliveries_total", "duplicate")
    finally:
        receiver.close()
    assert receiver.metrics.get("deliveries_total", "duplicate") >= 1
    assert all(n == 1 for n in receiver.inbox.journal_counts().values())


def test_hmac_from_jira_round_trip_for_a_real_payload(served: Served):
    """A real Jira Cloud payload (mattermost's fixtures) signed as Jira signs it."""
    from needs import require_shared

    raw = require_shared(
        "jira", "fixtures", "webhooks-mattermost", "webhook-issue-updated-assigned.json"
    ).read_bytes()
    headers = {"Content-Type": "application/json", "X-Hub-Signature": jira_sign(raw, SECRET)}
    r = served.post(raw, headers)
    assert r.status_code == 200, r.text
    [row] = served.receiver.inbox.deliveries()
    assert row.event == "jira:issue_updated" and row.body == raw
