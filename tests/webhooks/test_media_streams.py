"""The Media Streams codec: every message shape in, every outbound message out, and garbage."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from ivr.channels.media_streams import (
    L16,
    MULAW,
    Audio,
    Connected,
    KeyPressed,
    MarkReached,
    MediaFormat,
    Started,
    Stopped,
    StreamDecoder,
    StreamEncoder,
    StreamError,
    to_event,
)
from ivr.engine import events as ev
from speech.audio import pcm_to_ulaw, ulaw_to_pcm

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def start(encoding: str = "audio/x-mulaw", rate: int = 8000, seq: int = 1, **extra: object) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": str(seq),
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "callSid": "CA1",
                "tracks": ["inbound"],
                "customParameters": {"token": "abc"},
                "mediaFormat": {"encoding": encoding, "sampleRate": rate, "channels": 1},
                **extra,
            },
        }
    )


def media(payload: str, seq: int) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": str(seq),
            "streamSid": "MZ1",
            "media": {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": payload},
        }
    )


def started(encoding: str = MULAW, rate: int = 8000) -> StreamDecoder:
    decoder = StreamDecoder()
    assert isinstance(decoder.decode(start(encoding, rate)), Started)
    return decoder


def test_connected_then_start_gives_the_call_its_parameters_and_format() -> None:
    decoder = StreamDecoder()
    assert decoder.decode('{"event": "connected", "protocol": "Call", "version": "1.0.0"}') == (
        Connected("Call")
    )
    value = decoder.decode(start())
    assert value == Started("MZ1", "CA1", MediaFormat(MULAW, 8000), {"token": "abc"})


def test_mulaw_media_becomes_pcm() -> None:
    decoder = started()
    pcm = b"".join(n.to_bytes(2, "little", signed=True) for n in range(-8000, 8000, 100))
    wire = pcm_to_ulaw(pcm)
    value = decoder.decode(media(base64.b64encode(wire).decode(), 2))
    assert isinstance(value, Audio)
    assert value.pcm == ulaw_to_pcm(wire) and value.timestamp_ms == 20
    assert value.track == "inbound"


def test_l16_media_is_big_endian_on_the_wire() -> None:
    decoder = started(L16, 16000)
    value = decoder.decode(media(base64.b64encode(b"\x01\x02\xff\xfe").decode(), 2))
    assert value == Audio(b"\x02\x01\xfe\xff", "inbound", 20)


def test_dtmf_mark_and_stop_become_engine_events() -> None:
    decoder = started()
    key = decoder.decode('{"event": "dtmf", "sequenceNumber": "2", "dtmf": {"digit": "#"}}')
    mark = decoder.decode('{"event": "mark", "sequenceNumber": "3", "mark": {"name": "m7"}}')
    stop = decoder.decode('{"event": "stop", "sequenceNumber": "4", "stop": {}}')
    assert (key, mark, stop) == (KeyPressed("#"), MarkReached("m7"), Stopped())
    assert to_event(key, AT) == ev.DigitsPressed(at=AT, digits="#")  # type: ignore[arg-type]
    assert to_event(mark, AT) == ev.PromptFinished(at=AT, mark="m7")  # type: ignore[arg-type]
    assert to_event(stop, AT) == ev.CallerHungUp(at=AT)  # type: ignore[arg-type]
    assert to_event(Connected("Call"), AT) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event": "hello", "sequenceNumber": "2"}', "unknown event 'hello'"),
        ('{"event": "media", "sequenceNumber": "2"}', "media without a payload"),
        (media("!!not base64!!", 2), "media payload is not base64"),
        (media("AAAA\x00\x01", 2), "media payload is not base64"),
        ('{"event": "dtmf", "sequenceNumber": "2", "dtmf": {"digit": "x"}}', "not a DTMF key"),
        ('{"event": "dtmf", "sequenceNumber": "2", "dtmf": "5"}', "not a DTMF key"),
        ('{"event": "mark", "sequenceNumber": "2", "mark": {}}', "mark without a name"),
        ('{"event": "stop", "sequenceNumber": "x"}', "bad sequence number"),
        (start(seq=2), "a second start"),
    ],
)
def test_garbage_is_a_typed_error_and_the_stream_goes_on(text: str | bytes, reason: str) -> None:
    decoder = started()
    value = decoder.decode(text)
    assert isinstance(value, StreamError) and value.reason.startswith(reason)
    key = decoder.decode('{"event": "dtmf", "sequenceNumber": "9", "dtmf": {"digit": "1"}}')
    assert key == KeyPressed("1")


@pytest.mark.parametrize("kind", ["media", "dtmf", "mark", "stop"])
def test_nothing_before_start(kind: str) -> None:
    value = StreamDecoder().decode(json.dumps({"event": kind, "sequenceNumber": "1"}))
    assert value == StreamError(f"{kind!r} before start")


@pytest.mark.parametrize(
    ("fmt", "reason"),
    [
        ({"encoding": "audio/opus", "sampleRate": 48000}, "unsupported encoding"),
        ({"encoding": "audio/x-mulaw", "sampleRate": 44100}, "unsupported format"),
        ({"encoding": "audio/x-mulaw", "sampleRate": "fast"}, "bad sampleRate"),
        ({"encoding": "audio/l16", "sampleRate": 16000, "channels": 2}, "unsupported format"),
        (None, "start without a mediaFormat"),
    ],
)
def test_a_start_in_a_format_we_cannot_use_is_refused(fmt: object, reason: str) -> None:
    decoder = StreamDecoder()
    value = decoder.decode(start(mediaFormat=fmt))
    assert isinstance(value, StreamError) and value.reason.startswith(reason)
    assert decoder.started is None


def test_odd_l16_payload_is_refused() -> None:
    decoder = started(L16, 16000)
    value = decoder.decode(media(base64.b64encode(b"\x01\x02\x03").decode(), 2))
    assert value == StreamError("L16 payload with an odd number of bytes")


def test_replayed_and_out_of_order_messages_are_refused() -> None:
    decoder = started()
    silence = base64.b64encode(b"\xff" * 160).decode()
    assert isinstance(decoder.decode(media(silence, 3)), Audio)
    assert decoder.decode(media(silence, 3)) == StreamError(
        "sequence number 3 replayed or out of order"
    )
    assert isinstance(decoder.decode(media(silence, 2)), StreamError)
    assert isinstance(decoder.decode(media(silence, 4)), Audio)


def test_nothing_after_stop() -> None:
    decoder = started()
    assert decoder.decode('{"event": "stop", "sequenceNumber": "2"}') == Stopped()
    value = decoder.decode('{"event": "dtmf", "sequenceNumber": "3", "dtmf": {"digit": "1"}}')
    assert value == StreamError("'dtmf' after stop")


def test_a_prompt_goes_out_as_whole_20_ms_mulaw_frames_then_its_mark() -> None:
    encoder = StreamEncoder("MZ1", MediaFormat(MULAW, 8000))
    pcm = b"\x10\x00" * 400  # 50 ms
    messages = [json.loads(m) for m in encoder.prompt(pcm, "m3")]
    frames = [base64.b64decode(m["media"]["payload"]) for m in messages[:-1]]
    assert [len(f) for f in frames] == [480]  # three frames, the last padded
    assert frames[0][:400] == pcm_to_ulaw(pcm)
    assert frames[0][400:] == pcm_to_ulaw(b"\0\0") * 80
    assert all(m["event"] == "media" and m["streamSid"] == "MZ1" for m in messages[:-1])
    assert messages[-1] == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "m3"}}


def test_a_prompt_in_l16_at_16_khz_for_the_browser() -> None:
    encoder = StreamEncoder("MZ2", MediaFormat(L16, 16000))
    messages = [json.loads(m) for m in encoder.prompt(b"\x01\x02" * 320, "m1")]
    frames = [base64.b64decode(m["media"]["payload"]) for m in messages[:-1]]
    assert [len(f) for f in frames] == [640]
    assert frames[0][:2] == b"\x02\x01"
    assert messages[-1]["mark"] == {"name": "m1"}


def test_a_long_prompt_goes_out_in_messages_of_at_most_one_second() -> None:
    encoder = StreamEncoder("MZ1", MediaFormat(MULAW, 8000))
    pcm = bytes(range(256)) * 160  # 2.56 s
    messages = [json.loads(m) for m in encoder.prompt(pcm, "m4")]
    chunks = [base64.b64decode(m["media"]["payload"]) for m in messages[:-1]]
    assert [len(c) for c in chunks] == [8000, 8000, 4480]
    assert b"".join(chunks)[: len(pcm) // 2] == pcm_to_ulaw(pcm)
    assert messages[-1]["event"] == "mark"


def test_an_empty_prompt_is_only_its_mark() -> None:
    encoder = StreamEncoder("MZ1", MediaFormat(MULAW, 8000))
    assert [json.loads(m)["event"] for m in encoder.prompt(b"", "m2")] == ["mark"]


def test_barge_in_clears_the_audio_sent() -> None:
    encoder = StreamEncoder("MZ1", MediaFormat(MULAW, 8000))
    assert json.loads(encoder.clear()) == {"event": "clear", "streamSid": "MZ1"}


def test_what_the_encoder_sends_the_decoder_reads_back() -> None:
    fmt = MediaFormat(L16, 16000)
    pcm = bytes(range(256)) * 5
    decoder = started(L16, 16000)
    sent = StreamEncoder("MZ1", fmt).prompt(pcm, "m")
    received = b""
    for seq, message in enumerate(sent[:-1], start=2):
        value = decoder.decode(media(json.loads(message)["media"]["payload"], seq))
        assert isinstance(value, Audio)
        received += value.pcm
    assert received[: len(pcm)] == pcm


def test_messages_of_another_stream_are_refused() -> None:
    decoder = started()
    silence = base64.b64encode(b"\xff" * 160).decode()
    foreign = json.loads(media(silence, 2)) | {"streamSid": "MZ2"}
    assert decoder.decode(json.dumps(foreign)) == StreamError("'media' of another stream 'MZ2'")
    assert isinstance(decoder.decode(media(silence, 3)), Audio)
