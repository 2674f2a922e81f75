"""The whole-call recorder: the caller's audio is the timeline, prompts play where they
start, a clear drops what had not played; one mono 16-bit WAV."""

from __future__ import annotations

import io
import wave

import numpy as np

from ivr.channels.call_recording import CallRecorder


def pcm(value: int, samples: int) -> bytes:
    return np.full(samples, value, dtype="<i2").tobytes()


def samples_of(wav: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (
            1,
            2,
            8000,
        )
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")


def test_prompts_queue_after_each_other_and_mix_with_the_caller() -> None:
    recorder = CallRecorder(8000)
    recorder.said(pcm(1000, 160))  # sent at 0: plays 0-160
    recorder.said(pcm(2000, 160))  # queued: plays 160-320
    recorder.heard(pcm(10, 400))
    mixed = samples_of(recorder.wav())
    assert len(mixed) == 400 and recorder.seconds == 400 / 8000
    assert set(mixed[:160]) == {1010} and set(mixed[160:320]) == {2010}
    assert set(mixed[320:]) == {10}


def test_a_prompt_sent_later_starts_when_it_was_sent() -> None:
    recorder = CallRecorder(8000)
    recorder.heard(pcm(0, 100))
    recorder.said(pcm(500, 50))
    recorder.heard(pcm(0, 200))
    mixed = samples_of(recorder.wav())
    assert set(mixed[:100]) == {0} and set(mixed[100:150]) == {500} and set(mixed[150:]) == {0}


def test_a_clear_drops_what_had_not_played_and_loud_sums_saturate() -> None:
    recorder = CallRecorder(8000)
    recorder.said(pcm(30000, 1000))
    recorder.heard(pcm(30000, 100))
    recorder.cleared()  # barge-in after 100 samples
    recorder.heard(pcm(0, 100))
    mixed = samples_of(recorder.wav())
    assert set(mixed[:100]) == {32767} and set(mixed[100:]) == {0}
