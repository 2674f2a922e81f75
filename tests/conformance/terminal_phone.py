"""The terminal channel (`ivr call`) as a conformance phone: the same TerminalCall, on
simulated time, keys one at a time, a voice through a WAV file and the Korean model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from script import Timing

from ivr.bootstrap import recognizer_for
from ivr.calls.runner import CallServices
from ivr.channels.terminal import Input, TerminalCall
from ivr.clock import utc_now
from ivr.recordings import Recordings
from ivr.storage.db import Database
from speech.audio import PHONE_RATE, read_wav, wav_bytes


@dataclass
class TerminalPhone:
    call: TerminalCall
    services: CallServices
    folder: Path
    transfer: str
    spoken: int = 0

    @property
    def database(self) -> Database:
        return self.services.database

    @property
    def timing(self) -> Timing:
        """Simulated line time; a prompt is heard the moment it is printed."""
        return Timing(line_clock=True, prompt_seconds=lambda row: 0.0)

    @property
    def call_id(self) -> str:
        assert self.call.runner is not None
        return self.call.runner.call_id

    def silence(self, seconds: float) -> None:
        self.call.wait(seconds)
        self._transferred()

    def listen(self) -> None:
        """Prompts are heard the moment they are printed; a notice is heard through."""
        self.call.wait(0.0)

    def press(self, keys: str, gap: float = 0.3) -> None:
        """The keys as one typed line: the terminal sends them one at a time, each before the
        prompts the one before it brought have played (as on a phone, keyed quickly)."""
        if not self.call.ended:
            self.call.answer(Input("keys", keys))
            self._transferred()

    def speak(self, pcm: bytes) -> None:
        self.spoken += 1
        path = self.folder / f"said-{self.spoken}.wav"
        path.write_bytes(wav_bytes(pcm, PHONE_RATE))
        self.call.answer(Input("wav", str(path)))
        self._transferred()

    def hang_up(self) -> None:
        if not self.call.ended:
            self.call.hang_up()

    def _transferred(self) -> None:
        """A transfer under way ends as the test chose, as soon as it rings (`ringing`: it
        rings on until the caller does something)."""
        if self.call.transferring and not self.call.ended and self.transfer != "ringing":
            self.call.answer(Input("transfer", self.transfer))


@contextmanager
def terminal_phone(
    services: CallServices, folder: Path, *, caller: str, transfer: str
) -> Iterator[TerminalPhone]:
    flow = services.flows.current().flow
    call = TerminalCall(
        services=services,
        recordings=Recordings.local(services.database, folder / "recordings"),
        show=lambda action: None,
        now=utc_now(),
        simulated=True,
        speech=lambda language: recognizer_for(flow, language),
        read_audio=lambda path: read_wav(path, PHONE_RATE),
    )
    call.start(caller=caller, language=None)
    phone = TerminalPhone(call, services, folder, transfer)
    try:
        yield phone
    finally:
        phone.hang_up()
