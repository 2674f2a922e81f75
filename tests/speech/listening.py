"""Helpers of the recogniser tests: a real session's Listen, and audio pushed like a line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.session import CallSession
from menus.schema import Flow
from speech.audio import PHONE_RATE, SAMPLE_WIDTH
from speech.intents import PhraseMatcher
from speech.recognizer import VoskRecognizer

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CHUNK_SECONDS = 0.1


def first_listen(flow: Flow) -> act.Listen:
    """The Listen of the flow's main menu, as a real session emits it (once the caller heard
    the recording notice, whose Listen takes no barge-in)."""
    session = CallSession(flow, PhraseMatcher())
    actions = session.handle(
        ev.CallStarted(at=START, call_id="c1", caller=None, channel="test", language="ko")
    )
    listen = next(a for a in actions if isinstance(a, act.Listen))
    while not listen.barge_in:
        mark = [a for a in actions if isinstance(a, act.Say)][-1].mark
        actions = session.handle(ev.PromptFinished(at=START, mark=mark))
        listen = next(a for a in actions if isinstance(a, act.Listen))
    return listen


def push(recognizer: VoskRecognizer, pcm: bytes) -> list[tuple[float, ev.Event]]:
    """Push `pcm` in 100 ms chunks; each event with the audio second it was produced at."""
    step = int(CHUNK_SECONDS * PHONE_RATE) * SAMPLE_WIDTH
    heard: list[tuple[float, ev.Event]] = []
    for offset in range(0, len(pcm), step):
        second = (offset + step) / (PHONE_RATE * SAMPLE_WIDTH)
        at = START + timedelta(seconds=second)
        heard += [(second, e) for e in recognizer.accept(pcm[offset : offset + step], at)]
        if not recognizer.listening:
            break
    end = START + timedelta(seconds=len(pcm) / (PHONE_RATE * SAMPLE_WIDTH))
    return heard + [(len(pcm) / (PHONE_RATE * SAMPLE_WIDTH), e) for e in recognizer.finish(end)]
