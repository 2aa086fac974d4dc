"""The public surface of `jirakit.webhooks`, pinned; `verify` needs no store or framework."""

from __future__ import annotations

import subprocess
import sys

import jirakit.webhooks as webhooks

PUBLIC = {
    "CommentEvent",
    "Consumer",
    "Effects",
    "FetchOnNotify",
    "Forwarder",
    "Handlers",
    "Inbox",
    "IssueEvent",
    "Job",
    "Processor",
    "Receiver",
    "Secrets",
    "Snapshot",
    "UnknownEvent",
    "VerificationError",
    "Verified",
    "Verifier",
    "VirtualWebhooks",
    "WebhookEvent",
    "WorklogEvent",
    "attach_warehouse",
    "parse_event",
    "sign",
    "sign_jwt",
    "verify",
}


def test_public_names_resolve():
    assert set(webhooks.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(webhooks, name) is not None
    assert callable(webhooks.verify) and not isinstance(webhooks.verify, type(webhooks))


def test_verify_imports_neither_sqlalchemy_nor_dlt():
    code = (
        "import sys; from jirakit.webhooks import verify, Secrets; "
        "print(sorted(m for m in ('sqlalchemy', 'dlt', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
