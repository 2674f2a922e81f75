"""Tickets: the list (filters, keyset pages, CSV), a ticket's detail with its history, and
what a supervisor or officer does to it: change the status (the caller is told by SMS),
send a predefined reply by SMS, write an internal note, reassign the department, escalate
one rung up the flow's ladder. Every change is audited in its own transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from ivr.app_context import current_time, services
from ivr.callbacks.texts import tell_escalated
from ivr.open311.ticket import on_ticket
from ivr.storage import escalations, stats
from ivr.storage.conversations import conversation
from ivr.storage.models import Call, Callback, Recording, Ticket, TicketNote
from ivr.storage.outbox import queue_sms
from ivr.storage.tickets import set_status
from ivr.web import params
from ivr.web.access import flow, may_see, record, visible, zone
from ivr.web.export import STREAMED, csv_download
from ivr.web.forms import ActionForm, DepartmentForm, NoteForm, ReplyForm, StatusForm
from ivr.web.names import department_name, localized, status_name

blueprint = Blueprint("tickets", __name__)
PAGE_SIZE = 50
FILTERS = ("status", "department", "category", "ref", "start", "end")
REF_TYPED = r"[0-9 -]*"


def _list_query(args: Any) -> Any:
    query = select(Ticket).where(visible(Ticket.department))
    for name, value in _choices(args).items():
        if value:
            query = query.where(getattr(Ticket, name) == value)
    local = zone()
    if start := params.day(args, "start"):
        query = query.where(Ticket.created_at >= datetime.combine(start, time(0), local))
    if end := params.day(args, "end"):
        query = query.where(
            Ticket.created_at < datetime.combine(end + timedelta(days=1), time(0), local)
        )
    return query.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def _choices(args: Any) -> dict[str, str]:
    """The list's filters by value (400 for a value the flow does not have)."""
    current = flow()
    return {
        "status": params.choice(args, "status", current.texts.statuses),
        "department": params.choice(args, "department", current.departments),
        "category": params.choice(args, "category", current.categories),
        "ref": params.text(args, "ref", pattern=REF_TYPED, limit=20),
    }


def _filters(args: Any) -> dict[str, str]:
    return {name: args[name] for name in FILTERS if args.get(name)}


@blueprint.get("/tickets")
def ticket_list() -> Any:
    query = _list_query(request.args)
    if cursor := params.cursor(request.args, "before"):
        with_time, ticket_id = cursor
        if not ticket_id.isdecimal():
            params.refuse("before", "a page cursor from the page's own link")
        query = query.where(
            or_(
                Ticket.created_at < with_time,
                and_(Ticket.created_at == with_time, Ticket.id < int(ticket_id)),
            )
        )
    with services().database.session(read_only=True) as session:
        rows = list(session.scalars(query.limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    last = rows[-1] if more else None
    return render_template(
        "tickets.html",
        tickets=rows,
        filters=_filters(request.args),
        next_cursor=f"{last.created_at.isoformat()}|{last.id}" if last else None,
        flow=flow(),
        zone=zone(),
    )


@blueprint.get("/tickets.csv")
def export() -> Any:
    args = request.args.copy()
    query = _list_query(args)  # checks the parameters before the download starts
    with services().database.session() as session:
        record(session, "tickets.export", "tickets", filters=_filters(args))
    local = zone()

    def rows() -> Iterator[list[str]]:
        with services().database.session(read_only=True) as session:
            for ticket in session.scalars(query, execution_options=STREAMED):
                yield [
                    ticket.ref,
                    ticket.created_at.astimezone(local).isoformat(),
                    ticket.status,
                    ticket.kind,
                    ticket.category or "",
                    ticket.department or "",
                    ticket.caller or "",
                    ticket.deadline.isoformat() if ticket.deadline else "",
                    ticket.description or "",
                ]

    header = ["ref", "created", "status", "kind", "category", "department", "caller"]
    return csv_download("tickets.csv", [*header, "deadline", "description"], rows)


def _visible_ticket(session: Session, ref: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.ref == ref))
    if ticket is None or not may_see(ticket.department):
        abort(404)
    return ticket


def _forms(ticket: Ticket | None = None) -> dict[str, Any]:
    """The ticket's forms; shown for `ticket`, they start at its status and department."""
    current = flow()
    status = StatusForm(status=ticket.status) if ticket else StatusForm()
    status.status.choices = [
        SelectChoice(code, status_name(code)) for code in current.texts.statuses
    ]
    reply = ReplyForm()
    reply.reply.choices = list(current.texts.replies)
    department = DepartmentForm(department=ticket.department) if ticket else DepartmentForm()
    department.department.choices = [
        SelectChoice(code, department_name(code)) for code in current.departments
    ]
    return {
        "status_form": status,
        "reply_form": reply,
        "note_form": NoteForm(),
        "department_form": department,
        "escalate_form": ActionForm(),
    }


@blueprint.get("/tickets/<ref>")
def detail(ref: str) -> Any:
    with services().database.session(read_only=True) as session:
        ticket = _visible_ticket(session, ref)
        history = list(ticket.history)
        notes = list(
            session.scalars(
                select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(TicketNote.id)
            )
        )
        messages = conversation(session, ticket.caller, ticket.created_at, ticket.id)
        callbacks = list(session.scalars(select(Callback).where(Callback.ticket_id == ticket.id)))
        chain = escalations.chain(session, ticket.id)
        callback_calls = session.scalars(
            select(Call.id).where(Call.ticket_id == ticket.id, Call.channel == "callback")
        ).all()
        recording = session.get(Recording, ticket.recording_id) if ticket.recording_id else None
        open311 = on_ticket(session, ticket.id)
        said = [note.recording_id for note in notes if note.recording_id]
        heard = session.scalars(select(Recording).where(Recording.id.in_(said))) if said else []
        note_recordings = {found.id: found for found in heard}
    current = flow()
    ladder = current.escalation
    replies = {
        code: (_text(texts, ticket) or "").format(ref=ticket.ref)
        for code, texts in current.texts.replies.items()
    }
    return render_template(
        "ticket.html",
        ticket=ticket,
        history=history,
        notes=notes,
        messages=messages,
        callbacks=callbacks,
        chain=chain,
        callback_calls=callback_calls,
        recording=recording,
        open311=open311,
        note_recordings=note_recordings,
        replies=replies,
        ladder=ladder,
        rung=ladder[min(ticket.escalation_level, len(ladder) - 1)] if ladder else None,
        next_rung=ladder[ticket.escalation_level + 1]
        if ticket.escalation_level + 1 < len(ladder)
        else None,
        zone=zone(),
        **_forms(ticket),
    )


def _language(ticket: Ticket) -> str:
    return flow().language_or_default(ticket.language)


def _text(texts: dict[str, str] | None, ticket: Ticket) -> str | None:
    if not texts:
        return None
    return texts.get(_language(ticket))


@blueprint.post("/tickets/<ref>/status")
def change_status(ref: str) -> Any:
    form = _forms()["status_form"]
    if not form.validate_on_submit():
        abort(400)
    now = current_time()
    current = flow()
    with services().database.session() as session:
        ticket = _visible_ticket(session, ref)
        before = ticket.status
        status = form.status.data
        set_status(session, ticket, status, form_actor(), now, note=form.note.data or None)
        closes = stats.CLOSED_STATUSES
        if status in closes and before not in closes:
            stats.count_tickets(session, now.astimezone(zone()).date(), ticket.department, closed=1)
        template = _text(current.texts.sms_status_changed, ticket)
        sms = None
        if ticket.caller and template and status != before:
            spoken = current.texts.statuses[status].get(_language(ticket), status)
            sms = queue_sms(
                session,
                to=ticket.caller,
                body=template.format(ref=ticket.ref, status=spoken),
                template="sms_status_changed",
                language=_language(ticket),
                ticket_id=ticket.id,
                at=now,
            )
        record(session, "ticket.status", ticket.ref, before=before, after=status, sms=bool(sms))
    told = _("Status is now %(status)s; the caller is told by SMS.", status=status_name(status))
    flash(told if sms else _("Status is now %(status)s.", status=status_name(status)))
    return redirect(url_for("tickets.detail", ref=ref))


@blueprint.post("/tickets/<ref>/reply")
def reply(ref: str) -> Any:
    form = _forms()["reply_form"]
    if not form.validate_on_submit():
        abort(400)
    now = current_time()
    with services().database.session() as session:
        ticket = _visible_ticket(session, ref)
        template = _text(flow().texts.replies.get(form.reply.data), ticket)
        if not ticket.caller or template is None:
            flash(_("This ticket has no number to reply to."))
            return redirect(url_for("tickets.detail", ref=ref))
        body = template.format(ref=ticket.ref)
        sms = queue_sms(
            session,
            to=ticket.caller,
            body=body,
            template=f"replies.{form.reply.data}",
            language=_language(ticket),
            ticket_id=ticket.id,
            at=now,
        )
        session.add(
            TicketNote(
                ticket_id=ticket.id,
                kind="reply",
                body=body,
                author=form_actor(),
                sms_id=sms.id if sms else None,
                at=now,
            )
        )
        record(session, "ticket.reply", ticket.ref, reply=form.reply.data, sent=bool(sms))
    flash(_("Reply queued.") if sms else _("The caller opted out of SMS: reply stored, not sent."))
    return redirect(url_for("tickets.detail", ref=ref))


@blueprint.post("/tickets/<ref>/notes")
def note(ref: str) -> Any:
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    with services().database.session() as session:
        ticket = _visible_ticket(session, ref)
        session.add(
            TicketNote(
                ticket_id=ticket.id,
                kind="note",
                body=form.body.data,
                author=form_actor(),
                at=current_time(),
            )
        )
        record(session, "ticket.note", ticket.ref)
    return redirect(url_for("tickets.detail", ref=ref))


@blueprint.post("/tickets/<ref>/department")
def reassign(ref: str) -> Any:
    form = _forms()["department_form"]
    if not form.validate_on_submit():
        abort(400)
    with services().database.session() as session:
        ticket = _visible_ticket(session, ref)
        before, ticket.department = ticket.department, form.department.data
        ticket.updated_at = current_time()
        record(session, "ticket.department", ticket.ref, before=before, after=ticket.department)
        still_visible = may_see(ticket.department)
    flash(_("Reassigned to %(department)s.", department=department_name(form.department.data)))
    if still_visible:
        return redirect(url_for("tickets.detail", ref=ref))
    return redirect(url_for("tickets.ticket_list"))


@blueprint.post("/tickets/<ref>/escalate")
def escalate(ref: str) -> Any:
    seen = request.form.get("level", type=int)
    if not ActionForm().validate_on_submit() or seen is None:
        abort(400)
    with services().database.session() as session:
        ticket = _visible_ticket(session, ref)
        now = current_time()
        step = escalations.escalate(
            session, flow(), ticket, reason="supervisor", at=now, from_level=seen
        )
        if step is None:
            flash(_not_escalated(ticket.escalation_level, seen))
            return redirect(url_for("tickets.detail", ref=ref))
        tell_escalated(session, flow(), ticket, step.callback_id, now)
        role = step.role
        record(session, "ticket.escalate", ticket.ref, level=step.to_level, role=role)
        rung = flow().escalation[step.to_level]
    flash(_("Escalated to %(rung)s.", rung=localized(rung.name)))
    return redirect(url_for("tickets.detail", ref=ref))


def _not_escalated(level: int, seen: int) -> str:
    if level != seen:
        return _("The ticket was escalated already (by another request); nothing was changed.")
    return _("The ticket is already at the top of the escalation ladder.")


def form_actor() -> str:
    return f"user:{current_user.username}"
