"""A phone line for the callback tests: drives a CallRunner on a real database the way a
channel does (every prompt heard at once), with the demo city's flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.calls.runner import CallRunner, CallServices
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage.db import Database
from menus.registry import FlowRegistry
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
BUCHAREST = ZoneInfo("Europe/Bucharest")
TUESDAY_TEN = datetime(2026, 11, 24, 10, 0, tzinfo=BUCHAREST).astimezone(UTC)


def demo_services(database: Database, flow: Path = ROOT / "callflows.yaml") -> CallServices:
    return CallServices(database=database, flows=FlowRegistry(flow), matcher=PhraseMatcher())


class CallbackLine:
    def __init__(
        self,
        services: CallServices,
        caller: str | None,
        at: datetime = TUESDAY_TEN,
        language: str = "en",
        decline_recording: bool = False,
    ) -> None:
        self.at = at
        self.runner, self.actions = CallRunner.start(
            services, caller=caller, channel="test", at=at, language=language
        )
        if decline_recording:
            self.actions = self._press_during_notice("8")
        self.heard = self._hear()

    def _press_during_notice(self, key: str) -> list[act.Action]:
        """The prompts before the recording notice heard, then `key` while it plays."""
        for action in self.actions:
            if isinstance(action, act.Say) and action.prompt == "recording_notice.prompt":
                return self.runner.feed(ev.DigitsPressed(at=self.at, digits=key))
            if isinstance(action, act.Say):
                self.runner.feed(ev.PromptFinished(at=self.at, mark=action.mark))
        raise AssertionError("the call has no recording notice")

    def send(self, event: type[ev.Event], **fields: object) -> list[act.Action]:
        self.at += timedelta(seconds=2)
        self.actions = self.runner.feed(event(at=self.at, **fields))  # type: ignore[arg-type]
        self.heard = self._hear()
        return self.heard

    def keys(self, digits: str) -> list[act.Action]:
        return self.send(ev.DigitsPressed, digits=digits)

    def say(self, text: str) -> list[act.Action]:
        return self.send(ev.SpeechRecognized, text=text, confidence=0.95)

    def prompts(self) -> list[str]:
        return [a.prompt for a in self.heard if isinstance(a, act.Say)]

    def texts(self) -> str:
        return " ".join(a.text for a in self.heard if isinstance(a, act.Say))

    def _hear(self) -> list[act.Action]:
        heard = list(self.actions)
        for action in self.actions:
            if isinstance(action, act.Say):
                heard += self.runner.feed(ev.PromptFinished(at=self.at, mark=action.mark))
        return heard
