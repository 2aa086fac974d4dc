"""Property: whatever sequence of edits and transitions is applied, replaying the
changelog from the issue's initial values ends at its current values."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jirakit.sandbox import FrozenClock, Sandbox
from jirakit.sandbox import mutations as m
from jirakit.sandbox.errors import JiraHttpError

LABELS = ["a", "b", "c"]
op = st.one_of(
    st.tuples(st.just("summary"), st.text("xyz ", min_size=1, max_size=8).filter(str.strip)),
    st.tuples(st.just("priority"), st.sampled_from(["1", "2", "3", "4", "5"])),
    st.tuples(st.just("label+"), st.sampled_from(LABELS)),
    st.tuples(st.just("label-"), st.sampled_from(LABELS)),
    st.tuples(st.just("transition"), st.integers(0, 3)),
    st.tuples(st.just("assign"), st.integers(-1, 3)),
)


def _final(items: list[Any], index: int, initial: Any) -> Any:
    return items[-1][index] if items else initial


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(op, max_size=25))
def test_changelog_replays_to_current_values(ops: list[tuple[str, Any]]) -> None:
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    sb = Sandbox(seed=1, issues=3, projects=1, clock=clock)
    store, admin = sb.store, sb.admin_account_id
    users = sorted(store.users)
    rec = m.create_issue(
        store,
        {"fields": {"project": {"key": "ENG"}, "issuetype": {"name": "Task"}, "summary": "S0"}},
        admin,
        clock.now(),
        3,
    )
    initial = dict(rec.fields)
    for kind, arg in ops:
        clock.advance(60)
        now = clock.now()
        if kind == "summary":
            m.edit_issue(store, rec, {"fields": {"summary": arg}}, admin, now, 3)
        elif kind == "priority":
            m.edit_issue(store, rec, {"fields": {"priority": {"id": arg}}}, admin, now, 3)
        elif kind in ("label+", "label-"):
            verb = "add" if kind == "label+" else "remove"
            m.edit_issue(store, rec, {"update": {"labels": [{verb: arg}]}}, admin, now, 3)
        elif kind == "transition":
            available = m.available_transitions(store, rec)
            m.transition_issue(
                store,
                rec,
                {"transition": {"id": available[arg % len(available)]["id"]}},
                admin,
                now,
                3,
            )
        else:
            target = None if arg < 0 else {"accountId": users[arg % len(users)]}
            m.edit_issue(store, rec, {"fields": {"assignee": target}}, admin, now, 3)
    with_field = lambda fid: [i for h in rec.histories for i in h.items if i[2] == fid]  # noqa: E731
    f = rec.fields
    assert _final(with_field("summary"), 6, initial["summary"]) == f["summary"]
    assert _final(with_field("priority"), 5, initial["priority"]["id"]) == f["priority"]["id"]
    assert _final(with_field("labels"), 6, None) == (" ".join(f["labels"]) or None)
    assert _final(with_field("assignee"), 5, None) == (f.get("assignee") or {}).get("accountId")
    statuses = with_field("status")
    assert _final(statuses, 5, "10000") == f["status"]["id"]
    for a, b in itertools.pairwise(statuses):
        assert a[5] == b[3], "each transition starts where the previous one ended"
    assert _final(with_field("resolution"), 5, None) == (f.get("resolution") or {}).get("id")
    assert (f.get("resolution") is not None) == (f["status"]["statusCategory"]["key"] == "done")
    created = [h.created for h in rec.histories]
    assert created == sorted(created)
    if rec.histories:
        assert f["updated"] == rec.histories[-1].created
    assert rec.version == 1 + len(rec.histories)


def test_invalid_transition_changes_nothing() -> None:
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    sb = Sandbox(seed=1, issues=3, projects=1, clock=clock)
    rec = sb.store.issue("ENG-1")
    assert rec is not None
    before = (dict(rec.fields), len(rec.histories), rec.version)
    with pytest.raises(JiraHttpError) as err:
        m.transition_issue(
            sb.store, rec, {"transition": {"id": "999"}}, sb.admin_account_id, clock.now(), 3
        )
    assert err.value.status == 400
    assert (dict(rec.fields), len(rec.histories), rec.version) == before
