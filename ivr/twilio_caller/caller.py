"""The faithful Twilio caller: Twilio's side of a phone call, driving a running `ivr serve`
as Twilio does, for tests and for trying a line without a Twilio account.

    with TwilioCaller("http://127.0.0.1:8080", auth_token=TOKEN, speed=20) as phone:
        phone.dial()         # POST /twilio/voice, then its TwiML
        phone.listen()       # silent until the prompts have played (marks echoed)
        phone.press("1")
        phone.listen()

Every webhook is signed with the account's auth token (`webhooks`) and carries
the call's CallSid, AccountSid, From, To, CallStatus and Direction; the TwiML is carried out
verb by verb (`twiml`: `<Connect><Stream>` in `stream`, the others
in `verbs`) on the line clock of `line`, where a script's steps
(this module) put frames, keys and words. What happened is in `transcript`. The steps are
`Caller`'s, shared with the browser phone's caller (`browser`), which drives another call.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from websockets.exceptions import ConnectionClosed

from ivr.twilio_caller.dial import DialLeg
from ivr.twilio_caller.line import (
    MULAW_8K,
    SILENT,
    VOICE_RATE,
    CallerError,
    CallOver,
    Entry,
    Fetched,
    Frame,
    Heard,
    Leg,
    LineCall,
    LineClock,
    Listened,
    MediaFormat,
    Pressed,
    Spoke,
    Transcript,
    Words,
    frames_in,
)
from ivr.twilio_caller.stream import StreamLeg
from ivr.twilio_caller.twiml import Line, TwimlCall
from ivr.twilio_caller.verbs import SAY_SECONDS_PER_CHARACTER
from ivr.twilio_caller.webhooks import Webhooks
from speech.audio import AudioError, read_wav, seconds

log = logging.getLogger(__name__)

DTMF_KEYS = frozenset("0123456789*#")
CITY_LINE = "+40215550100"
"""The number called when none is given: a placeholder for the city's Twilio number."""
MAX_LISTEN_SECONDS = 600.0
"""A `listen()` still hearing prompts after this much line time fails (a looping IVR)."""


class Caller:
    """A script's steps on one call (silence, keys, a voice, a hang-up), put on the line clock
    frame by frame and sent to the leg the call is on; a context manager that hangs up and
    frees its sockets and threads on the way out, failures included. Who places the call, and
    how, is the `LineCall`'s: Twilio's TwiML (`TwilioCaller`) or the browser phone's page."""

    def __init__(
        self,
        call: LineCall,
        clock: LineClock,
        transcript: Transcript,
        *,
        media_format: MediaFormat,
        voice: str,
        settle: float,
        patience: float,
        timeout: float,
    ) -> None:
        """`media_format`: how the caller's voice goes on a stream's wire; the rest as
        `TwilioCaller` says."""
        self.voice, self.settle, self.patience, self.timeout = voice, settle, patience, timeout
        self.media_format = media_format
        self.transcript = transcript
        self._clock = clock
        self._call = call

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if error is None:
                self.hang_up()
            else:
                self._hang_up_after(error)
        finally:
            self._call.close()

    @property
    def call_sid(self) -> str:
        return self._call.call_sid

    @property
    def ended(self) -> bool:
        return self._call.state == "over"

    @property
    def ended_by(self) -> str | None:
        """ "caller", "ivr" (its TwiML, or the server ending the stream) or "twilio" (after an
        application error)."""
        return self._call.ended_by

    @property
    def line_seconds(self) -> float:
        """Line time since the call was dialled."""
        return self._clock.line

    def dial(self) -> None:
        """The call arrives (Twilio: POST /twilio/voice with CallStatus ringing, then its TwiML
        carried out), up to its first leg: a stream is opened and started; `listen` hears it."""
        if self._call.state != "new":
            raise CallerError("this call was dialled already")
        self._clock.resume()
        self._call.dial()

    def listen(self, seconds: float | None = None, *, reply: bool = False) -> None:
        """Stay silent: `seconds` of line time; or, without them, until every prompt sent so far
        has played and, given `settle` seconds, the IVR says no more. With `reply`, first until
        the IVR says something new (its no-input prompt, the next TwiML), at most `patience`
        seconds. A call that ends meanwhile ends the listening."""
        self._step()
        start = self._clock.line
        if seconds is not None:
            for _ in range(frames_in(seconds)):
                if not self._frame(SILENT):
                    break
        else:
            self._until_quiet(reply)
        self.transcript.add(Listened(start, round(self._clock.line - start, 6)))

    def press(self, keys: str, gap: float = 0.3) -> None:
        """Keys one at a time, `gap` seconds of silence between two, as on a keypad."""
        if not keys or set(keys) - DTMF_KEYS:
            raise ValueError(f"not keys: {keys!r}")
        self._step()
        for index, digit in enumerate(keys):
            if index:
                self._voice([SILENT] * frames_in(gap), what=f"key {digit}")
            self.transcript.add(Pressed(self._clock.line, digit))
            self._send(digit, what=f"key {digit}")

    def say(self, text: str, confidence: float = 0.9) -> None:
        """Say `text`. On a Media Stream, espeak-ng's `voice` says it into the line (at 8 kHz,
        then in the stream's format); elsewhere (gather mode) Twilio's recogniser hears it: the
        words take as long as Twilio would take to say them, then Twilio reports SpeechResult
        `text`, `confidence`."""
        self._step()
        if isinstance(self._call.current(), StreamLeg):
            self._speak(synthesized(text, self.voice, self.timeout), text)
            return
        length = len(text) * SAY_SECONDS_PER_CHARACTER
        self.transcript.add(Spoke(self._clock.line, round(length, 3), text))
        self._voice([Frame(voiced=True)] * frames_in(length), what=repr(text))
        self._send(Words(text, confidence), what=repr(text))

    def speak(self, pcm: bytes) -> None:
        """A voice: 16-bit mono PCM at 8 kHz, sent as frames of the line's format."""
        self._step()
        self._speak(pcm, "")

    def hang_up(self, *, status_first: bool = False) -> None:
        """The caller hangs up (again: nothing): the stream hears `stop`, a `<Record>` or
        `<Dial>` under way posts its action, then the status callback (before all that with
        `status_first`: at Twilio the callback and the stream's `stop` race)."""
        if self._call.state == "live":
            self._clock.resume()
            self._call.hang_up(status_first=status_first)

    def summary(self) -> dict[str, Any]:
        heard = [h for h in self.transcript.of(Heard) if not h.cut]
        return {
            "call_sid": self.call_sid,
            "seconds": self._clock.line,
            "ended_by": self.ended_by,
            "prompts_heard": len(heard),
            "heard_seconds": round(sum(h.seconds for h in heard), 3),
            "webhooks": len(self.transcript.of(Fetched)),
        }

    def _step(self) -> None:
        if self._call.state == "new":
            raise CallerError("dial() first")
        if self.ended:
            raise CallOver(f"the call is over: hung up by {self.ended_by}")
        self._clock.resume()

    def _speak(self, pcm: bytes, text: str) -> None:
        self.transcript.add(Spoke(self._clock.line, round(seconds(pcm, VOICE_RATE), 3), text))
        frames = [Frame(wire, voiced=True) for wire in self.media_format.frames(pcm)]
        self._voice(frames, what=repr(text) if text else "the voice")

    def _voice(self, frames: list[Frame], *, what: str) -> None:
        """Frames the caller means to send: the call ending first is an error."""
        for frame in frames:
            if not self._frame(frame):
                raise CallOver(f"the call ended before {what} was sent")

    def _frame(self, frame: Frame) -> bool:
        """One frame on the line (to the leg that takes it); False once the call is over."""
        if self._call.current() is None:
            return False
        self._clock.tick()
        while (leg := self._call.current()) is not None:
            if leg.frame(frame):
                return True
        return False

    def _send(self, sent: str | Words, *, what: str) -> None:
        """A key or words between two frames, to the leg that takes them."""
        while (leg := self._call.current()) is not None:
            if leg.key(sent) if isinstance(sent, str) else leg.words(sent):
                return
        raise CallOver(f"the call ended before {what} was sent")

    def _until_quiet(self, reply: bool) -> None:
        limit = self._clock.line + MAX_LISTEN_SECONDS
        leg: Leg | None = self._call.current()
        if reply and leg is not None:
            leg.expect_reply(self._clock.line + self.patience)
        while (leg := self._call.current()) is not None:
            if leg.busy():
                if self._clock.line >= limit:
                    raise CallerError(f"the IVR still played after {MAX_LISTEN_SECONDS:.0f} s")
                self._frame(SILENT)
            elif not leg.settle(self.settle):
                return

    def _hang_up_after(self, error: BaseException) -> None:
        """The script failed: the call still ends as a caller's would, and a failure to end
        it is logged, not raised over the script's own."""
        try:
            self.hang_up()
        except (CallerError, ConnectionClosed, OSError) as failure:
            log.warning(
                "call %s (failed: %s) was not hung up cleanly: %s", self.call_sid, error, failure
            )


class TwilioCaller(Caller):
    """One inbound call placed the way Twilio places it, driven by a script's steps."""

    def __init__(
        self,
        base_url: str,
        *,
        auth_token: str,
        caller: str = "+40722111222",
        to: str = CITY_LINE,
        speed: float = 1.0,
        public_url: str | None = None,
        account_sid: str | None = None,
        voice: str = "en",
        settle: float = 0.5,
        patience: float = 10.0,
        talk_seconds: float = 10.0,
        dial_outcome: str = "answered",
        timeout: float = 10.0,
        observe: Callable[[Entry], None] | None = None,
    ) -> None:
        """A call from `caller` ("anonymous" withholds it) to `to`, on the server at `base_url`.

        `public_url`: the base URL the server calls itself (CIVICLINE_PUBLIC_URL), which
        Twilio signs and its TwiML names; it defaults to `base_url`. `speed`: line time runs
        that much faster than real time. `voice`: espeak-ng's voice for `say` on a stream.
        `settle`: wall seconds a `listen()` waits, once all has played, for the IVR to say more.
        `patience`: line seconds the caller waits for an answer to a key or words.
        `talk_seconds`: how long an answered transfer lasts. `dial_outcome`: how a transfer
        ends when the script goes on without saying (answered, no-answer, busy, failed).
        `timeout`: of every request, and the least wall time a new stream waits for the IVR's
        first words.
        """
        if not auth_token:
            raise ValueError("the account's auth token signs every webhook: it is required")
        account_sid = account_sid or "AC" + uuid.uuid4().hex
        line = Line(caller, to, patience, talk_seconds, account_sid, dial_outcome)
        webhooks = Webhooks(base_url, public_url or base_url, auth_token, timeout)
        transcript = Transcript(observe=observe)
        clock = LineClock(speed)
        super().__init__(
            TwimlCall(line, webhooks, clock, transcript),
            clock,
            transcript,
            media_format=MULAW_8K,
            voice=voice,
            settle=settle,
            patience=patience,
            timeout=timeout,
        )

    def transfer(self, outcome: str = "answered", talk_seconds: float | None = None) -> None:
        """How the transfer under way (`<Dial>`) ends: answered (after `talk_seconds` with the
        officer the caller hangs up, which ends the call), no-answer (after the Dial's timeout
        of ringing), busy or failed; Twilio posts it to the Dial's action."""
        self._step()
        leg = self._call.current()
        if not isinstance(leg, DialLeg) or leg.outcome is not None:
            raise CallerError(f"no transfer is ringing: none to end {outcome}")
        leg.choose(outcome, talk_seconds)
        while self._call.current() is leg:
            self._frame(SILENT)


def synthesized(text: str, voice: str, timeout: float) -> bytes:
    """`text` said by espeak-ng's `voice`, as 16-bit PCM at 8 kHz."""
    if shutil.which("espeak-ng") is None:
        raise CallerError("espeak-ng is not installed (apt-get install espeak-ng): it says say()")
    try:
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "150", "--stdout", text],
            capture_output=True,
            check=True,
            timeout=timeout,
        ).stdout
        return read_wav(wav, VOICE_RATE)
    except (subprocess.SubprocessError, AudioError) as error:
        raise CallerError(f"espeak-ng could not say {text!r} in {voice}: {error}") from None
