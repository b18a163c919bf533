"""Charts drawn on the server as SVG: geometry here, markup in templates/_charts.html, and the
Trends card's context, which the overview and the workflow page share.

No script, so they work under the strict CSP; colours come from CSS classes; every chart has a
title, a one-sentence description and its numbers as a table (the text alternative).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import request, url_for

from app.services.trends import Trends, trends
from app.web.access import current_actor

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 8, 24


@dataclass(frozen=True)
class Shape:
    series: str
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    series: list[str]
    shapes: list[Shape] = field(default_factory=list)
    lines: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)  # series -> (x, y, label)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_labels: list[tuple[float, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # the text alternative: one row per interval
    width: int = WIDTH
    height: int = HEIGHT


def bars(
    chart_id: str,
    title: str,
    points: Sequence[tuple[datetime, dict[str, float]]],
    series: list[str],
    tick: Callable[[datetime], str],
) -> Chart:
    """Grouped bars: for each interval, one bar per series."""
    top = _nice_max(max((v.get(s, 0) for _, v in points for s in series), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(points), 1)
    bar = max(slot * 0.8 / len(series), 1.0)
    shapes = []
    for i, (start, values) in enumerate(points):
        for j, name in enumerate(series):
            value = values.get(name, 0)
            height = (HEIGHT - TOP - BOTTOM) * value / top
            shapes.append(
                Shape(
                    name,
                    LEFT + i * slot + slot * 0.1 + j * bar,
                    HEIGHT - BOTTOM - height,
                    bar,
                    height,
                    f"{tick(start)}: {value:g} {name}",
                )
            )
    totals = {s: sum(v.get(s, 0) for _, v in points) for s in series}
    description = f"{title}: " + ", ".join(f"{totals[s]:g} {s}" for s in series) + " in all."
    return Chart(
        chart_id,
        title,
        description,
        series,
        shapes,
        {},
        _x_labels(points, slot, tick),
        _y_labels(top),
        [[tick(start), *(f"{v.get(s, 0):g}" for s in series)] for start, v in points],
    )


def lines(
    chart_id: str,
    title: str,
    points: Sequence[tuple[datetime, dict[str, float]]],
    series: list[str],
    tick: Callable[[datetime], str],
) -> Chart:
    """One line per series over the intervals."""
    top = _nice_max(max((v.get(s, 0) for _, v in points for s in series), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(points), 1)
    drawn = {}
    for name in series:  # an interval without a value (nothing sampled) is left out of the line
        drawn[name] = [
            (
                LEFT + (i + 0.5) * slot,
                HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * v[name] / top,
                f"{tick(start)}: {v[name]:g} {name}",
            )
            for i, (start, v) in enumerate(points)
            if name in v
        ]
    peaks = {s: max((v.get(s, 0) for _, v in points), default=0) for s in series}
    description = f"{title}: highest " + ", ".join(f"{s} {peaks[s]:g}" for s in series) + "."
    return Chart(
        chart_id,
        title,
        description,
        series,
        [],
        drawn,
        _x_labels(points, slot, tick),
        _y_labels(top),
        [[tick(start), *(f"{v[s]:g}" if s in v else "—" for s in series)] for start, v in points],
    )


def _nice_max(value: float) -> float:
    """A round top for the axis (1, 2, 5 × a power of ten), at least 1."""
    if value <= 1:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _y_labels(top: float) -> list[tuple[float, str]]:
    return [(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * f, f"{top * f:g}") for f in (0, 0.5, 1)]


def _x_labels(
    points: Sequence[tuple[datetime, object]], slot: float, tick: Callable[[datetime], str]
) -> list[tuple[float, str]]:
    every = max(len(points) // 6, 1)  # about six labels, whatever the number of intervals
    return [(LEFT + (i + 0.5) * slot, tick(start)) for i, (start, _) in enumerate(points) if i % every == 0]


def trend_charts(trends: Trends) -> list[Chart]:
    """The charts of a Trends: instances per interval, then each queue's open and failed jobs."""
    daily = trends.window != "24h"
    tick: Callable[[datetime], str] = (lambda d: d.strftime("%a %d")) if daily else (lambda d: d.strftime("%H:00"))
    window = "the last 7 days" if daily else "the last 24 hours"
    charts = [
        bars(
            "chart-instances",
            f"Instances per {'day' if daily else 'hour'}, {window}",
            [(b.start, b.values) for b in trends.instances],
            ["started", "completed", "failed"],
            tick,
        )
    ]
    if trends.queues:
        merged: list[tuple[datetime, dict[str, float]]] = [(b.start, {}) for b in next(iter(trends.queues.values()))]
        for name, buckets in trends.queues.items():
            for (_, values), bucket in zip(merged, buckets, strict=True):
                if bucket.values:
                    values[f"{name} open"] = bucket.values["open"]
                    values[f"{name} failed"] = bucket.values["failed"]
        names = list(trends.queues)
        charts.append(
            lines(
                "chart-queues",
                f"Open jobs per queue, {window} (sampled every minute)",
                merged,
                [f"{n} open" for n in names],
                tick,
            )
        )
        charts.append(
            lines("chart-failed", f"Failed jobs per queue, {window}", merged, [f"{n} failed" for n in names], tick)
        )
    return charts


def trends_context(endpoint: str, *, workflow_name: str | None = None, **url_values: str) -> dict[str, object]:
    """What a page's Trends card needs: the window from `?window=` (`off` hides the card), its
    charts, and links to the page itself (`endpoint`, `url_values`) for the other windows."""
    window = request.args.get("window", "24h")
    shown = None if window == "off" else trends(window, actor=current_actor(), workflow_name=workflow_name)
    return {
        "trends": shown,
        "charts": trend_charts(shown) if shown else [],
        "url_for_window": lambda w: url_for(endpoint, window=w, **url_values) + "#trends",
    }
