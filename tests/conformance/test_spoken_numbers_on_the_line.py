"""Numbers said in Korean on the Media Streams line (the faithful Twilio caller, espeak-ng's
voice, real Vosk): the recogniser hands the engine the number words it heard, and the engine
reads the digits in them. The district said is on the ticket; a PIN said opens the status.

espeak-ng's Korean digits are hard to recognise (measured through μ-law with the number
grammar: of the twenty digit words, only 이, 오 and 넷 came back right every time), so the
numbers said here use those words, and the registration number is keyed.
"""

from __future__ import annotations

import pytest
from line_flow import filed_report
from script import STEP_SECONDS, Phone, PhoneFactory, mark_of, rows_of, until
from spoken_korean import said

from ivr.channels.line import RECORD_SILENCE_SECONDS
from ivr.storage.models import Ticket

DESCRIPTION = "나무가 쓰러졌어요"
MEDIA_STREAMS = ["twilio"]


def confirmed(phone: Phone, then: str, limit: float = 30.0) -> None:
    """Wait for `then`; a number read back for confirmation first ("4, 맞습니까?", as any
    number heard unsure is) is confirmed with key 1, as a caller would."""
    waited = 0.0
    while mark_of(rows := rows_of(phone.database, phone.call_id), then) is None:
        if mark_of(rows, "texts.confirm") is not None:
            until(phone, "texts.confirm", played=True)
            phone.press("1")
            break
        assert waited < limit, f"the call never said {then}"
        phone.silence(STEP_SECONDS)
        waited += STEP_SECONDS
    until(phone, then, played=True)


@pytest.mark.parametrize("phone_on", MEDIA_STREAMS, indirect=True)
def test_a_district_said_in_korean_is_on_the_ticket(phone_on: PhoneFactory) -> None:
    with phone_on(caller="+359888300201") as phone:
        until(phone, "main.prompt", played=True)
        phone.press("1")
        until(phone, "report_district.prompt", played=True)
        phone.speak(said("넷"))
        confirmed(phone, "report_description.prompt")
        phone.silence(0.5)  # the beep
        phone.speak(said(DESCRIPTION))
        phone.silence(RECORD_SILENCE_SECONDS + 0.5)
        until(phone, "report_confirm.prompt", played=True)
        phone.press("1")
        until(phone, "report_file.prompt")
        rows = rows_of(phone.database, phone.call_id)
        with phone.database.session() as db:
            [ticket] = db.query(Ticket).filter_by(call_id=phone.call_id).all()
            district, draft = ticket.district, ticket.draft
    heard = [r.payload["text"] for r in rows if r.type == "SpeechRecognized"]
    assert heard[0] == "넷", "the engine is given the words heard, and reads 4 in them"
    assert (district, draft) == (4, False)


@pytest.mark.parametrize("phone_on", MEDIA_STREAMS, indirect=True)
def test_a_pin_said_in_korean_reads_the_status_back(phone_on: PhoneFactory) -> None:
    with phone_on(caller="+359888300202") as phone:
        ticket, pin = filed_report(phone.database, "+359888399997", pin_said="4444")
        until(phone, "main.prompt", played=True)
        phone.press("3")
        until(phone, "status.prompt", played=True)
        phone.press(ticket.ref.replace("-", ""))
        until(phone, "status.ask_pin", played=True)
        phone.speak(said("넷, 넷, 넷, 넷"))
        confirmed(phone, "status.result")
        rows = rows_of(phone.database, phone.call_id)
    spoken = [r.payload for r in rows if r.type == "SpeechRecognized"]
    assert [(s["text"], s["masked"]) for s in spoken] == [("0000", True)]
    assert pin not in " ".join(str(r.payload) for r in rows)
    [result] = [r for r in rows if r.type == "Say" and r.payload["prompt"] == "status.result"]
    assert " ".join(ticket.ref.split("-")[1]) in result.payload["text"]
