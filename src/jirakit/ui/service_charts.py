"""The service pages' charts (webhook inbox and outbox, rate-limit budget), as `Chart`s:
a Vega-Lite spec and a table of the same numbers, like project health's (see `charts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import pairwise

from jirakit.ui.charts import PALETTE, grouped_bars, line_chart
from jirakit.ui.providers import BudgetSnapshot, Chart, TableData, WebhookBoxSummary

__all__ = ["box_chart", "budget_chart", "budget_rate_chart"]


def box_chart(
    key: str,
    title: str,
    box: WebhookBoxSummary,
    states: Sequence[str],
    what: str,
    more: Sequence[str] = (),
) -> Chart:
    """Messages per event type, one bar per state in ``states``; the table has the
    states in ``more`` too."""
    events = list(box.counts)
    data = [
        {"category": event, "series": state, "value": int(box.counts[event].get(state, 0))}
        for event in events
        for state in states
    ]
    shown = (*states, *more)
    columns = ("event type", *shown, "mean lag")
    rows = tuple(
        (
            event,
            *(f"{int(box.counts[event].get(s, 0)):,}" for s in shown),
            f"{box.lag_seconds[event]:.1f} s" if event in box.lag_seconds else "–",
        )
        for event in events
    )
    total = sum(int(box.counts[e].get(states[0], 0)) for e in events)
    caption = f"{what} per event type: {', '.join(states)}; {total:,} {states[0]} in all" + (
        f", from {box.first_at:%Y-%m-%d %H:%M} to {box.last_at:%Y-%m-%d %H:%M} UTC."
        if box.first_at and box.last_at
        else "."
    )
    spec = grouped_bars(
        caption, data, series=list(states), categories=events, value_title="messages",
        horizontal=True,
    )  # fmt: skip
    spec["height"] = {"step": 16}  # per bar (the offset's step): a compact chart
    spec["encoding"]["x"]["axis"].update(tickMinStep=1, format="d")  # whole messages
    return Chart(
        key=key,
        title=title,
        caption=caption,
        spec=spec,
        table=TableData(columns, (False, *(True for _ in shown), True), rows),
        series=tuple(states),
        empty=None if events else f"No {what.lower()} yet.",
    )


def _sampled_lines(
    key: str,
    title: str,
    caption: str,
    samples: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    y_title: str,
    colours: Sequence[str],
    too_few: str,
    precision: int | None = None,
    dashes: Sequence[Sequence[int]] = (),
) -> Chart:
    """One line per series (``samples``: name -> (when, value)) over the time of day in
    UTC, a point at each sample; ``precision`` rounds the plotted values (not the
    table's), ``dashes`` are the series' stroke dashes. Drawn from two sample times on
    (``too_few`` says so before)."""
    series = list(samples)
    data = [
        {
            "day": at.isoformat(),
            "series": name,
            "value": v if precision is None else round(v, precision),
        }
        for name in series
        for at, v in samples[name]
    ]
    times = sorted({at for name in series for at, _ in samples[name]})
    by = {name: dict(samples[name]) for name in series}
    rows = tuple(
        (at.strftime("%H:%M:%S"), *(f"{by[name].get(at, 0):,.1f}" for name in series))
        for at in times
    )
    spec = line_chart(
        caption,
        data,
        series=series,
        y_title=y_title,
        colours=list(colours),
        x_title="time (UTC)",
    )
    # Times of day in UTC: a UTC time unit (an axis ``format`` would be ignored here,
    # and Vega's default labels are in the browser's zone).
    x = spec["encoding"]["x"]
    x.pop("scale", None)
    x["timeUnit"] = "utchoursminutesseconds"
    spec["encoding"]["tooltip"][0] = {
        "field": "day",
        "type": "temporal",
        "timeUnit": "utchoursminutesseconds",
        "title": "time (UTC)",
    }
    if dashes:
        spec["encoding"]["strokeDash"] = {
            "field": "series",
            "type": "nominal",
            "scale": {"domain": series, "range": [list(d) for d in dashes]},
            "legend": None,
        }
    spec["mark"]["point"] = True
    return Chart(
        key=key,
        title=title,
        caption=caption,
        spec=spec,
        table=TableData(("time (UTC)", *series), (False, *(True for _ in series)), rows),
        series=tuple(series),
        empty=None if len(times) >= 2 else too_few,
    )


def budget_chart(snapshot: BudgetSnapshot) -> Chart:
    """Points granted over time: yours and the other tenants' together."""
    caption = (
        f"Points granted from the shared pool ({snapshot.pool_points_per_hour:,} points an "
        "hour for every tenant together), in all, to you and to all other tenants "
        "together; sampled every few seconds from the first look at this page on."
    )
    return _sampled_lines(
        "budget_used",
        "Points used",
        caption,
        snapshot.used,
        y_title="points granted, in all",
        colours=[PALETTE[0], PALETTE[1]],
        too_few="One sample so far: the chart draws from the next one (in a few seconds).",
    )


def budget_rate_chart(snapshot: BudgetSnapshot) -> Chart:
    """Points granted per minute between samples, yours and the others', against the
    pool's rate (what it hands out in the long run to every tenant together)."""
    pool = snapshot.pool_points_per_hour / 60
    names = list(snapshot.used)
    rates: dict[str, list[tuple[datetime, float]]] = {name: [] for name in names}
    for name in names:
        points = list(snapshot.used[name])
        for (t0, v0), (t1, v1) in pairwise(points):
            seconds = (t1 - t0).total_seconds()
            if seconds > 0:
                rates[name].append((t1, max(0.0, v1 - v0) / seconds * 60))
    times = sorted({at for name in names for at, _ in rates[name]})
    rates["pool"] = [(at, pool) for at in times]
    caption = (
        "Points granted per minute between samples, to you and to all other tenants "
        f"together, against the pool: {pool:,.0f} points a minute for every tenant "
        "together (Jira's points an hour, spread evenly)."
    )
    return _sampled_lines(
        "budget_rate",
        "Points a minute, against the pool",
        caption,
        rates,
        y_title="points a minute",
        colours=[PALETTE[0], PALETTE[1], PALETTE[7]],
        too_few="Too few samples so far: the chart draws from the third (in a few seconds).",
        precision=3,
        dashes=[[1, 0], [1, 0], [6, 4]],
    )
