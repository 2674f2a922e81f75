"""The audit log page, for admins: every supervisor action (recordings played, exports and
erasures included), newest first, keyset pages, filtered by who or by what (a prefix:
`recording` finds every recording played)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ivr.app_context import services
from ivr.storage.models import AuditEntry
from ivr.web import params
from ivr.web.access import require_role, zone

blueprint = Blueprint("audit", __name__)
PAGE_SIZE = 100


@blueprint.get("/audit")
@require_role("admin")
def audit_log() -> Any:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if before := params.integer(request.args, "before", low=1, high=params.MAX_ID):
        query = query.where(AuditEntry.id < before)
    if actor := params.text(request.args, "actor"):
        query = query.where(AuditEntry.actor == actor)
    if action := params.text(request.args, "action"):
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    with services().database.session(read_only=True) as session:
        entries = list(session.scalars(query.limit(PAGE_SIZE + 1)))
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return render_template(
        "audit.html",
        entries=entries,
        actor=actor,
        action=action,
        next_before=entries[-1].id if more else None,
        zone=zone(),
    )
