"""The validator's rules: each breaks the demo flow in one place and expects the exact
problem at the line of the edited text."""

from __future__ import annotations

import pytest
from flow_text import FlowText

ORPHAN = '\n  orphan:\n    type: say\n    prompt: {ro: "Alo", en: "Hello"}\n    next: main\n'


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "        goto: report_category\n\n  report_file:",
            "        goto: report_categry\n\n  report_file:",
            "goto: report_categry",
            "nodes.report_confirm.intents.redo.goto: unknown node `report_categry`",
        ),
        (
            "    next: anything_else\n\n  departments:",
            "    next: anything_more\n\n  departments:",
            "next: anything_more",
            "nodes.callback.next: unknown node `anything_more`",
        ),
        (
            "    on_failure: operator\n\n  goodbye:",
            "    on_failure: operater\n\n  goodbye:",
            "on_failure: operater",
            "nodes.failure.on_failure: unknown node `operater`",
        ),
        (
            "    on_no_answer: no_answer\n\n  transfer_taxes:",
            "    on_no_answer: noanswer\n\n  transfer_taxes:",
            "on_no_answer: noanswer",
            "nodes.transfer_urbanism.on_no_answer: unknown node `noanswer`",
        ),
        (
            "    after_hours: after_hours\n    on_no_answer: no_answer\n\n  transfer_taxes:",
            "    after_hours: closed\n    on_no_answer: no_answer\n\n  transfer_taxes:",
            "after_hours: closed",
            "nodes.transfer_urbanism.after_hours: unknown node `closed`",
        ),
        (
            'en: ["main menu"]}\n    goto: main',
            'en: ["main menu"]}\n    goto: mian',
            "goto: mian",
            "global_intents.main_menu.goto: unknown node `mian`",
        ),
        (
            "main: main\nfailure: failure",
            "main: mian\nfailure: failure",
            "main: mian",
            "main: unknown node `mian`",
        ),
        (
            'ro: ["română", "romana"], en: ["romanian"]}}',
            'ro: ["română", "romana"], en: ["romanian"]}, goto: romana}',
            "goto: romana",
            "nodes.language.options.ro.goto: unknown node `romana`",
        ),
    ],
)
def test_unknown_node(demo: FlowText, old: str, new: str, needle: str, message: str) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


def test_unknown_start_node_makes_every_node_unreachable(demo: FlowText) -> None:
    broken = demo.replace("start: welcome", "start: welcom")
    problems = broken.problems()
    assert problems[0] == broken.at("start: welcom", "start: unknown node `welcom`")
    assert broken.at("  welcome:", "nodes.welcome: unreachable from `welcom`") in problems


def test_unreachable_node(demo: FlowText) -> None:
    broken = demo.replace(
        '      en: "Thank you for calling. Goodbye!"\n', f'      en: "Bye"\n{ORPHAN}'
    )
    assert broken.problems() == [broken.at("  orphan:", "nodes.orphan: unreachable from `welcome`")]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            '      en: "Connecting you to an operator."\n',
            "",
            '    prompt:\n      ro: "Vă fac legătura cu un operator."',
            "nodes.operator.prompt: no text in `en`",
        ),
        (
            '      en: "Connecting you to an operator."\n',
            '      en: "Connecting you to an operator."\n      de: "Ich verbinde."\n',
            'de: "Ich verbinde."',
            "nodes.operator.prompt.de: not a declared language",
        ),
        (
            '    closed: {ro: "închisă", en: "closed"}',
            '    closed: {ro: "închisă"}',
            'closed: {ro: "închisă"}',
            "texts.statuses.closed: no text in `en`",
        ),
        (
            '    name: {ro: "viceprimarul", en: "the deputy mayor"}',
            '    name: {ro: "viceprimarul"}',
            'name: {ro: "viceprimarul"}',
            "escalation.2.name: no text in `en`",
        ),
        (
            '  name: {ro: "Primăria Municipiului Demo", en: "Demo City Hall"}',
            '  name: {ro: "Primăria Municipiului Demo", en: "Demo City Hall", hu: "Demo"}',
            'hu: "Demo"',
            "city.name.hu: not a declared language",
        ),
        (
            '    no_match:\n      ro: "Numărul cartierului este între 1 și 6."\n',
            '    no_match:\n      ro: "Numărul cartierului este între 1 și 6."\n      fr: "Non"\n',
            'fr: "Non"',
            "nodes.report_district.no_match.fr: not a declared language",
        ),
    ],
)
def test_texts_in_every_declared_language_only(
    demo: FlowText, old: str, new: str, needle: str, message: str
) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


def test_a_text_in_the_wrong_language_is_two_problems(demo: FlowText) -> None:
    broken = demo.replace(
        '    full:\n      ro: "Ne pare rău, nu vă putem programa acum;',
        '    full:\n      fr: "Ne pare rău, nu vă putem programa acum;',
    )
    assert broken.problems() == [
        broken.at("    full:\n      fr:", "nodes.callback.full: no text in `ro`"),
        broken.at('fr: "Ne pare rău', "nodes.callback.full.fr: not a declared language"),
    ]


def test_menu_intent_without_goto(demo: FlowText) -> None:
    broken = demo.replace(
        '["no", "start again"]}\n        goto: report_category\n\n  report_file:',
        '["no", "start again"]}\n\n  report_file:',
    )
    assert broken.problems() == [
        broken.at("      redo:", "nodes.report_confirm.intents.redo: no `goto`")
    ]


def test_global_operator_without_goto(demo: FlowText) -> None:
    broken = demo.replace("    goto: operator\n\nschedules:", "\nschedules:")
    assert broken.problems() == [
        broken.at("  operator:\n    keys", "global_intents.operator: no `goto`")
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            '    schedule: office\n    transfer: "+40264000120"',
            '    transfer: "+40264000120"',
            "  taxes:\n    name",
            "departments.taxes: no `schedule`",
        ),
        (
            '    schedule: office\n    transfer: "+40264000120"',
            '    schedule: offices\n    transfer: "+40264000120"',
            "schedule: offices",
            "departments.taxes.schedule: unknown schedule `offices`",
        ),
        (
            '    extends: office\n    weekly:\n      sat: ["09:00-13:00"]',
            "    weekly:\n      sat: []",
            "schedule: local_police",
            "departments.local_police.schedule: schedule `local_police` has no opening hours",
        ),
        (
            '    schedule: office\n    transfer: "+40264000120"\n',
            "    schedule: office\n",
            "    department: taxes",
            "nodes.transfer_taxes.department: department `taxes` has no `transfer` target",
        ),
        (
            "    department: roads\n    deadline_days: 10",
            "    department: road\n    deadline_days: 10",
            "department: road\n",
            "categories.pothole.department: unknown department `road`",
        ),
        (
            "set: {category: pothole}",
            "set: {category: pothol}",
            "set: {category: pothol}",
            "nodes.report_category.intents.pothole.set.category: unknown category `pothol`",
        ),
        (
            "set: {department: urbanism}",
            "set: {department: urbanisme}",
            "set: {department: urbanisme}",
            "nodes.callback_department.intents.urbanism.set.department: "
            "unknown department `urbanisme`",
        ),
        (
            "set: {category: noise}",
            "set: {district: noise}",
            "set: {district: noise}",
            "nodes.report_category.intents.noise.set.district: "
            "unknown slot `district` (only category, department, service)",
        ),
        (
            '    department: public_relations\n    prompt:\n      ro: "Vă programez',
            '    department: public_relation\n    prompt:\n      ro: "Vă programez',
            "department: public_relation\n",
            "nodes.callback.department: unknown department `public_relation`",
        ),
        (
            "    department: local_police\n    prompt:",
            "    department: police\n    prompt:",
            "department: police\n",
            "nodes.transfer_police.department: unknown department `police`",
        ),
        (
            "default_language: ro",
            "default_language: de",
            "default_language: de",
            "default_language: `de` is not a declared language",
        ),
    ],
)
def test_departments_schedules_categories_and_slots(
    demo: FlowText, old: str, new: str, needle: str, message: str
) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            '        keys: "2"\n        phrases: {ro: ["iluminat"',
            '        keys: "1"\n        phrases: {ro: ["iluminat"',
            'keys: "1"\n        phrases: {ro: ["iluminat"',
            "nodes.report_category.intents.street_light.keys: key `1` is also used by `pothole`",
        ),
        (
            'en: {keys: "2", phrases: {ro: ["engleză"',
            'en: {keys: "1", phrases: {ro: ["engleză"',
            'en: {keys: "1"',
            "nodes.language.options.en.keys: key `1` is also used by `ro`",
        ),
        (
            '        keys: "5"\n        phrases: {ro: ["întrebări", "informații"]',
            '        keys: "9"\n        phrases: {ro: ["întrebări", "informații"]',
            'keys: "9"\n        phrases: {ro: ["întrebări", "informații"]',
            "nodes.main.intents.faq.keys: key `9` is also the global `repeat` key",
        ),
        (
            '    keys: "#"',
            '    keys: "*"\n    # main menu on the back key',
            'keys: "*"\n    # main menu',
            "global_intents.main_menu.keys: key `*` is also used by `back`",
        ),
    ],
)
def test_clashing_keys(demo: FlowText, old: str, new: str, needle: str, message: str) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


def test_overlapping_hours(demo: FlowText) -> None:
    broken = demo.replace(
        'tue: ["08:30-12:00", "13:00-18:00"]', 'tue: ["13:00-18:00", "08:30-14:00"]'
    )
    message = "schedules.urbanism.weekly.tue.0: `13:00-18:00` overlaps `08:30-14:00`"
    assert broken.problems() == [broken.at('tue: ["13:00-18:00"', message)]


def test_keypad_only_language_needs_keys_everywhere(demo: FlowText) -> None:
    broken = demo.replace('      faq:\n        keys: "5"\n', "      faq:\n").replace(
        '    keys: "*"\n', ""
    )
    assert broken.problems() == [
        broken.at("  back:", "global_intents.back: no `keys` (keypad-only: ro, en)"),
        broken.at(
            "      faq:\n        phrases", "nodes.main.intents.faq: no `keys` (keypad-only: ro, en)"
        ),
    ]


def test_a_language_with_a_model_needs_phrases(demo: FlowText) -> None:
    broken = demo.replace(
        '  en: {name: "English"}', '  en: {name: "English", model: vosk-model-small-en-us}'
    ).replace(
        'phrases: {ro: ["întrebări", "informații"], en: ["questions", "information"]}',
        'phrases: {ro: ["întrebări", "informații"]}',
    )
    assert broken.problems() == [
        broken.at(
            'phrases: {ro: ["întrebări", "informații"]}',
            "nodes.main.intents.faq.phrases: no phrases in `en`",
        )
    ]


def test_phrases_in_an_undeclared_language(demo: FlowText) -> None:
    broken = demo.replace('en: ["repeat", "say again"]}', 'en: ["repeat"], de: ["nochmal"]}')
    message = "global_intents.repeat.phrases.de: not a declared language"
    assert broken.problems() == [broken.at('de: ["nochmal"]', message)]


def test_the_welcome_must_give_112(demo: FlowText) -> None:
    broken = demo.replace("For emergencies, call 112.", "For emergencies, call 1121.")
    message = "nodes.welcome.prompt.en: the welcome must give 112 for emergencies"
    assert broken.problems() == [broken.at('en: "Welcome to Demo City Hall', message)]


def test_a_failure_path_that_loops(demo: FlowText) -> None:
    broken = demo.replace(
        "    on_failure: operator\n\n  goodbye:", "    on_failure: main\n\n  goodbye:"
    )
    tail = "never reaches a human, a ticket or a callback"
    assert broken.problems() == [
        broken.at(
            "failure: failure\n\nglobal_intents",
            f"failure: failure path language → failure → main → failure {tail}",
        ),
        broken.at(
            "on_failure: main",
            f"nodes.failure.on_failure: failure path main → failure → main {tail}",
        ),
    ]


def test_a_failure_path_that_hangs_up(demo: FlowText) -> None:
    broken = demo.replace("    on_failure: callback\n", "    on_failure: goodbye\n")
    message = (
        "nodes.no_answer.on_failure: failure path no_answer → goodbye "
        "never reaches a human, a ticket or a callback"
    )
    assert broken.problems() == [broken.at("on_failure: goodbye", message)]


def test_a_failure_path_through_a_say_node_follows_its_next(demo: FlowText) -> None:
    broken = demo.replace("    on_failure: callback\n", "    on_failure: faq_hours\n").replace(
        "  max_failure_hops: 3", "  max_failure_hops: 2"
    )
    message = (
        "nodes.failure.on_failure: failure path no_answer → faq_hours → faq → failure → operator "
        "is longer than max_failure_hops (2)"
    )
    assert broken.problems() == [broken.at("    on_failure: operator\n\n  goodbye:", message)]


def test_a_failure_path_longer_than_allowed(demo: FlowText) -> None:
    broken = demo.replace("  max_failure_hops: 3", "  max_failure_hops: 1")
    message = (
        "nodes.failure.on_failure: failure path language → failure → operator "
        "is longer than max_failure_hops (1)"
    )
    assert broken.problems() == [broken.at("    on_failure: operator\n\n  goodbye:", message)]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "    extends: office\n    weekly:\n      tue:",
            "    extends: urbanism\n    weekly:\n      tue:",
            "extends: urbanism",
            "schedules.urbanism.extends: schedule cycle urbanism → urbanism",
        ),
        (
            "  office:\n    weekly:",
            "  office:\n    extends: local_police\n    weekly:",
            "extends: local_police",
            "schedules.office.extends: schedule cycle office → local_police → office",
        ),
        (
            "    extends: office\n    weekly:\n      sat:",
            "    extends: ofice\n    weekly:\n      sat:",
            "extends: ofice",
            "schedules.local_police.extends: unknown schedule `ofice`",
        ),
    ],
)
def test_schedules_that_extend_themselves_or_nothing(
    demo: FlowText, old: str, new: str, needle: str, message: str
) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "For emergencies, call 112.",
            "For emergencies, call 112. Your number is {ref}.",
            'en: "Welcome to Demo City Hall',
            "nodes.welcome.prompt.en: unknown placeholder `{ref}` "
            "(allowed: {category}, {department}, {district}, {service})",
        ),
        (
            "will call you on {when}.",
            "will call you on {when} about {ref}.",
            'en: "Demo City Hall: {department}',
            "texts.sms_callback.en: unknown placeholder `{ref}` (allowed: {department}, {when})",
        ),
        (
            'ro: "Veți fi sunat pe {when}. Veți',
            'ro: "Veți fi sunat pe {when} ({ref}). Veți',
            'ro: "Veți fi sunat pe {when} ({ref})',
            "nodes.callback.confirm.ro: unknown placeholder `{ref}` "
            "(allowed: {category}, {department}, {district}, {service}, {when})",
        ),
        (
            '  goodbye:\n    ro: "Vă mulțumim că ați sunat. La revedere!"',
            '  goodbye:\n    ro: "Vă mulțumim, {caller}. La revedere!"',
            "{caller}",
            "texts.goodbye.ro: unknown placeholder `{caller}` (allowed: none)",
        ),
        (
            'en: "The {department} line is busy."',
            'en: "The {department} line is busy ({ref})."',
            "line is busy ({ref})",
            "texts.transfer_busy.en: unknown placeholder `{ref}` (allowed: {department})",
        ),
        (
            'Again: {ref}. Its PIN is {pin}."',
            'Again: {ref}. Its PIN is {pin."',
            "Its PIN is {pin.",
            "nodes.message_file.prompt.en: bad placeholder: expected '}' before end of string",
        ),
    ],
)
def test_placeholders(demo: FlowText, old: str, new: str, needle: str, message: str) -> None:
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]


def test_statuses_needed_by_the_status_node(demo: FlowText) -> None:
    broken = demo.replace('    rejected: {ro: "respinsă", en: "rejected"}\n', "")
    assert broken.problems() == [broken.at("  statuses:", "texts.statuses: missing `rejected`")]


def test_nodes_that_loop_without_listening(demo: FlowText) -> None:
    broken = demo.replace(
        'same day."\n    next: faq\n', 'same day."\n    next: faq_hours\n'
    ).replace(
        'until 6 pm on Tuesdays."\n    next: faq\n',
        'until 6 pm on Tuesdays."\n    next: faq_civil_status\n',
    )
    message = (
        "nodes.faq_civil_status.next: faq_hours → faq_civil_status → faq_hours "
        "loops without ever listening to the caller"
    )
    assert broken.problems() == [broken.at("next: faq_hours", message)]


def test_a_ladder_rung_without_a_number_is_refused(demo: FlowText) -> None:
    broken = demo.replace('    transfer: "+40264000210"\n', "")
    message = (
        "escalation.2: `vice_mayor` has no `transfer` number: its callbacks could not be placed"
    )
    assert broken.problems() == [broken.at("  - role: vice_mayor", message)]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            '    transfer: "+40264000150"\n',
            '    transfer: "+40264000150"\n    email: "salubritate@"\n',
            'email: "salubritate@"',
            "departments.sanitation.email: not an e-mail address: "
            "There must be something after the @-sign.",
        ),
        (
            '    note_added:\n      ro: "Informațiile au fost adăugate la sesizarea {ref}, iar '
            'departamentul a fost anunțat."\n      en: "Your information is added to report '
            '{ref}, and the department is told."\n',
            "",
            "  status:\n    type: status",
            "nodes.status: missing `note_added` (follow-up: all or none)",
        ),
        (
            '    reopened:\n      ro: "Primaria Demo: sesizarea {ref} este redeschisa; '
            'departamentul a fost anuntat."\n      en: "Demo City Hall: report {ref} is reopened; '
            'the department is told."\n',
            "",
            "  callback_sms:",
            "texts.callback_sms: missing `reopened` (SMS follow-ups: all or none)",
        ),
    ],
)
def test_department_emails_and_the_citizens_follow_up_texts(
    demo: FlowText, old: str, new: str, needle: str, message: str
) -> None:
    """An opted-in address must be one; the follow-up texts come all or none."""
    broken = demo.replace(old, new)
    assert broken.problems() == [broken.at(needle, message)]
