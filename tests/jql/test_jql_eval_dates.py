"""Evaluator: date literals, relative dates, date functions, time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jirakit.jql import _dates
from jirakit.jql.context import EvalContext
from jirakit.jql.errors import JqlError, JqlValidationError
from jirakit.jql.evaluator import compile
from jirakit.jql.parser import parse

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def at(utc: str, **fields: Any) -> dict[str, Any]:
    """An issue created at the given UTC time (``YYYY-MM-DDTHH:MM[:SS]``)."""
    stamp = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {"id": "1", "key": "T-1", "fields": {"created": text, "updated": text, **fields}}


def hits(jql: str, issue: dict[str, Any], ctx: EvalContext) -> bool:
    return compile(parse(jql), ctx)(issue)


def ctx_at(now_utc: str, tz: ZoneInfo = NEW_YORK, **extra: Any) -> EvalContext:
    now = datetime.fromisoformat(now_utc).replace(tzinfo=UTC)
    return EvalContext(now=now, tz=tz, **extra)


# --- absolute dates in the user's zone, across DST -----------------------------------------


@pytest.mark.parametrize(
    ("jql", "created_utc", "expected"),
    [
        # 2024-03-10 00:00 New York is EST (-5): 05:00Z
        ('created >= "2024-03-10"', "2024-03-10T05:00", True),
        ('created >= "2024-03-10"', "2024-03-10T04:59", False),
        ('created > "2024-03-10"', "2024-03-10T05:00", False),
        ('created > "2024-03-10"', "2024-03-10T05:01", True),
        # the day after the spring-forward change starts at 04:00Z (EDT, -4)
        ('created >= "2024-03-11"', "2024-03-11T04:00", True),
        ('created >= "2024-03-11"', "2024-03-11T03:59", False),
        # <= a date means up to its 00:00 only
        ('created <= "2024-03-11"', "2024-03-11T04:00", True),
        ('created <= "2024-03-11"', "2024-03-11T04:01", False),
        # fall back: 2024-11-03 00:00 is still EDT (04:00Z), 2024-11-04 00:00 is EST (05:00Z)
        ('created >= "2024-11-03"', "2024-11-03T04:00", True),
        ('created < "2024-11-04"', "2024-11-04T04:59", True),
        ('created < "2024-11-04"', "2024-11-04T05:00", False),
        # minute formats, both separators
        ('created < "2024/07/01 09:30"', "2024-07-01T13:29", True),
        ('created < "2024-07-01 09:30"', "2024-07-01T13:30", False),
        # a wall time inside the spring-forward gap moves forward (02:30 -> 03:30 EDT)
        ('created = "2024-03-10 02:30"', "2024-03-10T07:30", True),
    ],
)
def test_absolute_dates_new_york(jql: str, created_utc: str, expected: bool) -> None:
    assert hits(jql, at(created_utc), ctx_at("2024-12-01T00:00")) is expected


@pytest.mark.parametrize(
    ("jql", "created_utc", "expected"),
    [
        # Berlin CET (+1) in January, CEST (+2) in July
        ('created >= "2024-01-15"', "2024-01-14T23:00", True),
        ('created >= "2024-01-15"', "2024-01-14T22:59", False),
        ('created >= "2024-07-15"', "2024-07-14T22:00", True),
        ('created >= "2024-07-15"', "2024-07-14T21:59", False),
        # the Sunday of the October change: 00:00 is CEST (22:00Z the day before)
        ('created >= "2024-10-27"', "2024-10-26T22:00", True),
        # noon that day is CET again: 11:00Z
        ('created < "2024-10-27 12:00"', "2024-10-27T10:59", True),
        ('created < "2024-10-27 12:00"', "2024-10-27T11:00", False),
        # March change (2024-03-31): 12:00 CEST = 10:00Z
        ('created <= "2024-03-31 12:00"', "2024-03-31T10:00", True),
        ('created <= "2024-03-31 12:00"', "2024-03-31T10:01", False),
    ],
)
def test_absolute_dates_berlin(jql: str, created_utc: str, expected: bool) -> None:
    assert hits(jql, at(created_utc), ctx_at("2024-12-01T00:00", BERLIN)) is expected


def test_minute_granularity_floors_both_sides() -> None:
    ctx = ctx_at("2024-12-01T00:00", UTC_ZONE)
    issue = at("2024-01-01T10:00:59")
    assert hits('created = "2024-01-01 10:00"', issue, ctx)
    assert hits('created <= "2024-01-01 10:00"', issue, ctx)
    assert not hits('created > "2024-01-01 10:00"', issue, ctx)
    assert hits('created > "2024-01-01 09:59"', issue, ctx)
    assert not hits('created = "2024-01-01 10:01"', issue, ctx)


UTC_ZONE = ZoneInfo("UTC")


# --- relative dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("-30d", -30 * 86400),
        ("-1w 2d", -9 * 86400),
        ("4h", 4 * 3600),
        ("+5m", 300),
        ("-5M", -300),
        ("90", 90 * 60),
        ("1w2d3h4m", 7 * 86400 + 2 * 86400 + 3 * 3600 + 240),
        ("2024-01-01", None),
        ("-1x", None),
    ],
)
def test_parse_duration(text: str, seconds: int | None) -> None:
    assert _dates.parse_duration(text) == seconds


def test_relative_dates_are_exact_durations_across_dst() -> None:
    # now = 2024-03-11 11:00 EDT; -1d is exactly 24 hours earlier (10:00 EST yesterday)
    ctx = ctx_at("2024-03-11T15:00")
    assert hits("created >= -1d", at("2024-03-10T15:00"), ctx)
    assert not hits("created >= -1d", at("2024-03-10T14:59"), ctx)
    assert hits('created > "-1w 2d"', at("2024-03-02T15:01"), ctx)
    assert not hits('created > "-1w 2d"', at("2024-03-02T15:00"), ctx)
    assert hits("created >= -4h", at("2024-03-11T11:00"), ctx)
    assert hits('created >= "-5m"', at("2024-03-11T14:55"), ctx)
    assert not hits('created >= "-5m"', at("2024-03-11T14:54"), ctx)
    # a quoted number without unit is minutes
    assert hits('created >= "-30"', at("2024-03-11T14:30"), ctx)
    assert not hits('created >= "-30"', at("2024-03-11T14:29"), ctx)


def test_unquoted_number_is_epoch_milliseconds() -> None:
    ctx = ctx_at("2024-06-01T00:00")
    jan_first = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert hits(f"created >= {jan_first}", at("2024-01-01T00:00"), ctx)
    assert not hits(f"created >= {jan_first}", at("2023-12-31T23:59"), ctx)


def test_invalid_date_uses_jira_message() -> None:
    with pytest.raises(JqlValidationError) as caught:
        compile(parse('created > "2024-13-45"'), ctx_at("2024-06-01T00:00"))
    assert "Date value '2024-13-45' for field 'created' is invalid." in str(caught.value)
    assert "'yyyy/MM/dd HH:mm'" in str(caught.value)


# --- date functions ------------------------------------------------------------------------


def boundary(fn: str, now_utc: str, tz: ZoneInfo = NEW_YORK, **extra: Any) -> datetime:
    ctx = ctx_at(now_utc, tz, **extra)
    name, _, rest = fn.partition("(")
    args = tuple(a.strip().strip('"') for a in rest.rstrip(")").split(",") if a.strip())
    return _dates.period_boundary(name, args, now=ctx.now, tz=ctx.tz, week_start=ctx.week_start)


@pytest.mark.parametrize(
    ("fn", "now_utc", "expected_local"),
    [
        ("startOfDay()", "2024-03-11T15:00", "2024-03-11T00:00"),
        # yesterday 00:00 was EST although today is EDT
        ("startOfDay(-1)", "2024-03-11T15:00", "2024-03-10T00:00"),
        ('startOfDay("-1d")', "2024-11-04T15:00", "2024-11-03T00:00"),
        ("endOfDay()", "2024-03-10T15:00", "2024-03-10T23:59:59.999000"),
        ('endOfDay("+1")', "2024-11-02T15:00", "2024-11-03T23:59:59.999000"),
        # Wednesday 2024-06-12; weeks start on Sunday by default
        ("startOfWeek()", "2024-06-12T15:00", "2024-06-09T00:00"),
        ("endOfWeek()", "2024-06-12T15:00", "2024-06-15T23:59:59.999000"),
        ('startOfWeek("+1d")', "2024-06-12T15:00", "2024-06-10T00:00"),
        ("startOfWeek(-1)", "2024-06-12T15:00", "2024-06-02T00:00"),
        ("startOfMonth()", "2024-06-12T15:00", "2024-06-01T00:00"),
        ("startOfMonth(-1)", "2024-03-12T15:00", "2024-02-01T00:00"),
        ('startOfMonth("+15d")', "2024-06-12T15:00", "2024-06-16T00:00"),
        ('endOfMonth("+15d")', "2024-06-12T15:00", "2024-07-15T23:59:59.999000"),
        ('endOfMonth("+1M")', "2024-01-31T15:00", "2024-02-29T23:59:59.999000"),
        ("startOfYear()", "2024-06-12T15:00", "2024-01-01T00:00"),
        ('startOfYear("+1M")', "2024-06-12T15:00", "2024-02-01T00:00"),
        ("endOfYear(-1)", "2024-06-12T15:00", "2023-12-31T23:59:59.999000"),
        ('startOfDay("+2h")', "2024-03-10T15:00", "2024-03-10T03:00"),
    ],
)
def test_period_functions(fn: str, now_utc: str, expected_local: str) -> None:
    result = boundary(fn, now_utc)
    expected = datetime.fromisoformat(expected_local).replace(tzinfo=NEW_YORK)
    # compare instants: the wall time read in New York, with the right offset
    assert result.astimezone(UTC) == expected.astimezone(UTC).replace(
        microsecond=expected.microsecond
    )


def test_start_of_day_offset_in_berlin_dst() -> None:
    # 2024-03-31 (spring forward) 10:00 CEST; yesterday began at 00:00 CET = 23:00Z
    result = boundary("startOfDay(-1)", "2024-03-31T08:00", BERLIN)
    assert result.astimezone(UTC) == datetime(2024, 3, 29, 23, 0, tzinfo=UTC)
    result = boundary("startOfDay()", "2024-10-28T08:00", BERLIN)
    assert result.astimezone(UTC) == datetime(2024, 10, 27, 23, 0, tzinfo=UTC)


def test_week_start_is_configurable() -> None:
    monday = boundary("startOfWeek()", "2024-06-12T15:00", week_start=0)
    assert monday.replace(tzinfo=None) == datetime(2024, 6, 10)
    # on Sunday itself the (Sunday) week starts today
    sunday = boundary("startOfWeek()", "2024-06-09T15:00")
    assert sunday.replace(tzinfo=None) == datetime(2024, 6, 9)


def test_functions_in_queries() -> None:
    ctx = ctx_at("2024-03-11T15:00")  # 11:00 EDT
    assert hits("created >= startOfDay()", at("2024-03-11T04:00"), ctx)
    assert not hits("created >= startOfDay()", at("2024-03-11T03:59"), ctx)
    assert hits("created >= startOfDay(-1) AND created < startOfDay()", at("2024-03-10T05:00"), ctx)
    assert not hits("created >= startOfDay(-1)", at("2024-03-10T04:59"), ctx)
    assert hits("created <= now()", at("2024-03-11T15:00:30"), ctx)
    assert not hits("created < now()", at("2024-03-11T15:00:30"), ctx)
    assert hits("created <= endOfDay()", at("2024-03-12T03:59"), ctx)
    assert not hits("created <= endOfDay()", at("2024-03-12T04:00"), ctx)


def test_bad_function_offset() -> None:
    with pytest.raises(JqlValidationError):
        compile(parse('created > startOfDay("soon")'), ctx_at("2024-06-01T00:00"))


# --- date fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('duedate = "2024-02-01"', True),
        ('due = "2024/02/01"', True),
        ('duedate > "2024-01-31"', True),
        ('duedate > "2024-02-01"', False),
        ('duedate < "2024-02-02"', True),
        # a time on a date field is read as its date
        ('duedate = "2024-02-01 18:00"', True),
        ("duedate is not empty", True),
    ],
)
def test_due_date_compares_by_date(jql: str, expected: bool) -> None:
    issue = at("2024-01-01T00:00", duedate="2024-02-01")
    assert hits(jql, issue, ctx_at("2024-06-01T00:00")) is expected


def test_due_date_against_now_uses_the_users_calendar_day() -> None:
    issue = at("2024-01-01T00:00", duedate="2024-02-01")
    # 2024-02-01T03:00Z is still January 31 in New York
    assert not hits("duedate <= now()", issue, ctx_at("2024-02-01T03:00", NEW_YORK))
    assert hits("duedate <= now()", issue, ctx_at("2024-02-01T03:00", UTC_ZONE))
    # overdue: due before today
    assert hits("duedate < startOfDay()", issue, ctx_at("2024-02-02T12:00", UTC_ZONE))
    assert hits('duedate <= "7d"', issue, ctx_at("2024-01-26T12:00", UTC_ZONE))
    assert not hits("duedate is empty", issue, ctx_at("2024-01-26T12:00"))


def test_resolved_and_updated_aliases() -> None:
    issue = at("2024-01-01T00:00", resolutiondate="2024-01-05T10:00:00.000+0000")
    ctx = ctx_at("2024-06-01T00:00", UTC_ZONE)
    assert hits('resolved >= "2024-01-05"', issue, ctx)
    assert hits('resolutiondate < "2024-01-06"', issue, ctx)
    assert hits('updatedDate >= "2024-01-01" and createdDate < "2024-01-02"', issue, ctx)
    assert not hits("resolved is empty", issue, ctx)


def test_worklog_date_and_author() -> None:
    bob = {"accountId": "acc-bob", "displayName": "Bob"}
    issue = at(
        "2024-01-01T00:00",
        worklog={"worklogs": [{"started": "2024-01-08T23:30:00.000+0000", "author": bob}]},
    )
    # 23:30Z on Jan 8 is Jan 9 in Berlin
    assert hits('worklogDate = "2024-01-09"', issue, ctx_at("2024-06-01T00:00", BERLIN))
    assert hits('worklogDate = "2024-01-08"', issue, ctx_at("2024-06-01T00:00", UTC_ZONE))
    assert hits("worklogAuthor = acc-bob", issue, ctx_at("2024-06-01T00:00"))
    assert not hits("worklogAuthor = acc-alice", issue, ctx_at("2024-06-01T00:00"))


def test_instant_helper_matches_timedelta_arithmetic() -> None:
    now = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    moment = _dates.parse_date_literal("-1w", quoted=False, now=now, tz=NEW_YORK, field_name="x")
    assert moment.minute == _dates.epoch_minute(now - timedelta(days=7))


# --- dates beyond datetime's years, and beyond Jira's long milliseconds -------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # within Java's long milliseconds but before year 1: still a date, before every issue
        ("created > -99999999999d", True),
        ("created < -99999999999d", False),
        ('created > "-9999999999w"', True),  # 6.0e18 ms: inside a long
        ("created < 99999999999d", True),
        ("created > 9999999999999999", False),  # epoch ms in year 316,889,355
        ("duedate > -99999999999d", True),
        ("created > startOfDay(-1999999999)", True),
        ("created < startOfYear(1999999999)", True),
        ('created > endOfMonth("-2000000000M")', True),
        ("created on -99999999999d", None),  # not an operator: a syntax error elsewhere
    ],
)
def test_dates_beyond_datetime_range_compare_as_numbers(jql: str, expected: bool | None) -> None:
    ctx = ctx_at("2024-06-01T12:00")
    issue = at("2024-05-01T10:00", duedate="2024-05-20")
    if expected is None:
        with pytest.raises(JqlError):
            hits(jql, issue, ctx)
    else:
        assert hits(jql, issue, ctx) is expected


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("created > -9999999999999999999999d", "Date value '-9999999999999999999999d'"),
        ("created > 99999999999999999999", "Date value '99999999999999999999'"),
        ("created > startOfDay(-99999999999)", "could not parse the increment argument"),
        ('created > endOfWeek("+3000000000d")', "could not parse the increment argument"),
    ],
)
def test_dates_beyond_java_long_are_invalid(jql: str, message: str) -> None:
    with pytest.raises(JqlValidationError) as err:
        hits(jql, at("2024-05-01T10:00"), ctx_at("2024-06-01T12:00"))
    assert message in err.value.messages[0]


def test_planner_leaves_out_of_range_bounds_open() -> None:
    query = parse("updated > -99999999999d AND updated < 99999999999d")
    start, end = query.constraints().time_range("updated", ctx_at("2024-06-01T12:00"))
    assert (start, end) == (None, None)
