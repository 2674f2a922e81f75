"""Twilio repeats its callbacks: each status, call end and recording is kept once, on SQLite
and on PostgreSQL (where the driver's rowcount cannot tell an ignored insert)."""

from datetime import UTC, datetime

from ivr.storage import twilio as twilio_store
from ivr.storage.db import Database

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_repeated_status_callback_is_kept_once(any_database: Database) -> None:
    with any_database.session() as db:
        assert twilio_store.record_status(db, "CA1", 3, "completed", AT)
    with any_database.session() as db:
        assert not twilio_store.record_status(db, "CA1", 3, "completed", AT)
        assert twilio_store.record_status(db, "CA1", 4, "completed", AT)


def test_only_the_first_to_say_the_call_ended_claims_it(any_database: Database) -> None:
    with any_database.session() as db:
        assert twilio_store.claim_call_end(db, "CA1", "stream", AT)
    with any_database.session() as db:
        assert not twilio_store.claim_call_end(db, "CA1", "status", AT)


def test_a_repeated_recording_callback_queues_one_download(any_database: Database) -> None:
    with any_database.session() as db:
        assert twilio_store.record_recording(db, "RE1", "CA1", "dial", "completed", AT)
    with any_database.session() as db:
        assert not twilio_store.record_recording(db, "RE1", "CA1", "dial", "completed", AT)
