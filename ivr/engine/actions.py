"""What the engine asks the shell to do, in the imperative: the only output of the engine.

Channels carry out what touches the line (Say, Listen, Record, Transfer, HangUp, timers);
the shell carries out what touches storage (tickets, SMS, callbacks) and answers some of them
with an event (TicketCreated, TicketLookedUp, CallbackScheduled, AppointmentBooked,
AppointmentLookedUp, StorageFailed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class Action:
    def redacted(self) -> Action:
        """The action as it may be stored when it carries a secret (a PIN)."""
        return self


@dataclass(frozen=True, kw_only=True)
class Say(Action):
    prompt: str
    """Prompt id, `node.field` (e.g. `main.prompt`, `texts.no_input`)."""
    language: str
    text: str
    params: Mapping[str, str] = field(default_factory=dict)
    mark: str
    """Echoed back by PromptFinished once the caller has heard it all."""
    secret: bool = False

    def redacted(self) -> Say:
        if not self.secret:
            return self
        return replace(self, text="[redacted]", params={k: "[redacted]" for k in self.params})


@dataclass(frozen=True, kw_only=True)
class Listen(Action):
    """Start listening for keys and speech; the prompts before it may be barged in."""

    node: str
    language: str
    intents: Mapping[str, tuple[str, ...]]
    """Intent name → phrases, for the recogniser's grammar (empty for free digits)."""
    keys: str
    """Keys that mean something here (digits nodes: every key)."""
    max_digits: int = 1
    barge_in: bool = True
    secret: bool = False


@dataclass(frozen=True, kw_only=True)
class Record(Action):
    slot: str
    max_seconds: int
    beep: bool = True


@dataclass(frozen=True, kw_only=True)
class StartCallRecording(Action):
    """Record the whole call's audio from now until it ends: the caller heard the recording
    notice and did not decline. Never emitted otherwise."""


@dataclass(frozen=True, kw_only=True)
class StartTimer(Action):
    name: str
    seconds: float


@dataclass(frozen=True, kw_only=True)
class CancelTimer(Action):
    name: str


@dataclass(frozen=True, kw_only=True)
class Transfer(Action):
    target: str
    """E.164 number or SIP URI."""
    department: str


@dataclass(frozen=True, kw_only=True)
class CreateTicket(Action):
    kind: Literal["report", "message"]
    draft: bool
    caller: str | None
    language: str
    department: str | None
    category: str | None = None
    district: int | None = None
    recording_id: str | None = None
    description: str | None = None
    deadline_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class LookupTicket(Action):
    ref: str
    caller: str | None


@dataclass(frozen=True, kw_only=True)
class CheckTicketPin(Action):
    ref: str
    pin: str
    caller: str | None

    def redacted(self) -> CheckTicketPin:
        return replace(self, pin="****")


@dataclass(frozen=True, kw_only=True)
class RememberLanguage(Action):
    caller: str
    language: str


@dataclass(frozen=True, kw_only=True)
class QueueSms(Action):
    to: str
    template: str
    language: str
    params: Mapping[str, str]
    text: str
    ticket_ref: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScheduleCallback(Action):
    caller: str
    department: str
    language: str
    requested_at: datetime
    slot_minutes: int
    ticket_ref: str | None = None
    callback_id: int | None = None
    """Move this booking to the next free slot after `after` (the caller wants another)."""
    after: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ConfirmCallback(Action):
    """The caller took the slot offered (key 1 or yes)."""

    callback_id: int


@dataclass(frozen=True, kw_only=True)
class BookAppointment(Action):
    """Hold the first free slot of `service`'s counter, or move booking `appointment_id` to
    the first free slot after its own (the caller wants another)."""

    caller: str | None
    service: str
    language: str
    requested_at: datetime
    appointment_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConfirmAppointment(Action):
    """The caller took the slot offered (key 1 or yes)."""

    appointment_id: int


@dataclass(frozen=True, kw_only=True)
class LookupAppointment(Action):
    """An upcoming appointment by its code (`appointment_status` nodes)."""

    code: str


@dataclass(frozen=True, kw_only=True)
class RecordSurvey(Action):
    """A post-call score from 1 to 5."""

    score: int
    language: str


@dataclass(frozen=True, kw_only=True)
class AddNote(Action):
    """The owner of report `ref` added to it by phone: a recording (`transcript` when the
    channel heard it already), transcribed by the worker like a description."""

    ref: str
    recording_id: str | None
    transcript: str = ""


@dataclass(frozen=True, kw_only=True)
class MarkSolved(Action):
    """The owner of resolved report `ref` said whether its problem is solved: it is closed,
    or reopened and its department told."""

    ref: str
    solved: bool


@dataclass(frozen=True, kw_only=True)
class CountAnnouncements(Action):
    """The caller heard these announcements to the end, or skipped them with a key."""

    ids: tuple[int, ...]
    skipped: bool


@dataclass(frozen=True, kw_only=True)
class HangUp(Action):
    reason: str
