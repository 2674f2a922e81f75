"""The SMS conversation (DESIGN §5): one inbound message + its sender + the state the shell
loaded for it → the replies to send and the changes to make. Pure: no database, no clock.

Commands, case and spacing ignored: `1` confirms the sender's newest pending offer (a
callback or an appointment at a counter, whichever was booked last), `2` moves it to the next
free slot, `0` cancels it (each reply names the slot, in that offer's own texts); `STATUS <ref>`
reads a report's status, only to the number that filed it; `ESCALATE <ref>` takes it one
level up the flow's ladder (once per cooldown: a repeat is told where the report is); STOP
(and Twilio's other stop words) opts the number out, START opts it back in (silently:
Twilio answers its keywords itself); YES, DA and OK confirm as `1` does. The owner of a
report (the number that filed it) may add to it and close or reopen it, in English,
Romanian or Bulgarian (diacritics optional): `NOTE <ref> <text>` (NOTA, БЕЛЕЖКА) adds the
text as the citizen's note; `SOLVED <ref>` (REZOLVAT, РЕШЕН) closes it while it is open or
resolved; `NOT SOLVED <ref>` (NEREZOLVAT, НЕРЕШЕН) reopens a resolved or closed one; in any
other status the answer is its status. Anything else gets the short help. A number that
opted out gets nothing but START answered: nothing is ever sent to it.

The shell (`ivr.sms.inbound`) parses first (`parse`), loads the `SmsState` the command needs,
calls `converse`, then applies the changes and queues the replies in one transaction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from ivr.engine.render import fill, sms_slot
from menus.schema import AppointmentSms, CallbackSms, Flow
from routing import statuses
from routing.escalation import escalation_level, next_level

STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
"""Twilio's own opt-out keywords: Twilio blocks the number too, so our list must agree."""
START_WORDS = frozenset({"start", "unstop"})
"""Twilio's opt-in keywords; Twilio answers them itself, so we only follow its list."""
YES_WORDS = frozenset({"yes", "da", "ok", "okay", "y"})
"""Confirm as `1` does. YES is also a Twilio opt-in keyword: an opted-out number is opted in."""
MAX_READ = 200
"""Only the start of a message is read: a 10,000-character body costs no more."""
MAX_NOTE = 1000
"""A NOTE's text is read this far (several segments)."""
FOLLOW_UP_WORDS: dict[str, CommandKind] = {
    **dict.fromkeys(("note", "nota", "бележка"), "note"),
    **dict.fromkeys(("solved", "rezolvat", "rezolvata", "решен", "решено"), "solved"),
    **dict.fromkeys(
        (
            "not solved",
            "unsolved",
            "nerezolvat",
            "nerezolvata",
            "nu rezolvat",
            "нерешен",
            "нерешено",
            "не решен",
            "не е решен",
        ),
        "not_solved",
    ),
}
"""The owner's follow-ups, by their words in each language (diacritics removed)."""
_REF = re.compile(r"^(?P<year>\d{2})[\s\-./]*(?P<number>\d{6})$")
_REPLY = re.compile(r"^[^\w]*([012])[^\w]*$")

CommandKind = Literal[
    "confirm", "another", "cancel", "status", "escalate", "stop", "start", "help",
    "note", "solved", "not_solved",
]  # fmt: skip
REPLY_KEYS: dict[str, CommandKind] = {"1": "confirm", "2": "another", "0": "cancel"}


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    ref: str | None = None
    """The report a STATUS or ESCALATE names, as `YY-NNNNNN`."""
    opts_in: bool = False
    """The word is one of Twilio's opt-in keywords (YES) besides what it asks."""
    text: str = ""
    """A NOTE's text, as written (case kept)."""


@dataclass(frozen=True)
class Offer:
    """The sender's newest pending callback (booked, slot not begun yet)."""

    callback_id: int
    slot: datetime
    department: str
    next_free: datetime | None = None
    """The next free slot after `slot` (only loaded for a `2`)."""


@dataclass(frozen=True)
class VisitOffer:
    """The sender's newest pending appointment (booked, slot not begun yet), when it is newer
    than any pending callback."""

    appointment_id: int
    slot: datetime
    service: str
    code: str
    next_free: datetime | None = None
    """The next free slot after `slot` (only loaded for a `2`)."""


@dataclass(frozen=True)
class TicketFacts:
    ref: str
    caller: str | None
    status: str
    deadline: date | None
    department: str | None
    level: int
    """Index into the flow's escalation ladder."""
    escalation_slot: datetime | None = None
    """The first free slot of the next level (only loaded for an ESCALATE)."""
    escalated_lately: bool = False
    """The citizen escalated it within the cooldown: a repeat is answered, not obeyed."""
    booked_slot: datetime | None = None
    """The slot of the callback booked at its current level (loaded for an ESCALATE)."""


@dataclass(frozen=True)
class SmsState:
    sender: str | None
    """E.164, or None when the sender is no phone number we can answer (a short code)."""
    language: str
    opted_out: bool
    offer: Offer | VisitOffer | None = None
    ticket: TicketFacts | None = None


@dataclass(frozen=True)
class Reply:
    to: str
    template: str
    language: str
    text: str
    ticket_ref: str | None = None


@dataclass(frozen=True)
class ConfirmCallback:
    callback_id: int


@dataclass(frozen=True)
class MoveCallback:
    callback_id: int
    slot: datetime


@dataclass(frozen=True)
class CancelCallback:
    callback_id: int


@dataclass(frozen=True)
class ConfirmAppointment:
    appointment_id: int


@dataclass(frozen=True)
class MoveAppointment:
    appointment_id: int
    slot: datetime


@dataclass(frozen=True)
class CancelAppointment:
    appointment_id: int


@dataclass(frozen=True)
class OptOut:
    number: str


@dataclass(frozen=True)
class OptIn:
    number: str


@dataclass(frozen=True)
class Escalate:
    ref: str
    to_level: int
    slot: datetime | None


@dataclass(frozen=True)
class AddNote:
    ref: str
    text: str


@dataclass(frozen=True)
class MarkSolved:
    ref: str
    solved: bool


Change = (
    ConfirmCallback
    | MoveCallback
    | CancelCallback
    | ConfirmAppointment
    | MoveAppointment
    | CancelAppointment
    | OptOut
    | OptIn
    | Escalate
    | AddNote
    | MarkSolved
)


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...] = ()
    changes: tuple[Change, ...] = field(default=())


def parse(body: str) -> Command:
    """What a message asks for; anything not understood is a request for help."""
    text = " ".join(body[:MAX_READ].split()).casefold()
    reply = _REPLY.match(text)
    if reply:
        return Command(REPLY_KEYS[reply.group(1)])
    word, _, rest = text.partition(" ")
    word = word.strip(".!,;:")
    if word in STOP_WORDS and not rest:
        return Command("stop")
    if word in START_WORDS and not rest:
        return Command("start")
    if word in YES_WORDS and not rest:
        return Command("confirm", opts_in=word == "yes")
    ref = _ref(rest)
    if word == "status" and ref:
        return Command("status", ref)
    if word == "escalate" and ref:
        return Command("escalate", ref)
    return _follow_up(body) or Command("help")


def _follow_up(body: str) -> Command | None:
    """NOTE / SOLVED / NOT SOLVED <ref> [text], in any of their languages; None otherwise."""
    words = body[:MAX_NOTE].split()
    plain = [_plain(word) for word in words[:5]]
    for size in (3, 2, 1):
        kind = FOLLOW_UP_WORDS.get(" ".join(plain[:size]))
        if kind is None:
            continue
        for ref_size in (1, 2):  # `26-000123`, or `26 000123`
            ref = _ref(" ".join(words[size : size + ref_size]))
            text = " ".join(words[size + ref_size :])
            if ref and (kind == "note") == bool(text):
                return Command(kind, ref, text=text)
        return None
    return None


def _plain(word: str) -> str:
    """A command word without case, trailing punctuation or the diacritics of Latin letters
    (ă → a; Cyrillic letters such as й are kept whole)."""
    letters = (unicodedata.normalize("NFKD", c) for c in word.casefold().strip(".!,;:"))
    return "".join(d[0] if d[0].isascii() else unicodedata.normalize("NFC", d) for d in letters)


def _ref(text: str) -> str | None:
    match = _REF.match(text.strip().strip(".!"))
    return f"{match['year']}-{match['number']}" if match else None


def converse(flow: Flow, command: Command, state: SmsState) -> Outcome:
    """The replies and changes for `command` from `state.sender`."""
    sender = state.sender
    texts = flow.texts.callback_sms
    if sender is None or texts is None:
        return Outcome()
    if command.kind == "stop":
        return Outcome(changes=(OptOut(sender),))
    if command.kind == "start":
        return Outcome(changes=(OptIn(sender),))
    if state.opted_out and not command.opts_in:
        return Outcome()
    outcome = _answer(_Writer(flow, texts, state), command, state)
    if state.opted_out:  # a YES: Twilio opted the number in; our list agrees, then we answer
        return Outcome(outcome.replies, (OptIn(sender), *outcome.changes))
    return outcome


def _answer(write: _Writer, command: Command, state: SmsState) -> Outcome:
    match command.kind:
        case "confirm" | "another" | "cancel":
            return _answer_offer(write, command, state.offer)
        case "status":
            return _status(write, command, state)
        case "escalate":
            return _escalate(write, command, state)
        case "note" | "solved" | "not_solved" if write.texts.note_added is not None:
            return _follow_up_answer(write, command, state)
    return Outcome((write.reply("help", {}),))


def _answer_offer(write: _Writer, command: Command, offer: Offer | VisitOffer | None) -> Outcome:
    if offer is None:
        return Outcome((write.reply("no_offer", {}),))
    if isinstance(offer, VisitOffer):
        return _answer_visit(write, command, offer)
    params = {"when": write.slot(offer.slot), "department": write.department(offer.department)}
    if command.kind == "confirm":
        return Outcome((write.reply("confirmed", params),), (ConfirmCallback(offer.callback_id),))
    if command.kind == "cancel":
        return Outcome((write.reply("cancelled", params),), (CancelCallback(offer.callback_id),))
    if offer.next_free is None:
        return Outcome((write.reply("no_other_slot", params),))
    moved = {**params, "when": write.slot(offer.next_free)}
    return Outcome(
        (write.reply("moved", moved),), (MoveCallback(offer.callback_id, offer.next_free),)
    )


def _answer_visit(write: _Writer, command: Command, offer: VisitOffer) -> Outcome:
    """1, 2 or 0 about an appointment, answered in the appointment SMS texts."""
    params = {"when": write.slot(offer.slot), "service": write.service(offer.service)}
    if command.kind == "confirm":
        confirmed = ConfirmAppointment(offer.appointment_id)
        return Outcome((write.visit_reply("confirmed", params),), (confirmed,))
    if command.kind == "cancel":
        cancelled = CancelAppointment(offer.appointment_id)
        return Outcome((write.visit_reply("cancelled", params),), (cancelled,))
    if offer.next_free is None:
        return Outcome((write.visit_reply("no_other_slot", params),))
    moved = {**params, "when": write.slot(offer.next_free), "code": offer.code}
    change = MoveAppointment(offer.appointment_id, offer.next_free)
    return Outcome((write.visit_reply("moved", moved),), (change,))


def _owned(command: Command, state: SmsState) -> TicketFacts | None:
    ticket = state.ticket
    if ticket is None or ticket.ref != command.ref or ticket.caller != state.sender:
        return None
    return ticket


def _status(write: _Writer, command: Command, state: SmsState) -> Outcome:
    ticket = _owned(command, state)
    if ticket is None:
        return Outcome((write.reply("unknown_ref", {"ref": command.ref or ""}),))
    statuses = write.flow.texts.statuses
    status = statuses[ticket.status][write.language] if ticket.status in statuses else ""
    deadline = f"{ticket.deadline:%d.%m.%Y}" if ticket.deadline else "-"
    params = {"ref": ticket.ref, "status": status or ticket.status, "deadline": deadline}
    return Outcome((write.reply("status", params, ticket.ref),))


def _escalate(write: _Writer, command: Command, state: SmsState) -> Outcome:
    ticket = _owned(command, state)
    if ticket is None:
        return Outcome((write.reply("unknown_ref", {"ref": command.ref or ""}),))
    ladder = write.flow.escalation
    current = ladder[min(ticket.level, len(ladder) - 1)]
    if ticket.escalated_lately:
        slot = ticket.booked_slot
        params = {
            "ref": ticket.ref,
            "level": current.name[write.language],
            "when": write.slot(slot) if slot else "-",
        }
        return Outcome((write.reply("escalated", params, ticket.ref),))
    above = next_level(write.flow, current.role)
    if above is None:
        return Outcome((write.reply("top_level", {"ref": ticket.ref}, ticket.ref),))
    slot = ticket.escalation_slot
    params = {
        "ref": ticket.ref,
        "level": escalation_level(write.flow, above.role).name[write.language],
        "when": write.slot(slot) if slot else "-",
    }
    change = Escalate(ticket.ref, ticket.level + 1, slot)
    return Outcome((write.reply("escalated", params, ticket.ref),), (change,))


def _follow_up_answer(write: _Writer, command: Command, state: SmsState) -> Outcome:
    """A note added, or the report closed or reopened, when its status allows (else its
    status is the answer)."""
    ticket = _owned(command, state)
    if ticket is None:
        return Outcome((write.reply("unknown_ref", {"ref": command.ref or ""}),))
    params = {"ref": ticket.ref}
    if command.kind == "note":
        change: Change = AddNote(ticket.ref, command.text)
        return Outcome((write.reply("note_added", params, ticket.ref),), (change,))
    solved = command.kind == "solved"
    if ticket.status in (statuses.CLOSABLE if solved else statuses.REOPENABLE):
        reply = write.reply("closed" if solved else "reopened", params, ticket.ref)
        return Outcome((reply,), (MarkSolved(ticket.ref, solved),))
    return _status(write, command, state)


@dataclass(frozen=True)
class _Writer:
    flow: Flow
    texts: CallbackSms
    state: SmsState

    @property
    def language(self) -> str:
        return self.flow.language_or_default(self.state.language)

    def reply(self, template: str, params: Mapping[str, str], ref: str | None = None) -> Reply:
        return self._reply(self.texts, "callback_sms", template, params, ref)

    def visit_reply(self, template: str, params: Mapping[str, str]) -> Reply:
        texts = self.flow.texts.appointment_sms
        assert texts is not None  # the shell loads no appointment offer without its texts
        return self._reply(texts, "appointment_sms", template, params, None)

    def _reply(
        self,
        texts: CallbackSms | AppointmentSms,
        group: str,
        template: str,
        params: Mapping[str, str],
        ref: str | None,
    ) -> Reply:
        assert self.state.sender is not None  # converse answers only a known sender
        text = fill(getattr(texts, template)[self.language], params)
        return Reply(self.state.sender, f"{group}.{template}", self.language, text, ref)

    def slot(self, at: datetime) -> str:
        return sms_slot(at, ZoneInfo(self.flow.city.timezone), self.language)

    def service(self, code: str) -> str:
        service = self.flow.services.get(code)
        return service.name[self.language] if service else code

    def department(self, code: str) -> str:
        department = self.flow.departments.get(code)
        return department.name[self.language] if department else code
