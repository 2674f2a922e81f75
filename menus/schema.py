"""The shape of callflows.yaml: frozen pydantic models, one per section and one per node type.

This module owns the *syntax* of a flow: field names, types, allowed values, unknown keys.
Rules that need the whole file (a `goto` naming a missing node, a prompt missing for a
declared language, reachability, failure paths) live in `menus.validator`.

A flow is data: the engine walks it, routing reads its schedules, speech builds grammars
from its phrases. Nothing here does I/O.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

LOCALIZED = "localized"
"""Marker on fields that hold one text per declared language (checked by the validator)."""

Localized = Annotated[dict[str, str], LOCALIZED]
Phrases = dict[str, list[str]]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = frozenset("0123456789*#")
SIP_URI = re.compile(r"^sips?:[^@\s]+@[^\s]+$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _parse_time_range(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not match:
        raise ValueError(f"bad time range {value!r}: expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 23, 59
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise ValueError(f"bad time range {value!r}: not a time of day") from None
    if end <= start:
        raise ValueError(f"bad time range {value!r}: ends before it starts")
    return {"start": start, "end": end}


class TimeRange(Model):
    """Opening hours within one day, local time; `end` is exclusive."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


OpeningHours = Annotated[TimeRange, BeforeValidator(_parse_time_range)]


def _check_transfer_target(value: Any) -> Any:
    """Checks a text's shape; any other type is left for pydantic to refuse as not a string
    (YAML reads an unquoted `+40264000100` as a number)."""
    if isinstance(value, str) and not (E164.match(value) or SIP_URI.match(value)):
        raise ValueError(f"transfer target {value!r} is neither an E.164 number nor a SIP URI")
    return value


TransferTarget = Annotated[str | None, BeforeValidator(_check_transfer_target)]


class City(Model):
    name: Localized
    country: Literal["RO", "BG"]
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class Language(Model):
    name: str
    model: str | None = None
    """Vosk model for speech; without one the language is keypad-only."""
    twilio_language: str | None = None
    """The language tag Twilio's `<Say>` and `<Gather>` use in gather mode (e.g. ro-RO)."""


class Settings(Model):
    no_input_seconds: float = Field(6.0, gt=0)
    inter_digit_seconds: float = Field(3.0, gt=0)
    retries: int = Field(2, ge=0, le=5)
    """Re-prompts after the first attempt before the node's failure path is taken."""
    confirm_threshold: float = Field(0.6, ge=0, le=1)
    """Speech heard at least this sure (the lower of the recogniser's and the intent
    matcher's confidence) is taken at once."""
    reject_threshold: float = Field(0.3, ge=0, le=1)
    """Speech heard less sure than this is a no-match; in between, the caller is asked
    `texts.confirm`. Must be below `confirm_threshold` (the validator checks)."""
    record_max_seconds: int = Field(60, gt=0, le=600)
    callback_window_hours: int = Field(48, gt=0)
    callback_slot_minutes: int = Field(30, gt=0)
    callbacks_per_department: int = Field(1, gt=0)
    appointments_per_service: int = Field(1, gt=0)
    """Upcoming appointments one number may hold per service; booking beyond them reads back
    the held one, never a second."""
    """Upcoming callbacks one number may hold per department; booking beyond them hands
    back the held one (which the caller keeps or moves), never a second."""
    max_failure_hops: int = Field(3, ge=1)
    """How many failure paths in a row may follow each other before a human, ticket or callback."""
    twilio_mode: Literal["stream", "gather"] = "stream"
    """How Twilio calls are driven: a Media Stream recognised by our Vosk, or Twilio's own
    `<Gather>` speech and keys (its recognition; the speech option for languages we have no
    model for)."""


class Schedule(Model):
    """Weekly opening hours; `extends` copies another schedule and overrides whole days."""

    extends: str | None = None
    weekly: dict[Weekday, list[OpeningHours]] = {}
    public_holidays: bool = True
    """Closed on the country's public holidays (the `holidays` package)."""
    closures: list[date] = []


class Department(Model):
    name: Localized
    schedule: str | None = None
    transfer: TransferTarget = None
    email: str | None = None
    """Opt-in: the address told by e-mail of the department's new tickets, escalations,
    callbacks assigned to its officers and the citizens' notes (`ivr.email`); without it,
    no e-mail. The validator checks its syntax."""


class Category(Model):
    name: Localized
    department: str
    deadline_days: int = Field(gt=0)


class EscalationLevel(Model):
    role: str
    name: Localized
    transfer: TransferTarget = None


class Service(Model):
    """A service citizens book a visit to (`appointment` nodes): at a counter of a department,
    in that department's opening hours. `counter`, `slot_minutes` and `capacity` seed the
    database, where an admin changes them on the site; the flow is not read for them again."""

    name: Localized
    department: str
    counter: str
    """The counter's name as it is said and shown ("ghișeul 3")."""
    slot_minutes: Literal[15, 30] = 30
    capacity: int = Field(1, gt=0, le=50)
    """People the counter sees in one slot for this service."""
    bring: Localized
    """What to bring, said once the visit is booked."""


class Intent(Model):
    keys: str | None = None
    phrases: Phrases = {}
    goto: str | None = None
    set: dict[str, str] = {}

    @field_validator("keys")
    @classmethod
    def _one_key(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 1 or value not in KEYS):
            raise ValueError(f"keys must be one of 0-9, * or #, not {value!r}")
        return value


class GlobalIntents(Model):
    repeat: Intent
    back: Intent
    main_menu: Intent
    operator: Intent


class CallbackSms(Model):
    """The SMS of callbacks and of the SMS conversation (`ivr.sms.conversation`); each must
    fit in 2 SMS segments with its placeholders filled. Replies are 1 (confirm), 2 (the next
    free slot), 0 (cancel), STATUS <ref> and ESCALATE <ref>."""

    help: Localized
    confirmed: Localized
    """{when}, {department}"""
    moved: Localized
    """{when}, {department}: the next free slot, now held for the caller."""
    no_other_slot: Localized
    """{when}: the slot the caller keeps."""
    cancelled: Localized
    """{when}"""
    no_offer: Localized
    """A reply 1/2/0 from a number with no pending callback (expired, cancelled, none)."""
    status: Localized
    """{ref}, {status}, {deadline}"""
    unknown_ref: Localized
    """{ref}: no such report for this number (the same answer whether it exists or not)."""
    escalated: Localized
    """{ref}, {level}, {when}"""
    top_level: Localized
    """{ref}: the case is at the top of the ladder already."""
    reminder: Localized
    """{when}, {department}: an hour before the slot."""
    missed: Localized
    """{department}: the citizen did not answer twice."""
    rescheduled: Localized
    """{who}, {when}: the callback could not be placed at its time (nobody to call, the
    office closed, the worker was down) and was booked again."""
    dropped: Localized | None = None
    """{when}, {department}: the call was cut off by a failure of ours (its SIP node died)
    and this callback is offered instead, with the replies of `moved`."""
    resolution: Localized
    """{ref}, {resolution}: the officer's resolution after the callback."""
    note_added: Localized | None = None
    """{ref}: a NOTE <ref> <text> from the number that filed it was added to the report.
    Without the three texts below, NOTE, SOLVED and NOT SOLVED get the help."""
    closed: Localized | None = None
    """{ref}: SOLVED <ref> closed the report."""
    reopened: Localized | None = None
    """{ref}: NOT SOLVED <ref> reopened a resolved or closed report."""


class AppointmentSms(Model):
    """The SMS of appointments; replies 1 (confirm), 2 (the next free slot) and 0 (cancel)
    apply to them when an appointment is the number's newest pending offer. Each must fit in
    2 SMS segments with its placeholders filled."""

    booked: Localized
    """{code}, {when}, {service}, {counter}"""
    reminder: Localized
    """{code}, {when}, {service}, {counter}: the day before."""
    confirmed: Localized
    """{when}, {service}"""
    moved: Localized
    """{when}, {service}, {code}: the next free slot, now held for the caller."""
    no_other_slot: Localized
    """{when}: the slot the caller keeps."""
    cancelled: Localized
    """{when}, {service}"""


class CallbackCall(Model):
    """What the two legs of a callback hear (`webhooks.callback_calls`)."""

    officer: Localized
    """{ref}, {department}: the officer answered; the citizen is being called."""
    officer_no_report: Localized
    """{department}: the officer answered a callback about no report."""
    citizen: Localized
    """{department}: the citizen answered."""
    recorded: Localized
    """To the citizen before the call joins: it is recorded, unless they press 8."""
    not_recorded: Localized
    """To the citizen who declined the recording (on the line or at the start)."""
    not_reached: Localized
    """To the officer waiting in the conference when the citizen did not answer twice."""
    resolved: Localized
    """To the officer after the call: 1 resolved, 2 not yet."""
    satisfied: Localized
    """{level}: to the citizen after the call: 1 satisfied, 2 to go to the next level."""
    survey: Localized
    """To the citizen: a score from 1 to 5."""
    thanks: Localized


class Texts(Model):
    """Prompts shared by every node."""

    no_input: Localized
    no_match: Localized
    apology: Localized
    """Said when storage fails mid-call, before the caller is offered a human."""
    report_kept: Localized | None = None
    """Said after the apology when the report itself could not be filed: it is kept and
    filed as soon as storage is back (the worker files it from the call's events)."""
    resumed: Localized | None = None
    """Said when a call comes back after the process carrying it died, before the question
    it was at is asked again (without it, the apology is said)."""
    transfer_busy: Localized | None = None
    """Said when a transferred call finds the department busy, before the transfer node's
    `on_no_answer` (whose words then follow); {department}. Without it, busy is told like
    no answer."""
    transfer_give_up: Localized | None = None
    """Said after a transfer's prompt on channels where the caller can press `*` while it
    rings to stop waiting (SIP, the terminal): the flow then goes on as after no answer."""
    goodbye: Localized
    statuses: dict[str, Localized]
    sms_ticket: Localized
    """SMS copy of a new registration number: {ref}, {category}."""
    sms_callback: Localized
    """SMS confirming a callback: {ref}, {when}."""
    sms_status_changed: Localized | None = None
    """SMS telling a caller their ticket changed status: {ref}, {status}. Without it the
    supervisor site cannot tell callers, so it refuses status changes that need an SMS."""
    replies: dict[str, Localized] = {}
    """Predefined replies a supervisor sends a ticket's caller by SMS: {ref}."""
    confirm: Localized | None = None
    """Asked about speech heard with medium confidence: {choice} is the intent's first phrase
    or the number read back. Key 1 or a `confirm_yes` phrase takes it; key 2 or a `confirm_no`
    phrase asks the node again. Required when a language has a speech model."""
    confirm_yes: Phrases = {}
    confirm_no: Phrases = {}
    callback_sms: CallbackSms | None = None
    """Without it the line answers no SMS and sends no callback reminders."""
    appointment_sms: AppointmentSms | None = None
    """Without it no appointment SMS is sent (the code is read twice instead)."""
    callback_call: CallbackCall | None = None
    """Without it callbacks are not placed by phone (officers call back by hand)."""


class NodeBase(Model):
    prompt: Localized
    no_input: Localized | None = None
    no_match: Localized | None = None
    on_failure: str | None = None
    """Where to go when the retries are spent; the flow's `failure` node by default."""


class SayNode(NodeBase):
    type: Literal["say"]
    next: str


class LanguageNode(NodeBase):
    """Asks the caller's language; skipped when it is known (remembered or chosen ahead)."""

    type: Literal["language"]
    options: dict[str, Intent]
    next: str


class MenuNode(NodeBase):
    type: Literal["menu"]
    intents: dict[str, Intent]


class NumberNode(NodeBase):
    type: Literal["number"]
    slot: str
    min_value: int = 0
    max_value: int
    next: str


class RecordNode(NodeBase):
    type: Literal["record"]
    slot: str
    max_seconds: int | None = None
    next: str
    unrecorded: str | None = None
    """Where a caller who declined recording goes instead (by default `next`): e.g. a path
    that files the report from its keys and books an officer's call to hear the details."""


class TicketNode(NodeBase):
    """Files a ticket from the call's slots and reads its number back ({ref}, {pin})."""

    type: Literal["ticket"]
    kind: Literal["report", "message"]
    prompt_no_sms: Localized | None = None
    """Said instead of the prompt when no SMS can go to the caller (the number is withheld
    or opted out), so the caller is never promised a text that will not come."""
    next: str


class StatusNode(NodeBase):
    """Asks a registration number (the prompt) and reads its status to its owner only."""

    type: Literal["status"]
    ask_pin: Localized
    not_found: Localized
    wrong_pin: Localized
    locked: Localized
    result: Localized
    """{ref}, {status}, {deadline}"""
    solved: Localized | None = None
    """The follow-up, asked once the status is read, all six texts or none ({ref} in
    each): a resolved report asks `solved` (1 closes it, 2 reopens it); an open one (and
    one just reopened) offers `add_note` (1: `record_note`, a recording added to the ticket,
    then `note_added`; 2 or silence goes on). Keys 1 and 2, or the flow's `confirm_yes` /
    `confirm_no` phrases. Without them the call goes on to `next` at once."""
    closed: Localized | None = None
    reopened: Localized | None = None
    add_note: Localized | None = None
    record_note: Localized | None = None
    note_added: Localized | None = None
    next: str

    @property
    def follows_up(self) -> bool:
        return self.solved is not None


class CallbackNode(NodeBase):
    """Books a callback from the department in the call's `department` slot, else its own
    `department`, else the department of the report the call just filed."""

    type: Literal["callback"]
    department: str | None = None
    confirm: Localized
    """{when}"""
    confirm_no_sms: Localized | None = None
    """{when}: said instead of `confirm` when no SMS can go to the caller (opted out)."""
    full: Localized
    offer: Localized | None = None
    """{when}: the first free slot, held while the caller answers 1 (or a `confirm_yes`
    phrase) to take it or 2 (a `confirm_no` phrase) for the next one. Without it the first
    free slot is booked at once."""
    next: str


class AppointmentNode(NodeBase):
    """Books a visit to the service in the call's `service` slot (set by a menu before it),
    else its own `service`: the first free slot of the service's counter is held and offered
    (1 or yes takes it, 2 or no the next one), then the booking's code is read digit by digit,
    sent by SMS, and the service's `bring` text said."""

    type: Literal["appointment"]
    service: str | None = None
    offer: Localized
    """{when}, {counter}, {service}"""
    booked: Localized
    """{when}, {counter}, {service}, {code}: tells of the SMS to come."""
    booked_no_sms: Localized | None = None
    """{when}, {counter}, {service}, {code}: said instead of `booked` when no SMS can go to
    the caller (the number is withheld or opted out); the code is read twice."""
    held: Localized
    """{when}, {counter}, {service}, {code}: the number holds as many upcoming visits to the
    service as allowed already; the newest is read back instead of booking another."""
    full: Localized
    next: str


class AppointmentStatusNode(NodeBase):
    """Asks an appointment's code (the prompt) and reads when and where the visit is."""

    type: Literal["appointment_status"]
    not_found: Localized
    result: Localized
    """{code}, {when}, {counter}, {service}"""
    next: str


class TransferNode(NodeBase):
    """Connects to a department in its hours (the prompt is said first); else `after_hours`."""

    type: Literal["transfer"]
    department: str
    after_hours: str
    on_no_answer: str


class HangupNode(NodeBase):
    type: Literal["hangup"]


class SurveyNode(NodeBase):
    """After the call's business: a score from 1 to 5 by key, stored, then `thanks` and
    `next` (a hangup node). No answer is no score: the call goes on to `next`."""

    type: Literal["survey"]
    thanks: Localized
    next: str


class NoticeNode(NodeBase):
    """The recording notice: says the call is recorded and which key or words refuse it.

    Heard in full without a decline, the call is recorded from then on (StartCallRecording);
    declined, nothing of the call is recorded, not even descriptions at `record` nodes.
    """

    type: Literal["notice"]
    decline: Intent
    """The key and phrases that refuse the recording (no `goto`: the call goes on to `next`)."""
    decline_seconds: float = Field(0.0, ge=0, le=10)
    """How long after the notice a decline is still taken (0: only while it plays); any other
    input in that time counts as heard and goes on to the next node."""
    next: str


Node = Annotated[
    SayNode
    | LanguageNode
    | MenuNode
    | NumberNode
    | RecordNode
    | TicketNode
    | StatusNode
    | CallbackNode
    | AppointmentNode
    | AppointmentStatusNode
    | TransferNode
    | HangupNode
    | NoticeNode
    | SurveyNode,
    Field(discriminator="type"),
]
INPUT_NODE_TYPES = ("language", "menu", "number", "record", "status", "appointment_status")
SERVICE_NODE_TYPES = ("transfer", "ticket", "callback")
"""Nodes where a caller reaches a human, a ticket or a callback."""


class Flow(Model):
    flow: Literal[1]
    city: City
    languages: dict[str, Language]
    default_language: str
    settings: Settings = Settings()
    start: str
    main: str
    failure: str
    global_intents: GlobalIntents
    schedules: dict[str, Schedule]
    departments: dict[str, Department]
    categories: dict[str, Category]
    services: dict[str, Service] = {}
    districts: int = Field(gt=0)
    escalation: list[EscalationLevel]
    texts: Texts
    nodes: dict[str, Node]

    def keypad_only(self, language: str) -> bool:
        return self.languages[language].model is None

    def language_or_default(self, language: str | None) -> str:
        """`language` when the flow speaks it, else the flow's default (a ticket, callback or
        SMS may carry a language a later flow version no longer has)."""
        return language if language in self.languages else self.default_language
