"""The call log's word search through the full-text index finds the calls the ILIKE over the
transcripts found, plus diacritics and case aside; it keeps in step as calls end and
transcriptions arrive, and pages with the call log's keyset cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select, update
from werkzeug.datastructures import MultiDict

from ivr.storage.calls import append_event, finish_call, save_flow_version, start_call
from ivr.storage.db import Database
from ivr.storage.models import Call, Ticket
from ivr.storage.search import common, said
from ivr.web.callfilter import before, cursor_of

AT = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Bucharest")
SAID = {
    "c1": ["raport", "groapă pe strada Mare"],
    "c2": ["Strada Florilor 10%"],
    "c3": ["status", "ticket_42"],
    "c4": ["Улица Пейчо Яворов", "дупка"],
    "c5": [],
    "c6": ["felinar stins"],
}
DESCRIBED = {"c5": "o groapa adanca", "c6": "Lampa de pe STRADA Unirii"}
WORDS = ["strada", "STRADA", "groap", "10%", "_42", "ticket_", "st", "a", "Улица", "дупка",
         "adanca", "Unirii", "nimeni", "r%a"]  # fmt: skip


def _ilike(word: str) -> ColumnElement[bool]:
    """The search as it was before the index: ILIKE over both transcripts."""
    described = select(Ticket.id).where(
        Ticket.transcript["text"].as_string().icontains(word, autoescape=True)
    )
    return or_(Call.transcript.icontains(word, autoescape=True), Call.ticket_id.in_(described))


def _found(database: Database, condition: ColumnElement[bool]) -> set[str]:
    with database.session(read_only=True) as session:
        return set(session.scalars(select(Call.id).where(condition)))


def _call(database: Database, n: int, call_id: str, said: list[str]) -> None:
    at = AT + timedelta(minutes=n)
    with database.session() as session:
        save_flow_version(session, "v1", "flow: 1\n", "callflows.yaml", AT)
        start_call(session, call_id=call_id, caller=None, channel="terminal", flow_version="v1",
                   language="ro", at=at)  # fmt: skip
        for seq, text in enumerate(said, start=1):
            append_event(session, call_id=call_id, seq=seq, kind="event",
                         type="SpeechRecognized", payload={"text": text}, at=at)  # fmt: skip
        ticket_id = None
        if call_id in DESCRIBED:
            ticket = Ticket(ref=f"26-{n:06d}", year=2026, number=n, kind="report",
                            status="registered", draft=False, language="ro", pin_hash="x",
                            call_id=call_id, created_at=at, updated_at=at)  # fmt: skip
            session.add(ticket)
            session.flush()
            ticket_id = ticket.id
        finish_call(session, call_id=call_id, at=at + timedelta(minutes=1), outcome="ticket",
                    department="roads", ticket_id=ticket_id, zone=ZONE)  # fmt: skip


def _seeded(database: Database) -> None:
    for n, (call_id, words) in enumerate(SAID.items()):
        _call(database, n, call_id, words)
    with database.session() as session:  # transcriptions arrive after the calls end
        for ticket in session.scalars(select(Ticket)):
            ticket.transcript = {"text": DESCRIBED[ticket.call_id or ""], "language": "ro"}


def test_the_index_finds_what_the_ilike_found(any_database: Database) -> None:
    _seeded(any_database)
    for word in WORDS:
        assert _found(any_database, said(word)) == _found(any_database, _ilike(word)), word
    assert _found(any_database, said("strada")) == {"c1", "c2", "c6"}
    assert _found(any_database, said("nimeni")) == set()


def test_a_common_word_walks_the_calls_and_finds_the_same(any_database: Database) -> None:
    _seeded(any_database)
    for word in WORDS:
        walked = _found(any_database, said(word, walk=True))
        assert walked == _found(any_database, said(word)), word
    with any_database.session(read_only=True) as session:
        found = [common(session, word, at_least=3) for word in ("strada", "felinar", "st")]
    # SQLite asks its index; PostgreSQL's planner chooses for itself
    assert found == ([True, False, False] if any_database.dialect == "sqlite" else [False] * 3)


def test_diacritics_and_case_aside(any_database: Database) -> None:
    _seeded(any_database)
    assert _found(any_database, said("groapa")) == {"c1", "c5"}  # "groapă" and "groapa"
    assert _found(any_database, said("GROAPĂ")) == {"c1", "c5"}
    assert _found(any_database, said("ă")) == _found(any_database, said("a"))
    assert _found(any_database, said("ulica")) == set()  # Cyrillic is not transliterated
    assert _found(any_database, said("УЛИЦА")) == {"c4"}  # SQLite's LIKE folds ASCII only


def test_a_new_transcription_replaces_the_old_words(any_database: Database) -> None:
    _seeded(any_database)
    with any_database.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.call_id == "c5")).one()
        ticket.transcript = {"text": "copac cazut", "language": "ro"}
    assert _found(any_database, said("copac")) == {"c5"}
    assert _found(any_database, said("adanca")) == set()


def test_a_transcript_blanked_outside_the_application_leaves_the_call_its_own_words(
    any_database: Database,
) -> None:
    _seeded(any_database)
    with any_database.session() as session:  # as the privacy purge does it
        session.execute(update(Ticket).where(Ticket.call_id == "c6").values(transcript=None))
    assert _found(any_database, said("unirii")) == set()
    assert _found(any_database, said("felinar")) == {"c6"}


def test_the_search_pages_with_the_keyset_cursor(any_database: Database) -> None:
    _seeded(any_database)
    newest_first = (Call.started_at.desc(), Call.id.desc())
    with any_database.session(read_only=True) as session:
        first = list(session.scalars(select(Call).where(said("a")).order_by(*newest_first)
                                     .limit(3)))  # fmt: skip
        older = before(MultiDict({"before": cursor_of(first[-1])}))
        assert older is not None
        rest = list(
            session.scalars(select(Call.id).where(said("a"), older).order_by(*newest_first))
        )
    assert [call.id for call in first] + rest == ["c6", "c5", "c3", "c2", "c1"]
