"""The same calls on every channel, driven as phones drive them (DESIGN §8, §12): silence as
long as the prompt, keys one at a time, a voice, hang-ups. What is checked is what the line
stored, the same rows on every channel, so a channel that behaves differently fails here.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from line_flow import NO_INPUT_SECONDS, filed_report
from script import (
    CHANNELS,
    Phone,
    PhoneFactory,
    Row,
    call_of,
    finished,
    mark_of,
    rows_of,
    until,
    until_ended,
)
from spoken_korean import said

from ivr.calls.runner import CallRunner
from ivr.channels.line import KEPT_SILENCE_SECONDS, RECORD_SILENCE_SECONDS
from ivr.storage.db import Database

SOFIA = ZoneInfo("Europe/Sofia")
DESCRIPTION = "나무가 쓰러졌어요"
AUDIO_CHANNELS = ["twilio", "sip", "browser"]
"""Channels whose prompts take time to play (the terminal prints a prompt at once: nothing
can come during it, but for the recording notice)."""
CALLER_ID_CHANNELS = ["terminal", "twilio", "gather", "sip"]
"""Channels that give the line the caller's number (the browser phone sends none: the flow
treats its calls as withheld)."""
DIALLING_CHANNELS = ["terminal", "twilio", "gather", "sip"]
"""Channels that can put a caller through (the browser cannot dial: a transfer ends its
stream, and the call ends as if the caller had hung up)."""
GIVING_UP_CHANNELS = ["terminal", "sip"]
"""Channels where `*` stops a transfer that rings (Twilio's `<Dial>` takes no key while it
rings): only there does "Connecting you…" say so."""


def first_mark(rows: list[Row], prompt: str) -> str:
    marks = [r.payload["mark"] for r in rows if r.type == "Say" and r.payload["prompt"] == prompt]
    assert marks, f"{prompt} was never said"
    return str(marks[0])


def index_of(rows: list[Row], row: Row) -> int:
    return next(i for i, r in enumerate(rows) if r is row)


def keys_after(rows: list[Row], prompt: str) -> list[str]:
    """The keys the engine was given after `prompt` was first said."""
    start = index_of(
        rows, next(r for r in rows if r.type == "Say" and r.payload["prompt"] == prompt)
    )
    return [r.payload["digits"] for r in rows[start:] if r.type == "DigitsPressed"]


def at_the_main_menu(phone: Phone) -> None:
    until(phone, "main.prompt", played=True)


def test_silence_through_a_long_prompt_is_timed_from_its_end(phone_on: PhoneFactory) -> None:
    with phone_on(caller="+359888300001") as phone:
        at_the_main_menu(phone)
        phone.silence(NO_INPUT_SECONDS + 1.0)
        rows = rows_of(phone.database, phone.call_id)
    menu = next(r for r in rows if r.type == "Say" and r.payload["prompt"] == "main.prompt")
    heard = finished(rows, menu.payload["mark"])
    assert heard is not None
    before = rows[: index_of(rows, heard)]
    assert not [r for r in before if r.type in ("NoSpeech", "TimerExpired")]
    assert not [r for r in before if r.type == "Say" and r.payload["prompt"] == "texts.no_input"]
    silence = next(
        r
        for r in rows
        if r.type == "NoSpeech" or (r.type == "TimerExpired" and r.payload["name"] == "no_input")
    )
    if phone.timing.line_clock:  # in gather mode Twilio times it, and the server sees no audio
        waited = (silence.at - menu.at).total_seconds()
        expected = phone.timing.prompt_seconds(menu) + NO_INPUT_SECONDS
        assert waited == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("phone_on", AUDIO_CHANNELS, indirect=True)
def test_a_key_during_a_prompt_cuts_it(phone_on: PhoneFactory) -> None:
    with phone_on(caller="+359888300002") as phone:
        until(phone, "main.prompt")
        phone.silence(1.0)
        phone.press("1")
        until(phone, "report_district.prompt", played=True)
        rows = rows_of(phone.database, phone.call_id)
    assert finished(rows, first_mark(rows, "main.prompt")) is None  # never played to its end
    key = next(r for r in rows if r.type == "DigitsPressed")
    district = finished(rows, mark_of(rows, "report_district.prompt"))
    assert district is not None
    # the district question played right after the key, not after the rest of the menu
    assert (district.at - key.at).total_seconds() < 4.0


def test_a_hash_after_a_one_digit_answer_does_not_reach_the_recording(
    phone_on: PhoneFactory,
) -> None:
    with phone_on(caller="+359888300003") as phone:
        at_the_main_menu(phone)
        phone.press("1")
        until(phone, "report_district.prompt", played=True)
        phone.press("3#")
        until(phone, "report_description.prompt", played=True)
        phone.silence(0.5)  # the beep
        phone.speak(said(DESCRIPTION))
        until(phone, "report_confirm.prompt")
        rows = rows_of(phone.database, phone.call_id)
    assert keys_after(rows, "report_district.prompt") == ["3"]
    [recorded] = [r for r in rows if r.type == "RecordingFinished"]
    assert recorded.payload["seconds"] > 1.0


def file_ticket(database: Database, caller: str) -> tuple[str, str]:
    """A registered report from `caller`: its registration number's 8 digits and its PIN."""
    ticket, pin = filed_report(database, caller)
    return ticket.ref.replace("-", ""), pin


# A ticket filed from the caller's own number needs the caller's number to match: on a channel
# that sends none (the browser) every caller is withheld and must give the PIN, which is the
# "other number" case; "own number" runs only where the line is given a number.
@pytest.mark.parametrize(
    ("phone_on", "own"),
    [pytest.param(c, True, id=f"{c}-own number") for c in CALLER_ID_CHANNELS]
    + [pytest.param(c, False, id=f"{c}-other number") for c in CHANNELS],
    indirect=["phone_on"],
)
def test_a_hash_after_eight_digits_does_not_reach_the_next_step(
    phone_on: PhoneFactory, own: bool
) -> None:
    caller = "+359888300004"
    with phone_on(caller=caller) as phone:
        ref, pin = file_ticket(phone.database, caller if own else "+359888399999")
        at_the_main_menu(phone)
        phone.press("3")
        until(phone, "status.prompt", played=True)
        phone.press(ref + "#")
        if not own:
            until(phone, "status.ask_pin", played=True)
            phone.press(pin)
        until(phone, "status.result")
        rows = rows_of(phone.database, phone.call_id)
    keyed = "".join(keys_after(rows, "status.prompt"))  # one key an event, or (gather) an entry
    assert "#" not in keyed and len(keyed) == 8 + (0 if own else 4)
    assert [r for r in rows if r.type == "Say" and r.payload["prompt"] == "main.prompt"][-1:] == [
        next(r for r in rows if r.type == "Say" and r.payload["prompt"] == "main.prompt")
    ]  # the main menu was said once: the "#" did not take the call back to it


def test_a_call_with_a_pin_is_rebuilt_from_its_events(phone_on: PhoneFactory) -> None:
    with phone_on(caller="+359888300005") as phone:
        ref, pin = file_ticket(phone.database, "+359888399998")
        at_the_main_menu(phone)
        phone.press("3")
        until(phone, "status.prompt", played=True)
        phone.press(ref)
        until(phone, "status.ask_pin", played=True)
        phone.press(pin)
        until(phone, "status.result")
        services_db, call_id = phone.database, phone.call_id
        rows = rows_of(services_db, call_id)
        stored = " ".join(str(r.payload) for r in rows)
        assert pin not in stored
        rebuilt = CallRunner.resume(phone.services, call_id)
        assert rebuilt.session.node == call_of(services_db, call_id).current_node


@pytest.mark.parametrize("phone_on", AUDIO_CHANNELS, indirect=True)
def test_a_description_starts_after_the_beep_and_ends_on_silence(phone_on: PhoneFactory) -> None:
    with phone_on(caller="+359888300006") as phone:
        at_the_main_menu(phone)
        phone.press("1")
        until(phone, "report_district.prompt", played=True)
        phone.press("3")
        until(phone, "report_description.prompt")
        phone.silence(0.5)
        phone.press("5")  # a key during the prompt: straight to the beep
        phone.silence(0.5)
        voice = said(DESCRIPTION)
        phone.speak(voice)
        phone.silence(RECORD_SILENCE_SECONDS + 0.5)
        until(phone, "report_confirm.prompt")
        rows = rows_of(phone.database, phone.call_id)
    [recorded] = [r for r in rows if r.type == "RecordingFinished"]
    assert recorded.payload["recording_id"] is not None
    assert 1.0 < recorded.payload["seconds"] <= len(voice) / 16000 + KEPT_SILENCE_SECONDS


# Only channels that can dial: the browser cannot put the caller through (its stream ends at
# the transfer and the call ends as a hang-up), so no transfer is ever answered, busy or
# unanswered there.
@pytest.mark.parametrize("result", ["answered", "busy", "no-answer"])
@pytest.mark.parametrize("phone_on", DIALLING_CHANNELS, indirect=True)
def test_a_transfer_is_dialled_after_its_prompt_and_its_end_is_told(
    phone_on: PhoneFactory, result: str, request: pytest.FixtureRequest
) -> None:
    with phone_on(caller="+359888300007", transfer=result) as phone:
        at_the_main_menu(phone)
        phone.press("0")
        ended = None
        if result == "answered":
            ended = until_ended(phone)
        else:
            until(phone, "callback.prompt")
        rows = rows_of(phone.database, phone.call_id)
    if phone.timing.line_clock:  # (gather mode plays it in the <Dial>'s own TwiML)
        connecting = finished(rows, mark_of(rows, "operator.prompt"))
        assert connecting is not None  # "Connecting you…" was heard in full before dialling
    [transfer] = [r for r in rows if r.type == "TransferFinished"]
    assert transfer.payload["result"] == result
    said = [r.payload["prompt"] for r in rows if r.type == "Say"]
    if ended is not None:
        assert ended.outcome == "transferred"
    else:  # busy is told as busy, just before the offer; no answer is not
        before_offer = said[said.index("callback.prompt") - 1]
        assert (before_offer == "texts.transfer_busy") == (result == "busy")
    channel = request.node.callspec.params["phone_on"]
    assert ("texts.transfer_give_up" in said) == (channel in GIVING_UP_CHANNELS)


# The terminal here; SIP's `*` is tests/sip/test_sip_calls.py's (the department's phone sees
# our CANCEL long before the transfer would ring out).
@pytest.mark.parametrize("phone_on", ["terminal"], indirect=True)
def test_star_while_a_transfer_rings_gives_up_for_the_callback_offer(
    phone_on: PhoneFactory,
) -> None:
    with phone_on(caller="+359888300009", transfer="ringing") as phone:
        at_the_main_menu(phone)
        phone.press("0")
        until(phone, "texts.transfer_give_up", played=True)
        phone.press("*")
        until(phone, "callback.prompt")
        rows = rows_of(phone.database, phone.call_id)
    [transfer] = [r for r in rows if r.type == "TransferFinished"]
    assert transfer.payload["result"] == "no-answer"
    assert "*" not in keys_after(rows, "operator.prompt")  # the line's, not the flow's


@pytest.mark.parametrize(
    ("keys", "node"),
    [
        ("", "main"),
        ("1", "report_district"),
        ("13", "report_description"),
    ],
)
def test_a_hang_up_anywhere_ends_the_call(phone_on: PhoneFactory, keys: str, node: str) -> None:
    with phone_on(caller="+359888300008", transfer="no-answer") as phone:
        at_the_main_menu(phone)
        for key in keys:
            phone.press(key)
            phone.silence(0.5)
        until(phone, f"{node}.prompt")
        phone.silence(0.5)
        phone.hang_up()
        ended = until_ended(phone, limit=5.0)
        rows = rows_of(phone.database, phone.call_id)
    assert ended.ended_at is not None and ended.current_node == node
    assert [r.type for r in rows].count("CallerHungUp") == 1
