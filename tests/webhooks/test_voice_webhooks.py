"""The voice webhooks through Flask's test client, with signed, unsigned and forged requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator
from twilio_signing import (
    PUBLIC_URL,
    Twilio,
    call_at_main,
    new_call_sid,
    stream_token,
)

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage import calls as stored_calls
from ivr.storage import twilio as twilio_store
from ivr.storage.models import Call, Ticket


def test_an_incoming_call_starts_and_is_connected_to_our_stream(app: Flask, twilio: Twilio) -> None:
    sid = new_call_sid()
    response = twilio.post("/twilio/voice", {"CallSid": sid, "From": "+35988123456"})
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    stream = root.find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://city.example/twilio/stream"
    connect = root.find("Connect")
    assert connect is not None and connect.get("action") == "https://city.example/twilio/next"
    with app.extensions["civicline"].database.session() as db:
        call = db.get(Call, sid)
        assert call is not None and call.channel == "twilio" and call.caller == "+35988123456"
        first = twilio_store.redeem_token(db, stream_token(response.data), sid, call.started_at)
        assert first is not None and [r["type"] for r in first][:1] == ["Say"]


def test_a_token_serves_one_stream_of_its_own_call_only(app: Flask, twilio: Twilio) -> None:
    sid = new_call_sid()
    token = stream_token(twilio.post("/twilio/voice", {"CallSid": sid}).data)
    with app.extensions["civicline"].database.session() as db:
        call = db.get(Call, sid)
        assert call is not None
        assert twilio_store.redeem_token(db, token, new_call_sid(), call.started_at) is None
        assert twilio_store.redeem_token(db, "made-up", sid, call.started_at) is None
        assert twilio_store.redeem_token(db, token, sid, call.started_at) is not None
        assert twilio_store.redeem_token(db, token, sid, call.started_at) is None


def test_a_retried_voice_webhook_does_not_start_the_call_twice(app: Flask, twilio: Twilio) -> None:
    sid = new_call_sid()
    assert twilio.post("/twilio/voice", {"CallSid": sid}).status_code == 200
    again = twilio.post("/twilio/voice", {"CallSid": sid})
    assert again.status_code == 200
    with app.extensions["civicline"].database.session() as db:
        assert db.query(Call).filter_by(id=sid).count() == 1
        call = db.get_one(Call, sid)
        first = twilio_store.redeem_token(db, stream_token(again.data), sid, call.started_at)
        kinds = [row.type for row in stored_calls.call_events(db, sid)]
    assert first is not None and [r["type"] for r in first][:1] == ["Say"]  # the welcome
    assert kinds.count("CallStarted") == 1


def test_unsigned_forged_and_wrongly_addressed_requests_are_refused(
    app: Flask, twilio: Twilio, caplog: pytest.LogCaptureFixture
) -> None:
    sid = new_call_sid()
    assert twilio.post("/twilio/voice", {"CallSid": sid}, signed=False).status_code == 403
    forged = Twilio(twilio.client, token="someone-else")
    assert forged.post("/twilio/voice", {"CallSid": sid}).status_code == 403
    signature = RequestValidator(twilio.token).compute_signature(
        PUBLIC_URL + "/twilio/voice", {"CallSid": sid}
    )
    tampered = twilio.client.post(
        "/twilio/voice",
        data={"CallSid": sid, "From": "+35988000000"},
        headers={"X-Twilio-Signature": signature},
    )
    assert tampered.status_code == 403
    assert "refused an unsigned or forged Twilio request" in caplog.text
    with app.extensions["civicline"].database.session() as db:
        assert db.get(Call, sid) is None


def test_without_an_auth_token_every_request_is_refused(app: Flask, twilio: Twilio) -> None:
    app.extensions["civicline.settings"].twilio_auth_token = ""
    assert twilio.post("/twilio/voice", {"CallSid": new_call_sid()}).status_code == 403


def test_missing_or_malformed_call_sid_is_a_clean_400(twilio: Twilio) -> None:
    assert twilio.post("/twilio/voice", {"From": "+35988123456"}).status_code == 400
    assert twilio.post("/twilio/voice", {"CallSid": "CA'; drop table"}).status_code == 400
    assert twilio.post("/twilio/status", {"CallSid": "x" * 5000}).status_code == 400


def test_status_callbacks_are_kept_once_and_only_move_forward(app: Flask, twilio: Twilio) -> None:
    sid = new_call_sid()
    for status, sequence in [("in-progress", "1"), ("completed", "3"), ("ringing", "0")]:
        response = twilio.post(
            "/twilio/status", {"CallSid": sid, "CallStatus": status, "SequenceNumber": sequence}
        )
        assert response.status_code == 204
    repeated = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3"}
    assert twilio.post("/twilio/status", repeated).status_code == 204
    with app.extensions["civicline"].database.session() as db:
        assert twilio_store.call_status(db, sid) == "completed"
        assert db.query(twilio_store.TwilioCallStatus).filter_by(call_sid=sid).count() == 3
    bad = {"CallSid": sid, "CallStatus": "exploded", "SequenceNumber": "4"}
    assert twilio.post("/twilio/status", bad).status_code == 400
    assert twilio.post("/twilio/status", {**bad, "SequenceNumber": "four"}).status_code == 400


def test_a_transfer_dials_the_department_then_no_answer_returns_to_the_flow(
    app: Flask, twilio: Twilio
) -> None:
    sid, runner = call_at_main(app, twilio)
    in_office_hours = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Sofia
    actions = runner.feed(ev.DigitsPressed(at=in_office_hours, digits="0"))
    assert any(isinstance(a, act.Transfer) for a in actions)
    dial = ET.fromstring(twilio.post("/twilio/next", {"CallSid": sid}).data).find("Dial")
    assert dial is not None
    action = str(dial.get("action"))
    assert action.startswith("https://city.example/twilio/dial-result?step=")
    number = dial.find("Number")
    assert number is not None and number.text == "+35982500100"
    assert str(number.get("url")).startswith("https://city.example/twilio/whisper")
    # its answer lost, the request comes again (nginx passes it to another node)
    answers = [
        twilio.post(action.removeprefix(PUBLIC_URL), {"CallSid": sid, "DialCallStatus": status})
        for status in ("no-answer", "no-answer")
    ]
    with app.extensions["civicline"].database.session() as db:
        call = db.get(Call, sid)
        assert call is not None
        heard = [
            twilio_store.redeem_token(db, stream_token(a.data), sid, call.started_at)
            for a in answers
        ]
        kinds = [row.type for row in stored_calls.call_events(db, sid)]
    assert heard[0] is not None and heard[0] == heard[1]
    prompts = [r["payload"]["prompt"] for r in heard[0] if r["type"] == "Say"]
    assert prompts[0].startswith("callback.")  # back in the flow: the callback offer
    assert kinds.count("TransferFinished") == 1


def test_a_transfer_dials_when_its_prompts_mark_was_stored_after_it(
    app: Flask, twilio: Twilio
) -> None:
    """Twilio echoes the transfer prompt's mark once it has played, so the PromptFinished is
    stored after the Transfer action; the stream then ends and /twilio/next must dial."""
    sid, runner = call_at_main(app, twilio)
    in_office_hours = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    actions = runner.feed(ev.DigitsPressed(at=in_office_hours, digits="0"))
    [prompt] = [a for a in actions if isinstance(a, act.Say)]
    assert runner.feed(ev.PromptFinished(at=in_office_hours, mark=prompt.mark)) == []
    with app.extensions["civicline"].database.session() as db:
        assert stored_calls.call_events(db, sid)[-1].type == "PromptFinished"
    response = twilio.post("/twilio/next", {"CallSid": sid})
    dial = ET.fromstring(response.data).find("Dial")
    assert dial is not None, response.data
    number = dial.find("Number")
    assert number is not None and number.text == "+35982500100"
    after = twilio.post("/twilio/dial-result", {"CallSid": sid, "DialCallStatus": "busy"})
    assert after.status_code == 200 and stream_token(after.data)


@pytest.mark.parametrize("sequence", ["9" * 40, "2147483648", "-1", "+1", "1.0", "٣"])
def test_a_sequence_number_outside_a_32_bit_counter_is_a_clean_400(
    twilio: Twilio, sequence: str
) -> None:
    form = {"CallSid": new_call_sid(), "CallStatus": "ringing", "SequenceNumber": sequence}
    assert twilio.post("/twilio/status", form).status_code == 400


def test_the_largest_sequence_number_is_kept(app: Flask, twilio: Twilio) -> None:
    sid = new_call_sid()
    form = {"CallSid": sid, "CallStatus": "ringing", "SequenceNumber": str(2**31 - 1)}
    assert twilio.post("/twilio/status", form).status_code == 204
    with app.extensions["civicline"].database.session() as db:
        assert twilio_store.call_status(db, sid) == "ringing"


def started_report(app: Flask, twilio: Twilio) -> str:
    """A call that chose a category (so hanging up leaves a draft) and waits for a district."""
    sid, runner = call_at_main(app, twilio)
    runner.feed(ev.DigitsPressed(at=datetime.now(UTC), digits="1"))
    assert runner.session.node == "report_district"
    return sid


def hang_ups(app: Flask, sid: str) -> int:
    with app.extensions["civicline"].database.session() as db:
        rows = stored_calls.call_events(db, sid)
        return sum(1 for r in rows if r.type == "CallerHungUp")


def test_a_final_status_callback_hangs_up_a_call_in_progress_once(
    app: Flask, twilio: Twilio
) -> None:
    sid = started_report(app, twilio)
    for sequence in ("5", "5", "6"):
        form = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": sequence}
        assert twilio.post("/twilio/status", form).status_code == 204
    assert hang_ups(app, sid) == 1
    with app.extensions["civicline"].database.session() as db:
        call = db.get(Call, sid)
        assert call is not None and call.ended_at is not None and call.outcome == "draft"
        drafts = db.query(Ticket).filter_by(call_id=sid).all()
        assert [(t.draft, t.category) for t in drafts] == [(True, "fallen_tree")]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_every_final_status_ends_the_call(app: Flask, twilio: Twilio, status: str) -> None:
    sid = started_report(app, twilio)
    form = {"CallSid": sid, "CallStatus": status, "SequenceNumber": "2"}
    assert twilio.post("/twilio/status", form).status_code == 204
    assert hang_ups(app, sid) == 1


def test_a_status_callback_after_the_stream_said_the_caller_left_changes_nothing(
    app: Flask, twilio: Twilio
) -> None:
    sid = started_report(app, twilio)
    with app.extensions["civicline"].database.session() as db:
        assert twilio_store.claim_call_end(db, sid, "stream", datetime.now(UTC))
    form = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3"}
    assert twilio.post("/twilio/status", form).status_code == 204
    assert hang_ups(app, sid) == 0
    in_progress = {"CallSid": sid, "CallStatus": "in-progress", "SequenceNumber": "1"}
    assert twilio.post("/twilio/status", in_progress).status_code == 204
    with app.extensions["civicline"].database.session() as db:
        assert twilio_store.call_status(db, sid) == "completed"


def test_a_status_callback_for_an_unknown_call_is_only_kept(app: Flask, twilio: Twilio) -> None:
    sid = new_call_sid()
    form = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "1"}
    assert twilio.post("/twilio/status", form).status_code == 204
    with app.extensions["civicline"].database.session() as db:
        assert twilio_store.call_status(db, sid) == "completed"
        assert db.get(Call, sid) is None


def test_next_after_a_stream_whose_process_died_resumes_the_call_on_a_new_stream(
    app: Flask, twilio: Twilio
) -> None:
    """The stream was started (its token redeemed) and never said it ended: its process
    died, and Twilio asks the <Connect>'s action here. Its answer is lost and the request
    retried (by Twilio, or by nginx): each answer's stream would play the apology and the
    question, and Twilio opens only the last one's; the engine hears CallResumed once."""
    sid, runner = call_at_main(app, twilio, stream_dies=True)
    runner.feed(ev.DigitsPressed(at=datetime.now(UTC), digits="1"))  # the node dies here
    answers = [twilio.post("/twilio/next", {"CallSid": sid}) for _ in range(3)]
    with app.extensions["civicline"].database.session() as db:
        last = twilio_store.redeem_token(db, stream_token(answers[-1].data), sid, datetime.now(UTC))
        kinds = [row.type for row in stored_calls.call_events(db, sid)]
        said = [r.payload["prompt"] for r in stored_calls.call_events(db, sid) if r.type == "Say"]
    assert last is not None
    prompts = [r["payload"]["prompt"] for r in last if r["type"] == "Say"]
    assert prompts == ["texts.resumed", "report_district.prompt"]
    assert [r["payload"]["node"] for r in last if r["type"] == "Listen"] == ["report_district"]
    assert kinds.count("CallResumed") == 1 and said.count("texts.resumed") == 1


def test_next_after_a_resumed_stream_died_before_a_word_asks_again_without_a_second_apology(
    app: Flask, twilio: Twilio
) -> None:
    """The node that took the resumed stream died too before it played anything: the next
    stream plays the same apology and question; the engine is not told twice."""
    sid, _ = call_at_main(app, twilio, stream_dies=True)
    resumed = twilio.post("/twilio/next", {"CallSid": sid})
    with app.extensions["civicline"].database.session() as db:  # its stream starts, then dies
        assert twilio_store.redeem_token(db, stream_token(resumed.data), sid, datetime.now(UTC))
    again = twilio.post("/twilio/next", {"CallSid": sid})
    with app.extensions["civicline"].database.session() as db:
        second = twilio_store.redeem_token(db, stream_token(again.data), sid, datetime.now(UTC))
        kinds = [row.type for row in stored_calls.call_events(db, sid)]
    assert second is not None
    assert [r["payload"]["prompt"] for r in second if r["type"] == "Say"][:1] == ["texts.resumed"]
    assert kinds.count("CallResumed") == 1
