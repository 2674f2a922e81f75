"""`ivr callbacks list`: the callbacks of one local day (or those still to come), with who
calls, their status and why one moved; numbers masked, as the supervisor site shows them
to officers."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from ivr.bootstrap import open_database
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.privacy.subject import mask_number
from ivr.storage.models import Callback, Ticket
from menus.registry import FlowRegistry


@click.group("callbacks")
def callbacks() -> None:
    """Callbacks booked by phone, by SMS or by an escalation."""


@callbacks.command("list")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="A local day (YYYY-MM-DD); without it, the callbacks still booked from now on.",
)
@click.pass_obj
def list_callbacks(settings: Settings, day: datetime | None) -> None:
    """One line per callback: local slot, status, department, who calls, report, caller."""
    zone = ZoneInfo(FlowRegistry(settings.flow_path).current().flow.city.timezone)
    statement = select(Callback, Ticket.ref).outerjoin(Ticket, Ticket.id == Callback.ticket_id)
    if day is None:
        statement = statement.where(Callback.status == "booked", Callback.slot_start >= utc_now())
    else:
        start = datetime.combine(day.date(), time(0), zone)
        statement = statement.where(
            Callback.slot_start >= start, Callback.slot_start < start + timedelta(days=1)
        )
    database = open_database(settings)
    try:
        with database.session(read_only=True) as session:
            rows = session.execute(statement.order_by(Callback.slot_start, Callback.id)).all()
            lines = [_line(callback, ref, zone) for callback, ref in rows]
    finally:
        database.dispose()
    for line in lines or ["no callbacks"]:
        click.echo(line)


def _line(callback: Callback, ref: str | None, zone: ZoneInfo) -> str:
    slot = callback.slot_start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    line = (
        f"{callback.id:>5}  {slot}  {callback.status:<9} {callback.department:<12} "
        f"{callback.role:<16} {ref or '-':<10} {mask_number(callback.caller)}"
    )
    return f"{line}  ({callback.outcome})" if callback.outcome else line


def register(main: click.Group) -> None:
    main.add_command(callbacks)
