"""A scripted caller around one CallSession, with hand-written fakes for storage.

`Phone` plays the channel and the shell the way a real one does: every prompt is heard at
once (PromptFinished), storage actions are answered from an in-memory store, timers wait
until the test lets them expire.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.session import CallSession
from menus.schema import INPUT_NODE_TYPES, Flow, NoticeNode
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
BUCHAREST = ZoneInfo("Europe/Bucharest")
CALLER = "+40722111222"
VISIT_CODE = "048213"
VISIT_STEP = timedelta(minutes=30)


def load(path: Path) -> Flow:
    return Flow.model_validate(yaml.safe_load(path.read_text()))


DEMO = load(ROOT / "callflows.yaml")


def local(text: str, zone: ZoneInfo = BUCHAREST) -> datetime:
    """A local wall-clock time as the aware UTC instant events carry."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


TUESDAY_MORNING = local("2026-11-24T10:00")
SUNDAY_MORNING = local("2026-11-29T10:00")


@dataclass
class FakeTicket:
    ref: str
    caller: str | None
    pin: str
    status: str = "registered"
    deadline: date = date(2026, 12, 4)
    draft: bool = False


@dataclass
class FakeStore:
    """Tickets, PIN tries and callback slots, in memory."""

    tickets: dict[str, FakeTicket] = field(default_factory=dict)
    created: list[act.CreateTicket] = field(default_factory=list)
    failed_pins: int = 0
    slot: datetime | None = field(default_factory=lambda: local("2026-11-25T09:00"))
    broken: bool = False
    visits: list[act.BookAppointment] = field(default_factory=list)
    """Appointments asked for; each is booked `VISIT_STEP` after the last (full: `slot` None)."""

    def answer(self, action: act.Action, at: datetime) -> ev.Event | None:
        if self.broken and isinstance(
            action, act.CreateTicket | act.LookupTicket | act.CheckTicketPin | act.ScheduleCallback
        ):
            return ev.StorageFailed(at=at, action=type(action).__name__)
        if isinstance(action, act.CreateTicket):
            self.created.append(action)
            ref = f"26-{len(self.created):06d}"
            self.tickets[ref] = FakeTicket(ref, action.caller, "4321", draft=action.draft)
            return ev.TicketCreated(at=at, ref=ref, pin="4321")
        if isinstance(action, act.LookupTicket):
            ticket = self.tickets.get(action.ref)
            return self._access(
                action.ref,
                ticket,
                ticket is not None and ticket.caller == action.caller and action.caller is not None,
                at,
                pin_checked=False,
            )
        if isinstance(action, act.CheckTicketPin):
            ticket = self.tickets.get(action.ref)
            ok = ticket is not None and ticket.pin == action.pin
            self.failed_pins += not ok
            return self._access(action.ref, ticket, ok, at, pin_checked=True)
        if isinstance(action, act.ScheduleCallback):
            return ev.CallbackScheduled(at=at, slot=self.slot)
        if isinstance(action, act.BookAppointment):
            self.visits.append(action)
            if self.slot is None:
                return ev.AppointmentBooked(at=at, slot=None)
            slot = self.slot + VISIT_STEP * (len(self.visits) - 1)
            return ev.AppointmentBooked(
                at=at, slot=slot, appointment_id=1, code=VISIT_CODE, counter="ghișeul 3"
            )
        if isinstance(action, act.LookupAppointment):
            found = action.code == VISIT_CODE and self.slot is not None
            return ev.AppointmentLookedUp(
                at=at,
                code=action.code,
                found=found,
                slot=self.slot if found else None,
                service="local_taxes" if found else None,
                counter="ghișeul 1" if found else "",
            )
        return None

    def _access(self, ref, ticket, granted, at, *, pin_checked):
        locked = self.failed_pins >= 5
        return ev.TicketLookedUp(
            at=at,
            ref=ref,
            found=ticket is not None,
            granted=granted and not locked,
            locked=locked,
            pin_checked=pin_checked,
            status=ticket.status if granted and not locked else None,
            deadline=ticket.deadline if granted and not locked else None,
        )


class Phone:
    def __init__(
        self,
        flow: Flow = DEMO,
        *,
        caller: str | None = CALLER,
        language: str | None = "en",
        at: datetime = TUESDAY_MORNING,
        store: FakeStore | None = None,
        texts: bool = True,
        declines: bool = False,
        can_give_up: bool = False,
    ) -> None:
        self.session = CallSession(flow, PhraseMatcher())
        self.declines = declines  # press a notice's decline key while it plays
        self.store = store or FakeStore()
        self.now = at
        self.log: list[act.Action] = []
        self.turn: list[act.Action] = []
        self.timers: set[str] = set()
        self.events: list[ev.Event] = []
        self._send(
            ev.CallStarted(
                at=at,
                call_id="test-call",
                caller=caller,
                channel="test",
                language=language,
                texts=texts,
                can_give_up=can_give_up,
            )
        )

    # -- what the caller does --------------------------------------------------------------
    def press(self, keys: str) -> Phone:
        return self._send(ev.DigitsPressed(at=self._tick(), digits=keys))

    def say(self, text: str, confidence: float = 0.95) -> Phone:
        return self._send(ev.SpeechRecognized(at=self._tick(), text=text, confidence=confidence))

    def silence(self) -> Phone:
        """Let the running timer expire (no input, or the end of a digit entry)."""
        assert self.timers, f"no timer running at node {self.session.node}"
        name = "inter_digit" if "inter_digit" in self.timers else sorted(self.timers)[0]
        self.timers.discard(name)
        return self._send(ev.TimerExpired(at=self._tick(6), name=name))

    def fail(self) -> Phone:
        """Stay silent through every retry, so the node's failure path is taken."""
        for _ in range(self.session.flow.settings.retries + 1):
            if self.session.flow.nodes[self.node].type == "record":
                self.record(0)
            else:
                self.silence()
        return self

    def record(self, seconds: float, transcript: str | None = None) -> Phone:
        return self._send(
            ev.RecordingFinished(
                at=self._tick(seconds),
                recording_id="rec-1" if seconds else None,
                seconds=seconds,
                transcript=transcript,
            )
        )

    def transfer_result(self, result: str) -> Phone:
        return self._send(ev.TransferFinished(at=self._tick(20), result=result))

    def hang_up(self) -> Phone:
        return self._send(ev.CallerHungUp(at=self._tick()))

    def fork(self) -> Phone:
        """Another phone in the same state, rebuilt by replaying this call's events."""
        twin = copy.copy(self)
        twin.session = CallSession(self.session.flow, PhraseMatcher())
        for event in self.events:
            twin.session.handle(event)
        twin.store = copy.deepcopy(self.store)
        twin.log, twin.events, twin.timers = list(self.log), list(self.events), set(self.timers)
        return twin

    # -- what the test reads ---------------------------------------------------------------
    @property
    def node(self) -> str:
        return self.session.node

    def prompts(self) -> list[str]:
        return [a.prompt for a in self.turn if isinstance(a, act.Say)]

    def texts(self) -> list[str]:
        return [a.text for a in self.turn if isinstance(a, act.Say)]

    def of(self, kind: type) -> list:
        return [a for a in self.log if isinstance(a, kind)]

    # -- the fake channel and shell --------------------------------------------------------
    def _tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def _send(self, event: ev.Event) -> Phone:
        self.turn = []
        queue = [event]
        while queue:
            current = queue.pop(0)
            self.events.append(current)
            for action in self.session.handle(current):
                self.turn.append(action)
                self.log.append(action)
                queue.extend(self._carry_out(action))
        return self

    def _carry_out(self, action: act.Action) -> list[ev.Event]:
        if isinstance(action, act.Say):
            finished = ev.PromptFinished(at=self.now, mark=action.mark)
            node = self.session.flow.nodes.get(action.prompt.split(".")[0])
            if self.declines and isinstance(node, NoticeNode) and node.decline.keys:
                return [ev.DigitsPressed(at=self.now, digits=node.decline.keys[0]), finished]
            return [finished]
        if isinstance(action, act.StartTimer):
            self.timers.add(action.name)
        if isinstance(action, act.CancelTimer):
            self.timers.discard(action.name)
        answer = self.store.answer(action, self.now)
        return [answer] if answer else []


OWNED_REF = "26-999999"


def owned_ticket_store() -> FakeStore:
    store = FakeStore()
    store.tickets[OWNED_REF] = FakeTicket(OWNED_REF, CALLER, "1234")
    return store


def moves(flow: Flow, name: str, declined: bool = False) -> list[tuple[str, str]]:
    """What a caller can do at a node to leave it, as (input, next node) pairs.

    Inputs: keys, "record" (say a description), "owned" (key an owned ticket's number),
    "no-answer" (a transfer nobody picks up), "fail" (silence until the retries are spent),
    "closed" (the call is placed out of office hours) and "decline" (refuse recording at a
    notice; a record node then leads to its `unrecorded` node, if `declined`). Derived from
    the flow file, not the engine.
    """
    node = flow.nodes[name]
    if node.type in INPUT_NODE_TYPES:
        failing = [("fail", node.on_failure or flow.failure)]
    match node.type:
        case "menu":
            return [(i.keys, i.goto) for i in node.intents.values() if i.keys and i.goto] + failing
        case "language":
            return [(i.keys, node.next) for i in node.options.values() if i.keys] + failing
        case "number":
            return [(f"{node.min_value}#", node.next)] + failing
        case "record" if declined:
            return [("", node.unrecorded or node.next)]
        case "record":
            return [("record", node.next)] + failing
        case "status":
            return [("owned", node.next)] + failing
        case "appointment_status":
            return [(f"{VISIT_CODE}#", node.next)] + failing
        case "appointment":
            return [("1", node.next)]
        case "notice":
            return [("", node.next), ("decline", node.next)]
        case "say" | "ticket" | "callback":
            return [("", node.next)]
        case "transfer":
            return [("no-answer", node.on_no_answer), ("closed", node.after_hours)]
    return []


def route_to(flow: Flow, target: str) -> list[str]:
    """The shortest list of inputs from the start of a call to `target` (breadth first over
    the node and whether the caller declined recording)."""
    start = (flow.start, False)
    paths: dict[tuple[str, bool], list[str]] = {start: []}
    queue = [start]
    while queue:
        name, declined = state = queue.pop(0)
        if name == target:
            return paths[state]
        for step, following in moves(flow, name, declined):
            reached = (following, declined or step == "decline")
            if reached not in paths:
                paths[reached] = paths[state] + ([step] if step else [])
                queue.append(reached)
    raise LookupError(f"{target} cannot be reached")


def call_along(flow: Flow, steps: list[str]) -> Phone:
    """A new call (language not yet chosen) that follows `steps`, placed on a working day
    morning, or on a Sunday when the route passes a closed department; its caller declines
    recording during the notice when the route says "decline"."""
    at = SUNDAY_MORNING if "closed" in steps else TUESDAY_MORNING
    phone = Phone(
        flow, language=None, at=at, store=owned_ticket_store(), declines="decline" in steps
    )
    return play(phone, steps)


def play(phone: Phone, steps: list[str]) -> Phone:
    for step in steps:
        if step in ("closed", "decline"):  # ways the call was placed (see call_along)
            continue
        if step == "fail":
            phone.fail()
            continue
        if step == "record":
            phone.record(8, "a deep hole in front of number 12")
        elif step == "owned":
            phone.press(OWNED_REF.replace("-", ""))
        elif step == "no-answer":
            phone.transfer_result("no-answer")

        else:
            phone.press(step)
    return phone
