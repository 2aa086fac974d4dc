"""``jirakit webhooks inbox | replay | purge`` over a real inbox, and serve's usage errors."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner
from webhook_helpers import issue_body

from jirakit.cli import app
from jirakit.webhooks import Receiver, Secrets
from jirakit.webhooks.store import Incoming, now_ms

runner = CliRunner()


def stored(store_url: str) -> Receiver:
    receiver = Receiver(store_url, Secrets(hmac=("x",)))
    box = receiver.inbox
    box.store(
        Incoming(
            "d-1",
            issue_body(10001),
            {},
            now_ms(),
            "hmac",
            event="jira:issue_updated",
            issue_id=10001,
            issue_key="ENG-1",
        )
    )
    box.store(Incoming("d-2", b"{", {}, now_ms(), "hmac", status="rejected", outcome="malformed"))
    return receiver


def test_inbox_json_prints_one_object_a_line(store_url: str):
    receiver = stored(store_url)
    receiver.process_pending()
    receiver.close()
    result = runner.invoke(app, ["webhooks", "inbox", "--store", store_url, "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(x["delivery_id"], x["event"], x["issue_id"], x["status"]) for x in lines] == [
        ("d-1", "jira:issue_updated", 10001, "applied"),
        ("d-2", None, None, "rejected"),
    ]
    only = runner.invoke(app, ["webhooks", "inbox", "--store", store_url, "--status", "rejected"])
    assert only.exit_code == 0 and "d-2" in only.output and "d-1" not in only.output
    bad = runner.invoke(app, ["webhooks", "inbox", "--store", store_url, "--status", "nope"])
    assert bad.exit_code == 2 and "accepted, applied, rejected" in bad.output


def test_replay_requeues_applied_deliveries_and_purge_deletes_old_ones(store_url: str):
    receiver = stored(store_url)
    receiver.process_pending()
    result = runner.invoke(app, ["webhooks", "replay", "--store", store_url, "--since", "1h"])
    assert result.exit_code == 0 and "1 deliveries queued" in result.output
    assert receiver.inbox.counts() == {"accepted": 1, "rejected": 1}
    seen: list[str] = []
    receiver.on("*")(lambda e: seen.append(f"{e.delivery_id}:{e.replay}:{e.ordering}"))
    receiver.process_pending()
    # a replay applies the delivery's own state again (not older than what is applied)
    assert seen == ["d-1:True:applied"]
    kept = runner.invoke(app, ["webhooks", "purge", "--store", store_url, "--older-than", "1h"])
    assert kept.exit_code == 0 and "0 deliveries" in kept.output
    future = "2999-01-01T00:00"
    gone = runner.invoke(app, ["webhooks", "purge", "--store", store_url, "--older-than", future])
    assert gone.exit_code == 0 and "2 deliveries" in gone.output
    assert receiver.inbox.counts() == {}
    receiver.close()


def test_serve_usage_errors_are_one_line(store_url: str):
    result = runner.invoke(
        app, ["webhooks", "serve", "--store", store_url, "--port", "0"], env={"JIRAKIT_URL": ""}
    )
    assert result.exit_code == 2
    assert "no webhook secret" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        app,
        ["webhooks", "serve", "--store", store_url, "--secret", "s", "--dest", "duckdb:///x"],
        env={"JIRAKIT_URL": ""},
    )
    assert result.exit_code == 2 and "--url" in result.output
    result = runner.invoke(
        app, ["webhooks", "serve", "--store", "mysql://x", "--secret", "s"], env={"JIRAKIT_URL": ""}
    )
    assert result.exit_code == 2 and "unsupported store" in result.output


def test_ingest_and_work_in_separate_receivers(store_url: str, wait: Any):
    """``serve --no-process`` stores; ``work`` on the same store applies."""
    import httpx
    from webhook_helpers import hmac_headers

    from jirakit.webhooks.runtime import ServeOptions, build_receiver
    from jirakit.webhooks.serve import serve_in_thread

    ingest = build_receiver(ServeOptions(store=store_url, secrets=["x"]), role="ingest")
    worker = build_receiver(ServeOptions(store=store_url), role="work")
    assert "process" not in ingest.jobs and "process" in worker.jobs
    seen: list[str] = []
    worker.on("*")(lambda e: seen.append(e.delivery_id))
    worker.jobs["process"].interval = 0.05
    ingest.start()
    worker.start()
    try:
        with serve_in_thread(ingest.app) as url, httpx.Client() as http:
            body = issue_body()
            headers = hmac_headers(body, secret="x")
            assert (
                http.post(f"{url}/webhooks/jira", content=body, headers=headers).status_code == 200
            )
        wait(lambda: seen == [headers["X-Atlassian-Webhook-Identifier"]], what="the worker")
    finally:
        ingest.close()
        worker.close()


def test_serve_options_wire_the_jobs(store_url: str, tmp_path: Any):
    import httpx

    from jirakit import Jira
    from jirakit.webhooks.fetch import FetchOnNotify
    from jirakit.webhooks.runtime import ServeOptions, build_receiver

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing is read while wiring: {request.url}")

    with Jira("https://x.atlassian.net", transport=httpx.MockTransport(refuse)) as jira:
        options = ServeOptions(
            store=store_url,
            secrets=["s"],
            dest=f"duckdb:///{tmp_path / 'w.duckdb'}",
            forward=["https://elsewhere/hook"],
        )
        receiver = build_receiver(options, jira)
        assert set(receiver.jobs) == {
            "process",
            "checkpoint",
            "forward-1",
            "fetch",
            "purge",
            "recover",
            "refresh",
            "heartbeat",
        }
        assert any(isinstance(c, FetchOnNotify) for c in receiver.processor.consumers)
        receiver.close()
        polling = build_receiver(ServeOptions(store=store_url, virtual=True), jira)
        assert "poll" in polling.jobs and "heartbeat" not in polling.jobs
        assert not polling.app.accept_push  # no secret: nothing may be pushed here
        polling.close()
