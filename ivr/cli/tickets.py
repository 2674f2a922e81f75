"""`ivr tickets list|show`: tickets and their status history, from the settings' database.

Times are printed in the flow's zone (UTC when the flow cannot be loaded); `--json` prints
them in ISO 8601 UTC.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from ivr.bootstrap import open_database
from ivr.config import Settings
from ivr.storage.models import Ticket, TicketNote
from ivr.storage.tickets import find_ticket
from menus.problems import FlowError
from menus.registry import FlowRegistry


@click.group("tickets")
def tickets() -> None:
    """Tickets filed by phone."""


@tickets.command("list")
@click.option("--status", help="Only tickets in this status (registered, in_progress...).")
@click.option("--limit", default=50, show_default=True, help="The newest N tickets.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@click.pass_obj
def list_tickets(settings: Settings, status: str | None, limit: int, as_json: bool) -> None:
    """The newest tickets, newest first."""
    statement = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    if status:
        statement = statement.where(Ticket.status == status)
    database = open_database(settings)
    try:
        with database.session(read_only=True) as session:
            rows = [_ticket_fields(ticket) for ticket in session.scalars(statement)]
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    zone = _display_zone(settings)
    for row in rows:
        created = _local(row["created_at"], zone)
        click.echo(
            f"{row['ref']}  {created}  {row['status']:<12} {row['kind']:<8} "
            f"{row['category'] or '-':<14} {row['department'] or '-'}"
        )


@tickets.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def show_ticket(settings: Settings, ref: str, as_json: bool) -> None:
    """One ticket with its status history and notes."""
    database = open_database(settings)
    try:
        with database.session(read_only=True) as session:
            ticket = find_ticket(session, ref)
            if ticket is None:
                raise click.ClickException(f"no ticket {ref}")
            fields = _ticket_fields(ticket)
            fields["history"] = [
                {"status": c.status, "at": c.at.isoformat(), "actor": c.actor, "note": c.note}
                for c in ticket.history
            ]
            notes = select(TicketNote).where(TicketNote.ticket_id == ticket.id)
            fields["notes"] = [
                {"kind": n.kind, "source": n.source, "at": n.at.isoformat(), "body": n.body}
                for n in session.scalars(notes.order_by(TicketNote.id))
            ]
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps(fields, ensure_ascii=False, indent=2))
        return
    zone = _display_zone(settings)
    for key, value in fields.items():
        if key not in ("history", "notes"):
            shown = _local(value, zone) if key in ("created_at", "updated_at") else value
            click.echo(f"{key + ':':<14}{'' if value is None else shown}")
    click.echo("history:")
    for change in fields["history"]:
        note = f"  ({change['note']})" if change["note"] else ""
        click.echo(
            f"  {_local(change['at'], zone)}  {change['status']}  by {change['actor']}{note}"
        )
    click.echo("notes:")
    for item in fields["notes"]:
        click.echo(
            f"  {_local(item['at'], zone)}  {item['kind']} ({item['source']})  {item['body']}"
        )


def register(main: click.Group) -> None:
    main.add_command(tickets)


def _ticket_fields(ticket: Ticket) -> dict[str, Any]:
    """Everything a supervisor may see of a ticket (never its PIN hash)."""
    return {
        "ref": ticket.ref,
        "kind": ticket.kind,
        "status": ticket.status,
        "draft": ticket.draft,
        "category": ticket.category,
        "department": ticket.department,
        "district": ticket.district,
        "caller": ticket.caller,
        "language": ticket.language,
        "description": ticket.description,
        "transcript": ticket.transcript,
        "recording_id": ticket.recording_id,
        "deadline": ticket.deadline.isoformat() if ticket.deadline else None,
        "call_id": ticket.call_id,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
    }


def _display_zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(FlowRegistry(settings.flow_path).current().flow.city.timezone)
    except FlowError:
        click.echo("the flow cannot be loaded: times are in UTC", err=True)
        return ZoneInfo("UTC")


def _local(instant: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(instant).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
