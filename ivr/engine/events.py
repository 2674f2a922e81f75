"""What happens to a call, in the past tense: the only input of the engine.

Channels turn a phone line into these events; the shell turns the outcome of a storage
action (a ticket filed, a PIN checked) into one too, so a session can be rebuilt by replaying
the stored events alone. Every event carries its time (UTC); the engine never reads a clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal

from ivr.engine.announcements import Announcement
from routing.closures import Closure

TransferResult = Literal["answered", "no-answer", "busy", "failed"]
ASCII_DIGIT = re.compile("[0-9]")
"""The digits the engine reads in keys and speech; `str.isdigit` would also take "²"."""


@dataclass(frozen=True, kw_only=True)
class Event:
    at: datetime

    def __post_init__(self) -> None:
        if self.at.utcoffset() != timedelta(0):
            raise ValueError(f"{type(self).__name__}.at must be an aware UTC time, not {self.at!r}")

    def redacted(self) -> Event:
        """The event as it may be stored when it carries a secret (a PIN)."""
        return self


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    call_id: str
    caller: str | None
    """E.164 number, or None when the caller withholds it."""
    channel: str
    language: str | None = None
    """Known ahead (chosen on the command line, or remembered for this number)."""
    texts: bool = True
    """SMS may go to the caller: false when the number opted out (STOP)."""
    announcements: tuple[Announcement, ...] = ()
    """In force on the call's local date (the shell reads them from storage)."""
    closures: tuple[Closure, ...] = ()
    """Closures added on the site from the call's local date on: routing takes them too."""
    can_give_up: bool = False
    """The channel stops a ringing transfer when the caller presses `*` (as no answer, so
    the flow goes on): the connecting prompt tells the caller so. False where nothing can
    (Twilio's `<Dial>` takes no key while it rings)."""


@dataclass(frozen=True, kw_only=True)
class DigitsPressed(Event):
    digits: str
    masked: bool = False
    """Stored redacted: each digit keyed is a 0 here (a PIN entry)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.digits or set(self.digits) - set("0123456789*#"):
            raise ValueError(f"not DTMF keys: {self.digits!r}")

    def redacted(self) -> DigitsPressed:
        """Every digit a 0, `*` and `#` kept: a PIN entry replays alike (only how many digits
        were keyed, and where `*` or `#` came, matter to it) without the PIN."""
        return replace(self, digits=ASCII_DIGIT.sub("0", self.digits), masked=True)


@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Event):
    """The caller started speaking (barge-in)."""


@dataclass(frozen=True, kw_only=True)
class SpeechRecognized(Event):
    text: str
    confidence: float = 1.0
    alternatives: tuple[tuple[str, float], ...] = field(default=())
    masked: bool = False
    """Stored redacted: the text is only a 0 for each digit that was said (a spoken PIN)."""

    def redacted(self) -> SpeechRecognized:
        """A 0 for each ASCII digit in the text, the words gone (the runner first puts there
        the digits the session reads in the words), so the call replays alike (same count,
        same confidence) without the PIN."""
        zeros = "0" * len(ASCII_DIGIT.findall(self.text))
        return replace(self, text=zeros, alternatives=(), masked=True)


@dataclass(frozen=True, kw_only=True)
class NoSpeech(Event):
    """The recogniser heard nothing it could use before its own timeout."""


@dataclass(frozen=True, kw_only=True)
class PromptFinished(Event):
    mark: str


@dataclass(frozen=True, kw_only=True)
class RecordingFinished(Event):
    recording_id: str | None
    seconds: float
    transcript: str | None = None


@dataclass(frozen=True, kw_only=True)
class TimerExpired(Event):
    name: str


@dataclass(frozen=True, kw_only=True)
class TransferFinished(Event):
    result: TransferResult


@dataclass(frozen=True, kw_only=True)
class CallerHungUp(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class CallResumed(Event):
    """The call's audio is back after the process that carried it died: another process
    took the call over (Twilio opened a new stream there); the caller heard nothing since."""


@dataclass(frozen=True, kw_only=True)
class TicketCreated(Event):
    ref: str
    pin: str | None

    def redacted(self) -> TicketCreated:
        return replace(self, pin=None if self.pin is None else "****")


@dataclass(frozen=True, kw_only=True)
class TicketLookedUp(Event):
    """Outcome of LookupTicket, or of CheckTicketPin when `pin_checked`."""

    ref: str
    found: bool
    granted: bool
    """The caller may hear the status (caller ID matches, or the right PIN)."""
    locked: bool = False
    pin_checked: bool = False
    status: str | None = None
    deadline: date | None = None


@dataclass(frozen=True, kw_only=True)
class CallbackScheduled(Event):
    slot: datetime | None
    """Start of the booked slot (UTC), or None when no callback could be booked."""
    callback_id: int | None = None
    """The booking, held while the caller is offered its slot."""


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(Event):
    """The answer to BookAppointment: the slot held (UTC), or None when none is free."""

    slot: datetime | None
    appointment_id: int | None = None
    code: str | None = None
    counter: str = ""
    held: bool = False
    """The number held as many upcoming visits to the service as allowed: this is the newest
    of them, not a new booking."""


@dataclass(frozen=True, kw_only=True)
class AppointmentLookedUp(Event):
    """The answer to LookupAppointment; `found` only for an upcoming, booked visit."""

    code: str
    found: bool
    slot: datetime | None = None
    service: str | None = None
    counter: str = ""


@dataclass(frozen=True, kw_only=True)
class StorageFailed(Event):
    """The shell could not carry out a storage action (database down, disk full)."""

    action: str
