"""Unified.to's own SDK (``unified-python-sdk`` from PyPI), unmodified, against `jirakit
serve`: only the server URL and the key change."""

from __future__ import annotations

import pytest
from service_support import JIRA_TOKEN, Service
from unified_python_sdk import UnifiedTo
from unified_python_sdk.models import errors, shared


@pytest.fixture
def sdk(service: Service):
    key = service.tenant()
    with UnifiedTo(security=shared.Security(jwt=key), server_url=service.url) as client:
        yield client


@pytest.fixture
def connection_id(service: Service, sdk: UnifiedTo) -> str:
    made = sdk.unified.create_unified_connection(
        request=shared.Connection(
            integration_type="jira",
            categories=[shared.PropertyConnectionCategories.TASK],
            permissions=[
                shared.PropertyConnectionPermissions.TASK_TASK_READ,
                shared.PropertyConnectionPermissions.TASK_TASK_WRITE,
            ],
            auth=shared.PropertyConnectionAuth(
                api_url=service.sandbox_url,
                emails=[service.sandbox.admin_email],
                token=JIRA_TOKEN,
            ),
            external_xref="customer-42",
        )
    )
    assert made.connection is not None and made.connection.id
    assert made.connection.integration_type == "jira"
    assert made.connection.external_xref == "customer-42"
    return made.connection.id


def test_connections(sdk: UnifiedTo, connection_id: str):
    listed = sdk.unified.list_unified_connections(request={"external_xref": "customer-42"})
    assert [c.id for c in listed.connections or []] == [connection_id]
    got = sdk.unified.get_unified_connection(request={"id": connection_id})
    assert got.connection is not None and got.connection.auth is not None
    assert got.connection.auth.token is None  # no secret ever comes back
    patched = sdk.unified.patch_unified_connection(
        request={
            "id": connection_id,
            "connection": {
                "integration_type": "jira",
                "categories": ["task"],
                "permissions": [],
                "external_xref": "c-43",
            },
        }
    )
    assert patched.connection is not None and patched.connection.external_xref == "c-43"


def test_tasks_end_to_end(service: Service, sdk: UnifiedTo, connection_id: str):
    projects = sdk.task.list_task_projects(request={"connection_id": connection_id})
    assert projects.task_projects
    project = projects.task_projects[0]
    created = sdk.task.create_task_task(
        request={
            "connection_id": connection_id,
            "task_task": {
                "name": "From Unified's SDK",
                "notes": "Made with **the SDK**",
                "project_id": project.id,
                "tags": ["sdk"],
            },
        }
    )
    task = created.task_task
    assert task is not None and task.id and task.status == shared.TaskTaskStatus.OPENED
    record = service.sandbox.store.issue(task.id)
    assert record is not None and record.fields["summary"] == "From Unified's SDK"

    listed = sdk.task.list_task_tasks(
        request={"connection_id": connection_id, "project_id": project.id, "limit": 100}
    )
    assert task.id in {t.id for t in listed.task_tasks or []}
    narrowed = sdk.task.list_task_tasks(
        request={
            "connection_id": connection_id,
            "limit": 3,
            "fields": ["name", "status"],
        }
    )
    assert narrowed.task_tasks and all(t.notes is None for t in narrowed.task_tasks)

    moved = sdk.task.patch_task_task(
        request={
            "connection_id": connection_id,
            "id": task.id,
            "task_task": {"status": "IN_PROGRESS"},
        }
    )
    assert (
        moved.task_task is not None and moved.task_task.status == shared.TaskTaskStatus.IN_PROGRESS
    )
    renamed = sdk.task.update_task_task(
        request={"connection_id": connection_id, "id": task.id, "task_task": {"name": "Renamed"}}
    )
    assert renamed.task_task is not None and renamed.task_task.name == "Renamed"
    got = sdk.task.get_task_task(request={"connection_id": connection_id, "id": task.id})
    assert got.task_task is not None and got.task_task.notes == "Made with **the SDK**"

    comment = sdk.task.create_task_comment(
        request={"connection_id": connection_id, "task_comment": {"task_id": task.id, "text": "hi"}}
    ).task_comment
    assert comment is not None and comment.text == "hi"
    comments = sdk.task.list_task_comments(
        request={"connection_id": connection_id, "task_id": task.id}
    )
    assert [c.id for c in comments.task_comments or []] == [comment.id]
    changes = sdk.task.list_task_changes(
        request={"connection_id": connection_id, "task_id": task.id}
    )
    fields = {item.field for change in changes.task_changes or [] for item in change.items or []}
    assert {"summary", "status"} <= fields

    removed = sdk.task.remove_task_task(request={"connection_id": connection_id, "id": task.id})
    assert removed.status_code == 200
    with pytest.raises(errors.SDKError) as missing:
        sdk.task.get_task_task(request={"connection_id": connection_id, "id": task.id})
    assert missing.value.status_code == 404


def test_webhooks(service: Service, sdk: UnifiedTo, connection_id: str):
    made = sdk.unified.create_unified_webhook(
        request={
            "webhook": {
                "connection_id": connection_id,
                "object_type": shared.WebhookObjectType.TASK_TASK,
                "event": shared.WebhookEvent.UPDATED,
                "hook_url": "https://example.com/hooks",
                "webhook_type": shared.WebhookType.VIRTUAL,
                "interval": 5,
            }
        }
    ).webhook
    assert made is not None and made.id and made.interval == 5
    listed = sdk.unified.list_unified_webhooks(request={"connection_id": connection_id})
    assert [w.id for w in listed.webhooks or []] == [made.id]
    assert sdk.unified.get_unified_webhook(request={"id": made.id}).webhook.event == "updated"  # type: ignore[union-attr]
    assert sdk.unified.patch_unified_webhook_trigger(request={"id": made.id}).status_code == 200
    assert sdk.unified.remove_unified_webhook(request={"id": made.id}).status_code == 200
    assert sdk.unified.list_unified_webhooks(request={}).webhooks == []


def test_remove_connection(sdk: UnifiedTo, connection_id: str):
    assert sdk.unified.remove_unified_connection(request={"id": connection_id}).status_code == 200
    with pytest.raises(errors.SDKError) as gone:
        sdk.unified.get_unified_connection(request={"id": connection_id})
    assert gone.value.status_code == 404
