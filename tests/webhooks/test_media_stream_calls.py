"""A real WebSocket client speaking Media Streams to the server in a thread: the Korean test
flow, the caller's speech synthesised by espeak-ng through μ-law, recognised by real Vosk.

The client acknowledges every mark as soon as it arrives, so the call runs faster than real
time; the server's clock is the caller's audio, so nothing here waits on a timer.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import wave
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from simple_websocket import Client, ConnectionClosed
from spoken_korean import said
from twilio_phone import served
from twilio_signing import Twilio, new_call_sid

from ivr.bootstrap import live_recognizers
from ivr.channels.line import BEEP_MARK, KEPT_SILENCE_SECONDS
from ivr.storage import calls as stored_calls
from ivr.storage.models import Call, Recording, Ticket
from speech.audio import pcm_to_ulaw, ulaw_to_pcm

RECEIVE_LIMIT_SECONDS = 60  # a broken server fails the test instead of hanging it


def spoken(text: str) -> bytes:
    """`text` said by espeak-ng's Korean voice, as μ-law at 8 kHz, framed by silence."""
    return pcm_to_ulaw(said(text))


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    with served(app) as base_url:
        yield base_url.replace("http://", "ws://") + "/twilio/stream"


class Caller:
    """The Twilio side of one stream (closed by the `callers` fixture)."""

    def __init__(self, url: str, call_sid: str) -> None:
        self.ws = Client.connect(url)
        self.call_sid = call_sid
        self.sequence = 0
        self.audio_frames: list[bytes] = []
        self.marks: list[str] = []
        self.events: list[str] = []

    def send(self, event: str, **body: Any) -> None:
        self.sequence += 1
        message = {"event": event, "sequenceNumber": str(self.sequence), "streamSid": "MZ1"}
        self.ws.send(json.dumps({**message, **body}))

    def start(self, token: str) -> None:
        self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        self.send(
            "start",
            start={
                "streamSid": "MZ1",
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "customParameters": {"token": token},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        )

    def say(self, ulaw: bytes) -> None:
        for offset in range(0, len(ulaw), 160):
            payload = base64.b64encode(ulaw[offset : offset + 160]).decode()
            self.send("media", media={"track": "inbound", "payload": payload})

    def hear_prompt(self, *, acknowledge: bool = True) -> str:
        """Audio until the next mark, which is acknowledged at once unless told otherwise;
        the mark's name."""
        while True:
            text = self.ws.receive(timeout=RECEIVE_LIMIT_SECONDS)
            assert text is not None, "the server sent nothing"
            message = json.loads(text)
            assert message["streamSid"] == "MZ1"
            self.events.append(message["event"])
            if message["event"] == "media":
                self.audio_frames.append(base64.b64decode(message["media"]["payload"]))
            elif message["event"] == "mark":
                name = str(message["mark"]["name"])
                self.marks.append(name)
                if acknowledge:
                    self.acknowledge(name)
                return name

    def acknowledge(self, mark: str) -> None:
        self.send("mark", mark={"name": mark})


@pytest.fixture
def callers(server: str) -> Iterator[list[Caller]]:
    """Where a test keeps its callers: each socket is closed after the test, so no client
    thread outlives it."""
    opened: list[Caller] = []
    yield opened
    for caller in opened:
        if caller.ws.connected:
            caller.ws.close()


def dial_in(callers: list[Caller], url: str, sid: str) -> Caller:
    caller = Caller(url, sid)
    callers.append(caller)
    return caller


def node_of(app: Flask, sid: str) -> Call:
    with app.extensions["civicline"].database.session() as db:
        call = db.get(Call, sid)
        assert call is not None
        db.expunge(call)
        return call


def hear_until(app: Flask, caller: Caller, node: str, limit: int = 6) -> None:
    """Hear prompts (acknowledging each) until one of `node`'s: the server stores the node
    before it sends its prompt, and nothing moves it before the mark is acknowledged."""
    for _ in range(limit):
        mark = caller.hear_prompt(acknowledge=False)
        reached = node_of(app, caller.call_sid).current_node == node
        caller.acknowledge(mark)
        if reached:
            return
    pytest.fail(f"the call never reached {node}")


def events_of(app: Flask, sid: str) -> list[str]:
    with app.extensions["civicline"].database.session() as db:
        return [row.type for row in stored_calls.call_events(db, sid)]


def mark_of(app: Flask, sid: str, prompt: str) -> str:
    """The mark of the first Say of `prompt` in the call."""
    with app.extensions["civicline"].database.session() as db:
        for row in stored_calls.call_events(db, sid):
            if row.type == "Say" and row.payload["prompt"] == prompt:
                return str(row.payload["mark"])
    raise AssertionError(f"{prompt} was never said")


def hang_ups(app: Flask, sid: str) -> int:
    return events_of(app, sid).count("CallerHungUp")


def voice(twilio: Twilio, sid: str) -> str:
    response = twilio.post("/twilio/voice", {"CallSid": sid, "From": "+35988123456"})
    parameter = ET.fromstring(response.data).find("./Connect/Stream/Parameter")
    assert parameter is not None
    return str(parameter.get("value"))


def call_at_main_menu(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> tuple[str, Caller]:
    """A new call over a Media Stream, heard as far as the main menu: its CallSid and caller."""
    sid = new_call_sid()
    caller = dial_in(callers, server, sid)
    caller.start(voice(twilio, sid))
    hear_until(app, caller, "main")
    return sid, caller


def test_a_caller_speaks_and_keys_through_a_media_stream(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller], caplog: pytest.LogCaptureFixture
) -> None:
    idle = live_recognizers().count()
    sid, caller = call_at_main_menu(app, twilio, server, callers)
    assert len(set(caller.marks)) == len(caller.marks) >= 2
    assert caller.audio_frames and all(
        0 < len(f) <= 8000 and len(f) % 160 == 0 for f in caller.audio_frames
    )  # whole 20 ms frames, at most 1 s a message

    caller.ws.send("{not json")
    caller.send("media", media={"payload": "garbage!!"})
    caller.say(spoken("나무"))
    caller.hear_prompt()  # the district question: the menu heard "나무"
    assert node_of(app, sid).current_node == "report_district"
    assert live_recognizers().count() == idle + 1

    caller.send("dtmf", dtmf={"track": "inbound_track", "digit": "3"})
    caller.hear_prompt()
    assert node_of(app, sid).current_node == "report_description"

    caller.send("stop", stop={"accountSid": "AC1", "callSid": sid})
    with pytest.raises(ConnectionClosed):
        while True:
            caller.ws.receive(timeout=RECEIVE_LIMIT_SECONDS)
    call = node_of(app, sid)
    assert call.ended_at is not None and len(set(caller.marks)) == len(caller.marks)
    assert live_recognizers().count() == idle, "the call's recogniser is closed when it ends"
    assert "dropped without close" not in caplog.text


def test_a_stream_without_a_token_of_ours_is_refused(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    sid = new_call_sid()
    voice(twilio, sid)
    before = events_of(app, sid)
    caller = dial_in(callers, server, sid)
    caller.start("a-token-we-never-issued")
    with pytest.raises(ConnectionClosed):
        while True:
            assert caller.ws.receive(timeout=RECEIVE_LIMIT_SECONDS) is None
    assert events_of(app, sid) == before


def test_a_token_starts_one_stream_only(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    sid = new_call_sid()
    token = voice(twilio, sid)
    first = dial_in(callers, server, sid)
    first.start(token)
    first.hear_prompt()
    replay = dial_in(callers, server, sid)
    replay.start(token)
    with pytest.raises(ConnectionClosed):
        while True:
            assert replay.ws.receive(timeout=RECEIVE_LIMIT_SECONDS) is None


def hang_up_stream(caller: Caller) -> None:
    caller.send("stop", stop={"accountSid": "AC1", "callSid": caller.call_sid})
    with pytest.raises(ConnectionClosed):
        while True:
            caller.ws.receive(timeout=RECEIVE_LIMIT_SECONDS)


def test_the_stream_stop_and_the_completed_status_hang_up_once(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    sid, caller = call_at_main_menu(app, twilio, server, callers)
    hang_up_stream(caller)
    completed = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "4"}
    assert twilio.post("/twilio/status", completed).status_code == 204
    assert hang_ups(app, sid) == 1 and node_of(app, sid).ended_at is not None


def test_a_completed_status_leaves_a_live_stream_to_see_the_end_itself(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    """Two writers never feed one call: while its stream is live the status is only kept."""
    sid, caller = call_at_main_menu(app, twilio, server, callers)
    completed = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "4"}
    assert twilio.post("/twilio/status", completed).status_code == 204
    assert hang_ups(app, sid) == 0
    caller.ws.close()  # the socket goes without a stop
    deadline = time.monotonic() + RECEIVE_LIMIT_SECONDS
    while hang_ups(app, sid) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hang_ups(app, sid) == 1 and node_of(app, sid).ended_at is not None


def test_speech_during_a_prompt_clears_it_and_the_call_goes_on(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    """Barge-in: the menu prompt is still playing (its mark not yet reached) when the caller
    speaks; the server sends `clear` before anything else, and after Twilio's answer to a
    clear (the cleared prompt's mark) the call goes on with what the caller said."""
    sid = new_call_sid()
    caller = dial_in(callers, server, sid)
    caller.start(voice(twilio, sid))
    while True:
        playing = caller.hear_prompt(acknowledge=False)
        if node_of(app, sid).current_node == "main":
            break
        caller.acknowledge(playing)
    caller.say(spoken("나무"))
    first = json.loads(caller.ws.receive(timeout=RECEIVE_LIMIT_SECONDS))
    assert first == {"event": "clear", "streamSid": "MZ1"}
    caller.acknowledge(playing)  # Twilio reports the marks of the audio a clear dropped
    caller.hear_prompt()
    assert node_of(app, sid).current_node == "report_district"


def test_speech_during_the_recording_notice_does_not_cut_it(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    """The notice is heard in full (its Listen allows no barge-in): no `clear`."""
    sid = new_call_sid()
    caller = dial_in(callers, server, sid)
    caller.start(voice(twilio, sid))
    notice = mark_of(app, sid, "recording_notice.prompt")
    while caller.hear_prompt(acknowledge=False) != notice:
        caller.acknowledge(caller.marks[-1])
    caller.say(spoken("나무"))
    caller.acknowledge(notice)
    caller.hear_prompt(acknowledge=False)
    assert node_of(app, sid).current_node == "main"
    assert "clear" not in caller.events


def recordings_of(app: Flask, sid: str, kind: str) -> list[Recording]:
    with app.extensions["civicline"].database.session() as db:
        found = db.query(Recording).filter_by(call_id=sid, kind=kind).all()
        db.expunge_all()
        return found


def test_after_consent_the_whole_call_is_recorded_from_the_stream(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller], tmp_path: Path
) -> None:
    sid = new_call_sid()
    caller = dial_in(callers, server, sid)
    caller.start(voice(twilio, sid))
    hear_until(app, caller, "main")  # the notice was heard: StartCallRecording
    words = spoken("나무")
    caller.say(words)
    hear_until(app, caller, "report_district")
    hang_up_stream(caller)
    [recording] = recordings_of(app, sid, "call")
    wav = (tmp_path / "recordings" / recording.path).read_bytes()
    assert recording.sha256 == hashlib.sha256(wav).hexdigest()
    assert (recording.codec, recording.sample_rate) == ("pcm_s16le", 8000)
    assert recording.seconds == pytest.approx(len(words) / 8000)
    with wave.open(io.BytesIO(wav)) as reader:
        frames = reader.readframes(reader.getnframes())
    assert frames == ulaw_to_pcm(words)  # the prompts are silence: no prompts were built


def test_a_declined_notice_records_nothing(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    sid = new_call_sid()
    caller = dial_in(callers, server, sid)
    caller.start(voice(twilio, sid))
    caller.send("dtmf", dtmf={"track": "inbound_track", "digit": "8"})
    hear_until(app, caller, "main")
    caller.say(spoken("나무"))
    hear_until(app, caller, "report_district")
    hang_up_stream(caller)
    assert "StartCallRecording" not in events_of(app, sid)
    assert recordings_of(app, sid, "call") == []


def call_at_the_description(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> tuple[str, Caller]:
    """A new call that reports a fallen tree (key 1) in district 3, heard as far as the
    beep after the question asking to describe it: its CallSid and caller."""
    sid, caller = call_at_main_menu(app, twilio, server, callers)
    caller.send("dtmf", dtmf={"track": "inbound_track", "digit": "1"})
    hear_until(app, caller, "report_district")
    caller.send("dtmf", dtmf={"track": "inbound_track", "digit": "3"})
    hear_until(app, caller, "report_description")
    assert caller.hear_prompt() == BEEP_MARK
    return sid, caller


def test_a_description_is_kept_as_a_recording_of_its_own(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    sid, caller = call_at_the_description(app, twilio, server, callers)
    caller.say(spoken("나무 나무"))
    caller.send("dtmf", dtmf={"track": "inbound_track", "digit": "#"})
    hear_until(app, caller, "report_confirm")
    [description] = recordings_of(app, sid, "description")
    assert 0.5 < description.seconds <= len(spoken("나무 나무")) / 8000 + KEPT_SILENCE_SECONDS
    with app.extensions["civicline"].database.session() as db:
        finished = [r for r in stored_calls.call_events(db, sid) if r.type == "RecordingFinished"]
    assert finished[0].payload["recording_id"] == description.id


def test_a_hang_up_during_the_description_keeps_it_on_the_draft_ticket(
    app: Flask, twilio: Twilio, server: str, callers: list[Caller]
) -> None:
    sid, caller = call_at_the_description(app, twilio, server, callers)
    caller.say(spoken("나무가 쓰러졌어요"))
    hang_up_stream(caller)
    [description] = recordings_of(app, sid, "description")
    assert 0.5 < description.seconds <= len(spoken("나무가 쓰러졌어요")) / 8000
    with app.extensions["civicline"].database.session() as db:
        [draft] = db.query(Ticket).filter_by(call_id=sid).all()
        assert (draft.draft, draft.recording_id, draft.district) == (True, description.id, 3)
    assert hang_ups(app, sid) == 1
