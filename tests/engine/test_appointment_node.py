"""The appointment node: the first free slot offered, 2 for the next, 1 books it with its code
read digit by digit and texted; a withheld number hears the code twice; a code's status."""

from __future__ import annotations

from phone import VISIT_CODE, FakeStore, Phone

from ivr.engine import actions as act

TO_TAXES = ("6", "2")  # main menu: appointments; the service menu: local taxes


def booked_at_the_offer(phone: Phone) -> Phone:
    for key in TO_TAXES:
        phone.press(key)
    assert phone.node == "appointment" and phone.prompts()[-1] == "appointment.offer"
    return phone


def test_two_offers_the_next_slot_and_one_books_it_with_its_code_and_what_to_bring():
    phone = booked_at_the_offer(Phone())
    [first] = phone.of(act.BookAppointment)
    assert first.service == "local_taxes" and first.appointment_id is None
    assert "Wednesday 25 November, 09:00" in phone.texts()[-1]
    phone.press("2")
    moved = phone.of(act.BookAppointment)[-1]
    assert moved.appointment_id == 1
    assert "09:30" in phone.texts()[-1]
    phone.press("1")
    assert phone.of(act.ConfirmAppointment) == [act.ConfirmAppointment(appointment_id=1)]
    said = phone.texts()
    assert "code is 0 4 8 2 1 3. We will text you" in said[0]
    assert "identity card and your latest tax notice" in said[1]
    [sms] = phone.of(act.QueueSms)
    assert sms.template == "appointment_sms.booked" and sms.to == "+40722111222"
    assert VISIT_CODE in sms.text and "local taxes" in sms.text and "25.11 09:30" in sms.text
    assert phone.node == "anything_else" and phone.session.outcome == "appointment"


def test_a_withheld_number_hears_the_code_twice_and_gets_no_sms():
    phone = booked_at_the_offer(Phone(caller=None))
    assert phone.of(act.BookAppointment)[0].caller is None
    phone.press("1")
    assert phone.texts()[0].count("0 4 8 2 1 3") == 2
    assert phone.of(act.QueueSms) == []


def test_silence_at_the_offer_keeps_the_slot_and_a_hang_up_still_texts_it():
    phone = booked_at_the_offer(Phone()).silence().silence().silence()
    assert "appointment.booked" in phone.prompts() and phone.of(act.ConfirmAppointment) == []
    hung_up = booked_at_the_offer(Phone()).hang_up()
    [sms] = hung_up.of(act.QueueSms)
    assert VISIT_CODE in sms.text


def test_no_free_slot_is_said_and_the_call_goes_on():
    phone = Phone(store=FakeStore(slot=None))
    for key in TO_TAXES:
        phone.press(key)
    assert phone.prompts()[1:3] == ["appointment.full", "anything_else.prompt"]


def test_a_code_reads_its_visit_and_a_wrong_code_is_not_found():
    phone = Phone().press("6").press("4").press("999999")
    assert phone.prompts()[0] == "appointment_status.not_found"
    phone.press(VISIT_CODE)
    [lookup] = phone.of(act.LookupAppointment)[-1:]
    assert lookup.code == VISIT_CODE
    assert phone.texts()[0] == (
        "Appointment 0 4 8 2 1 3 for local taxes is on Wednesday 25 November, 09:00, at ghișeul 1."
    )
