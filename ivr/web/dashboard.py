"""The dashboard: calls per day (handled by the IVR, transferred, abandoned), calls by hour
of day, tickets opened and closed, top menu choices, where callers get lost, the survey
scores, and appointments at the counters (no-shows, the first free slot of each service);
each chart with its numbers in a plain table under it. Read from the summary tables
(`ivr.storage.stats`, `ivr.storage.surveys`), scoped to the departments the user may see;
drawn as SVG by the template (`ivr.web.charts`): no script, no CDN. Beyond 92 days, a bar is
a week."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ivr.app_context import current_time, services
from ivr.storage import notices, stats, surveys
from ivr.web import appointments, params
from ivr.web.access import departments, flow, zone
from ivr.web.charts import Chart, horizontal, vertical
from ivr.web.names import choice_name, node_name

blueprint = Blueprint("dashboard", __name__)
MAX_DAYS = 366
DAILY_UP_TO = 92
RANGES = (1, 7, 30, 90, 365)
GROUPS = {
    "handled": _l("Handled by the line"),
    "transferred": _l("Transferred"),
    "abandoned": _l("Hung up"),
}
SURVEYS = {"ivr": _l("After IVR calls"), "callback": _l("After callbacks")}


@blueprint.get("/")
def index() -> Any:
    days = params.integer(request.args, "days", low=1, high=MAX_DAYS, default=7)
    local = zone()
    today = current_time().astimezone(local).date()
    first = today - timedelta(days=days - 1)
    allowed = departments()
    with services().database.session(read_only=True) as session:
        summary = stats.summary(session, first, today, allowed)
        survey = {
            label: surveys.score_summary(session, first, today, allowed, kind)
            for kind, label in SURVEYS.items()
        }
        announcements = notices.announcements_between(session, first, today)
    buckets = _buckets(first, days)
    labels = [label for label, _ in buckets]
    totals: Counter[str] = Counter()
    for counts in summary.days.values():
        totals.update(counts)
    charts = [
        vertical(
            Chart(
                "calls-per-day",
                _("Calls per day") if days <= DAILY_UP_TO else _("Calls per week"),
                labels,
                {
                    str(name): [_sum(summary.days, span, group) for _, span in buckets]
                    for group, name in GROUPS.items()
                },
                row_header=_("Day") if days <= DAILY_UP_TO else _("Week from"),
            )
        ),
        vertical(
            Chart(
                "calls-by-hour",
                _("Calls by hour of day"),
                [f"{h:02d}:00" for h in range(24)],
                {_("Calls"): [summary.hours[h] for h in range(24)]},
                row_header=_("Hour"),
            )
        ),
        vertical(
            Chart(
                "tickets",
                _("Tickets opened and closed"),
                labels,
                {
                    _("Opened"): [_tickets(summary.tickets, span, 0) for _, span in buckets],
                    _("Closed"): [_tickets(summary.tickets, span, 1) for _, span in buckets],
                },
                row_header=_("Day") if days <= DAILY_UP_TO else _("Week from"),
            )
        ),
    ]
    current = flow()
    top = summary.choices[:10]
    if top:
        charts.append(
            horizontal(
                Chart(
                    "choices",
                    _("Top menu choices"),
                    [choice_name(current, node, target) for node, target, _ in top],
                    {_("Calls"): [count for *_, count in top]},
                    row_header=_("Choice"),
                )
            )
        )
    confusing = [row for row in summary.nodes if row[2] + row[3]][:10]
    if confusing:
        charts.append(
            horizontal(
                Chart(
                    "confusing",
                    _("Turns with no match or no answer, %% of the node's turns"),
                    [node_name(node) for node, *_ in confusing],
                    {"%": [round(100 * (m + i) / t, 1) for _, t, m, i in confusing]},
                    unit=" %",
                    row_header=_("Step"),
                )
            )
        )
    return render_template(
        "dashboard.html",
        survey=survey,
        days=days,
        ranges=RANGES,
        first=first,
        today=today,
        totals=totals,
        groups=GROUPS,
        charts=charts,
        nodes=summary.nodes,
        visits=appointments.figures(first, today) if flow().services else None,
        zone=local,
        announcements=announcements,
    )


def _buckets(first: date, days: int) -> list[tuple[str, list[date]]]:
    """The chart's bars: one per day, or per week (labelled by its first day) beyond
    DAILY_UP_TO days."""
    every = [first + timedelta(days=n) for n in range(days)]
    if days <= DAILY_UP_TO:
        return [(day.isoformat(), [day]) for day in every]
    return [(every[n].isoformat(), every[n : n + 7]) for n in range(0, days, 7)]


def _sum(per_day: dict[date, Counter[str]], span: list[date], group: str) -> int:
    return sum(per_day.get(day, Counter())[group] for day in span)


def _tickets(per_day: dict[date, tuple[int, int]], span: list[date], which: int) -> int:
    return sum(per_day.get(day, (0, 0))[which] for day in span)
