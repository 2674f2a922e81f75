"""A PIN entry stored redacted still rebuilds the call exactly: the engine reads only how
many digits were keyed or said at a PIN prompt, so zeros stand in for them."""

from __future__ import annotations

import pytest
from phone import DEMO, Phone, local, owned_ticket_store

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.records import event_from_record, to_record
from ivr.engine.session import CallSession
from speech.intents import PhraseMatcher

STRANGER = "+40733000000"
AT = local("2026-11-24T10:00")


def stored(events: list[ev.Event]) -> list[ev.Event]:
    """The events as the shell stores them (`CallRunner._storable`), read back."""
    session = CallSession(DEMO, PhraseMatcher())
    kept = []
    for event in events:
        secret = isinstance(event, ev.DigitsPressed | ev.SpeechRecognized)
        storable = event.redacted() if secret and session.collecting_secret else event
        kept.append(event_from_record(*to_record(storable)))
        session.handle(event)
    return kept


def replays_alike(phone: Phone) -> None:
    """Replaying the stored events gives the same actions, as they are stored, and state."""
    replayed = CallSession(DEMO, PhraseMatcher())
    actions = [a for e in stored(phone.events) for a in replayed.handle(e)]
    assert [a.redacted() for a in actions] == [a.redacted() for a in phone.log]
    assert (replayed.node, replayed.outcome) == (phone.node, phone.session.outcome)


def test_keys_of_a_pin_are_stored_as_zeros_marked_redacted():
    keyed = ev.DigitsPressed(at=AT, digits="12*3#").redacted()
    assert (keyed.digits, keyed.masked) == ("00*0#", True)
    assert not ev.DigitsPressed(at=AT, digits="1").masked


def test_a_spoken_pin_keeps_only_how_many_digits_it_had():
    heard = ev.SpeechRecognized(
        at=AT, text="one 2 3 4 ٥ 5", confidence=0.7, alternatives=(("1 2 3 4", 0.2),)
    ).redacted()
    assert (heard.text, heard.confidence, heard.alternatives, heard.masked) == (
        "0000",
        0.7,
        (),
        True,
    )


def test_a_call_with_a_wrong_then_right_pin_replays_from_its_stored_events():
    phone = Phone(caller=STRANGER, store=owned_ticket_store()).press("2").press("26999999")
    phone.press("9999").press("12").press("34")
    assert "is registered" in phone.texts()[0]
    pins = [e for e in stored(phone.events) if isinstance(e, ev.DigitsPressed) and e.masked]
    assert [e.digits for e in pins] == ["0000", "00", "00"]
    replays_alike(phone)


def test_a_back_key_during_a_pin_entry_replays_as_back():
    phone = Phone(caller=STRANGER, store=owned_ticket_store()).press("2").press("26999999")
    phone.press("1*")
    assert phone.node == "main"
    replays_alike(phone)


@pytest.mark.parametrize("answer", ["1", "yes"])
def test_a_spoken_pin_confirmed_replays_from_its_stored_events(answer: str):
    phone = Phone(caller=STRANGER, store=owned_ticket_store()).press("2").press("26999999")
    phone.say("1 2 3 4", confidence=0.5)
    assert phone.prompts() == ["texts.confirm"]
    phone.press(answer) if answer.isdigit() else phone.say(answer)
    assert "is registered" in phone.texts()[0]
    assert phone.of(act.CheckTicketPin)[-1].pin == "1234"
    replays_alike(phone)
