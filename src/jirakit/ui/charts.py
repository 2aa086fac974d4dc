"""Vega-Lite specifications for the dashboard's charts, built on the server.

Why Vega-Lite (https://vega.github.io/vega-lite/), drawn by Vega in the browser:

- a chart is data, not code: the server writes a JSON spec with the numbers inline, the
  same numbers the chart's table view shows, and one small script embeds every spec on a
  page. No chart needs JavaScript of its own, and tests can read the spec;
- it draws SVG with ARIA roles and a description on each chart, which screen readers,
  axe-core and the browser tests can all inspect (one path per line series, one fill per
  bar or area series);
- it runs without ``eval`` (vega-embed's ``ast`` mode and its expression interpreter),
  so the pages keep a strict Content-Security-Policy (``script-src 'self'``);
- it is maintained by the University of Washington's Interactive Data Lab, BSD-licensed,
  and published on npm as minified builds that ship in the wheel (no CDN).

ECharts (one ~1 MB canvas-first file, charts configured by imperative options) and
Observable Plot (charts written as JavaScript, plus D3) would also do; hand-drawn SVG
would mean writing and maintaining axes, scales, legends and text layout ourselves.

All days are UTC: every temporal encoding uses ``utc`` time units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "area_chart",
    "bar_chart",
    "grouped_bars",
    "line_chart",
    "ranged_stacked_bars",
]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
HEIGHT = 260

# Colours with at least 3:1 contrast against white (WCAG 1.4.11, graphical objects).
INK = "#172b4d"
MUTED = "#44546f"
PALETTE = (
    "#0052cc",
    "#e56910",
    "#1f845a",
    "#ae2e24",
    "#6e5dc6",
    "#206a83",
    "#943d73",
    "#626f86",
    "#946f00",
    "#1d7afc",
)

_CONFIG: dict[str, Any] = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "view": {"stroke": None},
    "axis": {
        "labelColor": MUTED,
        "titleColor": INK,
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "gridColor": "#e4e7ec",
        "domainColor": "#8590a2",
        "tickColor": "#8590a2",
    },
    "legend": {
        "labelColor": INK,
        "titleColor": INK,
        "labelFontSize": 12,
        "orient": "bottom",
        "direction": "horizontal",
        "columns": 4,
        "symbolType": "square",
        "title": None,
        "labelLimit": 220,
    },
}


def _stepped(spec: dict[str, Any], step: int) -> None:
    """A height of ``step`` pixels per category: the chart then fits the width only."""
    spec["height"] = {"step": step}
    spec["autosize"] = {"contains": "padding", "resize": True}


def _base(description: str, data: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": "container",
        "height": HEIGHT,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "config": _CONFIG,
        "data": {"values": [dict(row) for row in data]},
    }


def _colour(series: Sequence[str], colours: Sequence[str] | None) -> dict[str, Any]:
    chosen = list(colours or PALETTE)
    return {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": list(series), "range": chosen[: len(series)] or chosen},
        "sort": list(series),
    }


# A value axis drops a label that would touch its neighbour (with the last label flush
# with the end, "800" and "900" ran together under the oldest open issues at 1280 px).
VALUE_AXIS: dict[str, Any] = {"labelOverlap": "greedy", "labelSeparation": 6}


def _day_axis(field: str, title: str | None) -> dict[str, Any]:
    return {
        "field": field,
        "type": "temporal",
        # A UTC scale with no time unit: Vega labels its ticks by scale ("April", "2025",
        # "Mar 09"), short enough not to crowd a phone's width.
        "scale": {"type": "utc"},
        "title": title,
        "axis": {"labelOverlap": "greedy", "labelFlush": True, "labelSeparation": 6},
    }


def _tooltip(*fields: tuple[str, str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for field, kind, title in fields:
        item: dict[str, Any] = {"field": field, "type": kind, "title": title}
        if kind == "temporal":
            item["timeUnit"] = "utcyearmonthdate"
            item["format"] = "%d %b %Y"
        out.append(item)
    return out


def line_chart(
    description: str,
    data: Sequence[Mapping[str, Any]],
    *,
    series: Sequence[str],
    y_title: str,
    colours: Sequence[str] | None = None,
    x_title: str | None = None,
) -> dict[str, Any]:
    """One line per series over days: rows ``{"day", "series", "value"}``."""
    spec = _base(description, data)
    # Straight segments: a smoothed curve would invent values between the points.
    spec["mark"] = {"type": "line", "interpolate": "linear", "point": False, "strokeWidth": 2}
    colour = _colour(series, colours)
    colour["legend"] = {"symbolType": "stroke", "symbolStrokeWidth": 3}
    spec["encoding"] = {
        "x": _day_axis("day", x_title),
        "y": {"field": "value", "type": "quantitative", "title": y_title},
        "color": colour,
        "tooltip": _tooltip(
            ("day", "temporal", "day"),
            ("series", "nominal", "series"),
            ("value", "quantitative", y_title),
        ),
    }
    return spec


def area_chart(
    description: str,
    data: Sequence[Mapping[str, Any]],
    *,
    series: Sequence[str],
    y_title: str,
    colours: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Stacked areas over days, the first series at the bottom: rows ``{"day", "series",
    "value", "order"}``."""
    spec = _base(description, data)
    spec["mark"] = {"type": "area", "interpolate": "linear", "line": False}
    spec["encoding"] = {
        "x": _day_axis("day", None),
        "y": {"field": "value", "type": "quantitative", "title": y_title, "stack": "zero"},
        "color": _colour(series, colours),
        "order": {"field": "order", "type": "quantitative"},
        "tooltip": _tooltip(
            ("day", "temporal", "day"),
            ("series", "nominal", "status category"),
            ("value", "quantitative", y_title),
        ),
    }
    return spec


def grouped_bars(
    description: str,
    data: Sequence[Mapping[str, Any]],
    *,
    series: Sequence[str],
    categories: Sequence[str],
    value_title: str,
    category_title: str | None = None,
    horizontal: bool = False,
    colours: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Bars side by side per category, one colour per series: rows ``{"category",
    "series", "value"}``; categories in the order given."""
    spec = _base(description, data)
    category: dict[str, Any] = {
        "field": "category",
        "type": "nominal",
        "sort": list(categories),
        "title": category_title,
        "axis": {"labelLimit": 160, "labelOverlap": False},
    }
    value = {
        "field": "value",
        "type": "quantitative",
        "title": value_title,
        "axis": dict(VALUE_AXIS),
    }
    offset = {"field": "series", "type": "nominal", "sort": list(series)}
    spec["mark"] = {"type": "bar", "cornerRadiusEnd": 2}
    if horizontal:
        _stepped(spec, 14 * max(1, len(series)) + 8)
        spec["encoding"] = {"y": category, "x": value, "yOffset": offset}
    else:
        category["axis"] = {"labelAngle": -40, "labelLimit": 120, "labelOverlap": False}
        spec["encoding"] = {"x": category, "y": value, "xOffset": offset}
    spec["encoding"]["color"] = _colour(series, colours)
    spec["encoding"]["tooltip"] = _tooltip(
        ("category", "nominal", category_title or "category"),
        ("series", "nominal", "series"),
        ("value", "quantitative", value_title),
    )
    return spec


def bar_chart(
    description: str,
    data: Sequence[Mapping[str, Any]],
    *,
    series: str,
    categories: Sequence[str],
    value_title: str,
    colour: str = PALETTE[0],
) -> dict[str, Any]:
    """Horizontal bars, one series, categories top to bottom in the order given: rows
    ``{"category", "series", "value"}``."""
    spec = _base(description, data)
    _stepped(spec, 22)
    spec["mark"] = {"type": "bar", "cornerRadiusEnd": 2}
    spec["encoding"] = {
        "y": {
            "field": "category",
            "type": "nominal",
            "sort": list(categories),
            "title": None,
            "axis": {"labelLimit": 260},
        },
        "x": {
            "field": "value",
            "type": "quantitative",
            "title": value_title,
            "axis": dict(VALUE_AXIS),
        },
        "color": _colour([series], [colour]),
        "tooltip": _tooltip(
            ("category", "nominal", "issue"), ("value", "quantitative", value_title)
        ),
    }
    spec["encoding"]["color"]["legend"] = None
    return spec


def ranged_stacked_bars(
    description: str,
    data: Sequence[Mapping[str, Any]],
    *,
    series: Sequence[str],
    y_title: str,
    colours: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Bars spanning ``start``..``end`` days, stacked by series: rows ``{"start", "end",
    "series", "value", "y0", "y1"}`` with the stack computed on the server (Vega-Lite
    stacks bars along a band scale, not along a span of days)."""
    spec = _base(description, data)
    spec["mark"] = {"type": "rect", "stroke": "white", "strokeWidth": 0.5}
    spec["encoding"] = {
        "x": _day_axis("start", None),
        "x2": {"field": "end"},
        "y": {"field": "y1", "type": "quantitative", "title": y_title},
        "y2": {"field": "y0"},
        "color": _colour(series, colours),
        "tooltip": _tooltip(
            ("start", "temporal", "week of"),
            ("series", "nominal", "person"),
            ("value", "quantitative", y_title),
        ),
    }
    return spec
