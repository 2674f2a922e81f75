"""The engine's dialog rules, one behaviour per test: event lists in, action lists out."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import datetime

import pytest
from phone import CALLER, DEMO, OWNED_REF, ROOT, FakeStore, Phone, local, owned_ticket_store

from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.engine.session import CallSession, ProtocolError
from speech.intents import PhraseMatcher


def test_a_report_by_keys_files_a_ticket_reads_it_back_and_queues_an_sms():
    phone = Phone().press("1").press("1").press("3").record(9, "hole by the school").press("1")
    [ticket] = phone.of(act.CreateTicket)
    assert (ticket.kind, ticket.category, ticket.department, ticket.district) == (
        "report",
        "pothole",
        "roads",
        3,
    )
    assert ticket.description == "hole by the school" and ticket.recording_id == "rec-1"
    assert ticket.deadline_days == 10 and not ticket.draft
    readback = next(
        a for a in phone.turn if isinstance(a, act.Say) and a.prompt == "report_file.prompt"
    )
    assert "2 6, 0 0 0 0 0 1" in readback.text and readback.secret
    [sms] = phone.of(act.QueueSms)
    assert sms.to == CALLER and "26-000001" in sms.text and "pothole" in sms.text
    assert phone.node == "anything_else" and phone.session.outcome == "ticket"


def test_a_report_by_voice_in_romanian_with_diacritics_left_out():
    phone = Phone(language="ro").say("semnalez o problema").say("gunoi").say("4")
    assert phone.node == "report_description"
    phone.record(5, "gunoi pe strada").say("inregistreaza")
    assert phone.of(act.CreateTicket)[0].category == "waste"


def test_the_confirmation_reads_back_category_and_district():
    phone = Phone().press("1").press("2").press("5").record(4, "dark street")
    assert "broken street light, district 5" in phone.texts()[0]


@pytest.mark.parametrize(
    "caller", [{"caller": None}, {"texts": False}], ids=["withheld", "opted out"]
)
def test_a_number_that_cannot_be_texted_gets_no_sms_and_is_promised_none(caller):
    phone = Phone(**caller).press("1").press("1").press("3").record(9, "hole")
    phone.press("1")
    assert phone.of(act.CreateTicket) and not phone.of(act.QueueSms)
    assert "report_file.prompt_no_sms" in phone.prompts()
    assert "write them down" in " ".join(phone.texts())


def test_an_opted_out_caller_books_a_callback_without_an_sms_promised():
    phone = Phone(texts=False).press("3").press("2")
    assert phone.of(act.ScheduleCallback) and not phone.of(act.QueueSms)
    assert "callback.confirm_no_sms" in phone.prompts()
    assert "text message" not in " ".join(phone.texts())


def test_silence_reprompts_twice_then_offers_a_human():
    phone = Phone()
    phone.silence()
    assert phone.prompts() == ["texts.no_input", "main.prompt"]
    phone.silence()
    assert phone.prompts() == ["texts.no_input", "main.prompt"]
    phone.silence()
    assert phone.prompts() == ["failure.prompt"]


def test_unknown_keys_and_unmatched_speech_are_no_match():
    phone = Phone().press("7")
    assert phone.prompts() == ["texts.no_match", "main.prompt"]
    phone.say("the weather tomorrow")
    assert phone.prompts() == ["texts.no_match", "main.prompt"]
    phone.say("report", confidence=0.2)
    assert phone.prompts() == ["failure.prompt"]


def test_endless_silence_ends_at_an_operator_in_office_hours():
    phone = Phone().fail()
    assert phone.node == "failure"
    phone.fail()
    assert [a.department for a in phone.of(act.Transfer)] == ["public_relations"]


def test_endless_silence_after_hours_ends_with_a_polite_hang_up():
    phone = Phone(at=local("2026-11-29T22:00"))
    for _ in range(10):
        if phone.session.ended:
            break
        phone.fail()
    assert phone.session.ended and phone.of(act.HangUp)[-1].reason == "no input"
    assert phone.session.outcome == "failed"


def test_the_no_input_timer_starts_only_once_the_prompt_was_heard():
    session = CallSession(DEMO, PhraseMatcher())
    at = local("2026-11-24T10:00")
    notice = session.handle(
        ev.CallStarted(at=at, call_id="c", caller=None, channel="t", language="en")
    )
    notice_mark = [a for a in notice if isinstance(a, act.Say)][-1].mark
    actions = session.handle(ev.PromptFinished(at=at, mark=notice_mark))
    assert act.StartCallRecording() in actions
    assert not [a for a in actions if isinstance(a, act.StartTimer)]
    last_mark = [a for a in actions if isinstance(a, act.Say)][-1].mark
    first_mark = next(a for a in actions if isinstance(a, act.Say)).mark
    assert session.handle(ev.PromptFinished(at=at, mark=first_mark)) == []
    assert session.handle(ev.PromptFinished(at=at, mark=last_mark)) == [
        act.StartTimer(name="no_input", seconds=6.0)
    ]


def test_a_key_cancels_the_no_input_timer_and_a_stale_expiry_is_ignored():
    phone = Phone().press("4")
    assert act.CancelTimer(name="no_input") in phone.turn
    assert phone.session.handle(ev.TimerExpired(at=phone.now, name="inter_digit")) == []


def test_speech_started_stops_the_no_input_timer():
    phone = Phone()
    phone._send(ev.SpeechStarted(at=phone.now))
    assert phone.turn == [act.CancelTimer(name="no_input")]


def test_global_repeat_back_main_menu_and_operator():
    phone = Phone().press("1").press("9")
    assert phone.prompts() == ["report_category.prompt"]
    phone.press("1").press("*")
    assert phone.prompts() == ["report_category.prompt"]
    phone.press("*")
    assert phone.prompts() == ["main.prompt"]
    phone.press("5").press("#")
    assert phone.prompts() == ["main.prompt"]
    phone.say("operator")
    assert phone.of(act.Transfer)


def test_a_node_intent_may_share_a_global_intents_name():
    phone = Phone().fail().press("2")
    assert phone.of(act.ScheduleCallback)[0].department == "public_relations"


def test_district_number_validation_and_the_inter_digit_timer():
    phone = Phone().press("1").press("1").press("9")
    assert phone.prompts() == ["report_district.no_match", "report_district.prompt"]
    phone.press("0")
    assert phone.node == "report_district"
    phone.say("district 4")
    assert phone.node == "report_description" and phone.session.slots["district"] == "4"


def test_odd_unicode_digits_in_speech_are_no_match_not_a_crash():
    phone = Phone().press("1").press("1").say("district ²")
    assert phone.prompts() == ["report_district.no_match", "report_district.prompt"]


def test_digits_wait_for_hash_or_the_inter_digit_timer():
    phone = Phone().press("2").press("2699")
    assert act.StartTimer(name="inter_digit", seconds=3.0) in phone.turn
    phone.silence()
    assert phone.prompts() == ["texts.no_match", "status.prompt"]


def test_language_choice_is_remembered_and_skipped_when_known():
    phone = Phone(language=None).press("2")
    assert phone.of(act.RememberLanguage) == [act.RememberLanguage(caller=CALLER, language="en")]
    assert Phone(language="ro").prompts() == [
        "welcome.prompt",
        "recording_notice.prompt",
        "announcements.prompt",
        "main.prompt",
    ]
    assert not Phone(language=None, caller=None).press("1").of(act.RememberLanguage)


def test_status_is_read_to_its_owner_by_caller_id():
    phone = Phone(store=owned_ticket_store()).press("2").press(OWNED_REF.replace("-", ""))
    assert phone.of(act.LookupTicket) == [act.LookupTicket(ref=OWNED_REF, caller=CALLER)]
    assert "is registered" in phone.texts()[0] and "December 4, 2026" in phone.texts()[0]
    assert phone.session.outcome == "status"


def test_status_asks_a_stranger_for_the_pin_and_keeps_it_secret():
    phone = Phone(caller="+40733000000", store=owned_ticket_store()).press("2").press("26999999")
    assert phone.prompts() == ["status.ask_pin"]
    assert phone.of(act.Listen)[-1].secret and phone.session.collecting_secret
    phone.press("9999")
    assert phone.prompts() == ["status.wrong_pin", "status.ask_pin"]
    assert phone.of(act.CheckTicketPin)[-1].redacted().pin == "****"
    phone.press("1234")
    assert "is registered" in phone.texts()[0] and not phone.session.collecting_secret


def test_a_withheld_number_takes_the_pin_path():
    phone = Phone(caller=None, store=owned_ticket_store()).press("2").press("26999999")
    assert phone.prompts() == ["status.ask_pin"]


def test_status_locked_after_too_many_wrong_pins_sends_the_caller_to_a_human():
    store = owned_ticket_store()
    store.failed_pins = 4
    phone = Phone(caller=None, store=store).press("2").press("26999999").press("0000")
    assert phone.prompts()[:2] == ["status.locked", "failure.prompt"]
    assert "locked" in phone.texts()[0]


def test_an_unknown_ticket_number_is_said_so_and_asked_again():
    phone = Phone(store=owned_ticket_store()).press("2").press("26000777")
    assert phone.prompts() == ["status.not_found", "status.prompt"]


def heard_status(status: str = "registered", **options: object) -> Phone:
    store = owned_ticket_store()
    store.tickets[OWNED_REF].status = status
    return Phone(store=store, **options).press("2").press(OWNED_REF.replace("-", ""))  # type: ignore[arg-type]


def test_after_its_status_the_owner_records_a_note_added_to_the_report():
    phone = heard_status()
    assert phone.prompts() == ["status.result", "status.add_note"]
    phone.press("1").record(0)  # nothing said: asked again
    assert phone.prompts() == ["texts.no_input", "status.add_note"]
    phone.press("1").record(4, transcript="the hole is bigger")
    assert phone.of(act.AddNote) == [
        act.AddNote(ref=OWNED_REF, recording_id="rec-1", transcript="the hole is bigger")
    ]
    assert phone.prompts() == ["status.note_added", "anything_else.prompt"]


def test_silence_or_2_after_the_status_adds_nothing_and_goes_on():
    phone = heard_status().silence().silence().silence()
    assert phone.prompts() == ["anything_else.prompt"] and not phone.of(act.AddNote)
    assert heard_status().press("2").prompts() == ["anything_else.prompt"]


def test_a_caller_who_declined_recording_is_not_offered_a_note():
    assert heard_status(declines=True).prompts() == ["status.result", "anything_else.prompt"]


def test_a_resolved_report_is_closed_by_yes_or_reopened_by_2_and_then_added_to():
    phone = heard_status("resolved")
    assert phone.prompts() == ["status.result", "status.solved"]
    phone.say("yes")
    assert phone.of(act.MarkSolved) == [act.MarkSolved(ref=OWNED_REF, solved=True)]
    assert phone.prompts() == ["status.closed", "anything_else.prompt"]
    phone = heard_status("resolved").press("2")
    assert phone.of(act.MarkSolved) == [act.MarkSolved(ref=OWNED_REF, solved=False)]
    assert phone.prompts() == ["status.reopened", "status.add_note"]


def test_a_closed_report_offers_nothing():
    assert heard_status("closed").prompts() == ["status.result", "anything_else.prompt"]


def test_hanging_up_mid_report_keeps_a_draft_ticket():
    phone = Phone().press("1").press("4").press("2").hang_up()
    [draft] = phone.of(act.CreateTicket)
    assert draft.draft and draft.category == "abandoned_car" and draft.district == 2
    assert phone.session.outcome == "draft"
    assert phone.session.handle(ev.DigitsPressed(at=phone.now, digits="1")) == []


def test_hanging_up_before_anything_was_captured_files_nothing():
    phone = Phone().press("5").hang_up()
    assert not phone.of(act.CreateTicket) and phone.session.outcome == "handled"
    assert Phone().hang_up().session.outcome == "abandoned"


def test_a_storage_failure_apologises_and_offers_a_human_and_a_report_is_kept():
    phone = (
        Phone(store=FakeStore(broken=True))
        .press("1")
        .press("1")
        .press("3")
        .record(5, "x")
        .press("1")
    )
    assert phone.prompts()[:3] == ["texts.apology", "texts.report_kept", "failure.prompt"]
    other = Phone()
    other._send(ev.StorageFailed(at=other._tick(), action="QueueSms"))  # not the report
    assert other.prompts()[:2] == ["texts.apology", "failure.prompt"]


def test_transfer_in_office_hours_and_after_hours():
    phone = Phone().press("4").press("1")
    assert phone.of(act.Transfer) == [act.Transfer(target="+40264000110", department="urbanism")]
    phone.transfer_result("answered")
    assert phone.session.ended and phone.session.outcome == "transferred"
    christmas = Phone(at=local("2026-12-25T10:00")).press("4").press("1")
    assert not christmas.of(act.Transfer) and christmas.prompts() == ["after_hours.prompt"]
    assert "Urban planning office is closed" in christmas.texts()[0]


def test_a_transfer_is_pending_from_its_action_until_it_ends_also_when_replayed():
    phone = Phone().press("4").press("1")
    urbanism = act.Transfer(target="+40264000110", department="urbanism")
    assert phone.session.pending_transfer == urbanism
    assert phone.fork().session.pending_transfer == urbanism
    assert phone.transfer_result("no-answer").session.pending_transfer is None
    assert Phone().press("4").press("1").hang_up().session.pending_transfer is None
    assert Phone().press("4").session.pending_transfer is None


def test_a_busy_line_is_told_as_busy_before_the_offer_and_no_answer_keeps_its_words():
    busy = Phone().press("4").press("1").transfer_result("busy")
    assert busy.prompts() == ["texts.transfer_busy", "no_answer.prompt"]
    assert busy.texts()[0] == "The Urban planning line is busy."
    unanswered = Phone().press("4").press("1").transfer_result("no-answer")
    assert unanswered.prompts() == ["no_answer.prompt"]
    assert "busy" not in unanswered.texts()[0]


def test_without_a_busy_text_busy_is_told_like_no_answer():
    flow = DEMO.model_copy(update={"texts": DEMO.texts.model_copy(update={"transfer_busy": None})})
    assert Phone(flow).press("4").press("1").transfer_result("busy").prompts() == [
        "no_answer.prompt"
    ]


def test_the_connecting_prompt_tells_how_to_give_up_only_where_the_channel_can():
    can = Phone(can_give_up=True).press("4").press("1")
    assert can.prompts() == ["transfer_urbanism.prompt", "texts.transfer_give_up"]
    assert "press star" in can.texts()[1]
    cannot = Phone().press("4").press("1")
    assert cannot.prompts() == ["transfer_urbanism.prompt"]


def test_after_hours_message_becomes_a_ticket_for_that_department():
    phone = Phone(at=local("2026-11-28T18:00")).press("4").press("2").press("2")
    phone.record(12, "please call me about my tax bill")
    [ticket] = phone.of(act.CreateTicket)
    assert (ticket.kind, ticket.department, ticket.category) == ("message", "taxes", None)
    assert phone.session.outcome == "message"
    [sms] = phone.of(act.QueueSms)
    assert sms.template == "sms_ticket" and "()" not in sms.text and "26-000001" in sms.text


def test_a_caller_who_declined_recording_reports_by_keys_and_an_officer_calls_back():
    phone = Phone(language=None, declines=True).press("2")  # English
    assert phone.session.recording_consent == "declined"
    phone.press("1").press("1").press("3")  # report, pothole, district 3: no recording asked
    assert phone.prompts() == ["report_confirm_unrecorded.prompt"]
    assert "officer will call you to hear the details" in phone.texts()[0]
    phone.press("1")
    [ticket] = phone.of(act.CreateTicket)
    assert (ticket.category, ticket.district, ticket.description) == ("pothole", 3, None)
    assert phone.prompts()[:2] == [
        "report_file_unrecorded.prompt",
        "report_details_callback.prompt",
    ]
    [booking] = phone.of(act.ScheduleCallback)
    assert (booking.department, booking.caller) == ("roads", CALLER)
    assert booking.ticket_ref == "26-000001"


def test_callback_is_booked_and_confirmed_by_sms():
    phone = Phone().press("3").press("2")
    [booking] = phone.of(act.ScheduleCallback)
    assert (booking.department, booking.caller) == ("taxes", CALLER)
    assert "Wednesday 25 November, 09:00" in phone.texts()[1]
    [sms] = phone.of(act.QueueSms)
    assert sms.template == "sms_callback" and "Local taxes" in sms.text
    assert phone.session.outcome == "callback"


def test_no_callback_for_a_withheld_number_or_without_a_free_slot():
    assert Phone(caller=None).press("3").press("1").prompts()[0] == "callback.full"
    store = FakeStore(slot=None)
    assert Phone(store=store).press("3").press("1").prompts()[:2] == [
        "callback.prompt",
        "callback.full",
    ]


def test_events_before_the_call_or_unasked_answers_are_protocol_errors():
    session = CallSession(DEMO, PhraseMatcher())
    at = local("2026-11-24T10:00")
    with pytest.raises(ProtocolError):
        session.handle(ev.DigitsPressed(at=at, digits="1"))
    session.handle(ev.CallStarted(at=at, call_id="c", caller=None, channel="t"))
    with pytest.raises(ProtocolError):
        session.handle(ev.TicketCreated(at=at, ref="26-000001", pin="1111"))


def test_events_must_carry_utc_time_and_real_keys():
    with pytest.raises(ValueError, match="aware UTC"):
        ev.CallerHungUp(at=datetime(2026, 11, 24, 10, 0))
    with pytest.raises(ValueError, match="DTMF"):
        ev.DigitsPressed(at=local("2026-11-24T10:00"), digits="1a")


def test_replaying_the_stored_events_rebuilds_the_same_session():
    phone = Phone(store=owned_ticket_store()).press("1").press("1").press("3").record(9, "x")
    phone.press("1").press("1").press("2").press("26999999")
    replayed = CallSession(DEMO, PhraseMatcher())
    actions = [a for e in phone.events for a in replayed.handle(e)]
    assert actions == phone.log
    assert (replayed.node, replayed.slots, replayed.outcome) == (
        phone.node,
        phone.session.slots,
        phone.session.outcome,
    )


def test_the_engine_loads_no_io_framework():
    code = (
        "import sys, ivr.engine.session, speech.intents\n"
        "banned = {'flask', 'sqlalchemy', 'pyVoIP', 'vosk', 'asyncio', 'twilio', 'gunicorn'}\n"
        "print(sorted(banned & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "module", sorted((ROOT / "ivr" / "engine").glob("*.py")), ids=lambda p: p.name
)
def test_no_engine_module_imports_the_clock_threads_or_sockets(module):
    banned = {"time", "socket", "threading", "subprocess", "os", "random", "secrets", "logging"}
    tree = ast.parse(module.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert not imported & banned
    assert "datetime.now" not in module.read_text() and "utcnow" not in module.read_text()


def test_a_call_resumed_on_another_process_apologises_and_asks_its_question_again():
    phone = Phone().press("1").press("1").fork()  # rebuilt from its events, as another node does
    phone._send(ev.CallResumed(at=phone._tick()))
    assert phone.prompts() == ["texts.resumed", "report_district.prompt"]
    assert [a.node for a in phone.turn if isinstance(a, act.Listen)] == ["report_district"]
    phone.press("3").record(5, "hole").press("1")
    [ticket] = phone.of(act.CreateTicket)
    assert (ticket.category, ticket.district) == ("pothole", 3)


def test_a_resumed_call_asks_its_confirmation_again_and_a_transfer_under_way_ignores_it():
    confirm = Phone().say("report a problem", confidence=0.5)
    assert confirm.prompts() == ["texts.confirm"]
    confirm._send(ev.CallResumed(at=confirm._tick()))
    assert confirm.prompts() == ["texts.resumed", "texts.confirm"]
    assert confirm.press("1").node == "report_category"
    transferring = Phone().press("0")
    assert transferring.of(act.Transfer)
    assert transferring.session.handle(ev.CallResumed(at=transferring._tick())) == []
