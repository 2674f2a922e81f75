"""The validator's rules about appointments, each at the line of the edited text."""

from __future__ import annotations

import pytest
from flow_text import FlowText


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "        set: {service: civil_status}",
            "        set: {service: civil_state}",
            "set: {service: civil_state}",
            "nodes.appointment_service.intents.civil_status.set.service: "
            "unknown service `civil_state`",
        ),
        (
            "    department: urbanism\n    counter:",
            "    department: planning\n    counter:",
            "department: planning",
            "services.urbanism_certificate.department: unknown department `planning`",
        ),
        (
            '      en: "Appointment {code} for {service} is on {when}, at {counter}."',
            '      en: "Appointment {code} for {service} is on {when}, at {desk}."',
            "at {desk}",
            "nodes.appointment_status.result.en: unknown placeholder `{desk}` "
            "(allowed: {category}, {code}, {counter}, {department}, {district}, {service}, "
            "{when})",
        ),
    ],
)
def test_an_appointment_mistake_is_reported_at_its_line(
    demo: FlowText, old: str, new: str, needle: str, message: str
) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


def test_an_appointment_node_needs_the_appointment_sms(demo: FlowText) -> None:
    start = demo.text.index("  appointment_sms:\n")
    end = demo.text.index("  callback_call:\n")
    broken = FlowText(demo.text[:start] + demo.text[end:])
    message = "nodes.appointment.type: no `texts.appointment_sms` to text the booking"
    assert broken.problems() == [broken.at("    type: appointment\n", message)]


def test_a_slot_length_other_than_15_or_30_minutes_is_refused(demo: FlowText) -> None:
    broken = demo.replace("    slot_minutes: 15\n", "    slot_minutes: 20\n")
    [problem] = broken.problems()
    assert problem.line == broken.line_of("slot_minutes: 20")
    assert "services.local_taxes.slot_minutes" in problem.message
