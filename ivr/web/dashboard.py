"""The dashboard: calls per hour and per day, handled by the IVR vs transferred vs
abandoned, top menu choices, no-match rate per node, tickets opened and closed. Read from
the summary tables (`ivr.storage.stats`), drawn server-side as SVG by pygal (a PyPI
package): no script, no CDN."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pygal
from flask import Blueprint, render_template, request
from markupsafe import Markup

from ivr.app_context import current_time, services
from ivr.storage import stats, surveys
from ivr.web import params
from ivr.web.access import departments, flow, zone
from menus.schema import Flow

blueprint = Blueprint("dashboard", __name__)
MAX_DAYS = 92
SURVEYS = {"ivr": "After IVR calls", "callback": "After callbacks"}


@blueprint.get("/")
def index() -> Any:
    days = params.integer(request.args, "days", low=1, high=MAX_DAYS, default=7)
    local = zone()
    today = current_time().astimezone(local).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=days - 1), today + timedelta(days=1)
    allowed = departments()
    with services().database.session(read_only=True) as session:
        summary = stats.summary(session, start, end, allowed)
    per_day: dict[str, Counter[str]] = {}
    per_hour: Counter[int] = Counter()
    totals: Counter[str] = Counter()
    for hour, groups in summary.hours.items():
        local_hour = hour.astimezone(local)
        for group, calls in groups.items():
            per_day.setdefault(local_hour.date().isoformat(), Counter())[group] += calls
            per_hour[local_hour.hour] += calls
            totals[group] += calls
    labels = [(start + timedelta(days=n)).date().isoformat() for n in range(days)]
    charts = {
        "Calls per day": _stacked(labels, per_day, ("handled", "transferred", "abandoned")),
        "Calls by hour of day": _bar(
            [f"{h:02d}" for h in range(24)], {"calls": [per_hour[h] for h in range(24)]}
        ),
        "Tickets opened and closed": _bar(
            labels,
            {
                "opened": [summary.tickets.get(_day(d), (0, 0))[0] for d in labels],
                "closed": [summary.tickets.get(_day(d), (0, 0))[1] for d in labels],
            },
        ),
    }
    if allowed is None:
        current = flow()
        top = summary.choices[:10]
        charts["Top menu choices"] = _horizontal(
            [_intent(current, node, target) for node, target, _ in top], [c for *_, c in top]
        )
        confusing = [row for row in summary.nodes if row[1]][:10]
        charts["No match or no input, % of turns"] = _horizontal(
            [node for node, *_ in confusing],
            [round(100 * (m + i) / t, 1) for _, t, m, i in confusing],
        )
    survey = None
    if allowed is None:
        with services().database.session(read_only=True) as session:
            survey = {
                label: surveys.score_summary(session, start, end, kind)
                for kind, label in SURVEYS.items()
            }
    return render_template(
        "dashboard.html",
        survey=survey,
        days=days,
        totals=totals,
        charts={title: Markup(svg) for title, svg in charts.items()},
        nodes=summary.nodes if allowed is None else [],
    )


def _day(label: str) -> Any:
    return datetime.fromisoformat(label).date()


def _config(chart: Any) -> Any:
    chart.config.js = []  # pygal's tooltips script would come from a CDN
    chart.config.disable_xml_declaration = True
    chart.config.height = 300
    chart.config.explicit_size = False
    chart.config.x_label_rotation = 45
    return chart


def _stacked(labels: list[str], values: dict[str, Counter[str]], groups: tuple[str, ...]) -> str:
    chart = _config(pygal.StackedBar())
    chart.x_labels = labels
    for group in groups:
        chart.add(group, [values.get(label, Counter())[group] for label in labels])
    return str(chart.render(is_unicode=True))


def _bar(labels: list[str], series: dict[str, list[int]]) -> str:
    chart = _config(pygal.Bar())
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return str(chart.render(is_unicode=True))


def _horizontal(labels: list[str], values: list[float]) -> str:
    chart = _config(pygal.HorizontalBar())
    chart.config.show_legend = False
    chart.x_labels = labels
    chart.add("", values)
    return str(chart.render(is_unicode=True))


def _intent(current: Flow, node: str, target: str) -> str:
    """`node: intent` for a choice that led from `node` to `target`, by the current flow."""
    found = current.nodes.get(node)
    intents = getattr(found, "intents", None) or getattr(found, "options", None) or {}
    for name, intent in intents.items():
        if intent.goto == target:
            return f"{node}: {name}"
    return f"{node} → {target}"
