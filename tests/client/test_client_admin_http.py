"""Attachments, remote links, groups, filters, project and field administration, against
the served sandbox over real HTTP (sync and async). Credentials never follow an attachment
download's redirect to another origin."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from jirakit import AsyncJira, BasicAuth, Jira
from jirakit.errors import BadRequest, NotFound
from jirakit.sandbox import Sandbox


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, Sandbox]]:
    sandbox = Sandbox(seed=11, issues=30)
    with sandbox.serve() as url:
        yield url, sandbox


def _jira(site: tuple[str, Sandbox]) -> Jira:
    url, sandbox = site
    return Jira(url, auth=BasicAuth(*sandbox.auth))


def _ajira(site: tuple[str, Sandbox]) -> AsyncJira:
    url, sandbox = site
    return AsyncJira(url, auth=BasicAuth(*sandbox.auth))


# -- attachments -------------------------------------------------------------------------


@contextmanager
def _files_opened() -> Iterator[list[io.BufferedReader]]:
    """Every file `Path.open` opens meanwhile (still open or closed by now)."""
    opened: list[io.BufferedReader] = []
    real_open = Path.open

    def spy_open(self: Path, *args: object, **kwargs: object) -> io.BufferedReader:
        f = real_open(self, *args, **kwargs)  # type: ignore[call-overload]
        opened.append(f)
        return f  # type: ignore[no-any-return]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "open", spy_open)
        yield opened


def test_attachments_add_get_download_delete(site, tmp_path: Path):
    _, sandbox = site
    events: list[str] = []
    unsubscribe = sandbox.store.events.subscribe(lambda e: events.append(e.name))
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n1,2\n")
    try:
        with _jira(site) as jira:
            before = jira.issues.get("ENG-1", fields=["updated"]).fields["updated"]
            [att] = jira.attachments.add("ENG-1", source)
            assert att["filename"] == "report.csv" and att["size"] == 8
            [second] = jira.attachments.add("ENG-1", io.BytesIO(b"\x00\x01binary"), "blob.bin")
            assert second["mimeType"] == "application/octet-stream"
            meta = jira.attachments.get(att["id"])
            assert meta["filename"] == "report.csv" and str(meta["id"]) == att["id"]
            assert jira.attachments.download(att["id"]) == b"a,b\n1,2\n"
            out = tmp_path / "copy.bin"
            assert jira.attachments.download_to(second["id"], out) == 8
            assert out.read_bytes() == b"\x00\x01binary"
            buf = io.BytesIO()
            jira.attachments.download_to(att["id"], buf)
            assert buf.getvalue() == b"a,b\n1,2\n"
            issue = jira.issues.get("ENG-1", fields=["attachment", "updated"], expand=["changelog"])
            names = [a["filename"] for a in issue.fields["attachment"]]
            assert {"report.csv", "blob.bin"} <= set(names)
            assert issue.fields["updated"] != before
            jira.attachments.delete(att["id"])
            with pytest.raises(NotFound):
                jira.attachments.get(att["id"])
            raw = jira.request("GET", "/issue/ENG-1/changelog", params={"maxResults": 100})
            items = [i for h in raw["values"] for i in h["items"] if i["field"] == "Attachment"]
            assert {"toString": "report.csv", "to": att["id"]}.items() <= items[-3].items()
            assert items[-1]["fromString"] == "report.csv" and items[-1]["to"] is None
    finally:
        unsubscribe()
    assert events.count("attachment_created") == 2 and "attachment_deleted" in events


def test_a_failed_upload_closes_the_file_it_opened(site, tmp_path: Path):
    source = tmp_path / "x.txt"
    source.write_bytes(b"x")
    with _jira(site) as jira, _files_opened() as opened:
        with pytest.raises(NotFound):
            jira.attachments.add("ENG-999", source)
    assert len(opened) == 1 and opened[0].closed


async def test_a_failed_async_upload_closes_the_file_it_opened(site, tmp_path: Path):
    source = tmp_path / "y.txt"
    source.write_bytes(b"y")
    async with _ajira(site) as jira:
        with _files_opened() as opened, pytest.raises(NotFound):
            await jira.attachments.add("ENG-999", source)
    assert len(opened) == 1 and opened[0].closed


def test_upload_without_the_xsrf_header_is_refused(site):
    url, sandbox = site
    r = httpx.post(
        f"{url}/rest/api/3/issue/ENG-2/attachments",
        files={"file": ("x.txt", b"x")},
        auth=sandbox.auth,
    )
    assert r.status_code == 403 and r.json()["errorMessages"] == ["XSRF check failed"]


def test_media_links_need_their_token_not_credentials(site):
    url, sandbox = site
    att_id = next(iter(sandbox.store.attachments))
    r = httpx.get(f"{url}/rest/api/3/attachment/content/{att_id}", auth=sandbox.auth)
    assert r.status_code == 303
    location = r.headers["location"]
    assert httpx.get(location).status_code == 200  # no auth needed: the token is the key
    assert httpx.get(location.replace("token=", "token=0")).status_code == 404


async def test_async_attachments(site, tmp_path: Path):
    async with _ajira(site) as jira:
        [att] = await jira.attachments.add("ENG-3", io.BytesIO(b"async bytes"), "a.txt")
        assert (await jira.attachments.get(att["id"]))["size"] == 11
        assert await jira.attachments.download(att["id"]) == b"async bytes"
        assert await jira.attachments.download_to(att["id"], tmp_path / "a.txt") == 11
        await jira.attachments.delete(att["id"])
        with pytest.raises(NotFound):
            await jira.attachments.download(att["id"])


def test_credentials_do_not_follow_the_redirect_to_another_origin():
    """The media host is another origin (``localhost`` vs ``127.0.0.1``, one server):
    the download works, and the media request carries no Authorization header."""
    seen: list[httpx.Headers] = []

    async def spy(scope, receive, send):  # records what reaches /media
        if scope["type"] == "http" and scope["path"].startswith("/media/"):
            seen.append(httpx.Headers([(k.decode(), v.decode()) for k, v in scope["headers"]]))
        await sandbox.app(scope, receive, send)

    sandbox = Sandbox(seed=12, issues=5)
    from jirakit.sandbox.serve import serve_in_thread

    with serve_in_thread(spy, "127.0.0.1", 0) as url:
        port = url.rsplit(":", 1)[1]
        sandbox.state.media_base = f"http://localhost:{port}"
        with Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
            [att] = jira.attachments.add("ENG-1", io.BytesIO(b"secret plans"), "p.txt")
            assert jira.attachments.download(att["id"]) == b"secret plans"
    sandbox.close()
    assert len(seen) == 1
    assert seen[0]["host"].startswith("localhost") and "authorization" not in seen[0]


async def test_async_redirect_strips_credentials_with_a_mock_transport():
    media: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "media.example.net":
            media.append(request)
            return httpx.Response(200, content=b"bytes")
        assert request.headers["authorization"].startswith("Basic ")
        return httpx.Response(303, headers={"location": "https://media.example.net/f/1?token=t"})

    transport = httpx.MockTransport(handler)
    auth = BasicAuth("me@acme.com", "tok")
    async with AsyncJira("https://acme.atlassian.net", auth=auth, transport=transport) as jira:
        assert await jira.attachments.download("1") == b"bytes"
    assert len(media) == 1 and "authorization" not in media[0].headers


# -- remote links ------------------------------------------------------------------------


def test_remote_links(site):
    with _jira(site) as jira:
        first = jira.links.add_remote("ENG-4", "https://ci.example.com/1", "Build 1")
        assert first["id"] and first["self"].endswith(f"/remotelink/{first['id']}")
        keyed = jira.links.add_remote(
            "ENG-4", "https://docs.example.com/a", "Doc A", global_id="doc-a"
        )
        again = jira.links.add_remote(
            "ENG-4", "https://docs.example.com/a2", "Doc A (moved)", global_id="doc-a"
        )
        assert again["id"] == keyed["id"]  # same globalId: updated in place
        links = jira.links.remote("ENG-4")
        assert [x["object"]["title"] for x in links] == ["Build 1", "Doc A (moved)"]
        jira.links.delete_remote("ENG-4", str(first["id"]))
        assert [x["globalId"] for x in jira.links.remote("ENG-4")] == ["doc-a"]
        with pytest.raises(NotFound):
            jira.links.delete_remote("ENG-4", str(first["id"]))


async def test_async_remote_links(site):
    async with _ajira(site) as jira:
        made = await jira.links.add_remote("ENG-5", "https://x.example/1", "X")
        assert [x["id"] for x in await jira.links.remote("ENG-5")] == [made["id"]]
        await jira.links.delete_remote("ENG-5", str(made["id"]))
        assert await jira.links.remote("ENG-5") == []


# -- groups --------------------------------------------------------------------------------


def _group_and_outsider(sandbox: Sandbox) -> tuple[str, str]:
    for group, members in sandbox.store.group_members.items():
        outsiders = [a for a in sandbox.store.users if a not in members]
        if outsiders:
            return group, outsiders[-1]
    raise AssertionError("every user is in every group")


def test_group_membership(site):
    _, sandbox = site
    group, outsider = _group_and_outsider(sandbox)
    with _jira(site) as jira:
        jira.groups.add_user(group, outsider)
        assert outsider in {u.account_id for u in jira.groups.members(group, include_inactive=True)}
        with pytest.raises(BadRequest, match="already a member"):
            jira.groups.add_user(group, outsider)
        jira.groups.remove_user(group, outsider)
        assert outsider not in {
            u.account_id for u in jira.groups.members(group, include_inactive=True)
        }
        with pytest.raises(NotFound):
            jira.groups.add_user("no-such-group", outsider)


async def test_async_group_membership(site):
    _, sandbox = site
    group, outsider = _group_and_outsider(sandbox)
    async with _ajira(site) as jira:
        await jira.groups.add_user(group, outsider)
        found = {u.account_id async for u in jira.groups.members(group, include_inactive=True)}
        assert outsider in found
        await jira.groups.remove_user(group, outsider)


# -- filters -------------------------------------------------------------------------------


def test_filters(site):
    with _jira(site) as jira:
        made = jira.filters.create("My open bugs", "project = ENG AND status != Done")
        assert made["jql"] == "project = ENG AND status != Done" and made["favourite"] is False
        fav = jira.filters.create("Starred", "project = ENG", favourite=True)
        assert jira.filters.get(made["id"])["name"] == "My open bugs"
        renamed = jira.filters.update(made["id"], name="Open bugs", description="team view")
        assert renamed["name"] == "Open bugs" and renamed["description"] == "team view"
        found = list(jira.filters.search("open"))
        assert [f["id"] for f in found] == [made["id"]] and found[0]["jql"].startswith("project")
        assert {f["id"] for f in jira.filters.mine()} >= {made["id"], fav["id"]}
        assert [f["id"] for f in jira.filters.favourites()] == [fav["id"]]
        with pytest.raises(BadRequest, match="Error in JQL Query"):
            jira.filters.create("Broken", "project = ")
        with pytest.raises(BadRequest, match="already exists"):
            jira.filters.create("Starred", "project = ENG")
        jira.filters.delete(made["id"])
        jira.filters.delete(fav["id"])
        with pytest.raises(BadRequest, match="not available"):
            jira.filters.get(made["id"])
        data = jira.filters.autocomplete()
        assert "and" in data["jqlReservedWords"]
        assert any(f["value"] == "status" for f in data["visibleFieldNames"])
        assert any(f["value"] == "currentUser()" for f in data["visibleFunctionNames"])


async def test_async_filters(site):
    async with _ajira(site) as jira:
        made = await jira.filters.create("Async filter", "assignee = currentUser()")
        assert (await jira.filters.update(made["id"], jql="project = ENG"))["jql"] == (
            "project = ENG"
        )
        assert [f["id"] async for f in jira.filters.search("Async")] == [made["id"]]
        assert made["id"] in [f["id"] for f in await jira.filters.mine(include_favourites=True)]
        assert made["id"] not in [f["id"] for f in await jira.filters.favourites()]
        await jira.filters.delete(made["id"])


# -- projects and fields admin ---------------------------------------------------------------


def test_project_admin(site):
    _, sandbox = site
    lead = sandbox.admin_account_id
    with _jira(site) as jira:
        made = jira.projects.create("NEWP", "New project", lead=lead, description="d")
        assert made["key"] == "NEWP" and made["self"].endswith(f"/project/{made['id']}")
        with pytest.raises(BadRequest, match="uses this project key"):
            jira.projects.create("NEWP", "Another", lead=lead)
        with pytest.raises(BadRequest, match="must start with an uppercase letter"):
            jira.projects.create("1bad", "Bad key", lead=lead)
        project = jira.projects.update("NEWP", name="Renamed project", description="new")
        assert project.name == "Renamed project"
        comp = jira.projects.create_component("NEWP", "Backend", description="APIs", lead=lead)
        assert comp["name"] == "Backend" and comp["project"] == "NEWP"
        version = jira.projects.create_version("NEWP", "1.0", start_date="2026-01-01")
        assert version["released"] is False
        released = jira.projects.release_version(version["id"], release_date="2026-02-01")
        assert released["released"] is True and released["releaseDate"] == "2026-02-01"
        assert [c["name"] for c in jira.projects.components("NEWP")] == ["Backend"]
        assert [v["name"] for v in jira.projects.versions("NEWP")] == ["1.0"]
        created = jira.issues.create(
            project="NEWP",
            issue_type="Task",
            summary="First in the new project",
            fields={"components": [{"name": "Backend"}]},
        )
        assert created.key == "NEWP-1"
        hits = jira.search.iter("project = NEWP AND component = Backend", fields=["summary"])
        assert [i.key for i in hits] == ["NEWP-1"]


async def test_async_project_admin(site):
    _, sandbox = site
    async with _ajira(site) as jira:
        made = await jira.projects.create(
            "ASYN", "Async project", lead=sandbox.admin_account_id, project_type="business"
        )
        assert made["key"] == "ASYN"
        assert (await jira.projects.update("ASYN", description="x")).key == "ASYN"
        comp = await jira.projects.create_component("ASYN", "Ops")
        version = await jira.projects.create_version("ASYN", "v1")
        assert comp["id"] and (await jira.projects.release_version(version["id"]))["released"]


def test_field_contexts_and_options(site):
    with _jira(site) as jira:
        field_id = jira.fields.id_of("Customer Tier") if _has(jira, "Customer Tier") else None
        field_id = field_id or "customfield_10030"
        [context] = list(jira.fields.contexts(field_id))
        assert context["isGlobalContext"] is True
        before = [o["value"] for o in jira.fields.options(field_id, context["id"])]
        created = jira.fields.add_options(field_id, context["id"], ["Tier X1", "Tier X2"])
        assert [o["value"] for o in created] == ["Tier X1", "Tier X2"]
        after = [o["value"] for o in jira.fields.options(field_id, context["id"])]
        assert after == [*before, "Tier X1", "Tier X2"]
        with pytest.raises(BadRequest, match="already exists"):
            jira.fields.add_options(field_id, context["id"], ["Tier X1"])
        renamed = jira.fields.rename_options(field_id, context["id"], {created[1]["id"]: "Gem"})
        assert renamed[0]["value"] == "Gem"
        with pytest.raises(NotFound):
            list(jira.fields.contexts("customfield_99999"))


async def test_async_field_options(site):
    async with _ajira(site) as jira:
        contexts = [c async for c in jira.fields.contexts("customfield_10031")]
        cid = contexts[0]["id"]
        made = await jira.fields.add_options("customfield_10031", cid, ["Async OS"])
        values = [o["value"] async for o in jira.fields.options("customfield_10031", cid)]
        assert made[0]["value"] in values
        await jira.fields.rename_options("customfield_10031", cid, {made[0]["id"]: "AsyncOS"})


def _has(jira: Jira, name: str) -> bool:
    return any(f.name == name for f in jira.fields.list())


def test_create_and_edit_metadata_over_http():
    from jirakit.sandbox import Sandbox

    sandbox = Sandbox(seed=6, issues=10)
    with sandbox.serve() as url, Jira(url, auth=BasicAuth(*sandbox.auth)) as jira:
        types = jira.issues.createmeta("ENG").all()
        bug = next(t for t in types if t["name"] == "Bug")
        fields = {f["fieldId"]: f for f in jira.issues.createmeta_fields("ENG", bug["id"])}
        assert fields["summary"]["required"] is True
        assert fields["priority"]["allowedValues"]
        editable = jira.issues.editmeta("ENG-1")
        assert "summary" in editable and "set" in editable["summary"]["operations"]
