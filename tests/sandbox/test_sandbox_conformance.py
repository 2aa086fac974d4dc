"""Every implemented operation's JSON response validates against the official platform
OpenAPI spec (``../shared/jira/specs/platform.swagger-v3.v3.json``), over seeded data.

The spec is OpenAPI 3.0: ``nullable`` is turned into a JSON-schema null type,
``readOnly``/``writeOnly`` are ignored, and ``additionalProperties: false`` beside a bare
``anyOf`` (which would reject every object) is dropped.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from jirakit.sandbox import Sandbox
from needs import require_shared

SPEC = ("jira", "specs", "platform.swagger-v3.v3.json")  # under ../shared
URN = "urn:jira-platform"
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
}


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _convert(v)
        for k, v in node.items()
        if k not in ("readOnly", "writeOnly", "example", "x-showInExample")
    }
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        elif "allOf" in out:
            out = {"anyOf": [{"allOf": out["allOf"]}, {"type": "null"}]}
    if out.get("additionalProperties") is False and "properties" not in out:
        del out["additionalProperties"]
    if "$ref" in out and len(out) > 1:  # draft-4 ignores siblings of $ref anyway
        out = {"$ref": out["$ref"]}
    return out


# Where real Jira and the published spec disagree, real Jira wins: recorded changelog items
# carry nulls (see ../shared/jira/fixtures/webhooks-mattermost/webhook-issue-updated-*.json).
NULLABLE_IN_PRACTICE = {"ChangeDetails": ("from", "fromString", "to", "toString")}
# A defect of the published spec: the page of field configurations lists the request bean
# (``FieldConfigurationDetails``: name and description, write-only) where the response has
# ``FieldConfiguration`` items (id, name, description, isDefault), as the operation's own
# example and every client reading it show.
ITEMS_IN_PRACTICE = {"PageBeanFieldConfigurationDetails": "FieldConfiguration"}


class Conformance:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        components = copy.deepcopy(spec["components"])
        for name, props in NULLABLE_IN_PRACTICE.items():
            for prop in props:
                components["schemas"][name]["properties"][prop]["nullable"] = True
        for name, item in ITEMS_IN_PRACTICE.items():
            if name not in components["schemas"]:  # another spec (Jira Software)
                continue
            values = components["schemas"][name]["properties"]["values"]
            values["items"] = {"$ref": f"#/components/schemas/{item}"}
        converted = {"components": _convert(components)}
        self.registry: Registry[Any] = Registry().with_resource(
            URN, Resource(contents=converted, specification=DRAFT4)
        )
        self.checked: set[tuple[str, str]] = set()

    def schema_for(self, path: str, method: str, status: int) -> Any:
        op = self.spec["paths"][path][method.lower()]
        content = op["responses"].get(str(status), {}).get("content", {})
        if not content and status >= 400:  # many error responses are documented without a body
            schema = {"$ref": "#/components/schemas/ErrorCollection"}
        else:
            schema = next(iter(content.values()))["schema"]
        return _rewrite_refs(_convert(copy.deepcopy(schema)))

    def validate(self, path: str, method: str, response: httpx.Response) -> None:
        schema = self.schema_for(path, method, response.status_code)
        validator = Draft4Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.absolute_path))
        assert not errors, f"{method} {path}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5]
        )
        self.checked.add((method.upper(), path))


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite_refs(n) for n in node]
    if isinstance(node, dict):
        return {
            k: (URN + v if k == "$ref" and v.startswith("#") else _rewrite_refs(v))
            for k, v in node.items()
        }
    return node


@pytest.fixture(scope="module")
def conformance() -> Conformance:
    return Conformance(json.loads(require_shared(*SPEC).read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def site() -> Sandbox:
    sandbox = Sandbox(seed=4, issues=150, projects=3)
    store = sandbox.store
    eng2 = store.issue("ENG-2")
    assert eng2 is not None and store.attachments  # the generator seeds a few
    store.add_attachment(  # one on ENG-2, so its issue view shows the field's shape
        {
            "id": str(store.next_id("attachment")),
            "issue": eng2.id,
            "filename": "conformance.txt",
            "author": sandbox.admin_account_id,
            "created": eng2.fields["created"],
            "size": 2,
            "mimeType": "text/plain",
            "data": "aGk=",
        }
    )
    store.remote_links[eng2.sid] = [
        {
            "id": 10000,
            "globalId": "conf-1",
            "application": {},
            "object": {"url": "https://example.com/1", "title": "One", "icon": {}},
        }
    ]
    store.issue_properties[store.issue("ENG-3").sid] = {"conf": {"a": [1, {"b": None}]}}  # type: ignore[union-attr]
    store.filters["10000"] = {
        "id": "10000",
        "name": "Seeded",
        "jql": "project = ENG",
        "description": "",
        "owner": sandbox.admin_account_id,
        "favourites": [sandbox.admin_account_id],
    }
    return sandbox


P = "/rest/api/3"
# (method, spec path, url, json body, expected status)
CASES: list[tuple[str, str, str, Any, int]] = [
    ("GET", "/myself", "/myself?expand=groups", None, 200),
    ("GET", "/serverInfo", "/serverInfo", None, 200),
    ("GET", "/field", "/field", None, 200),
    ("GET", "/priority", "/priority", None, 200),
    ("GET", "/priority/search", "/priority/search", None, 200),
    ("GET", "/priority/{id}", "/priority/3", None, 200),
    ("GET", "/resolution", "/resolution", None, 200),
    ("GET", "/resolution/search", "/resolution/search?maxResults=2", None, 200),
    ("GET", "/resolution/{id}", "/resolution/10000", None, 200),
    ("GET", "/issuetype", "/issuetype", None, 200),
    ("GET", "/issuetype/{id}", "/issuetype/10004", None, 200),
    ("GET", "/status", "/status", None, 200),
    ("GET", "/status/{idOrName}", "/status/Done", None, 200),
    ("GET", "/statuscategory", "/statuscategory", None, 200),
    ("GET", "/project", "/project", None, 200),
    ("GET", "/project/search", "/project/search?maxResults=2", None, 200),
    ("GET", "/project/{projectIdOrKey}", "/project/ENG", None, 200),
    ("GET", "/project/{projectIdOrKey}/statuses", "/project/ENG/statuses", None, 200),
    ("GET", "/project/{projectIdOrKey}/components", "/project/ENG/components", None, 200),
    ("GET", "/project/{projectIdOrKey}/versions", "/project/ENG/versions", None, 200),
    ("GET", "/component/{id}", "/component/10001", None, 200),
    ("GET", "/version/{id}", "/version/10001", None, 200),
    ("GET", "/user", "/user?accountId={admin}&expand=groups", None, 200),
    ("GET", "/user/search", "/user/search?query=a", None, 200),
    ("GET", "/users/search", "/users/search?maxResults=5", None, 200),
    ("GET", "/users", "/users?maxResults=5", None, 200),
    ("GET", "/user/bulk", "/user/bulk?accountId={admin}", None, 200),
    ("GET", "/group/member", "/group/member?groupname=jira-users&maxResults=3", None, 200),
    ("GET", "/groups/picker", "/groups/picker?query=jira", None, 200),
    (
        "POST",
        "/issue",
        "/issue",
        {
            "fields": {
                "project": {"key": "ENG"},
                "issuetype": {"name": "Story"},
                "summary": "Conf",
                "description": ADF,
            }
        },
        201,
    ),
    (
        "POST",
        "/issue",
        "/issue",
        {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Story"}}},
        400,
    ),
    (
        "GET",
        "/issue/{issueIdOrKey}",
        "/issue/ENG-2?expand=renderedFields,names,schema,changelog,transitions,editmeta",
        None,
        200,
    ),
    ("GET", "/issue/{issueIdOrKey}", "/issue/ENG-9999", None, 404),
    (
        "POST",
        "/issue/bulk",
        "/issue/bulk",
        {
            "issueUpdates": [
                {
                    "fields": {
                        "project": {"key": "ENG"},
                        "issuetype": {"name": "Task"},
                        "summary": "B",
                    }
                },
                {"fields": {"project": {"key": "ENG"}}},
            ]
        },
        201,
    ),
    (
        "POST",
        "/issue/bulk",
        "/issue/bulk",
        {"issueUpdates": [{"fields": {"project": {"key": "NOPE"}}}]},
        400,
    ),
    (
        "GET",
        "/issue/createmeta/{projectIdOrKey}/issuetypes",
        "/issue/createmeta/ENG/issuetypes",
        None,
        200,
    ),
    (
        "GET",
        "/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
        "/issue/createmeta/ENG/issuetypes/10001?maxResults=100",
        None,
        200,
    ),
    ("GET", "/issue/{issueIdOrKey}/editmeta", "/issue/ENG-2/editmeta", None, 200),
    (
        "GET",
        "/issue/{issueIdOrKey}/transitions",
        "/issue/ENG-2/transitions?expand=transitions.fields",
        None,
        200,
    ),
    ("GET", "/issue/{issueIdOrKey}/changelog", "/issue/ENG-2/changelog", None, 200),
    (
        "POST",
        "/changelog/bulkfetch",
        "/changelog/bulkfetch",
        {"issueIdsOrKeys": ["ENG-1", "ENG-2", "ENG-3"], "maxResults": 2},
        200,
    ),
    (
        "POST",
        "/issue/bulkfetch",
        "/issue/bulkfetch",
        {"issueIdsOrKeys": ["ENG-1", "ENG-2", "NOPE-1"], "fields": ["*all"]},
        200,
    ),
    ("GET", "/issue/{issueIdOrKey}/comment", "/issue/ENG-2/comment", None, 200),
    ("POST", "/issue/{issueIdOrKey}/comment", "/issue/ENG-2/comment", {"body": ADF}, 201),
    ("GET", "/issue/{issueIdOrKey}/comment/{id}", "/issue/ENG-2/comment/{comment}", None, 200),
    (
        "PUT",
        "/issue/{issueIdOrKey}/comment/{id}",
        "/issue/ENG-2/comment/{comment}",
        {"body": ADF},
        200,
    ),
    ("GET", "/issue/{issueIdOrKey}/watchers", "/issue/ENG-2/watchers", None, 200),
    ("GET", "/issue/{issueIdOrKey}/votes", "/issue/ENG-2/votes", None, 200),
    ("GET", "/issue/{issueIdOrKey}/worklog", "/issue/{worklogged}/worklog", None, 200),
    (
        "POST",
        "/issue/{issueIdOrKey}/worklog",
        "/issue/{worklogged}/worklog",
        {"timeSpent": "1h 30m", "comment": ADF},
        201,
    ),
    (
        "GET",
        "/issue/{issueIdOrKey}/worklog/{id}",
        "/issue/{worklogged}/worklog/{worklog}",
        None,
        200,
    ),
    (
        "PUT",
        "/issue/{issueIdOrKey}/worklog/{id}",
        "/issue/{worklogged}/worklog/{worklog}",
        {"timeSpentSeconds": 600},
        200,
    ),
    ("POST", "/issue/{issueIdOrKey}/worklog", "/issue/{worklogged}/worklog", {}, 400),
    ("GET", "/worklog/updated", "/worklog/updated?since=0", None, 200),
    ("GET", "/worklog/deleted", "/worklog/deleted?since=0", None, 200),
    ("POST", "/worklog/list", "/worklog/list", {"ids": [10001, 10002, 10003]}, 200),
    ("GET", "/issueLink/{linkId}", "/issueLink/{link}", None, 200),
    ("GET", "/issueLinkType", "/issueLinkType", None, 200),
    ("GET", "/issueLinkType/{issueLinkTypeId}", "/issueLinkType/10000", None, 200),
    (
        "GET",
        "/search/jql",
        "/search/jql?jql=project%3DENG&fields=*all&expand=names,schema,renderedFields&maxResults=20",
        None,
        200,
    ),
    (
        "GET",
        "/search/jql",
        "/search/jql?jql=project%3DENG&fields=summary,comment&expand=changelog,transitions,editmeta&maxResults=3",
        None,
        200,
    ),
    ("GET", "/search/jql", "/search/jql?jql=project%3DENG&maxResults=5000", None, 200),
    (
        "POST",
        "/search/jql",
        "/search/jql",
        {"jql": "project = ENG AND status CHANGED", "fields": ["*navigable"], "maxResults": 10},
        200,
    ),
    ("GET", "/search/jql", "/search/jql?jql=order%20by%20key", None, 400),
    (
        "POST",
        "/search/approximate-count",
        "/search/approximate-count",
        {"jql": "project = ENG"},
        200,
    ),
    (
        "POST",
        "/jql/parse",
        "/jql/parse",
        {
            "queries": [
                "project = ENG AND status WAS Done BY currentUser() ORDER BY key",
                "assignee is EMPTY OR NOT labels in (a, b)",
                "project =",
            ]
        },
        200,
    ),
    # dynamic webhooks: events that never fire and an unroutable URL, so nothing is sent
    (
        "POST",
        "/webhook",
        "/webhook",
        {
            "url": "http://127.0.0.1:9/hook",
            "webhooks": [
                {"events": ["issue_property_set"], "jqlFilter": "project = ENG"},
                {"events": ["jira:issue_created"], "jqlFilter": "summary ~ x"},
            ],
        },
        200,
    ),
    ("GET", "/webhook", "/webhook", None, 200),
    ("PUT", "/webhook/refresh", "/webhook/refresh", {"webhookIds": [1]}, 200),
    ("GET", "/webhook/failed", "/webhook/failed?maxResults=10", None, 200),
    # attachments (the upload is multipart: see test_attachment_upload_matches_spec)
    ("GET", "/attachment/{id}", "/attachment/{attachment}", None, 200),
    ("GET", "/attachment/{id}", "/attachment/99999", None, 404),
    # remote links
    # (the spec documents only the ?globalId= answer; the list is checked separately)
    (
        "GET",
        "/issue/{issueIdOrKey}/remotelink",
        "/issue/ENG-2/remotelink?globalId=conf-1",
        None,
        200,
    ),
    (
        "POST",
        "/issue/{issueIdOrKey}/remotelink",
        "/issue/ENG-2/remotelink",
        {"globalId": "conf-2", "object": {"url": "https://example.com/2", "title": "Two"}},
        201,
    ),
    (
        "POST",
        "/issue/{issueIdOrKey}/remotelink",
        "/issue/ENG-2/remotelink",
        {"globalId": "conf-2", "object": {"url": "https://example.com/2b", "title": "Two"}},
        200,
    ),
    (
        "GET",
        "/issue/{issueIdOrKey}/remotelink/{linkId}",
        "/issue/ENG-2/remotelink/10000",
        None,
        200,
    ),
    # groups
    ("POST", "/group", "/group", {"name": "conformance-group"}, 201),
    (
        "POST",
        "/group/user",
        "/group/user?groupname=conformance-group",
        {"accountId": "{admin}"},
        201,
    ),
    # filters and JQL autocomplete data
    ("POST", "/filter", "/filter", {"name": "Conf filter", "jql": "project = ENG"}, 200),
    ("POST", "/filter", "/filter", {"name": "Bad filter", "jql": "project = "}, 400),
    ("GET", "/filter/{id}", "/filter/{filter}", None, 200),
    (
        "POST",
        "/filter",
        "/filter",
        {
            "name": "Shared filter",
            "jql": "project = ENG",
            "sharePermissions": [
                {"type": "project", "project": {"id": "10000"}},
                {"type": "group", "group": {"name": "developers"}},
                {"type": "global"},
            ],
        },
        200,
    ),
    ("GET", "/filter/{id}/permission", "/filter/{filter}/permission", None, 200),
    ("PUT", "/filter/{id}", "/filter/{filter}", {"description": "seeded filter"}, 200),
    ("GET", "/filter/search", "/filter/search?expand=jql&maxResults=5", None, 200),
    ("GET", "/filter/my", "/filter/my", None, 200),
    ("GET", "/filter/favourite", "/filter/favourite", None, 200),
    ("GET", "/jql/autocompletedata", "/jql/autocompletedata", None, 200),
    # project administration
    (
        "POST",
        "/project",
        "/project",
        {
            "key": "CONF",
            "name": "Conformance",
            "projectTypeKey": "software",
            "leadAccountId": "{admin}",
            "assigneeType": "UNASSIGNED",
        },
        201,
    ),
    (
        "POST",
        "/project",
        "/project",
        {"key": "CONF", "name": "Again", "leadAccountId": "{admin}"},
        400,
    ),
    ("PUT", "/project/{projectIdOrKey}", "/project/CONF", {"description": "x"}, 200),
    ("POST", "/component", "/component", {"project": "CONF", "name": "Core"}, 201),
    ("PUT", "/component/{id}", "/component/10001", {"description": "x"}, 200),
    ("POST", "/version", "/version", {"project": "CONF", "name": "1.0"}, 201),
    ("PUT", "/version/{id}", "/version/10001", {"description": "x"}, 200),
    # custom field contexts and options
    ("GET", "/field/{fieldId}/context", "/field/customfield_10030/context", None, 200),
    (
        "GET",
        "/field/{fieldId}/context/{contextId}/option",
        "/field/customfield_10030/context/10130/option",
        None,
        200,
    ),
    (
        "POST",
        "/field/{fieldId}/context/{contextId}/option",
        "/field/customfield_10030/context/10130/option",
        {"options": [{"value": "Conformance tier", "disabled": False}]},
        200,
    ),
    (
        "PUT",
        "/field/{fieldId}/context/{contextId}/option",
        "/field/customfield_10030/context/10130/option",
        {"options": [{"id": "10100", "value": "Renamed tier", "disabled": True}]},
        200,
    ),
    # users who may be assigned, permissions, roles (derived from the seeded org)
    ("GET", "/user/assignable/search", "/user/assignable/search?project=ENG&query=a", None, 200),
    ("GET", "/user/assignable/search", "/user/assignable/search?issueKey=ENG-2", None, 200),
    ("GET", "/user/assignable/search", "/user/assignable/search", None, 400),
    (
        "GET",
        "/user/assignable/multiProjectSearch",
        "/user/assignable/multiProjectSearch?projectKeys=ENG,OPS",
        None,
        200,
    ),
    ("GET", "/mypermissions", "/mypermissions?permissions=BROWSE_PROJECTS,ADMINISTER", None, 200),
    ("GET", "/mypermissions", "/mypermissions?permissions=EDIT_ISSUES&issueKey=ENG-2", None, 200),
    ("GET", "/mypermissions", "/mypermissions", None, 400),
    ("GET", "/permissions", "/permissions", None, 200),
    ("GET", "/permissionscheme", "/permissionscheme?expand=permissions", None, 200),
    ("GET", "/permissionscheme/{schemeId}", "/permissionscheme/0?expand=all", None, 200),
    ("GET", "/permissionscheme/{schemeId}/permission", "/permissionscheme/0/permission", None, 200),
    (
        "GET",
        "/project/{projectKeyOrId}/permissionscheme",
        "/project/ENG/permissionscheme",
        None,
        200,
    ),
    ("GET", "/applicationrole", "/applicationrole", None, 200),
    ("GET", "/applicationrole/{key}", "/applicationrole/jira-software", None, 200),
    ("GET", "/role", "/role", None, 200),
    ("GET", "/role/{id}", "/role/10002", None, 200),
    ("GET", "/project/{projectIdOrKey}/role", "/project/ENG/role", None, 200),
    ("GET", "/project/{projectIdOrKey}/role/{id}", "/project/ENG/role/10002", None, 200),
    ("GET", "/project/{projectIdOrKey}/roledetails", "/project/ENG/roledetails", None, 200),
    # projects
    ("GET", "/project/type", "/project/type", None, 200),
    ("GET", "/project/type/accessible", "/project/type/accessible", None, 200),
    ("GET", "/project/type/{projectTypeKey}", "/project/type/software", None, 200),
    (
        "GET",
        "/project/type/{projectTypeKey}/accessible",
        "/project/type/business/accessible",
        None,
        200,
    ),
    ("GET", "/projectCategory", "/projectCategory", None, 200),
    ("GET", "/projectCategory/{id}", "/projectCategory/10000", None, 200),
    ("GET", "/project/{projectIdOrKey}/version", "/project/10000/version?maxResults=2", None, 200),
    (
        "GET",
        "/project/{projectIdOrKey}/component",
        "/project/ENG/component?orderBy=-issueCount",
        None,
        200,
    ),
    ("GET", "/project/{projectId}/email", "/project/10000/email", None, 200),
    ("GET", "/project/{projectKeyOrId}/securitylevel", "/project/ENG/securitylevel", None, 200),
    (
        "GET",
        "/project/{projectKeyOrId}/issuesecuritylevelscheme",
        "/project/ENG/issuesecuritylevelscheme",
        None,
        200,
    ),
    (
        "GET",
        "/project/{projectKeyOrId}/notificationscheme",
        "/project/ENG/notificationscheme?expand=all",
        None,
        200,
    ),
    ("GET", "/project/{projectIdOrKey}/avatars", "/project/10000/avatars", None, 200),
    ("GET", "/avatar/{type}/system", "/avatar/project/system", None, 200),
    ("GET", "/securitylevel/{id}", "/securitylevel/10001", None, 200),
    # issues
    (
        "GET",
        "/issue/createmeta",
        "/issue/createmeta?projectKeys=ENG&expand=projects.issuetypes.fields",
        None,
        200,
    ),
    ("GET", "/issue/createmeta", "/issue/createmeta?issuetypeNames=Bug", None, 200),
    ("GET", "/issue/{issueIdOrKey}/properties", "/issue/ENG-3/properties", None, 200),
    (
        "GET",
        "/issue/{issueIdOrKey}/properties/{propertyKey}",
        "/issue/ENG-3/properties/conf",
        None,
        200,
    ),
    (
        "GET",
        "/issue/{issueIdOrKey}/properties/{propertyKey}",
        "/issue/ENG-3/properties/nope",
        None,
        404,
    ),
    ("GET", "/label", "/label?maxResults=5", None, 200),
    # configuration
    ("GET", "/application-properties", "/application-properties", None, 200),
    (
        "GET",
        "/application-properties/advanced-settings",
        "/application-properties/advanced-settings",
        None,
        200,
    ),
    ("GET", "/configuration/timetracking", "/configuration/timetracking", None, 200),
    ("GET", "/configuration/timetracking/list", "/configuration/timetracking/list", None, 200),
    (
        "GET",
        "/configuration/timetracking/options",
        "/configuration/timetracking/options",
        None,
        200,
    ),
    ("GET", "/fieldconfiguration", "/fieldconfiguration", None, 200),
    ("GET", "/fieldconfiguration/{id}/fields", "/fieldconfiguration/10000/fields", None, 200),
    ("GET", "/screens", "/screens", None, 200),
    ("GET", "/screens/{screenId}/tabs", "/screens/1/tabs", None, 200),
    ("GET", "/screens/{screenId}/tabs/{tabId}/fields", "/screens/1/tabs/10000/fields", None, 200),
    ("GET", "/screenscheme", "/screenscheme", None, 200),
    ("GET", "/issuetypescheme", "/issuetypescheme", None, 200),
    ("GET", "/issuetypescheme/mapping", "/issuetypescheme/mapping", None, 200),
    (
        "GET",
        "/issuetypescheme/project",
        "/issuetypescheme/project?projectId=10000&projectId=10002",
        None,
        200,
    ),
    ("GET", "/issuetypescreenscheme", "/issuetypescreenscheme", None, 200),
    ("GET", "/issuetypescreenscheme/mapping", "/issuetypescreenscheme/mapping", None, 200),
    (
        "GET",
        "/issuetypescreenscheme/project",
        "/issuetypescreenscheme/project?projectId=10000",
        None,
        200,
    ),
    ("GET", "/notificationscheme", "/notificationscheme?expand=all", None, 200),
    ("GET", "/notificationscheme/{id}", "/notificationscheme/10000?expand=all", None, 200),
    ("GET", "/issuesecurityschemes", "/issuesecurityschemes", None, 200),
    ("GET", "/issuesecurityschemes/{id}", "/issuesecurityschemes/10000", None, 200),
    ("GET", "/workflowscheme", "/workflowscheme", None, 200),
    ("GET", "/workflowscheme/{id}", "/workflowscheme/10000", None, 200),
    (
        "GET",
        "/workflowscheme/project",
        "/workflowscheme/project?projectId=10000&projectId=10002",
        None,
        200,
    ),
    ("GET", "/workflow/search", "/workflow/search?expand=transitions,statuses,projects", None, 200),
    ("GET", "/dashboard", "/dashboard?maxResults=2", None, 200),
    ("GET", "/dashboard/{id}", "/dashboard/10001", None, 200),
    ("GET", "/dashboard/search", "/dashboard/search?dashboardName=dashboard", None, 200),
    ("GET", "/group/bulk", "/group/bulk?maxResults=3", None, 200),
    ("GET", "/settings/columns", "/settings/columns", None, 200),
]


@pytest.mark.parametrize(
    ("method", "path", "url", "body", "status"), CASES, ids=[f"{c[0]} {c[2]}" for c in CASES]
)
async def test_response_matches_spec(
    conformance: Conformance,
    site: Sandbox,
    client_for: Any,
    method: str,
    path: str,
    url: str,
    body: Any,
    status: int,
) -> None:
    rec = next(r for r in site.store.issues.values() if r.worklogs)
    target = site.store.issue("ENG-2")
    assert target is not None
    comment = target.comments[-1]["id"] if target.comments else "0"
    url = url.format(
        admin=site.admin_account_id,
        comment=comment,
        worklogged=rec.key,
        worklog=rec.worklogs[-1]["id"],
        link=next(iter(site.store.links)),
        attachment=next(iter(site.store.attachments)),
        filter="10000",
    )
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace("{admin}", site.admin_account_id))
    async with client_for(site) as c:
        r = await c.request(method, P + url, json=body)
    assert r.status_code == status, r.text
    conformance.validate(P + path, method, r)


MULTIPART = {("POST", P + "/issue/{issueIdOrKey}/attachments")}


async def test_attachment_upload_matches_spec(
    conformance: Conformance, site: Sandbox, client_for: Any
) -> None:
    async with client_for(site) as c:
        r = await c.post(
            P + "/issue/ENG-3/attachments",
            files={"file": ("conformance.txt", b"hello")},
            headers={"X-Atlassian-Token": "no-check"},
        )
        assert r.status_code == 200, r.text
        conformance.validate(P + "/issue/{issueIdOrKey}/attachments", "POST", r)
        refused = await c.post(P + "/issue/ENG-3/attachments", files={"file": ("x", b"x")})
    assert refused.status_code == 403


async def test_project_archive_and_restore_match_spec(
    conformance: Conformance, site: Sandbox, client_for: Any
) -> None:
    """Archive and delete answer 204 without a body; restore answers the project."""
    body = {"key": "CONFR", "name": "Conformance restore", "leadAccountId": site.admin_account_id}
    async with client_for(site) as c:
        assert (await c.post(P + "/project", json=body)).status_code == 201
        archived = await c.post(P + "/project/CONFR/archive")
        assert (archived.status_code, archived.content) == (204, b"")
        restored = await c.post(P + "/project/CONFR/restore")
        assert restored.status_code == 200, restored.text
        conformance.validate(P + "/project/{projectIdOrKey}/restore", "POST", restored)
        deleted = await c.delete(P + "/project/CONFR")
        assert (deleted.status_code, deleted.content) == (204, b"")
        restored = await c.post(P + "/project/CONFR/restore")
        assert restored.status_code == 200, restored.text
        conformance.validate(P + "/project/{projectIdOrKey}/restore", "POST", restored)
        refused = await c.post(P + "/project/CONFR/restore")  # neither archived nor deleted
        assert refused.status_code == 400
        conformance.validate(P + "/project/{projectIdOrKey}/restore", "POST", refused)


RESTORE = {("POST", P + "/project/{projectIdOrKey}/restore")}
# route paths whose parameter names differ from the spec's
RENAMES = {
    "/project/{projectIdOrKey}/email": "/project/{projectId}/email",
    "/project/{projectIdOrKey}/securitylevel": "/project/{projectKeyOrId}/securitylevel",
    "/project/{projectIdOrKey}/permissionscheme": "/project/{projectKeyOrId}/permissionscheme",
    "/project/{projectIdOrKey}/notificationscheme": "/project/{projectKeyOrId}/notificationscheme",
    "/project/{projectIdOrKey}/issuesecuritylevelscheme": (
        "/project/{projectKeyOrId}/issuesecuritylevelscheme"
    ),
    "/applicationrole/{issueIdOrKey}": "/applicationrole/{key}",
    "/project/type/{typeKey}": "/project/type/{projectTypeKey}",
    "/project/type/{typeKey}/accessible": "/project/type/{projectTypeKey}/accessible",
}


async def test_remote_link_list_matches_spec(
    conformance: Conformance, site: Sandbox, client_for: Any
) -> None:
    async with client_for(site) as c:
        r = await c.get(P + "/issue/ENG-2/remotelink")
    assert r.status_code == 200 and r.json()
    item = {"$ref": URN + "#/components/schemas/RemoteIssueLink"}
    validator = Draft4Validator({"type": "array", "items": item}, registry=conformance.registry)
    assert not [e.message for e in validator.iter_errors(r.json())]


def test_every_route_is_covered(conformance: Conformance, site: Sandbox) -> None:
    """The table above names every implemented JSON-returning operation."""
    from starlette.routing import Mount, Route

    declared = {(m, P + p) for m, p, *_ in CASES} | MULTIPART | RESTORE
    missing = []
    for mount in site.app.routes:
        if not isinstance(mount, Mount) or mount.path != P:
            continue
        for route in mount.routes:
            assert isinstance(route, Route)
            for method in route.methods or ():
                if method in ("HEAD",):
                    continue
                spec_path = P + route.path.replace("{key}", "{issueIdOrKey}")
                spec_path = spec_path.replace("/issueLink/{id}", "/issueLink/{linkId}")
                spec_path = spec_path.replace("/remotelink/{id}", "/remotelink/{linkId}")
                spec_path = spec_path.replace(
                    "/issueLinkType/{id}", "/issueLinkType/{issueLinkTypeId}"
                )
                spec_path = spec_path.replace(
                    "/project/{issueIdOrKey}", "/project/{projectIdOrKey}"
                )
                spec_path = spec_path.replace(
                    "/createmeta/{project}/issuetypes/{issuetype}",
                    "/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
                )
                spec_path = spec_path.replace(
                    "/createmeta/{project}/issuetypes", "/createmeta/{projectIdOrKey}/issuetypes"
                )
                for ours, theirs in RENAMES.items():
                    if spec_path == P + ours:
                        spec_path = P + theirs
                if (method, spec_path) not in declared:
                    missing.append((method, spec_path))
    no_json = {
        ("PUT", P + "/issue/{issueIdOrKey}"),
        ("DELETE", P + "/issue/{issueIdOrKey}"),
        ("PUT", P + "/issue/{issueIdOrKey}/assignee"),
        ("DELETE", P + "/issue/{issueIdOrKey}/worklog/{id}"),
        ("POST", P + "/issueLink"),
        ("DELETE", P + "/issueLink/{linkId}"),
        ("DELETE", P + "/issue/{issueIdOrKey}/watchers"),
        ("POST", P + "/issue/{issueIdOrKey}/votes"),
        ("DELETE", P + "/issue/{issueIdOrKey}/votes"),
        ("POST", P + "/issue/{issueIdOrKey}/transitions"),
        ("DELETE", P + "/issue/{issueIdOrKey}/comment/{id}"),
        ("POST", P + "/issue/{issueIdOrKey}/watchers"),
        ("GET", P + "/search"),
        ("POST", P + "/search"),
        ("DELETE", P + "/webhook"),
        ("GET", P + "/attachment/content/{id}"),  # 303 to the bytes
        ("DELETE", P + "/attachment/{id}"),
        ("PUT", P + "/issue/{issueIdOrKey}/remotelink/{linkId}"),
        ("DELETE", P + "/issue/{issueIdOrKey}/remotelink/{linkId}"),
        ("DELETE", P + "/issue/{issueIdOrKey}/remotelink"),
        ("DELETE", P + "/group"),
        ("DELETE", P + "/group/user"),
        ("DELETE", P + "/filter/{id}"),
        ("DELETE", P + "/component/{id}"),
        ("DELETE", P + "/project/{projectIdOrKey}"),
        ("POST", P + "/project/{projectIdOrKey}/archive"),
        ("DELETE", P + "/version/{id}"),
        ("DELETE", P + "/issue/{issueIdOrKey}/properties/{propertyKey}"),
        ("PUT", P + "/issue/{issueIdOrKey}/properties/{propertyKey}"),  # 200/201, no body
    }
    assert sorted(set(missing) - no_json) == []
