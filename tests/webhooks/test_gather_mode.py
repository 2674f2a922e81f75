"""Gather mode through the signed webhooks: the Korean test flow with `twilio_mode: gather`,
Twilio's own recognition posted back as SpeechResult/Confidence/Digits, and the TwiML read
back as XML. The same engine as a Media Stream call; Twilio keeps the time."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from gather_calls import GatherCall
from twilio_signing import Twilio, gather_flow, new_call_sid

from ivr.config import Settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    settings.flow_path = gather_flow(tmp_path)
    return settings


def test_a_call_is_driven_by_gather_with_twilio_speech_keys_and_a_recording(
    app: Flask, twilio: Twilio
) -> None:
    call = GatherCall(app, twilio)
    notice = call.gather
    assert notice.get("input") == "dtmf speech" and notice.get("language") == "ko-KR"
    assert notice.get("bargeIn") == "false"  # the notice is heard in full
    assert notice.get("actionOnEmptyResult") == "true" and notice.get("numDigits") == "1"
    assert "아니요" in str(notice.get("hints"))
    assert len(call.said()) == 2 and all(s.get("language") == "ko-KR" for s in notice)

    call.answer()  # nothing said during the notice: heard, accepted
    assert call.node() == "main" and "StartCallRecording" in call.stored()
    menu = call.gather
    assert menu.get("bargeIn") is None and "나무" in str(menu.get("hints"))
    assert menu.get("finishOnKey") == "" and menu.get("timeout") == "6"

    call.answer(SpeechResult="나무", Confidence="0.91")
    assert call.node() == "report_district"
    query = parse_qs(urlsplit(str(call.gather.get("action"))).query)
    assert query["digits"] == ["1"] and query["mark"][0].startswith("m")

    call.answer(Digits="3")
    record = call.root.find("Record")
    assert call.node() == "report_description" and record is not None
    assert str(record.get("recordingStatusCallback")).endswith("/twilio/recording?kind=description")
    assert record.get("maxLength") == "60"

    call.answer(RecordingDuration="12", RecordingUrl="https://api.twilio.com/x")
    assert call.node() == "report_confirm"
    assert any("구역 3" in text for text in call.said())
    assert "RecordingFinished" in call.stored()


def twilio_keys(gather: ET.Element, keys: str) -> tuple[str, str]:
    """What Twilio posts as Digits when `keys` are pressed one at a time at this Gather, and
    the keys left for the next verb: it stops at finishOnKey (not posted; "#" unless set) or
    once it has numDigits keys."""
    finish, limit = gather.get("finishOnKey", "#"), int(gather.get("numDigits") or 0)
    taken = ""
    for i, key in enumerate(keys):
        if finish and key == finish:
            return taken, keys[i + 1 :]
        taken += key
        if len(taken) == limit:
            return taken, keys[i + 1 :]
    return taken, ""


def test_digits_then_hash_at_a_one_digit_node_leave_no_key_for_the_recording(
    app: Flask, twilio: Twilio
) -> None:
    call = GatherCall(app, twilio)
    call.answer()
    call.answer(Digits="1")
    assert call.node() == "report_district"
    digits, left = twilio_keys(call.gather, "3#")
    assert (digits, left) == ("3", "")
    call.answer(Digits=digits)
    assert call.node() == "report_description" and call.root.find("Record") is not None


def test_silence_is_no_speech_and_a_low_confidence_is_no_match(app: Flask, twilio: Twilio) -> None:
    call = GatherCall(app, twilio)
    call.answer()
    call.answer()  # Twilio's timeout at the main menu
    assert "NoSpeech" in call.stored() and call.node() == "main"
    assert call.said()[0] == "잘 듣지 못했습니다."
    call.answer(SpeechResult="나무", Confidence="0.2")
    assert call.said()[0] == "이해하지 못했습니다." and call.node() == "main"


def test_the_decline_key_during_the_notice_means_no_call_recording(
    app: Flask, twilio: Twilio
) -> None:
    call = GatherCall(app, twilio)
    call.answer(Digits="8")
    assert call.node() == "main" and "StartCallRecording" not in call.stored()


def test_a_retried_voice_webhook_asks_the_current_question_again(
    app: Flask, twilio: Twilio
) -> None:
    call = GatherCall(app, twilio)
    call.answer()
    menu = call.said()
    call.root = call._post("/twilio/voice", {"From": "+35988123456"})
    assert call.said() == menu and call.node() == "main"
    call.answer(Digits="1")
    assert call.node() == "report_district"


def test_garbage_and_unsigned_answers(app: Flask, twilio: Twilio) -> None:
    call = GatherCall(app, twilio)
    action = urlsplit(str(call.gather.get("action")))
    path = f"{action.path}?{action.query}"
    unsigned = twilio.post(path, {"CallSid": call.sid}, signed=False)
    assert unsigned.status_code == 403
    bad_digits = twilio.post("/twilio/gather?digits=x", {"CallSid": call.sid})
    assert bad_digits.status_code == 400
    unknown = twilio.post("/twilio/gather?digits=1", {"CallSid": new_call_sid()})
    assert unknown.status_code == 404
    call.answer()
    call.answer(SpeechResult="나무" * 5000, Confidence="nan")
    assert call.said()[0] == "이해하지 못했습니다."
    call.answer(Digits="ab")  # no key in it: nothing pressed
    assert call.said()[0] == "잘 듣지 못했습니다." and call.node() == "main"


def test_a_call_that_ended_answers_hang_up(app: Flask, twilio: Twilio) -> None:
    call = GatherCall(app, twilio)
    form = {"CallSid": call.sid, "CallStatus": "completed", "SequenceNumber": "9"}
    assert twilio.post("/twilio/status", form).status_code == 204
    call.answer(Digits="1")
    assert call.root.find("Hangup") is not None


def test_a_retried_answer_is_answered_alike_and_taken_once(app: Flask, twilio: Twilio) -> None:
    """The answer to a Gather's or Record's action is lost and the request comes again (nginx
    passes it to another node): the same question back, the caller's answer taken once."""
    call = GatherCall(app, twilio)
    call.answer()
    call.answer(Digits="1")
    district = call.gather
    asked = ET.tostring(call.root)
    call.answer(Digits="3")
    description = ET.tostring(call.root)
    call.root = ET.fromstring(asked)  # the district's answer lost: Twilio asks again
    call.answer(Digits="3")
    assert ET.tostring(call.root) == description and call.node() == "report_description"
    assert call.stored().count("DigitsPressed") == 2  # "1" and "3", each once
    call.answer(RecordingDuration="12", RecordingUrl="https://api.twilio.com/x")
    confirm = ET.tostring(call.root)
    call.root = ET.fromstring(description)
    call.answer(RecordingDuration="12", RecordingUrl="https://api.twilio.com/x")
    assert ET.tostring(call.root) == confirm and call.stored().count("RecordingFinished") == 1
    assert district.get("action") != call.gather.get("action"), "each question its own step"


def test_a_retried_confirmation_never_reads_a_redacted_pin(app: Flask, twilio: Twilio) -> None:
    """The answer that filed the report (its number and PIN said) is lost and the request
    comes again: the sentence with the PIN, stored redacted, is left out of the repeat (the
    number also goes by SMS), the rest is said again."""
    call = GatherCall(app, twilio)
    for answer in ({}, {"Digits": "1"}, {"Digits": "3"}):
        call.answer(**answer)
    call.answer(RecordingDuration="12", RecordingUrl="https://api.twilio.com/x")
    confirm = ET.tostring(call.root)
    call.answer(Digits="1")
    filed = call.said()
    assert "TicketCreated" in call.stored() and not any("redacted" in text for text in filed)
    call.root = ET.fromstring(confirm)
    call.answer(Digits="1")
    again = call.said()
    assert call.stored().count("TicketCreated") == 1
    assert not any("redacted" in text for text in again)
    assert again and all(text in filed for text in again), "the rest is said again"
