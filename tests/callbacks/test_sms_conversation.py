"""The SMS conversation as a pure function: every command in Romanian, Bulgarian and
English, and every template within 2 SMS segments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from callback_flows import LANGUAGES, demo_flow

from ivr.engine.render import fill
from ivr.sms.conversation import (
    AddNote,
    CancelCallback,
    Command,
    ConfirmCallback,
    Escalate,
    MarkSolved,
    MoveCallback,
    Offer,
    OptIn,
    OptOut,
    SmsState,
    TicketFacts,
    converse,
    parse,
)
from ivr.storage.outbox import segments
from menus.schema import Flow

CITIZEN = "+40722111222"
SLOT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
NEXT = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
WHEN = {"ro": "24.11 10:00", "en": "24.11 10:00", "bg": "24.11 10:00"}
NEXT_WHEN = "24.11 10:30"

FlowOf = Callable[[], Flow]


def state(flow: Flow, language: str, **kw: object) -> SmsState:
    department = "roads" if "roads" in flow.departments else next(iter(flow.departments))
    offer = Offer(callback_id=7, slot=SLOT, department=department, next_free=NEXT)
    values: dict[str, object] = {
        "sender": CITIZEN,
        "language": language,
        "opted_out": False,
        "offer": offer,
    }
    values.update(kw)
    return SmsState(**values)  # type: ignore[arg-type]


def ticket(**kw: object) -> TicketFacts:
    values: dict[str, object] = {
        "ref": "26-000123",
        "caller": CITIZEN,
        "status": "in_progress",
        "deadline": date(2026, 12, 4),
        "department": "roads",
        "level": 0,
        "escalation_slot": NEXT,
    }
    values.update(kw)
    return TicketFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1", Command("confirm")),
        (" 2 ", Command("another")),
        ("0.", Command("cancel")),
        ("STOP", Command("stop")),
        ("stop", Command("stop")),
        ("Unsubscribe", Command("stop")),
        ("START", Command("start")),
        ("Da", Command("confirm")),
        ("ok!", Command("confirm")),
        ("YES", Command("confirm", opts_in=True)),
        ("STATUS 26-000123", Command("status", "26-000123")),
        ("status 26000123", Command("status", "26-000123")),
        ("Escalate 26 000123", Command("escalate", "26-000123")),
        ("STATUS", Command("help")),
        ("STATUS 1234", Command("help")),
        ("12", Command("help")),
        ("stop sending me the bills", Command("help")),
        ("🙂🙂🙂", Command("help")),
        ("x" * 10_000, Command("help")),
        ("", Command("help")),
        (
            "NOTE 26-000123 The hole <b>grew</b>",
            Command("note", "26-000123", text="The hole <b>grew</b>"),
        ),
        (
            "notă 26 000123 Groapa  e mai mare",
            Command("note", "26-000123", text="Groapa e mai mare"),
        ),
        (
            "Бележка 26-000123 Дупката е по-голяма",
            Command("note", "26-000123", text="Дупката е по-голяма"),
        ),
        ("NOTE 26-000123", Command("help")),
        ("solved 26-000123", Command("solved", "26-000123")),
        ("Rezolvată 26-000123", Command("solved", "26-000123")),
        ("РЕШЕН 26-000123", Command("solved", "26-000123")),
        ("NOT SOLVED 26-000123", Command("not_solved", "26-000123")),
        ("nerezolvat 26-000123", Command("not_solved", "26-000123")),
        ("Не е решен 26-000123", Command("not_solved", "26-000123")),
        ("SOLVED 26-000123 thanks", Command("help")),
    ],
)
def test_parse(body: str, expected: Command) -> None:
    assert parse(body) == expected


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_1_confirms_the_newest_offer_and_names_it(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    outcome = converse(flow, Command("confirm"), state(flow, language))
    assert outcome.changes == (ConfirmCallback(7),)
    [reply] = outcome.replies
    assert reply.to == CITIZEN and reply.language == language
    assert WHEN[language] in reply.text and reply.template == "callback_sms.confirmed"


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_2_moves_to_the_next_free_slot(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    outcome = converse(flow, Command("another"), state(flow, language))
    assert outcome.changes == (MoveCallback(7, NEXT),)
    assert NEXT_WHEN in outcome.replies[0].text


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_2_without_another_free_slot_keeps_the_booking(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    offer = Offer(callback_id=7, slot=SLOT, department="roads", next_free=None)
    outcome = converse(flow, Command("another"), state(flow, language, offer=offer))
    assert outcome.changes == ()
    assert outcome.replies[0].template == "callback_sms.no_other_slot"
    assert WHEN[language] in outcome.replies[0].text


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_0_cancels_and_names_the_slot(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    outcome = converse(flow, Command("cancel"), state(flow, language))
    assert outcome.changes == (CancelCallback(7),)
    assert WHEN[language] in outcome.replies[0].text


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
@pytest.mark.parametrize("kind", ["confirm", "another", "cancel"])
def test_a_reply_without_a_pending_offer_is_told_so(
    language: str, flow_of: FlowOf, kind: str
) -> None:
    flow = flow_of()
    outcome = converse(flow, Command(kind), state(flow, language, offer=None))  # type: ignore[arg-type]
    assert outcome.changes == ()
    assert outcome.replies[0].template == "callback_sms.no_offer"


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_status_answers_the_tickets_own_number(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    outcome = converse(flow, Command("status", "26-000123"), state(flow, language, ticket=ticket()))
    [reply] = outcome.replies
    assert "26-000123" in reply.text and "04.12.2026" in reply.text
    assert flow.texts.statuses["in_progress"][language] in reply.text
    assert outcome.changes == ()


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_status_of_someone_elses_ticket_reads_as_unknown(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    theirs = ticket(caller="+40733000000")
    outcome = converse(flow, Command("status", "26-000123"), state(flow, language, ticket=theirs))
    missing = converse(flow, Command("status", "26-000123"), state(flow, language, ticket=None))
    assert outcome.replies[0].template == "callback_sms.unknown_ref"
    assert outcome.replies[0].text == missing.replies[0].text
    assert flow.texts.statuses["in_progress"][language] not in outcome.replies[0].text


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_the_owner_adds_a_note_and_closes_or_reopens(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    owned = state(flow, language, ticket=ticket())
    note = converse(flow, Command("note", "26-000123", text="<b>bigger</b>"), owned)
    assert note.changes == (AddNote("26-000123", "<b>bigger</b>"),)
    assert (
        note.replies[0].template == "callback_sms.note_added"
        and "26-000123" in note.replies[0].text
    )
    solved = converse(flow, Command("solved", "26-000123"), owned)
    assert solved.changes == (MarkSolved("26-000123", True),)
    assert solved.replies[0].template == "callback_sms.closed"
    resolved = state(flow, language, ticket=ticket(status="resolved"))
    reopened = converse(flow, Command("not_solved", "26-000123"), resolved)
    assert reopened.changes == (MarkSolved("26-000123", False),)
    assert reopened.replies[0].template == "callback_sms.reopened"


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_follow_ups_change_nothing_for_a_stranger_or_a_status_that_forbids_them(
    language: str, flow_of: FlowOf
) -> None:
    flow = flow_of()
    theirs = state(flow, language, ticket=ticket(caller="+40733000000"))
    stranger = converse(flow, Command("note", "26-000123", text="hi"), theirs)
    assert stranger.changes == () and stranger.replies[0].template == "callback_sms.unknown_ref"
    still_open = converse(
        flow, Command("not_solved", "26-000123"), state(flow, language, ticket=ticket())
    )
    rejected = state(flow, language, ticket=ticket(status="rejected"))
    for outcome in (still_open, converse(flow, Command("solved", "26-000123"), rejected)):
        assert outcome.changes == () and outcome.replies[0].template == "callback_sms.status"


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_escalate_goes_one_level_up(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    outcome = converse(
        flow, Command("escalate", "26-000123"), state(flow, language, ticket=ticket())
    )
    assert outcome.changes == (Escalate("26-000123", 1, NEXT),)
    assert flow.escalation[1].name[language] in outcome.replies[0].text
    assert NEXT_WHEN in outcome.replies[0].text


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_escalate_at_the_top_changes_nothing(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    top = ticket(level=len(flow.escalation) - 1)
    outcome = converse(flow, Command("escalate", "26-000123"), state(flow, language, ticket=top))
    assert outcome.changes == () and outcome.replies[0].template == "callback_sms.top_level"


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_escalate_of_someone_elses_ticket_changes_nothing(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    theirs = ticket(caller=None)
    command = Command("escalate", "26-000123")
    outcome = converse(flow, command, state(flow, language, ticket=theirs))
    assert outcome.changes == () and outcome.replies[0].template == "callback_sms.unknown_ref"


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_anything_else_gets_the_help(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    outcome = converse(flow, parse("hello?"), state(flow, language))
    assert outcome.changes == () and outcome.replies[0].template == "callback_sms.help"
    assert "STATUS" in outcome.replies[0].text


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_stop_opts_out_silently_and_start_opts_in(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    stopped = converse(flow, Command("stop"), state(flow, language))
    assert stopped == type(stopped)(replies=(), changes=(OptOut(CITIZEN),))
    started = converse(flow, Command("start"), state(flow, language, opted_out=True))
    assert started == type(started)(replies=(), changes=(OptIn(CITIZEN),))  # Twilio answers


@pytest.mark.parametrize("command", ["confirm", "another", "cancel", "help"])
def test_an_opted_out_number_gets_nothing_and_changes_nothing(command: str) -> None:
    flow = demo_flow()
    outcome = converse(flow, Command(command), state(flow, "ro", opted_out=True))  # type: ignore[arg-type]
    assert outcome.replies == () and outcome.changes == ()


def test_a_sender_we_cannot_answer_gets_nothing() -> None:
    flow = demo_flow()
    outcome = converse(flow, Command("confirm"), state(flow, "ro", sender=None))
    assert outcome.replies == () and outcome.changes == ()


def test_an_unknown_language_is_answered_in_the_flows_default() -> None:
    flow = demo_flow()
    outcome = converse(flow, Command("confirm"), state(flow, "ko"))
    assert outcome.replies[0].language == "ro"


LONGEST = {
    "when": "24.11 10:30",
    "ref": "26-000123",
    "deadline": "04.12.2026",
}


def _worst_params(flow: Flow, language: str) -> dict[str, str]:
    longest = lambda names: max(names, key=len)  # noqa: E731
    return {
        **LONGEST,
        "department": longest([d.name[language] for d in flow.departments.values()]),
        "level": longest([level.name[language] for level in flow.escalation]),
        "status": longest([s[language] for s in flow.texts.statuses.values()]),
        "category": longest([c.name[language] for c in flow.categories.values()]),
        "resolution": "",
    }


@pytest.mark.parametrize(("language", "flow_of"), LANGUAGES)
def test_every_callback_template_fits_in_two_segments(language: str, flow_of: FlowOf) -> None:
    flow = flow_of()
    texts = flow.texts.callback_sms
    assert texts is not None
    params = _worst_params(flow, language)
    given = {name: getattr(texts, name) for name in type(texts).model_fields}
    templates = {name: text[language] for name, text in given.items() if text is not None}
    templates["sms_callback"] = flow.texts.sms_callback[language]
    templates["sms_ticket"] = flow.texts.sms_ticket[language]
    too_long = {
        name: (segments(fill(template, params)), fill(template, params))
        for name, template in templates.items()
        if segments(fill(template, params)) > 2
    }
    assert too_long == {}
