"""The call session: one call's dialog, events in, actions out, no I/O and no clock.

Theory of operation
-------------------
A session walks the nodes of one flow version. Entering a node says its prompt; an input
node (language, menu, number, status) then emits Listen, a record node emits Record. The
no-input timer starts only once the caller has heard the last prompt of the turn (the
PromptFinished carrying its mark), so a slow line never eats the caller's time; keys and
speech are taken at once (barge-in).

Input is read by the node's type: a menu maps one key or an utterance to an intent (or to a
global intent: repeat, back, main menu, operator); number and status nodes collect digits
until `#`, enough digits, or the inter-digit timer, and read speech as the digits it says
(the matcher's `digits`: "Trei.", "twenty six", "이 육"), from whichever channel heard it.
Nodes that need storage (ticket, status, callback, appointment, appointment_status) emit a
storage action and wait for the shell's answer event; anything else that arrives meanwhile is
ignored.

Callback and appointment nodes hold the first free slot and offer it: 1 (or yes) takes it, 2
(or no) moves the held booking to the next free slot and offers that; silence keeps it booked.
An appointment's code is read digit by digit; `appointment_status` nodes read a code's visit.

Recording consent: a `notice` node says the call is recorded and listens only for its
`decline` key or phrases, while it plays and for `decline_seconds` after. Heard without a
decline, the session emits StartCallRecording once and goes on; declined, it never does, and
`record` nodes are passed by without a Record (a report is filed without audio). Other input
during the notice is ignored, and after it (in the decline window) goes on to the next node.

Medium confidence: speech heard less sure than `settings.confirm_threshold` (the lower of
the recogniser's and the intent matcher's confidence) but not less than
`settings.reject_threshold` is not taken at once. The session asks `texts.confirm` ("Did you
mean {choice}?": the intent's first phrase, or the digits read back) and listens for key 1 or
a `texts.confirm_yes` phrase (the choice is taken) and key 2 or a `texts.confirm_no` phrase
(the node asks again, as a retry); anything else is a no-match, silence is no input. Below
`reject_threshold`, or in a flow without `texts.confirm`, it is a no-match.

After a status is read to its owner, a status node with follow-up texts asks one more
question (a step of the node, `follow_up`, like `asking_pin`): a resolved report "solved?"
(1: MarkSolved closes it, 2: reopens it), an open one "add information?" (1: Record, then
AddNote with the recording). Neither waits for an answer from the shell; silence goes on.

No dead ends: no-input and no-match re-prompt `settings.retries` times, then the node's
failure path is taken (a human, a ticket or a callback, as the validator guarantees). After
`settings.max_failure_hops` failure paths in a row without one successful input the session
says goodbye and hangs up, so every call ends within a bounded number of turns.

Modes: what the session waits for is one `Mode`. The data that belongs to a mode (the guess
being confirmed, the pending Transfer, the reason the call ended) is set and cleared with it
in `_wait_for`, so it never contradicts the mode; whether a status node is asking for the
ticket's ref or its PIN is a step of that node (`asking_pin`), not a mode. `TAKES` is the one
place that says which events mean something in each mode:

    NEW                before CallStarted               CallStarted
    NOTICE             the recording notice playing     keys, speech, PromptFinished,
                       or its decline window            TimerExpired
    ANNOUNCING         the day's announcements playing  keys (any key skips), PromptFinished
    LISTENING          an answer to the node's question keys, speech, SpeechStarted,
                       (or a callback offer, a survey)  NoSpeech, PromptFinished, TimerExpired
    CONFIRMING         yes or no to "did you mean …?"   as LISTENING
    RECORDING          the caller's message             RecordingFinished
    AWAITING_TICKET    the answer to CreateTicket       TicketCreated
    AWAITING_LOOKUP    to LookupTicket / CheckTicketPin TicketLookedUp
    AWAITING_CALLBACK  to ScheduleCallback              CallbackScheduled
    AWAITING_VISIT     to BookAppointment or            AppointmentBooked,
                       LookupAppointment                AppointmentLookedUp
    TRANSFERRING       the transfer's result            TransferFinished
    IDLE               nothing (only inside a turn)     -
    ENDED              nothing                          -

Announcements: CallStarted carries the ones in force (`ivr.engine.announcements`); entering
the flow's `main` node, or a transfer's `after_hours` node, the first time says those placed
there, and the node is entered once they have played or a key skipped them (the key is not
taken as a choice); CountAnnouncements tells the shell which.

Every mode but NEW and ENDED also takes CallerHungUp and StorageFailed (any storage action may
fail, not only the one awaited). The modes that ask the caller something (NOTICE, LISTENING,
CONFIRMING, RECORDING) take CallResumed: the call came back on another process after its own
died, and hears `texts.resumed` and the question again (ANNOUNCING too: the announcements
count as skipped, and the node they preceded is entered). Keys and speech go through one
dispatch on the mode and the node's type (`_on_input`); each branch reads the key or the
utterance its own way.

Every transition lives in this module. An event its mode does not take is ignored: a caller's
misbehaviour (a key during a transfer, a mark from an old prompt) never raises. Events only a
broken channel or shell can send (anything before CallStarted, CallStarted twice, a storage
answer nobody asked for while the call is live) raise ProtocolError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.announcements import Announcement, Placement
from ivr.engine.ports import IntentMatcher
from ivr.engine.render import digits, fill, sms_slot, spoken_date, spoken_slot
from menus.schema import (
    INPUT_NODE_TYPES,
    AppointmentNode,
    AppointmentStatusNode,
    CallbackNode,
    Flow,
    Intent,
    LanguageNode,
    MenuNode,
    Node,
    NoticeNode,
    NumberNode,
    RecordNode,
    StatusNode,
    SurveyNode,
    TicketNode,
    TransferNode,
)
from routing import statuses
from routing.closures import Closure
from routing.departments import deadline_days, department_for_category, transfer_target
from routing.hours import is_open

NO_INPUT = "no_input"
INTER_DIGIT = "inter_digit"
DECLINE_WINDOW = "decline_window"
REF_DIGITS = 8
PIN_DIGITS = 4
CODE_DIGITS = 6
"""An appointment's code (`ivr.storage.appointments`)."""
MAX_ENTERS_WITHOUT_INPUT = 50
MIN_RECORDING_SECONDS = 0.5
REPORT_SLOTS = ("category", "district", "description")
OUTCOME_ORDER = ("transferred", "ticket", "message", "callback", "appointment", "status", "draft")
GLOBAL = "@"
"""Prefix of global intents among a node's choices, so a node may reuse their names."""
YES, NO = "yes", "no"
YES_KEY, NO_KEY = "1", "2"
SURVEY_SCORES = ("1", "2", "3", "4", "5")
NOTE_SLOT = "note"
KEY_CONFIDENCE = 1.0
"""A key is never doubted: no confirm_threshold is above it (the schema caps them at 1)."""


class ProtocolError(Exception):
    """An event the session cannot accept in its state: a bug in a channel or the shell."""


class Mode(Enum):
    """What the session waits for; the value says it in words (for errors and logs)."""

    NEW = "not started"
    IDLE = "between two turns"
    NOTICE = "saying the recording notice"
    ANNOUNCING = "saying the announcements"
    LISTENING = "listening to the caller"
    CONFIRMING = "asking the caller to confirm"
    RECORDING = "recording the caller"
    AWAITING_TICKET = "waiting for a ticket to be created"
    AWAITING_LOOKUP = "waiting for a ticket lookup"
    AWAITING_CALLBACK = "waiting for a callback to be scheduled"
    AWAITING_VISIT = "waiting for an appointment to be booked or looked up"
    TRANSFERRING = "waiting for a transfer"
    ENDED = "ended"


EventTypes = frozenset[type[ev.Event]]


def _kinds(*kinds: type[ev.Event]) -> EventTypes:
    return frozenset(kinds)


LIVE = _kinds(ev.CallerHungUp, ev.StorageFailed)
"""Taken in every mode between CallStarted and the end."""
ASKING = _kinds(ev.CallResumed)
"""Taken while the caller is asked something (it is asked again)."""
INPUT = _kinds(ev.DigitsPressed, ev.SpeechRecognized)
"""Keys and speech, both read by `_on_input`."""
HEARD = INPUT | _kinds(ev.SpeechStarted, ev.NoSpeech, ev.PromptFinished, ev.TimerExpired)
"""What a listening session takes: input, barge-in, silence, its prompt's end, its timers."""
TAKES: dict[Mode, EventTypes] = {
    Mode.NEW: _kinds(ev.CallStarted),
    Mode.IDLE: LIVE,
    Mode.NOTICE: LIVE | ASKING | INPUT | _kinds(ev.PromptFinished, ev.TimerExpired),
    Mode.ANNOUNCING: LIVE | ASKING | _kinds(ev.DigitsPressed, ev.PromptFinished),
    Mode.LISTENING: LIVE | ASKING | HEARD,
    Mode.CONFIRMING: LIVE | ASKING | HEARD,
    Mode.RECORDING: LIVE | ASKING | _kinds(ev.RecordingFinished),
    Mode.AWAITING_TICKET: LIVE | _kinds(ev.TicketCreated),
    Mode.AWAITING_LOOKUP: LIVE | _kinds(ev.TicketLookedUp),
    Mode.AWAITING_CALLBACK: LIVE | _kinds(ev.CallbackScheduled),
    Mode.AWAITING_VISIT: LIVE | _kinds(ev.AppointmentBooked, ev.AppointmentLookedUp),
    Mode.TRANSFERRING: LIVE | _kinds(ev.TransferFinished),
    Mode.ENDED: _kinds(),
}
"""The events that mean something in each mode; any other is ignored, or see ASKED_ONLY."""
ASKED_ONLY = _kinds(
    ev.TicketCreated,
    ev.TicketLookedUp,
    ev.CallbackScheduled,
    ev.AppointmentBooked,
    ev.AppointmentLookedUp,
)
"""Storage answers: one outside its mode was never asked for, a bug in the shell."""


@dataclass(frozen=True)
class _Guess:
    """What medium-confidence speech was taken to mean: an intent, or digits (no intent)."""

    intent: str | None
    digits: str = ""


@dataclass
class _State:
    call_id: str = ""
    caller: str | None = None
    texts: bool = False
    """SMS may go to the caller: the number is known and did not opt out."""
    channel: str = ""
    can_give_up: bool = False
    """The channel stops a ringing transfer on `*` (CallStarted says)."""
    language: str | None = None
    node: str = ""
    back_stack: list[str] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    recording_id: str | None = None
    routed_to: str | None = None
    """The department the call was last routed to (a ticket, a transfer, a callback)."""
    unfiled: bool = False
    attempts: int = 0
    failure_hops: int = 0
    enters: int = 0
    inputs: int = 0
    marks: int = 0
    last_mark: str | None = None
    mode: Mode = Mode.NEW
    guess: _Guess | None = None
    """CONFIRMING only: the speech heard with medium confidence, asked about."""
    transfer: act.Transfer | None = None
    """TRANSFERRING only: the transfer asked of the channel and not finished yet."""
    ended_by: str | None = None
    """ENDED only: why (ivr, caller, transfer, failures)."""
    timers: set[str] = field(default_factory=set)
    """Running timers; only while the session hears the caller (NOTICE, LISTENING, CONFIRMING)."""
    buffer: str = ""
    status_ref: str | None = None
    asking_pin: bool = False
    """At a status node: the ref was found and its PIN is asked (reset on entering a node)."""
    outcomes: list[str] = field(default_factory=list)
    ticket_refs: list[str] = field(default_factory=list)
    consent: str | None = None
    """accepted or declined once a recording notice was heard; None before."""
    granted_ref: str | None = None
    """The ticket whose status the caller was allowed to hear: a callback is about it."""
    follow_up: str | None = None
    """At a status node once the status was read: the step of its follow-up (`solved`,
    `add_note` or `record_note`); None otherwise (reset on entering a node)."""
    offer_slot: datetime | None = None
    offer_id: int | None = None
    """The callback booked for the caller, held while its slot is offered."""
    visit: ev.AppointmentBooked | None = None
    """The appointment booked for the caller, held while its slot is offered."""
    announcements: tuple[Announcement, ...] = ()
    closures: tuple[Closure, ...] = ()
    announced: set[Placement] = field(default_factory=set)
    """Placements whose announcements were said (each once a call)."""
    announcing: tuple[str, tuple[int, ...]] | None = None
    """ANNOUNCING only: the node entered next, and the announcements being said."""


class CallSession:
    def __init__(self, flow: Flow, matcher: IntentMatcher) -> None:
        self.flow = flow
        self.zone = ZoneInfo(flow.city.timezone)
        self._matcher = matcher
        self._globals: dict[str, Intent] = {GLOBAL + n: i for n, i in flow.global_intents}
        """The flow's global intents under their prefixed names, built once per call."""
        self._placements: dict[str, Placement] = {
            node.after_hours: "after_hours"
            for node in flow.nodes.values()
            if isinstance(node, TransferNode)
        }
        self._placements[flow.main] = "main"
        """The nodes announcements are said before, and which."""
        self._s = _State()
        self._handlers: dict[type[ev.Event], Callable[[Any], list[act.Action]]] = {
            ev.CallStarted: self._start,
            ev.DigitsPressed: self._on_input,
            ev.SpeechStarted: self._on_speech_started,
            ev.SpeechRecognized: self._on_input,
            ev.NoSpeech: lambda e: self._on_no_input(e.at),
            ev.PromptFinished: self._on_prompt_finished,
            ev.RecordingFinished: self._on_recording,
            ev.TimerExpired: self._on_timer,
            ev.TransferFinished: self._on_transfer_finished,
            ev.CallerHungUp: self._on_hang_up,
            ev.CallResumed: self._on_resumed,
            ev.TicketCreated: self._on_ticket_created,
            ev.TicketLookedUp: self._on_ticket_looked_up,
            ev.CallbackScheduled: self._on_callback_scheduled,
            ev.AppointmentBooked: self._on_appointment_booked,
            ev.AppointmentLookedUp: self._on_appointment_looked_up,
            ev.StorageFailed: self._on_storage_failed,
        }

    # -- what the shell and the channels read -------------------------------------------

    @property
    def node(self) -> str:
        return self._s.node

    @property
    def mode(self) -> Mode:
        return self._s.mode

    @property
    def language(self) -> str:
        return self._s.language or self.flow.default_language

    @property
    def chosen_language(self) -> str | None:
        """The caller's language once it is settled (given ahead, chosen on the line, or the
        flow's only one); None while a language menu may still change it."""
        if self._s.language is not None or len(self.flow.languages) > 1:
            return self._s.language
        return self.flow.default_language

    @property
    def slots(self) -> Mapping[str, str]:
        return dict(self._s.slots)

    @property
    def ended(self) -> bool:
        return self._s.mode is Mode.ENDED

    @property
    def ticket_refs(self) -> tuple[str, ...]:
        return tuple(self._s.ticket_refs)

    @property
    def recording_consent(self) -> str | None:
        """accepted or declined once the caller heard a recording notice; None before."""
        return self._s.consent

    @property
    def collecting_secret(self) -> bool:
        """True while the caller is keying a PIN: the next input must be stored redacted. Not
        while asked "did you mean …?" about it: a yes or no must replay as it was."""
        return self._s.asking_pin and self._s.mode is Mode.LISTENING

    def digits_said(self, text: str) -> str:
        """The digits a number or status node reads in `text`, said in the caller's language
        ("două șase" → "26"): a spoken PIN is stored as that many zeros, so it replays alike."""
        return self._matcher.digits(text, self.language)

    @property
    def pending_transfer(self) -> act.Transfer | None:
        """The transfer the channel must carry out (once its prompt has played): a channel
        that left the call meanwhile (a Twilio stream) learns from this what comes next."""
        return self._s.transfer

    @property
    def department(self) -> str | None:
        """The department the call is about: the one being spoken of, or the last routed to."""
        if "department" in self._s.slots:
            return self._s.slots["department"]
        category = self._s.slots.get("category")
        if category:
            return department_for_category(self.flow, category)
        return self._s.routed_to

    @property
    def outcome(self) -> str:
        for outcome in OUTCOME_ORDER:
            if outcome in self._s.outcomes:
                return outcome
        if self._s.ended_by == "failures":
            return "failed"
        return "handled" if self._s.inputs else "abandoned"

    # -- the one entry point --------------------------------------------------------------

    def handle(self, event: ev.Event) -> list[act.Action]:
        """Take one event if its mode does (TAKES); ignore it, or raise if only a bug sends it."""
        mode, kind = self._s.mode, type(event)
        if kind in TAKES[mode]:
            return self._handlers[kind](event)
        if kind is ev.CallStarted:
            raise ProtocolError(f"CallStarted twice for call {self._s.call_id}")
        if mode is Mode.NEW:
            raise ProtocolError(f"{kind.__name__} before CallStarted")
        if kind in ASKED_ONLY and mode is not Mode.ENDED:
            raise ProtocolError(f"{kind.__name__} unasked, while {mode.value}")
        return []

    # -- entering nodes -------------------------------------------------------------------

    def _start(self, e: ev.CallStarted) -> list[act.Action]:
        s = self._s
        self._wait_for(Mode.IDLE)
        s.call_id, s.caller, s.channel = e.call_id, e.caller, e.channel
        s.can_give_up = e.can_give_up
        s.texts = e.caller is not None and e.texts
        s.announcements, s.closures = e.announcements, e.closures
        if e.language in self.flow.languages:
            s.language = e.language
        return self._enter(self.flow.start, e.at)

    def _enter(self, name: str, at: datetime, *, push: bool = True) -> list[act.Action]:
        s = self._s
        s.enters += 1
        if s.enters > MAX_ENTERS_WITHOUT_INPUT:
            raise ProtocolError(f"flow loops without input through node {name!r}")
        node = self.flow.nodes[name]
        actions = self._idle()
        announced = self._announce(name)
        if announced:
            return actions + announced
        s.node, s.attempts, s.buffer, s.asking_pin, s.follow_up = name, 0, "", False, None
        unrecorded = node.type == "record" and s.consent != "accepted"
        if (
            push
            and node.type in INPUT_NODE_TYPES
            and not unrecorded
            and s.back_stack[-1:] != [name]
        ):
            s.back_stack.append(name)
        match node.type:
            case "say":
                return actions + [self._say(name, node.prompt)] + self._enter(node.next, at)
            case "language" if s.language is not None:
                return actions + self._enter(node.next, at, push=False)
            case "notice" if s.consent is not None:
                return actions + self._enter(node.next, at, push=False)
            case "notice":
                return actions + self._notice(name, node)
            case "record" if unrecorded:
                return actions + self._enter(node.unrecorded or node.next, at)
            case "language" | "menu" | "number" | "record" | "status" | "appointment_status":
                return actions + self._prompt(node)
            case "ticket":
                return actions + self._create_ticket(node.kind, draft=False)
            case "callback":
                return actions + self._book_callback(name, node, at)
            case "appointment":
                return actions + self._book_appointment(name, node, at)
            case "transfer":
                return actions + self._transfer(name, node, at)
            case "survey":
                return actions + self._survey(name, node)
            case "hangup":
                goodbye = [self._say(name, node.prompt), act.HangUp(reason="completed")]
                return actions + self._end("ivr") + goodbye
        raise AssertionError(f"unhandled node type {node.type}")

    def _prompt(
        self, node: Node, *, prefix: Sequence[act.Action] | None = None
    ) -> list[act.Action]:
        """The node's question again (first time, retry or repeat), then listen or record."""
        s = self._s
        said = list(prefix or [])
        if isinstance(node, StatusNode) and s.asking_pin:
            said.append(self._say(s.node, node.ask_pin, field_name="ask_pin"))
        else:
            said.append(self._say(s.node, node.prompt))
        if isinstance(node, RecordNode):
            self._wait_for(Mode.RECORDING)
            seconds = node.max_seconds or self.flow.settings.record_max_seconds
            return [*said, act.Record(slot=node.slot, max_seconds=seconds)]
        self._wait_for(Mode.LISTENING)
        return [*said, self._listen(node)]

    def _listen(self, node: Node) -> act.Listen:
        lang = self.language
        if isinstance(node, NumberNode | StatusNode | AppointmentStatusNode):
            return act.Listen(
                node=self._s.node,
                language=lang,
                intents={},
                keys="0123456789*#",
                max_digits=self._max_digits(node),
                secret=self._s.asking_pin,
            )
        return act.Listen(
            node=self._s.node,
            language=lang,
            intents={name: tuple(phrases) for name, phrases in self._grammar(node).items()},
            keys="".join(i.keys for i in self._choices(node).values() if i.keys),
        )

    def _max_digits(self, node: NumberNode | StatusNode | AppointmentStatusNode) -> int:
        if isinstance(node, NumberNode):
            return len(str(node.max_value))
        if isinstance(node, AppointmentStatusNode):
            return CODE_DIGITS
        return PIN_DIGITS if self._s.asking_pin else REF_DIGITS

    @staticmethod
    def _own(node: Node) -> Mapping[str, Intent]:
        if isinstance(node, LanguageNode):
            return node.options
        if isinstance(node, MenuNode):
            return node.intents
        return {}

    def _choices(self, node: Node) -> dict[str, Intent]:
        """The intents a caller may pick here: the node's own, then the global ones."""
        return {**self._own(node), **self._globals}

    def _grammar(self, node: Node) -> dict[str, list[str]]:
        """Phrases per choice; before a language is chosen, every language's phrases."""
        choices = self._choices(node)
        if isinstance(node, LanguageNode):
            return {
                name: [p for phrases in i.phrases.values() for p in phrases]
                for name, i in choices.items()
            }
        return {name: i.phrases.get(self.language, []) for name, i in choices.items()}

    # -- modes ----------------------------------------------------------------------------

    def _wait_for(
        self,
        mode: Mode,
        *,
        guess: _Guess | None = None,
        transfer: act.Transfer | None = None,
        announcing: tuple[str, tuple[int, ...]] | None = None,
    ) -> None:
        """The one place the mode changes: its data comes with it, or is dropped with the last."""
        s = self._s
        s.mode, s.guess, s.transfer, s.announcing = mode, guess, transfer, announcing

    def _idle(self) -> list[act.Action]:
        """Stop waiting for anything (a turn is over): cancel the timers of the last one."""
        s = self._s
        self._wait_for(Mode.IDLE)
        cancelled: list[act.Action] = [act.CancelTimer(name=t) for t in sorted(s.timers)]
        s.timers.clear()
        return cancelled

    def _end(self, reason: str) -> list[act.Action]:
        """The session is over: nothing it waited for matters any more."""
        cancelled = self._idle()
        self._wait_for(Mode.ENDED)
        self._s.ended_by = reason
        return cancelled

    # -- saying things --------------------------------------------------------------------

    def _say(
        self,
        owner: str,
        texts: Mapping[str, str],
        *,
        field_name: str = "prompt",
        params: Mapping[str, str] | None = None,
        secret: bool = False,
    ) -> act.Say:
        s = self._s
        s.marks += 1
        s.last_mark = f"m{s.marks}"
        values = {**self._slot_params(), **(params or {})}
        return act.Say(
            prompt=f"{owner}.{field_name}",
            language=self.language,
            text=fill(texts[self.language], values),
            params=values,
            mark=s.last_mark,
            secret=secret,
        )

    def _promising_sms(
        self,
        texts: Mapping[str, str],
        no_sms: Mapping[str, str] | None,
        field_name: str,
        params: Mapping[str, str],
        *,
        secret: bool = False,
    ) -> act.Say:
        """The current node's `field_name`, which tells of an SMS to come, or its
        `<field_name>_no_sms` variant when no SMS can go to the caller (withheld, opted out)."""
        if not self._s.texts and no_sms is not None:
            texts, field_name = no_sms, f"{field_name}_no_sms"
        return self._say(self._s.node, texts, field_name=field_name, params=params, secret=secret)

    def _text(self, name: str, texts: Mapping[str, str]) -> act.Say:
        return self._say("texts", texts, field_name=name)

    def _sms(
        self,
        to: str,
        template: str,
        params: Mapping[str, str],
        ticket_ref: str | None,
        texts: Mapping[str, str] | None = None,
    ) -> act.QueueSms:
        """An SMS from one of the flow's text templates (`texts.<template>`, or `texts`
        given), filled like a prompt."""
        values = {**self._slot_params(), **params}
        if texts is None:
            texts = getattr(self.flow.texts, template)
        return act.QueueSms(
            to=to,
            template=template,
            language=self.language,
            params=values,
            text=fill(texts[self.language], values),
            ticket_ref=ticket_ref,
        )

    def _slot_params(self) -> dict[str, str]:
        lang, slots, flow = self.language, self._s.slots, self.flow
        params = {}
        if "category" in slots:
            params["category"] = flow.categories[slots["category"]].name[lang]
        department = self.department
        if department:
            params["department"] = flow.departments[department].name[lang]
        if "district" in slots:
            params["district"] = slots["district"]
        if slots.get("service") in flow.services:
            params["service"] = flow.services[slots["service"]].name[lang]
        return params

    # -- input ----------------------------------------------------------------------------

    def _current(self) -> Node:
        return self.flow.nodes[self._s.node]

    def _on_prompt_finished(self, e: ev.PromptFinished) -> list[act.Action]:
        """The turn's last prompt was heard: the no-input timer (or the decline window) starts."""
        s = self._s
        if s.mode is Mode.NOTICE:
            node = self._current()
            assert isinstance(node, NoticeNode)
            return self._notice_heard(node, e)
        if s.mode is Mode.ANNOUNCING:
            return self._announced(skipped=False, at=e.at) if e.mark == s.last_mark else []
        if e.mark != s.last_mark or s.buffer or NO_INPUT in s.timers:
            return []
        return [self._start_timer(NO_INPUT, self.flow.settings.no_input_seconds)]

    def _start_timer(self, name: str, seconds: float) -> act.StartTimer:
        self._s.timers.add(name)
        return act.StartTimer(name=name, seconds=seconds)

    def _cancel_timer(self, name: str) -> list[act.Action]:
        if name not in self._s.timers:
            return []
        self._s.timers.discard(name)
        return [act.CancelTimer(name=name)]

    def _on_speech_started(self, e: ev.SpeechStarted) -> list[act.Action]:
        return self._cancel_timer(NO_INPUT)

    def _on_timer(self, e: ev.TimerExpired) -> list[act.Action]:
        if e.name not in self._s.timers:
            return []
        self._s.timers.discard(e.name)
        if e.name == DECLINE_WINDOW:
            return self._consent("accepted", e.at)
        if e.name == INTER_DIGIT:
            return self._submit_digits(e.at)
        return self._on_no_input(e.at)

    def _on_no_input(self, at: datetime) -> list[act.Action]:
        """Silence (LISTENING or CONFIRMING): an offer or survey goes on, a question is retried."""
        if isinstance(self._current(), CallbackNode | AppointmentNode | SurveyNode):
            return self._idle() + self._follow_up(None, at)
        if self._s.follow_up is not None:
            return self._idle() + self._status_follow_up(None, at)
        return self._idle() + self._retry("no_input", at)

    def _on_input(self, e: ev.DigitsPressed | ev.SpeechRecognized) -> list[act.Action]:
        """Keys or speech, by what the session waits for and where: one ladder for both."""
        match self._s.mode, self._current():
            case Mode.ANNOUNCING, _:
                return self._announced(skipped=True, at=e.at)
            case Mode.NOTICE, NoticeNode() as notice:
                return self._notice_input(notice, e)
            case Mode.CONFIRMING, _:
                return self._answered(self._yes_or_no(e), e.at)
            case Mode.LISTENING, CallbackNode() | AppointmentNode() | SurveyNode() as follow_up:
                return self._idle() + self._follow_up(self._follow_up_key(follow_up, e), e.at)
            case Mode.LISTENING, StatusNode() as status if self._s.follow_up is not None:
                key = self._follow_up_key(status, e)
                return self._idle() + self._status_follow_up(key, e.at)
            case Mode.LISTENING, NumberNode() | StatusNode() | AppointmentStatusNode():
                return self._digits_input(e)
            case Mode.LISTENING, node:
                return self._menu_input(node, e)
        raise AssertionError(f"{type(e).__name__} taken while {self._s.mode.value}")

    def _yes_or_no(self, e: ev.DigitsPressed | ev.SpeechRecognized) -> str | None:
        """YES or NO, by key (1, 2) or a sure enough phrase; None for anything else."""
        if isinstance(e, ev.DigitsPressed):
            return {YES_KEY: YES, NO_KEY: NO}.get(e.digits[0])
        found = self._matcher.match(e.text, self._yes_no(), self.language)
        if found is None or min(e.confidence, found.confidence) < self._sure:
            return None
        return found.intent

    def _follow_up_key(
        self,
        node: CallbackNode | AppointmentNode | SurveyNode | StatusNode,
        e: ev.DigitsPressed | ev.SpeechRecognized,
    ) -> str:
        """The key pressed, or the key an utterance stands for ("" when it stands for none)."""
        if isinstance(e, ev.DigitsPressed):
            return e.digits[0]
        if isinstance(node, SurveyNode):
            said = self.digits_said(e.text)
            return said if len(said) == 1 else ""
        return {YES: YES_KEY, NO: NO_KEY}.get(self._yes_or_no(e) or "", "")

    def _digits_input(self, e: ev.DigitsPressed | ev.SpeechRecognized) -> list[act.Action]:
        """Keys are collected one by one; digits said (number words read as digits, in any
        channel) are the whole answer, weighed."""
        if isinstance(e, ev.DigitsPressed):
            return self._collect_digits(e.digits, e.at)
        value = self.digits_said(e.text)
        return self._idle() + self._weigh(_Guess(None, value), e.confidence, e.at)

    def _menu_input(
        self, node: Node, e: ev.DigitsPressed | ev.SpeechRecognized
    ) -> list[act.Action]:
        actions = self._idle()
        picked = self._pick(node, e)
        if picked is None:
            return actions + self._retry("no_match", e.at)
        return actions + self._weigh(*picked, e.at)

    def _pick(
        self, node: Node, e: ev.DigitsPressed | ev.SpeechRecognized
    ) -> tuple[_Guess, float] | None:
        """The choice a key or an utterance names at a menu, and how sure that is."""
        if isinstance(e, ev.DigitsPressed):
            keyed = (n for n, i in self._choices(node).items() if i.keys == e.digits[0])
            name = next(keyed, None)
            return None if name is None else (_Guess(name), KEY_CONFIDENCE)
        found = self._matcher.match(e.text, self._grammar(node), self.language)
        if found is None:
            return None
        return _Guess(found.intent), min(e.confidence, found.confidence)

    # -- medium confidence: the confirmation question -------------------------------------

    @property
    def _sure(self) -> float:
        return self.flow.settings.confirm_threshold

    def _weigh(self, guess: _Guess, confidence: float, at: datetime) -> list[act.Action]:
        """Take what was heard, ask whether it was meant, or refuse it, by its confidence."""
        if confidence >= self._sure:
            return self._take(guess, at)
        if (
            confidence < self.flow.settings.reject_threshold
            or self.flow.texts.confirm is None
            or (guess.intent is None and not self._acceptable(guess.digits))
        ):
            return self._retry("no_match", at)
        return self._ask(guess)

    def _take(self, guess: _Guess, at: datetime) -> list[act.Action]:
        if guess.intent is not None:
            return self._choose(guess.intent, at)
        self._s.buffer = guess.digits
        return self._submit_digits(at)

    def _ask(self, guess: _Guess) -> list[act.Action]:
        s = self._s
        confirm = self.flow.texts.confirm
        assert confirm is not None
        if guess.intent is None:
            choice = digits(guess.digits)
        else:
            choice = self._grammar(self._current())[guess.intent][0]
        question = self._say(
            "texts", confirm, field_name="confirm", params={"choice": choice}, secret=s.asking_pin
        )
        self._wait_for(Mode.CONFIRMING, guess=guess)
        listen = act.Listen(
            node=s.node, language=self.language, intents=self._yes_no(), keys=YES_KEY + NO_KEY
        )
        return [question, listen]

    def _yes_no(self) -> dict[str, tuple[str, ...]]:
        texts, lang = self.flow.texts, self.language
        yes, no = texts.confirm_yes.get(lang, []), texts.confirm_no.get(lang, [])
        return {YES: tuple(yes), NO: tuple(no)}

    def _answered(self, answer: str | None, at: datetime) -> list[act.Action]:
        """Yes takes the guess; no asks the node again; anything else is a no-match."""
        guess = self._s.guess
        assert guess is not None
        actions = self._idle()
        if answer == YES:
            return actions + self._take(guess, at)
        return actions + self._retry("no_match", at, said=[] if answer == NO else None)

    def _choose(self, name: str, at: datetime) -> list[act.Action]:
        """A successful pick of intent `name` at the current node."""
        node = self._current()
        self._succeeded()
        if name.startswith(GLOBAL):
            return self._global(name.removeprefix(GLOBAL), at)
        if isinstance(node, LanguageNode):
            return self._choose_language(node, name, at)
        assert isinstance(node, MenuNode)
        intent = node.intents[name]
        self._s.slots.update(intent.set)
        if "category" in intent.set:
            self._s.unfiled = True
        assert intent.goto is not None  # the validator requires a target
        return self._enter(intent.goto, at)

    def _choose_language(self, node: LanguageNode, name: str, at: datetime) -> list[act.Action]:
        s = self._s
        s.language = name
        remembered: list[act.Action] = []
        if s.caller:
            remembered = [act.RememberLanguage(caller=s.caller, language=name)]
        return remembered + self._enter(node.next, at)

    def _global(self, name: str, at: datetime) -> list[act.Action]:
        s = self._s
        target = getattr(self.flow.global_intents, name).goto
        if name == "back" and len(s.back_stack) > 1:
            s.back_stack.pop()
            return self._enter(s.back_stack[-1], at, push=False)
        if target is None:  # repeat, or back with nowhere to go
            s.buffer = ""
            return self._prompt(self._current())
        return self._enter(target, at)

    def _succeeded(self) -> None:
        s = self._s
        s.attempts = s.failure_hops = s.enters = 0
        s.inputs += 1

    # -- digits ---------------------------------------------------------------------------

    def _collect_digits(self, keys: str, at: datetime) -> list[act.Action]:
        s = self._s
        node = self._current()
        assert isinstance(node, NumberNode | StatusNode | AppointmentStatusNode)
        actions = self._cancel_timer(NO_INPUT) + self._cancel_timer(INTER_DIGIT)
        for key in keys:
            if key == "*":
                self._succeeded()
                return actions + self._idle() + self._global("back", at)
            if key == "#":
                return actions + self._submit_digits(at)
            s.buffer += key
            if len(s.buffer) >= self._max_digits(node):
                return actions + self._submit_digits(at)
        return [*actions, self._start_timer(INTER_DIGIT, self.flow.settings.inter_digit_seconds)]

    def _submit_digits(self, at: datetime) -> list[act.Action]:
        s = self._s
        node = self._current()
        value, s.buffer = s.buffer, ""
        actions = self._idle()
        if not self._acceptable(value):
            return actions + self._retry("no_match", at)
        if isinstance(node, NumberNode):
            self._succeeded()
            s.slots[node.slot] = str(int(value))
            return actions + self._enter(node.next, at)
        if isinstance(node, AppointmentStatusNode):
            self._wait_for(Mode.AWAITING_VISIT)
            return [*actions, act.LookupAppointment(code=value)]
        if s.asking_pin:
            assert s.status_ref is not None  # a PIN is asked only after a ticket was found
            self._wait_for(Mode.AWAITING_LOOKUP)
            return [*actions, act.CheckTicketPin(ref=s.status_ref, pin=value, caller=s.caller)]
        s.status_ref = f"{value[:2]}-{value[2:]}"
        self._wait_for(Mode.AWAITING_LOOKUP)
        return [*actions, act.LookupTicket(ref=s.status_ref, caller=s.caller)]

    # -- announcements -------------------------------------------------------------------

    def _announce(self, name: str) -> list[act.Action]:
        """Say the announcements placed before node `name`, if any are due; else nothing."""
        s = self._s
        placement = self._placements.get(name)
        if placement is None or placement in s.announced:
            return []
        s.announced.add(placement)
        due = [a for a in s.announcements if a.placement == placement]
        if not due:
            return []
        said: list[act.Action] = []
        for announcement in due:
            s.marks += 1
            s.last_mark = f"m{s.marks}"
            text = announcement.texts.get(self.language) or next(iter(announcement.texts.values()))
            said.append(
                act.Say(
                    prompt=announcement.prompt_id(),
                    language=self.language,
                    text=text,
                    mark=s.last_mark,
                )
            )
        self._wait_for(Mode.ANNOUNCING, announcing=(name, tuple(a.id for a in due)))
        # No barge-in: a voice must not cut the announcements; a key skips them (the next
        # node's prompt flushes them on the line). `#` is left out of `keys` only so that no
        # channel waits for a `#` closing an entry: any key pressed is taken.
        listen = act.Listen(
            node=name, language=self.language, intents={}, keys="0123456789*", barge_in=False
        )
        return [*said, listen]

    def _announced(self, *, skipped: bool, at: datetime) -> list[act.Action]:
        """The announcements played to the end or were skipped: on to the node they precede."""
        assert self._s.announcing is not None
        name, ids = self._s.announcing
        counted = act.CountAnnouncements(ids=ids, skipped=skipped)
        return [counted, *self._enter(name, at)]

    # -- the recording notice ------------------------------------------------------------

    def _notice(self, name: str, node: NoticeNode) -> list[act.Action]:
        """Say the notice in full (no barge-in) while listening for the decline only."""
        self._wait_for(Mode.NOTICE)
        listen = act.Listen(
            node=name,
            language=self.language,
            intents={"decline": tuple(self._decline_phrases(node))},
            keys=node.decline.keys or "",
            barge_in=False,
        )
        return [self._say(name, node.prompt), listen]

    def _notice_heard(self, node: NoticeNode, e: ev.PromptFinished) -> list[act.Action]:
        s = self._s
        if e.mark != s.last_mark or DECLINE_WINDOW in s.timers:
            return []
        if node.decline_seconds:
            return [self._start_timer(DECLINE_WINDOW, node.decline_seconds)]
        return self._consent("accepted", e.at)

    def _decline_phrases(self, node: NoticeNode) -> list[str]:
        """The decline in the caller's language; before one is chosen, in every language."""
        phrases = node.decline.phrases
        if self._s.language is None:
            return [p for language in phrases.values() for p in language]
        return phrases.get(self._s.language, [])

    def _declines(self, node: NoticeNode, e: ev.DigitsPressed | ev.SpeechRecognized) -> bool:
        """The notice's decline key, or one of its phrases said surely enough."""
        if isinstance(e, ev.DigitsPressed):
            return node.decline.keys == e.digits[0]
        threshold = self.flow.settings.confirm_threshold
        grammar = {"decline": self._decline_phrases(node)}
        found = self._matcher.match(e.text, grammar, self.language) if grammar["decline"] else None
        return e.confidence >= threshold and found is not None and found.confidence >= threshold

    def _notice_input(
        self, node: NoticeNode, e: ev.DigitsPressed | ev.SpeechRecognized
    ) -> list[act.Action]:
        """A decline at any time; other input only once the notice was heard (the window),
        where it counts as heard and is handled again by the next node."""
        if self._declines(node, e):
            return self._consent("declined", e.at)
        if DECLINE_WINDOW not in self._s.timers:
            return []
        return self._consent("accepted", e.at) + self.handle(e)

    def _consent(self, answer: str, at: datetime) -> list[act.Action]:
        s = self._s
        node = self._current()
        assert isinstance(node, NoticeNode)
        s.consent = answer
        actions = self._idle()
        if answer == "accepted":
            actions.append(act.StartCallRecording())
        else:
            self._succeeded()
        return actions + self._enter(node.next, at)

    def _acceptable(self, value: str) -> bool:
        """Whether `value` is what the digits node asks: a number in range, a PIN, a ref."""
        node = self._current()
        if isinstance(node, NumberNode):
            return bool(value) and node.min_value <= int(value) <= node.max_value
        if isinstance(node, AppointmentStatusNode):
            return len(value) == CODE_DIGITS
        if self._s.asking_pin:
            return len(value) == PIN_DIGITS and self._s.status_ref is not None
        return len(value) == REF_DIGITS

    # -- retries and failure paths --------------------------------------------------------

    def _retry(
        self, kind: str, at: datetime, *, said: Sequence[act.Action] | None = None
    ) -> list[act.Action]:
        """Re-prompt after no input or no match, or take the failure path once retries are spent.

        `said` replaces the generic "I did not hear/understand" (e.g. "wrong PIN").
        """
        s = self._s
        node = self._current()
        s.attempts += 1
        s.buffer = ""  # the question is asked afresh: keys of a refused entry are forgotten
        if s.attempts > self.flow.settings.retries:
            return [*(said or []), *self._divert(node.on_failure or self.flow.failure, at)]
        if said is None:
            own = getattr(node, kind)
            said = [
                self._say(s.node, own, field_name=kind)
                if own
                else self._text(kind, getattr(self.flow.texts, kind))
            ]
        return self._prompt(node, prefix=said)

    def _divert(self, target: str, at: datetime) -> list[act.Action]:
        """Take a failure path; too many in a row and the call ends politely."""
        s = self._s
        s.failure_hops += 1
        if s.failure_hops > self.flow.settings.max_failure_hops:
            ended = self._end("failures")
            goodbye = self._text("goodbye", self.flow.texts.goodbye)
            return [*ended, goodbye, act.HangUp(reason="no input")]
        return self._enter(target, at)

    # -- recordings -----------------------------------------------------------------------

    def _on_recording(self, e: ev.RecordingFinished) -> list[act.Action]:
        s = self._s
        node = self._current()
        if isinstance(node, StatusNode):
            return self._note_recorded(node, e)
        assert isinstance(node, RecordNode)
        self._wait_for(Mode.IDLE)
        if e.seconds < MIN_RECORDING_SECONDS and not e.transcript:
            return self._retry("no_input", e.at)
        self._succeeded()
        s.slots[node.slot] = e.transcript or ""
        s.recording_id = e.recording_id
        s.unfiled = True
        return self._enter(node.next, e.at)

    # -- storage round trips --------------------------------------------------------------

    def _create_ticket(self, kind: str, *, draft: bool) -> list[act.Action]:
        s = self._s
        category = s.slots.get("category")
        if not draft:
            self._wait_for(Mode.AWAITING_TICKET)
        return [
            act.CreateTicket(
                kind="report" if kind == "report" else "message",
                draft=draft,
                caller=s.caller,
                language=self.language,
                department=self.department,
                category=category,
                district=int(s.slots["district"]) if "district" in s.slots else None,
                recording_id=s.recording_id,
                description=s.slots.get("description"),
                deadline_days=deadline_days(self.flow, category) if category else None,
            )
        ]

    def _on_ticket_created(self, e: ev.TicketCreated) -> list[act.Action]:
        self._wait_for(Mode.IDLE)  # the answer came
        s = self._s
        node = self._current()
        assert isinstance(node, TicketNode)
        s.outcomes.append("ticket" if node.kind == "report" else "message")
        s.ticket_refs.append(e.ref)
        s.routed_to = self.department
        params = {"ref": digits(e.ref), "pin": digits(e.pin or "")}
        said = self._promising_sms(node.prompt, node.prompt_no_sms, "prompt", params, secret=True)
        actions: list[act.Action] = [said]
        if s.texts and s.caller:
            actions.append(self._sms(s.caller, "sms_ticket", {"ref": e.ref}, e.ref))
        for slot in REPORT_SLOTS:
            s.slots.pop(slot, None)
        s.recording_id, s.unfiled = None, False
        return actions + self._enter(node.next, e.at)

    def _on_ticket_looked_up(self, e: ev.TicketLookedUp) -> list[act.Action]:
        self._wait_for(Mode.IDLE)  # the answer came
        s = self._s
        node = self._current()
        assert isinstance(node, StatusNode)
        if e.locked:
            return [self._say(s.node, node.locked, field_name="locked")] + self._divert(
                node.on_failure or self.flow.failure, e.at
            )
        if not e.found:
            said = [self._say(s.node, node.not_found, field_name="not_found")]
            return self._retry("no_match", e.at, said=said)
        if e.granted:
            self._succeeded()
            s.granted_ref = e.ref
            s.outcomes.append("status")
            s.asking_pin = False
            return [self._read_status(node, e), *self._after_status(node, e.status, e.at)]
        if not e.pin_checked:
            s.asking_pin = True
            s.attempts = 0
            return self._prompt(node)
        said = [self._say(s.node, node.wrong_pin, field_name="wrong_pin")]
        return self._retry("no_match", e.at, said=said)

    def _read_status(self, node: StatusNode, e: ev.TicketLookedUp) -> act.Say:
        lang = self.language
        statuses = self.flow.texts.statuses
        params = {
            "ref": digits(e.ref),
            "status": statuses[e.status][lang] if e.status in statuses else (e.status or ""),
            "deadline": spoken_date(e.deadline, lang) if e.deadline else "",
        }
        return self._say(self._s.node, node.result, field_name="result", params=params)

    # -- after the status: the owner adds a note, or says whether it is solved -------------

    def _after_status(self, node: StatusNode, status: str | None, at: datetime) -> list[act.Action]:
        """A resolved report asks whether it is solved; an open one offers to add a note
        (only where the caller's voice may be recorded, as at `record` nodes)."""
        if node.follows_up and status == "resolved":
            return self._ask_follow_up(node, "solved")
        if node.follows_up and status in statuses.OPEN and self._records:
            return self._ask_follow_up(node, "add_note")
        return self._enter(node.next, at)

    @property
    def _records(self) -> bool:
        """The caller heard the recording notice and did not decline."""
        return self._s.consent == "accepted"

    def _ask_follow_up(
        self, node: StatusNode, step: str, prefix: Sequence[act.Action] = ()
    ) -> list[act.Action]:
        s = self._s
        if s.follow_up != step:
            s.follow_up, s.attempts = step, 0
        self._wait_for(Mode.LISTENING)
        question = self._follow_up_say(node, step)
        listen = act.Listen(
            node=s.node, language=self.language, intents=self._yes_no(), keys=YES_KEY + NO_KEY
        )
        return [*prefix, question, listen]

    def _follow_up_say(self, node: StatusNode, field_name: str) -> act.Say:
        texts = getattr(node, field_name)
        assert texts is not None  # the validator requires all follow-up texts or none
        params = {"ref": digits(self._s.granted_ref or "")}
        return self._say(self._s.node, texts, field_name=field_name, params=params)

    def _status_follow_up(self, key: str | None, at: datetime) -> list[act.Action]:
        """A key (None: silence) at the follow-up's question; no answer changes nothing."""
        s = self._s
        node = self._current()
        assert isinstance(node, StatusNode) and s.granted_ref is not None
        if s.follow_up == "solved" and key in (YES_KEY, NO_KEY):
            self._succeeded()
            solved = key == YES_KEY
            said = [
                act.MarkSolved(ref=s.granted_ref, solved=solved),
                self._follow_up_say(node, "closed" if solved else "reopened"),
            ]
            if solved or not self._records:
                return said + self._enter(node.next, at)
            return self._ask_follow_up(node, "add_note", prefix=said)
        if s.follow_up == "add_note" and key == YES_KEY:
            self._succeeded()
            s.follow_up = "record_note"
            self._wait_for(Mode.RECORDING)
            seconds = self.flow.settings.record_max_seconds
            return [
                self._follow_up_say(node, "record_note"),
                act.Record(slot=NOTE_SLOT, max_seconds=seconds),
            ]
        if s.follow_up == "add_note" and key == NO_KEY:
            self._succeeded()
            return self._enter(node.next, at)
        s.attempts += 1
        if s.attempts > self.flow.settings.retries:
            return self._enter(node.next, at)
        kind = "no_input" if key is None else "no_match"
        said = [self._text(kind, getattr(self.flow.texts, kind))]
        assert s.follow_up is not None
        return self._ask_follow_up(node, s.follow_up, prefix=said)

    def _note_recorded(self, node: StatusNode, e: ev.RecordingFinished) -> list[act.Action]:
        """The note is added to the ticket; nothing said asks again whether to add one."""
        s = self._s
        assert s.granted_ref is not None
        self._wait_for(Mode.IDLE)
        if e.seconds < MIN_RECORDING_SECONDS and not e.transcript:
            s.follow_up = "add_note"
            return self._status_follow_up(None, e.at)
        self._succeeded()
        note = act.AddNote(
            ref=s.granted_ref, recording_id=e.recording_id, transcript=e.transcript or ""
        )
        return [note, self._follow_up_say(node, "note_added"), *self._enter(node.next, e.at)]

    def _book_callback(self, name: str, node: CallbackNode, at: datetime) -> list[act.Action]:
        s = self._s
        # the department spoken of, the node's own, or the one of the report just filed
        department = s.slots.get("department") or node.department or self.department
        if s.caller is None or department is None:
            return [self._say(name, node.full, field_name="full")] + self._enter(node.next, at)
        s.slots["department"] = department
        return [self._say(name, node.prompt), self._schedule(department, at)]

    def _schedule(
        self, department: str, at: datetime, *, callback_id: int | None = None
    ) -> act.ScheduleCallback:
        s = self._s
        assert s.caller is not None  # no callback is booked for a withheld number
        self._wait_for(Mode.AWAITING_CALLBACK)
        settings = self.flow.settings
        return act.ScheduleCallback(
            caller=s.caller,
            department=department,
            language=self.language,
            requested_at=at,
            slot_minutes=settings.callback_slot_minutes,
            ticket_ref=s.ticket_refs[-1] if s.ticket_refs else s.granted_ref,
            callback_id=callback_id,
            after=s.offer_slot if callback_id is not None else None,
        )

    def _on_callback_scheduled(self, e: ev.CallbackScheduled) -> list[act.Action]:
        self._wait_for(Mode.IDLE)  # the answer came
        s = self._s
        node = self._current()
        assert isinstance(node, CallbackNode)
        if e.slot is None:
            s.offer_id = None
            return [self._say(s.node, node.full, field_name="full")] + self._enter(node.next, e.at)
        s.offer_slot, s.offer_id = e.slot, e.callback_id
        if node.offer is None or e.callback_id is None:
            return self._callback_booked(node, e.at)
        return self._offer(node)

    def _callback_booked(self, node: CallbackNode, at: datetime) -> list[act.Action]:
        """The slot is the caller's: say it, text it (with how to change it), go on."""
        s = self._s
        assert s.offer_slot is not None
        when = spoken_slot(s.offer_slot, self.zone, self.language)
        said = self._promising_sms(node.confirm, node.confirm_no_sms, "confirm", {"when": when})
        return [said, *self._callback_sms()] + self._enter(node.next, at)

    def _callback_sms(self) -> list[act.Action]:
        s = self._s
        assert s.caller is not None and s.offer_slot is not None
        s.outcomes.append("callback")
        when = sms_slot(s.offer_slot, self.zone, self.language)
        ref = s.ticket_refs[-1] if s.ticket_refs else s.granted_ref
        s.offer_id = None
        return [self._sms(s.caller, "sms_callback", {"when": when}, ref)] if s.texts else []

    # -- appointments at a counter ------------------------------------------------------

    def _book_appointment(self, name: str, node: AppointmentNode, at: datetime) -> list[act.Action]:
        """Hold the first free slot of the service chosen before (or the node's own)."""
        s = self._s
        service = s.slots.get("service") or node.service
        if service is None:
            return [self._say(name, node.full, field_name="full")] + self._enter(node.next, at)
        s.slots["service"] = service
        return [self._say(name, node.prompt), self._visit_action(service, at)]

    def _visit_action(
        self, service: str, at: datetime, moved: ev.AppointmentBooked | None = None
    ) -> act.BookAppointment:
        """Book a visit to `service`, or move the `moved` booking to the next free slot."""
        self._wait_for(Mode.AWAITING_VISIT)
        return act.BookAppointment(
            caller=self._s.caller,
            service=service,
            language=self.language,
            requested_at=at,
            appointment_id=moved.appointment_id if moved else None,
        )

    def _on_appointment_booked(self, e: ev.AppointmentBooked) -> list[act.Action]:
        self._wait_for(Mode.IDLE)  # the answer came
        s = self._s
        node = self._current()
        assert isinstance(node, AppointmentNode)
        if e.slot is None or e.code is None or e.appointment_id is None:
            s.visit = None
            return [self._say(s.node, node.full, field_name="full")] + self._enter(node.next, e.at)
        s.visit = e
        if e.held:
            said = self._say(s.node, node.held, field_name="held", params=self._visit_params())
            s.visit = None
            return [said] + self._enter(node.next, e.at)
        return self._offer(node)

    def _visit_answered(self, node: AppointmentNode, takes: bool, at: datetime) -> list[act.Action]:
        """1 (or yes) books the slot offered; 2 (or no) asks for the next free one."""
        visit = self._s.visit
        assert visit is not None and visit.appointment_id is not None
        if not takes:
            return [self._visit_action(self._s.slots["service"], at, moved=visit)]
        confirmed = act.ConfirmAppointment(appointment_id=visit.appointment_id)
        return [confirmed, *self._visit_booked(node, at)]

    def _visit_booked(self, node: AppointmentNode, at: datetime) -> list[act.Action]:
        """The slot is the caller's: its code said (and texted), what to bring, then on."""
        s = self._s
        params = self._visit_params()
        said = self._promising_sms(node.booked, node.booked_no_sms, "booked", params)
        service = s.slots["service"]
        texts = self.flow.services[service].bring
        bring = self._say(f"services.{service}", texts, field_name="bring", params={})
        return [said, bring, *self._visit_sms()] + self._enter(node.next, at)

    def _visit_sms(self) -> list[act.Action]:
        """The booking's SMS (when one can go to the caller); the visit is no longer held."""
        s = self._s
        visit, texts = s.visit, self.flow.texts.appointment_sms
        assert visit is not None and visit.slot is not None
        s.outcomes.append("appointment")
        s.visit = None
        if not (s.texts and s.caller and texts):
            return []
        when = sms_slot(visit.slot, self.zone, self.language)
        params = {"when": when, "code": visit.code or "", "counter": visit.counter}
        return [self._sms(s.caller, "appointment_sms.booked", params, None, texts.booked)]

    def _visit_params(self) -> dict[str, str]:
        visit = self._s.visit
        assert visit is not None and visit.slot is not None
        return {
            "when": spoken_slot(visit.slot, self.zone, self.language),
            "counter": visit.counter,
            "code": digits(visit.code or ""),
        }

    def _on_appointment_looked_up(self, e: ev.AppointmentLookedUp) -> list[act.Action]:
        self._wait_for(Mode.IDLE)  # the answer came
        s = self._s
        node = self._current()
        assert isinstance(node, AppointmentStatusNode)
        if not e.found or e.slot is None or e.service not in self.flow.services:
            said = [self._say(s.node, node.not_found, field_name="not_found")]
            return self._retry("no_match", e.at, said=said)
        self._succeeded()
        s.outcomes.append("status")
        params = {
            "code": digits(e.code),
            "when": spoken_slot(e.slot, self.zone, self.language),
            "counter": e.counter,
            "service": self.flow.services[e.service].name[self.language],
        }
        result = self._say(s.node, node.result, field_name="result", params=params)
        return [result] + self._enter(node.next, e.at)

    # -- after the business: the callback's slot offered, the survey ----------------------

    def _offer(
        self, node: CallbackNode | AppointmentNode, prefix: Sequence[act.Action] = ()
    ) -> list[act.Action]:
        """The held slot, offered: 1 (or yes) takes it, 2 (or no) asks for the next one."""
        s = self._s
        assert node.offer is not None
        if isinstance(node, AppointmentNode):
            params = self._visit_params()
        else:
            assert s.offer_slot is not None
            params = {"when": spoken_slot(s.offer_slot, self.zone, self.language)}
        self._wait_for(Mode.LISTENING)
        return [
            *prefix,
            self._say(s.node, node.offer, field_name="offer", params=params),
            act.Listen(
                node=s.node, language=self.language, intents=self._yes_no(), keys=YES_KEY + NO_KEY
            ),
        ]

    def _survey(self, name: str, node: SurveyNode) -> list[act.Action]:
        self._wait_for(Mode.LISTENING)
        keys = "".join(SURVEY_SCORES)
        listen = act.Listen(node=name, language=self.language, intents={}, keys=keys)
        return [self._say(name, node.prompt), listen]

    def _follow_up(self, key: str | None, at: datetime) -> list[act.Action]:
        """A key (None: silence) at a callback's offer or at the survey."""
        s = self._s
        node = self._current()
        assert isinstance(node, CallbackNode | AppointmentNode | SurveyNode)
        if isinstance(node, SurveyNode) and key in SURVEY_SCORES:
            self._succeeded()
            score = act.RecordSurvey(score=int(key), language=self.language)
            thanks = self._say(s.node, node.thanks, field_name="thanks")
            return [score, thanks] + self._enter(node.next, at)
        if isinstance(node, CallbackNode) and key in (YES_KEY, NO_KEY):
            self._succeeded()
            assert s.offer_id is not None and s.slots.get("department")
            if key == NO_KEY:
                return [self._schedule(s.slots["department"], at, callback_id=s.offer_id)]
            return [act.ConfirmCallback(callback_id=s.offer_id)] + self._callback_booked(node, at)
        if isinstance(node, AppointmentNode) and key in (YES_KEY, NO_KEY):
            self._succeeded()
            return self._visit_answered(node, key == YES_KEY, at)
        s.attempts += 1
        if s.attempts > self.flow.settings.retries:  # no answer: the slot stays booked
            if isinstance(node, SurveyNode):
                return self._enter(node.next, at)
            if isinstance(node, AppointmentNode):
                return self._visit_booked(node, at)
            return self._callback_booked(node, at)
        kind = "no_input" if key is None else "no_match"
        said = [self._text(kind, getattr(self.flow.texts, kind))]
        if isinstance(node, SurveyNode):
            return said + self._survey(s.node, node)
        return self._offer(node, prefix=said)

    def _on_storage_failed(self, e: ev.StorageFailed) -> list[act.Action]:
        """Whatever failed (the answer awaited, or an action nobody waits for), the caller
        hears an apology and the flow's failure path. A report that could not be filed is
        kept in the call's events and filed later, and the caller is told so."""
        said = [self._text("apology", self.flow.texts.apology)]
        kept = self.flow.texts.report_kept
        if e.action == "CreateTicket" and kept is not None:
            said.append(self._text("report_kept", kept))
        return said + self._divert(self.flow.failure, e.at)

    # -- transfers and the end ------------------------------------------------------------

    def _transfer(self, name: str, node: TransferNode, at: datetime) -> list[act.Action]:
        s = self._s
        s.slots["department"] = node.department
        target = transfer_target(self.flow, node.department)
        if target is None or not is_open(self.flow, node.department, at, self._s.closures):
            return self._enter(node.after_hours, at)
        transfer = act.Transfer(target=target, department=node.department)
        self._wait_for(Mode.TRANSFERRING, transfer=transfer)
        said = [self._say(name, node.prompt)]
        give_up = self.flow.texts.transfer_give_up
        if s.can_give_up and give_up is not None:
            said.append(self._text("transfer_give_up", give_up))
        return [*said, transfer]

    def _on_transfer_finished(self, e: ev.TransferFinished) -> list[act.Action]:
        """Answered ends the call here; otherwise the flow goes on, a busy line told as busy
        (no answer and failures have the no-answer node's own words)."""
        node = self._current()
        assert isinstance(node, TransferNode)
        if e.result == "answered":
            self._s.outcomes.append("transferred")
            return self._end("transfer")
        busy = self.flow.texts.transfer_busy
        said = [self._text("transfer_busy", busy)] if e.result == "busy" and busy else []
        return said + self._enter(node.on_no_answer, e.at)

    def _on_resumed(self, e: ev.CallResumed) -> list[act.Action]:
        """The call is back on another process after its own died: a short apology, then
        what the caller was asked, again (a number half keyed is keyed anew, as after
        "repeat"); all the caller said and keyed before stands."""
        s = self._s
        texts = self.flow.texts
        if texts.resumed is None:
            sorry = self._text("apology", texts.apology)
        else:
            sorry = self._text("resumed", texts.resumed)
        if s.mode is Mode.ANNOUNCING:
            return [sorry, *self._announced(skipped=True, at=e.at)]
        mode, guess = s.mode, s.guess
        said = [*self._idle(), sorry]
        s.buffer = ""
        match mode, self._current():
            case Mode.NOTICE, NoticeNode() as notice:
                return said + self._notice(s.node, notice)
            case Mode.CONFIRMING, _ if guess is not None:
                return said + self._ask(guess)
            case _, CallbackNode() as offer:
                return self._offer(offer, prefix=said)
            case _, SurveyNode() as survey:
                return said + self._survey(s.node, survey)
            case _, node:
                return self._prompt(node, prefix=said)

    def _on_hang_up(self, e: ev.CallerHungUp) -> list[act.Action]:
        s = self._s
        awaited = s.mode
        actions = self._end("caller")
        if s.unfiled and awaited is not Mode.AWAITING_TICKET:
            kind = "report" if "category" in s.slots else "message"
            actions += self._create_ticket(kind, draft=True)
            s.outcomes.append("draft")
        if s.offer_id is not None and awaited is not Mode.AWAITING_CALLBACK:  # at the offer
            actions += self._callback_sms()
        if s.visit is not None and awaited is not Mode.AWAITING_VISIT:  # at the offer
            actions += self._visit_sms()
        return actions
