"""CSV exports: a cell a spreadsheet would run as a formula opens as text, and every matching
row is exported (no cap). Playing a recording is one audit row, however many ranges the
player fetches."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from site_data import STARTED
from sqlalchemy import func, insert, select

from ivr.storage.models import AuditEntry, Call, Ticket
from ivr.web.export import as_text

FORMULAS = ["=1+2", "+40 cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def database(site):
    return site.app.extensions["civicline"].database


def rows(client, path: str) -> list[list[str]]:
    response = client.get(path)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_cells_starting_like_a_formula_are_exported_as_text(site, admin):
    with database(site).session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == site.roads_ref))
        ticket.description = '=HYPERLINK("http://evil.example","see")'
    exported = rows(admin, f"/tickets.csv?ref={site.roads_ref}")
    header, row = exported[0], exported[1]
    assert row[header.index("description")] == '\'=HYPERLINK("http://evil.example","see")'
    assert row[header.index("caller")] == "'+40722111222", "a number with + opens as text too"
    assert row[header.index("ref")] == site.roads_ref, "other cells are untouched"


def test_every_formula_start_is_neutralised():
    assert [as_text(cell) for cell in FORMULAS] == [f"'{cell}" for cell in FORMULAS]
    assert as_text("26-000001") == "26-000001" and as_text("a-b") == "a-b"


def test_the_call_export_has_every_row_past_a_hundred_thousand(site, admin):
    many = 100_050
    with database(site).session() as session:
        version = session.scalar(select(Call.flow_version).where(Call.id == site.roads_call))
        start = STARTED - timedelta(days=1)
        session.execute(
            insert(Call),
            [
                {
                    "id": f"bulk-{n:06d}",
                    "caller": None,
                    "channel": "terminal",
                    "flow_version": version,
                    "language": "en",
                    "started_at": start + timedelta(seconds=n % 3600),
                    "department": "roads",
                    "outcome": "handled",
                }
                for n in range(many)
            ],
        )
        stored = session.scalar(select(func.count()).select_from(Call))
    exported = rows(admin, "/calls.csv")
    assert len(exported) - 1 == stored > many


def plays(site) -> int:
    with database(site).session(read_only=True) as session:
        statement = select(func.count()).where(AuditEntry.action == "recording.play")
        return session.scalar(statement.select_from(AuditEntry))


def test_one_play_is_one_audit_row_whatever_the_ranges(site, supervisor):
    path = f"/calls/{site.roads_call}/recordings/{site.recording_id}"
    for headers in ({"Range": "bytes=0-"}, {"Range": "bytes=4000-"}, {"Range": "bytes=6000-7000"}):
        response = supervisor.get(path, headers=headers)
        assert response.status_code == 206
        response.close()
    assert plays(site) == 1
    supervisor.get(path, headers={"Range": "bytes=0-"}).close()  # played again from the start
    supervisor.get(path).close()  # or downloaded whole
    assert plays(site) == 3
