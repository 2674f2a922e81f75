"""Stored events and actions as records: rows written by older versions still load, and
what nothing produces or reads is gone."""

from __future__ import annotations

from dataclasses import fields

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.records import EVENT_TYPES, event_from_record

AT = "2026-11-24T08:00:00Z"


def test_keys_and_words_stored_before_masking_load_unmasked():
    keys = event_from_record("DigitsPressed", {"at": AT, "digits": "12#"})
    words = event_from_record("SpeechRecognized", {"at": AT, "text": "yes", "confidence": 0.9})
    assert isinstance(keys, ev.DigitsPressed) and (keys.digits, keys.masked) == ("12#", False)
    assert isinstance(words, ev.SpeechRecognized) and not words.masked


def test_a_field_an_older_version_stored_is_ignored():
    booked = event_from_record("CallbackScheduled", {"at": AT, "slot": None, "window_hours": 48})
    assert booked == event_from_record("CallbackScheduled", {"at": AT, "slot": None})


def test_dead_event_and_field_are_gone():
    assert "OutboundAnswered" not in EVENT_TYPES
    assert "window_hours" not in {f.name for f in fields(act.ScheduleCallback)}
