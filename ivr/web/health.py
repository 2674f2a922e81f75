"""The health page: the database, the flow in use (and why a newer file was refused), jobs,
and speech: each language's mode (a model that is named but not installed runs keypad-only)
and this process's live recognisers against CIVICLINE_MAX_RECOGNIZERS.

It shows no personal data, so it needs no login. For load balancers and monitoring, its
`state` and status code: "ok" (200); "degraded" (207: the line takes calls, but on the last
good flow version while the file on disk is refused, its FILE:LINE problems listed; a 2xx so
that a balancer keeps the node, not 200 so that monitoring sees it); "down" (503: the
database is unreachable, no call can be served). `ok` is true only in "ok".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ivr.app_context import services
from ivr.bootstrap import live_recognizers
from ivr.jobs import job_counts
from speech.models import ModelError, locate

blueprint = Blueprint("health", __name__)
STATUS_CODES = {"ok": 200, "degraded": 207, "down": 503}


def _report() -> dict[str, Any]:
    line = services()
    loaded = line.flows.current()
    report: dict[str, Any] = {
        "flow": {
            "path": loaded.path,
            "version": loaded.version,
            "languages": {
                code: _mode(language.model) for code, language in loaded.flow.languages.items()
            },
            "problems": [str(problem) for problem in line.flows.problems],
        },
        "speech": {
            "live_recognizers": live_recognizers().count(),
            "max_recognizers": live_recognizers().limit,
        },
    }
    try:
        with line.database.session() as session:
            session.execute(text("SELECT 1"))
            report["jobs"] = job_counts(session)
        report["database"] = {"ok": True, "dialect": line.database.dialect}
    except SQLAlchemyError as error:
        report["database"] = {"ok": False, "error": type(error).__name__}
    if not report["database"]["ok"]:
        report["state"] = "down"
    elif report["flow"]["problems"]:
        report["state"] = "degraded"
    else:
        report["state"] = "ok"
    report["ok"] = report["state"] == "ok"
    return report


def _mode(model: str | None) -> str:
    if model is None:
        return "keypad only"
    try:
        locate(model)
    except ModelError:
        return f"keypad only (model {model} not installed)"
    return "speech"


@blueprint.get("/health")
def health() -> Any:
    report = _report()
    status = STATUS_CODES[report["state"]]
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return render_template("health.html", report=report), status
    return report, status
