"""Privacy of what follows a call: received SMS, the calls placed for a callback, survey
scores (and Twilio's stream tokens). Export lists them, erasure leaves no trace of the
number or the SMS words but keeps the scores, and the retention purge takes each by its
kind of data, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from privacy_followups import OFFICER_PHONE, SMS_WORDS, make_followups, refuse_sms_due
from privacy_people import (
    DEFAULTS,
    NATIONAL,
    OTHER,
    PERSON,
    TUESDAY,
    WORDS,
    make_person,
    services,
    traces,
)
from sqlalchemy import func, select, update

from ivr.privacy import retention
from ivr.privacy.erase import erase
from ivr.privacy.export import export
from ivr.privacy.retention import purge
from ivr.privacy.subject import subject
from ivr.recordings import Recordings
from ivr.recordings.files import LocalFiles
from ivr.sms.inbound import receive_sms
from ivr.storage.db import Database
from ivr.storage.models import (
    Call,
    CallbackAttempt,
    SmsInbound,
    SurveyResponse,
    Ticket,
    TwilioStreamToken,
)
from ivr.storage.twilio import issue_token

OLD = TUESDAY - timedelta(days=400)
MIDDLE = TUESDAY - timedelta(days=120)
"""Past the SMS bodies' 90 days, within the numbers' 365."""
RECENT = TUESDAY - timedelta(days=10)
OTHER_WORDS = "Ionescu's kiosk"


def people(database: Database, tmp_path: Path, first: datetime, second: datetime) -> str:
    """PERSON at `first` and OTHER at `second`, each with a report and its follow-ups."""
    root = tmp_path / "recordings"
    store, line = Recordings.local(database, root), services(database, tmp_path)
    ref = make_person(line, store, PERSON, first)
    make_followups(line, store, PERSON, ref, first)
    other_ref = make_person(line, store, OTHER, second, "lamp out in Ionescu street", "Ionescu")
    make_followups(line, store, OTHER, other_ref, second, OTHER_WORDS)
    return ref


def rows(database: Database, model: type, *where: object) -> list:
    with database.session() as session:
        found = session.scalars(select(model).where(*where)).all()
        session.expunge_all()
        return list(found)


def test_export_lists_the_follow_ups_and_erasure_leaves_no_trace(
    any_database: Database, tmp_path: Path
) -> None:
    database, root = any_database, tmp_path / "recordings"
    ref = people(database, tmp_path, TUESDAY, TUESDAY + timedelta(days=1))
    out = io.BytesIO()
    export(database, subject("0722 111 222", "RO"), LocalFiles(root), out, actor="t", at=TUESDAY)
    tables = json.loads(zipfile.ZipFile(out).read("data.json"))["tables"]
    assert {row["leg"]: row["to"] for row in tables["callback_attempts"]} == {
        "officer": OFFICER_PHONE,
        "citizen": PERSON,
    }
    assert sorted(row["kind"] for row in tables["survey_responses"]) == ["callback", "ivr"]
    assert any(SMS_WORDS in row["body"] for row in tables["sms_inbound"])
    assert OTHER not in json.dumps(tables) and OTHER_WORDS not in json.dumps(tables)

    with database.session() as session:
        session.execute(update(Ticket).where(Ticket.ref == ref).values(status="resolved"))
    scores = [(s.kind, s.score) for s in rows(database, SurveyResponse)]
    erase(database, subject("0040722111222", "RO"), LocalFiles(root), actor="ana", at=TUESDAY)
    assert not traces(database, NATIONAL, "Popescu", WORDS, SMS_WORDS)
    assert [(s.kind, s.score) for s in rows(database, SurveyResponse)] == scores, "scores stay"
    person_calls = [c.id for c in rows(database, Call, Call.caller.is_(None))]
    unlinked = rows(database, SurveyResponse, SurveyResponse.call_id.is_(None),
                    SurveyResponse.callback_id.is_(None))  # fmt: skip
    assert len(unlinked) == 2 and not rows(
        database, SurveyResponse, SurveyResponse.call_id.in_(person_calls)
    )
    attempts = rows(database, CallbackAttempt)
    assert sorted(a.to for a in attempts) == ["", "", OFFICER_PHONE, OTHER]
    assert {a.sender for a in rows(database, SmsInbound)} == {OTHER}
    assert traces(database, OTHER[3:]) and traces(database, OTHER_WORDS)


def aged(database: Database, tmp_path: Path) -> None:
    """PERSON's report 400 days old and resolved then; OTHER's 10 days old."""
    ref = people(database, tmp_path, OLD, RECENT)
    with database.session() as session:
        session.execute(
            update(Ticket).where(Ticket.ref == ref).values(status="resolved", updated_at=OLD)
        )


def test_the_purge_takes_each_follow_up_by_its_kind_of_data(
    any_database: Database, tmp_path: Path
) -> None:
    database = any_database
    aged(database, tmp_path)
    receive_sms(
        database,
        services(database, tmp_path).flows.current().flow,
        message_sid="SMmiddle",
        sender=OTHER,
        body=f"{OTHER_WORDS} is on fire",
        at=MIDDLE,
    )
    with database.session() as session:
        for call in session.scalars(select(Call)):
            issue_token(session, call.id, [], call.started_at)
    refuse_sms_due(services(database, tmp_path), PERSON, OLD + timedelta(hours=6))
    quoting = {(t, c) for t, c, _ in traces(database, NATIONAL)}
    assert {("sms_outbox", "error"), ("jobs", "last_error")} <= quoting
    done = purge(database, DEFAULTS, LocalFiles(tmp_path / "recordings"), now=TUESDAY)

    assert done["callback_attempt_numbers"] == 1, "the old citizen's leg"
    assert done["survey_links"] == 2 and done["sms_inbound"] == 3, "incl. a START"
    assert done["sms_inbound_bodies"] == 1 and done["stream_tokens"] == 4
    assert done["sms_errors"] == 2 and done["job_errors"] >= 2, "the refused SMS (START: no reply)"
    assert {(t, c) for t, c, _ in traces(database, NATIONAL, SMS_WORDS)} == {
        ("ticket_notes", "body"),  # the city's own writing
    }
    assert len(rows(database, SurveyResponse)) == 4, "anonymous statistics are kept"
    assert sorted(a.to for a in rows(database, CallbackAttempt)) == [
        "",
        OFFICER_PHONE,
        OFFICER_PHONE,
        OTHER,
    ]
    [middle] = rows(database, SmsInbound, SmsInbound.message_sid == "SMmiddle")
    assert (middle.sender, middle.body) == (OTHER, "")
    assert [s.body != "" for s in rows(database, SmsInbound)].count(True) == 2, "recent SMS"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(TwilioStreamToken)) == 4
    assert (
        purge(database, DEFAULTS, LocalFiles(tmp_path / "recordings"), now=TUESDAY)["survey_links"]
        == 0
    )


def test_a_purge_in_batches_of_one_does_the_same(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 1)
    aged(database, tmp_path)
    done = purge(database, DEFAULTS, LocalFiles(tmp_path / "recordings"), now=TUESDAY)
    assert (done["callback_attempt_numbers"], done["survey_links"]) == (1, 2)
    assert {t for t, _, _ in traces(database, NATIONAL)} == {"ticket_notes", "sms_opt_outs"}
