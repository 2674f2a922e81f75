"""Announcements and closures given at CallStarted: said once before the main menu (or the
after-hours menu), any key skips them without choosing anything, each counted as heard or
skipped; a closure closes a department for the call; both replay from the stored event."""

from __future__ import annotations

from phone import CALLER, DEMO, TUESDAY_MORNING

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.announcements import Announcement
from ivr.engine.records import event_from_record, to_record
from ivr.engine.session import CallSession, Mode
from routing.closures import Closure
from speech.intents import PhraseMatcher

WATER = Announcement(
    id=1, texts={"en": "The water is cut.", "ro": "Apa e oprită."}, placement="main"
)
NIGHT = Announcement(
    id=2, texts={"en": "Burst pipe? Call 0800.", "ro": "Țeavă spartă?"}, placement="after_hours"
)
STAFF_DAY = Closure(day=TUESDAY_MORNING.date(), reason="staff day", department="public_relations")


def _started(**given) -> tuple[CallSession, list[act.Action]]:
    """A call in English, its prompts heard and timers run out until it reaches the main
    menu (or its announcements); the actions of the last step."""
    session = CallSession(DEMO, PhraseMatcher())
    started = ev.CallStarted(
        at=TUESDAY_MORNING, call_id="c", caller=CALLER, channel="test", language="en", **given
    )
    actions = session.handle(started)
    while not (session.node == "main" or session.mode is Mode.ANNOUNCING):
        said = [a for a in actions if isinstance(a, act.Say)]
        timers = [a for a in actions if isinstance(a, act.StartTimer)]
        if said:
            actions = session.handle(ev.PromptFinished(at=TUESDAY_MORNING, mark=said[-1].mark))
        else:
            actions = session.handle(ev.TimerExpired(at=TUESDAY_MORNING, name=timers[0].name))
    return session, actions


def _prompts(actions: list[act.Action]) -> list[str]:
    return [a.prompt for a in actions if isinstance(a, act.Say)]


def test_an_announcement_is_said_before_the_main_menu_and_a_key_skips_it_choosing_nothing():
    session, actions = _started(announcements=(WATER, NIGHT))
    assert _prompts(actions)[-1] == "@announcement.1" and session.mode is Mode.ANNOUNCING
    assert "@announcement.2" not in _prompts(actions)
    assert session.handle(ev.SpeechRecognized(at=TUESDAY_MORNING, text="status")) == []
    skipped = session.handle(ev.DigitsPressed(at=TUESDAY_MORNING, digits="2"))
    assert skipped[0] == act.CountAnnouncements(ids=(1,), skipped=True)
    assert _prompts(skipped) == ["main.prompt"] and session.node == "main"
    assert not [a for a in skipped if isinstance(a, act.LookupTicket)]
    again = session.handle(ev.DigitsPressed(at=TUESDAY_MORNING, digits="#"))  # main menu
    assert _prompts(again) == ["main.prompt"]


def test_an_announcement_heard_to_its_end_is_counted_and_the_menu_follows():
    session, actions = _started(announcements=(WATER,))
    mark = [a for a in actions if isinstance(a, act.Say)][-1].mark
    heard = session.handle(ev.PromptFinished(at=TUESDAY_MORNING, mark=mark))
    assert heard[0] == act.CountAnnouncements(ids=(1,), skipped=False)
    assert _prompts(heard) == ["main.prompt"]


def test_a_call_resumed_during_its_announcements_hears_the_apology_and_the_menu():
    session, _ = _started(announcements=(WATER,))
    resumed = session.handle(ev.CallResumed(at=TUESDAY_MORNING))
    assert act.CountAnnouncements(ids=(1,), skipped=True) in resumed
    assert _prompts(resumed)[-1] == "main.prompt" and session.node == "main"


def test_a_closure_sends_the_operator_to_the_after_hours_menu_with_its_announcement():
    session, _ = _started(announcements=(NIGHT,))
    assert [a for a in session.handle(ev.DigitsPressed(at=TUESDAY_MORNING, digits="0"))
            if isinstance(a, act.Transfer)]  # fmt: skip
    session, _ = _started(announcements=(NIGHT,), closures=(STAFF_DAY,))
    closed = session.handle(ev.DigitsPressed(at=TUESDAY_MORNING, digits="0"))
    assert _prompts(closed) == ["@announcement.2"] and session.mode is Mode.ANNOUNCING
    mark = [a for a in closed if isinstance(a, act.Say)][-1].mark
    menu = session.handle(ev.PromptFinished(at=TUESDAY_MORNING, mark=mark))
    assert _prompts(menu) == ["after_hours.prompt"]


def test_call_started_with_announcements_and_closures_replays_from_its_record():
    started = ev.CallStarted(
        at=TUESDAY_MORNING,
        call_id="c",
        caller=None,
        channel="test",
        announcements=(WATER, NIGHT),
        closures=(STAFF_DAY,),
    )
    assert event_from_record(*to_record(started)) == started
