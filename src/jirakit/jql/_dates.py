"""Dates for the JQL evaluator: literals, relative durations and the date functions.

Everything is reduced at compile time to integers so that per-issue comparisons are
integer comparisons:

- datetime fields compare in *epoch minutes* (JQL filters at minute granularity: both the
  issue's timestamp and the query's instant are floored to the minute);
- date fields (``duedate``, date pickers, ``worklogDate``) compare as proleptic
  Gregorian *day ordinals* (``date.toordinal()``), the query instant being read as a
  calendar date in the searching user's time zone.

Literal forms (the same as Jira's):

- ``yyyy/MM/dd HH:mm``, ``yyyy-MM-dd HH:mm``, ``yyyy/MM/dd``, ``yyyy-MM-dd`` — wall time in
  ``ctx.tz``; without a time the start of that day (00:00) is meant;
- relative durations ``-30d``, ``"-1w 2d"``, ``4h``, ``"+5m"``: ``w`` = 7 days, ``d`` = 24 h,
  ``h``, ``m`` (minutes; a number without unit inside a duration string is minutes, as
  Jira's "the default is m"). A leading sign applies to the whole duration. Relative
  durations are exact elapsed time added to ``ctx.now`` (Jira adds milliseconds), so
  ``-1d`` across a DST change is 24 hours, not "same wall time yesterday";
- an unquoted integer (``created > 1704067200000``) is epoch milliseconds, as in Jira where
  a number operand for a date field is a timestamp. A *quoted* integer is a duration in
  minutes.

Date functions (``startOfDay`` ...) use calendar arithmetic in ``ctx.tz`` (Jira uses a
``Calendar``): ``startOfDay(-1)`` is yesterday 00:00 local even across a DST change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from jirakit.jql._errors import evaluation_error

_DURATION_UNITS: Final = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
_DURATION_RE: Final = re.compile(r"\s*([+-])?\s*((?:\d+\s*[wdhmWDHM]?\s*)+)")
_DURATION_PART_RE: Final = re.compile(r"(\d+)\s*([wdhmWDHM]?)")
_ABSOLUTE_RE: Final = re.compile(
    r"\s*(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?\s*"
)
_INTEGER_RE: Final = re.compile(r"[+-]?\d+")

#: Time-tracking conversions (Jira's defaults: 8-hour days, 5-day weeks).
DEFAULT_HOURS_PER_DAY: Final = 8
DEFAULT_DAYS_PER_WEEK: Final = 5

VALID_FORMATS: Final = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
    "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)


@dataclass(frozen=True, slots=True)
class Instant:
    """A resolved point in time: epoch minutes plus the local calendar day in ``ctx.tz``."""

    minute: int
    day: int


#: Jira keeps instants as Java ``long`` milliseconds: a date further away than that is
#: not a date (Jira's "Date value ... is invalid"). Closer ones that Python's ``datetime``
#: cannot hold (before year 1, after 9999) still compare correctly as plain numbers, so
#: they are kept as an `Instant` computed arithmetically (see `_shifted`).
JAVA_LONG_MAX: Final = 2**63 - 1
#: Java ``int``: the bound of a date function's increment (``Calendar.add`` takes an int).
JAVA_INT_MAX: Final = 2**31 - 1


def _shifted(now: datetime, seconds: int, tz: tzinfo) -> Instant:
    """``now`` plus ``seconds``, even beyond ``datetime``'s years 1..9999."""
    try:
        return instant(now + timedelta(seconds=seconds), tz)
    except (OverflowError, ValueError, OSError):
        here = instant(now, tz)
        return Instant(here.minute + seconds // 60, here.day + seconds // 86400)


def epoch_minute(dt: datetime) -> int:
    """Floor an aware datetime to whole minutes since the epoch."""
    return int(dt.timestamp() // 60)


def instant(dt: datetime, tz: tzinfo) -> Instant:
    return Instant(epoch_minute(dt), dt.astimezone(tz).date().toordinal())


def parse_issue_datetime(text: str) -> int:
    """A REST timestamp (``2024-01-10T09:30:00.000+0000``) as epoch minutes."""
    return int(datetime.fromisoformat(text).timestamp() // 60)


def parse_issue_date(text: str) -> int:
    """A REST date (``2024-02-01``; a timestamp is cut to its date) as a day ordinal."""
    return date.fromisoformat(text[:10]).toordinal()


def issue_datetime_day(text: str, tz: tzinfo) -> int:
    """A REST timestamp as a day ordinal in ``tz`` (for date-granular fields)."""
    return datetime.fromisoformat(text).astimezone(tz).date().toordinal()


def parse_duration(text: str) -> int | None:
    """A relative duration (``-1w 2d``) in seconds, or ``None`` if not a duration."""
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        return None
    sign, body = match.groups()
    total = 0
    for number, unit in _DURATION_PART_RE.findall(body):
        total += int(number) * _DURATION_UNITS[(unit or "m").lower()]
    return -total if sign == "-" else total


def local_datetime(year: int, month: int, day: int, hour: int, minute: int, tz: tzinfo) -> datetime:
    """Wall time in ``tz``; a time inside a DST gap moves forward by the gap."""
    aware = datetime(year, month, day, hour, minute, tzinfo=tz)
    # Round-trip through UTC: a non-existent wall time (spring-forward gap) comes back
    # shifted forward, which is how Java's lenient Calendar resolves it too.
    return aware.astimezone(UTC).astimezone(tz)


def parse_date_literal(
    text: str, *, quoted: bool, now: datetime, tz: tzinfo, field_name: str
) -> Instant:
    """Resolve a date operand written as text (see the module docstring)."""
    invalid = evaluation_error(
        f"Date value '{text}' for field '{field_name}' is invalid. {VALID_FORMATS}"
    )
    if not quoted and _INTEGER_RE.fullmatch(text):
        millis = int(text)
        if abs(millis) > JAVA_LONG_MAX:
            raise invalid
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return _shifted(epoch, millis // 1000, tz)
    seconds = parse_duration(text)
    if seconds is not None:
        if abs(seconds) > JAVA_LONG_MAX // 1000:
            raise invalid
        return _shifted(now, seconds, tz)
    match = _ABSOLUTE_RE.fullmatch(text)
    if match is not None:
        year, _sep, month, day, hour, minute = match.groups()
        try:
            dt = local_datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), tz
            )
        except ValueError:
            pass
        else:
            return instant(dt, tz)
    raise invalid


def parse_time_tracking(
    text: str,
    *,
    hours_per_day: int = DEFAULT_HOURS_PER_DAY,
    days_per_week: int = DEFAULT_DAYS_PER_WEEK,
) -> int | None:
    """A time-tracking value (``2h``, ``1d 4h``, ``90`` = minutes) in seconds, or ``None``.

    Uses time-tracking days and weeks (8 h and 5 d by default), like Jira's estimates.
    """
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        return None
    sign, body = match.groups()
    units = {
        "w": days_per_week * hours_per_day * 3600,
        "d": hours_per_day * 3600,
        "h": 3600,
        "m": 60,
    }
    total = sum(
        int(number) * units[(unit or "m").lower()]
        for number, unit in _DURATION_PART_RE.findall(body)
    )
    return -total if sign == "-" else total


# --- date functions -----------------------------------------------------------------------

_OFFSET_RE: Final = re.compile(r"\s*([+-]?)\s*(\d+)\s*([yMwWdDhHm]?)\s*")
_PERIOD_UNIT: Final = {"Day": "d", "Week": "w", "Month": "M", "Year": "y"}


def _add_months(dt: datetime, months: int) -> datetime:
    index = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    # Clamp the day like Java's Calendar (Jan 31 + 1 month = Feb 28/29).
    for day in (dt.day, 30, 29, 28):
        try:
            return dt.replace(year=year, month=month, day=day)
        except ValueError:
            if not 1 <= year <= 9999:
                raise
            continue
    raise AssertionError("unreachable")


def add_calendar(naive: datetime, amount: int, unit: str) -> datetime:
    """Add ``amount`` units to a naive *wall-clock* datetime (calendar arithmetic)."""
    if unit == "y":
        return _add_months(naive, 12 * amount)
    if unit == "M":
        return _add_months(naive, amount)
    if unit in ("w", "W"):
        return naive + timedelta(days=7 * amount)
    if unit in ("d", "D"):
        return naive + timedelta(days=amount)
    if unit in ("h", "H"):
        return naive + timedelta(hours=amount)
    return naive + timedelta(minutes=amount)


def parse_offset(text: str, default_unit: str, function_name: str) -> tuple[int, str]:
    """``-1``, ``"+1M"``, ``"-2d"`` -> (amount, unit); a bare number uses the period unit."""
    match = _OFFSET_RE.fullmatch(text)
    if match is None:
        raise evaluation_error(
            f"Function '{function_name}' could not parse the increment argument '{text}'."
        )
    sign, number, unit = match.groups()
    amount = -int(number) if sign == "-" else int(number)
    if abs(amount) > JAVA_INT_MAX:
        raise evaluation_error(
            f"Function '{function_name}' could not parse the increment argument '{text}'."
        )
    return amount, unit or default_unit


def period_instant(
    function_name: str,
    args: tuple[str, ...],
    *,
    now: datetime,
    tz: tzinfo,
    week_start: int,
) -> Instant:
    """`period_boundary` as an `Instant`; an offset that leaves ``datetime``'s years
    1..9999 (``startOfDay(-2000000000)``) gives an instant before or after every date."""
    try:
        moment = period_boundary(function_name, args, now=now, tz=tz, week_start=week_start)
        return Instant(epoch_minute(moment), moment.astimezone(tz).date().toordinal())
    except (OverflowError, ValueError):
        amount, _unit = parse_offset(args[0], "d", function_name) if args else (0, "d")
        edge = -(2**62) if amount < 0 else 2**62
        return Instant(edge, edge)


def period_boundary(
    function_name: str,
    args: tuple[str, ...],
    *,
    now: datetime,
    tz: tzinfo,
    week_start: int,
) -> datetime:
    """Evaluate ``startOfDay`` ... ``endOfYear`` (with an optional offset argument).

    ``week_start`` is a Python weekday (0 = Monday ... 6 = Sunday). The start/end of the
    period is computed on the local wall clock, then the offset is added with calendar
    arithmetic, then the wall time is read back in ``tz`` (DST-safe).
    """
    kind = "start" if function_name.lower().startswith("start") else "end"
    period = function_name[len("startOf") if kind == "start" else len("endOf") :]
    period = period[:1].upper() + period[1:].lower()
    local = now.astimezone(tz).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "Day":
        start = midnight
        end = start + timedelta(days=1)
    elif period == "Week":
        start = midnight - timedelta(days=(midnight.weekday() - week_start) % 7)
        end = start + timedelta(days=7)
    elif period == "Month":
        start = midnight.replace(day=1)
        end = _add_months(start, 1)
    else:
        start = midnight.replace(month=1, day=1)
        end = _add_months(start, 12)
    # End of a period is its last millisecond (23:59:59.999 on the last day).
    result = start if kind == "start" else end - timedelta(milliseconds=1)
    if args:
        amount, unit = parse_offset(args[0], _PERIOD_UNIT[period], function_name)
        result = add_calendar(result, amount, unit)
    return local_datetime(
        result.year, result.month, result.day, result.hour, result.minute, tz
    ).replace(second=result.second, microsecond=result.microsecond)


def is_period_function(name: str) -> bool:
    lowered = name.lower()
    return lowered in {
        f"{edge}of{period}"
        for edge in ("start", "end")
        for period in ("day", "week", "month", "year")
    }
