"""From any reachable state, a caller who only stays silent or keeps getting it wrong
reaches a human, a ticket, a callback or a hang-up within a bounded number of turns."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from phone import DEMO, SUNDAY_MORNING, TUESDAY_MORNING, Phone, owned_ticket_store

from ivr.engine import actions as act

PHRASES = sorted(
    {
        p
        for node in DEMO.nodes.values()
        for i in getattr(node, "intents", {}).values()
        for phrases in i.phrases.values()
        for p in phrases
    }
)
ENDINGS = (act.Transfer, act.ScheduleCallback, act.BookAppointment, act.HangUp)
SETTINGS = DEMO.settings
TURN_BOUND = (SETTINGS.retries + 1) * (SETTINGS.max_failure_hops + 1) + 2


def reached_an_end(actions: list[act.Action]) -> bool:
    return any(
        isinstance(a, ENDINGS) or (isinstance(a, act.CreateTicket) and not a.draft) for a in actions
    )


class Caller(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.phone: Phone | None = None

    @precondition(lambda self: self.phone is None or self.phone.session.ended)
    @rule(open_hours=st.booleans(), known=st.sampled_from([None, "ro", "en"]), hidden=st.booleans())
    def call(self, open_hours: bool, known: str | None, hidden: bool) -> None:
        at = TUESDAY_MORNING if open_hours else SUNDAY_MORNING
        caller = None if hidden else "+40722111222"
        self.phone = Phone(language=known, at=at, caller=caller, store=owned_ticket_store())

    def _live(self) -> bool:
        return self.phone is not None and not self.phone.session.ended and not self._with_human()

    def _with_human(self) -> bool:
        assert self.phone is not None
        return self.phone.session.pending_transfer is not None

    @precondition(_live)
    @rule(keys=st.text(alphabet="0123456789*#", min_size=1, max_size=9))
    def press(self, keys: str) -> None:
        self.phone.press(keys)

    @precondition(_live)
    @rule(text=st.sampled_from(PHRASES) | st.text(max_size=20))
    def say(self, text: str) -> None:
        self.phone.say(text)

    @precondition(_live)
    @rule(seconds=st.sampled_from([0, 0.2, 4, 30]))
    def record(self, seconds: float) -> None:
        self.phone.record(seconds, "a description" if seconds > 1 else None)

    @precondition(lambda self: self.phone is not None and self._with_human())
    @rule(result=st.sampled_from(["answered", "no-answer", "busy", "failed"]))
    def transfer_ends(self, result: str) -> None:
        self.phone.transfer_result(result)

    @invariant()
    def failing_input_alone_ends_well(self) -> None:
        if not self._live():
            return
        if DEMO.nodes[self.phone.node].type in ("callback", "appointment"):
            return  # listening at a slot's offer: the booking is held already
        twin = self.phone.fork()
        seen: list[act.Action] = []
        for _ in range(TURN_BOUND):
            if twin.session.ended or reached_an_end(seen):
                break
            node = DEMO.nodes[twin.node]
            if node.type == "record":
                twin.record(0)
            elif twin.timers:
                twin.silence()
            else:
                twin.say("zzz nothing like a phrase")
            seen += twin.turn
        assert reached_an_end(seen), (self.phone.node, [type(a).__name__ for a in seen])


Caller.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestNoDeadEnds = Caller.TestCase
