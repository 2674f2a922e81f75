"""The rules a flow must follow beyond its syntax, each problem at the line it is about.

`menus.schema` checks each section on its own; the rules here need the whole file: names
that must exist (nodes, departments, schedules, categories), every node reachable, one text
per declared language, keys where a language is keypad-only, the 112 notice, no recording
before the recording notice, failure paths
that end at a human, a ticket or a callback, schedules with hours, and a number for every
rung of the escalation ladder above the officers. Each rule is a
function from a `_Check` to problems; `validate` runs them all. Nothing here does I/O.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from menus.graph import (
    all_choices,
    choices,
    failure_link,
    flow_links,
    global_choices,
    listens,
    reachable,
    successors,
)
from menus.lines import LineMap, Location, about
from menus.localized import localized_texts
from menus.problems import Problem
from menus.schema import (
    SERVICE_NODE_TYPES,
    AppointmentNode,
    CallbackNode,
    Flow,
    Intent,
    MenuNode,
    NoticeNode,
    SayNode,
    StatusNode,
    SurveyNode,
    TimeRange,
    TransferNode,
    Weekday,
)

CITIZEN_SMS_TEXTS = ("note_added", "closed", "reopened")
STATUS_FOLLOW_UP = ("solved", "closed", "reopened", "add_note", "record_note", "note_added")
OFFICER_ROLE = "officer"
"""The rung of the ladder whose numbers are the officers' (kept in the database)."""
REQUIRED_STATUSES = ("draft", "registered", "in_progress", "resolved", "closed", "rejected")
SLOTS_SET_BY_INTENTS = ("category", "department", "service")
NODE_PLACEHOLDERS = frozenset({"category", "district", "department", "service"})
PLACEHOLDERS_BY_NODE_TYPE = {"ticket": frozenset({"ref", "pin"})}
APPOINTMENT_PLACES = frozenset({"when", "counter", "service", "code"})
PLACEHOLDERS_BY_NODE_FIELD = {
    ("status", "result"): frozenset({"ref", "status", "deadline"}),
    **{("status", name): frozenset({"ref"}) for name in STATUS_FOLLOW_UP},
    ("callback", "confirm"): frozenset({"when"}),
    ("callback", "confirm_no_sms"): frozenset({"when"}),
    ("callback", "offer"): frozenset({"when"}),
    **{("appointment", name): APPOINTMENT_PLACES for name in ("offer", "booked", "booked_no_sms")},
    ("appointment", "held"): APPOINTMENT_PLACES,
    ("appointment_status", "result"): APPOINTMENT_PLACES,
}
PLACEHOLDERS_BY_TEXT: dict[Location, frozenset[str]] = {
    ("texts", "sms_ticket"): frozenset({"category", "ref"}),
    ("texts", "sms_callback"): frozenset({"department", "when"}),
    ("texts", "sms_status_changed"): frozenset({"ref", "status"}),
    ("texts", "replies"): frozenset({"ref"}),
    ("texts", "confirm"): frozenset({"choice"}),
    ("texts", "transfer_busy"): frozenset({"department"}),
    ("texts", "callback_sms", "confirmed"): frozenset({"when", "department"}),
    ("texts", "callback_sms", "moved"): frozenset({"when", "department"}),
    ("texts", "callback_sms", "no_other_slot"): frozenset({"when"}),
    ("texts", "callback_sms", "cancelled"): frozenset({"when"}),
    ("texts", "callback_sms", "status"): frozenset({"ref", "status", "deadline"}),
    ("texts", "callback_sms", "unknown_ref"): frozenset({"ref"}),
    ("texts", "callback_sms", "escalated"): frozenset({"ref", "level", "when"}),
    ("texts", "callback_sms", "top_level"): frozenset({"ref"}),
    ("texts", "callback_sms", "reminder"): frozenset({"when", "department"}),
    ("texts", "callback_sms", "missed"): frozenset({"department"}),
    ("texts", "callback_sms", "rescheduled"): frozenset({"who", "when"}),
    ("texts", "callback_sms", "dropped"): frozenset({"when", "department"}),
    ("texts", "callback_sms", "resolution"): frozenset({"ref", "resolution"}),
    ("texts", "callback_sms", "note_added"): frozenset({"ref"}),
    ("texts", "callback_sms", "closed"): frozenset({"ref"}),
    ("texts", "callback_sms", "reopened"): frozenset({"ref"}),
    ("texts", "appointment_sms", "booked"): APPOINTMENT_PLACES,
    ("texts", "appointment_sms", "reminder"): APPOINTMENT_PLACES,
    ("texts", "appointment_sms", "confirmed"): frozenset({"when", "service"}),
    ("texts", "appointment_sms", "moved"): frozenset({"when", "service", "code"}),
    ("texts", "appointment_sms", "no_other_slot"): frozenset({"when"}),
    ("texts", "appointment_sms", "cancelled"): frozenset({"when", "service"}),
    ("texts", "callback_call", "officer"): frozenset({"ref", "department"}),
    ("texts", "callback_call", "citizen"): frozenset({"department"}),
    ("texts", "callback_call", "officer_no_report"): frozenset({"department"}),
    ("texts", "callback_call", "satisfied"): frozenset({"level"}),
}
_EMERGENCY_NUMBER = re.compile(r"(?<!\d)112(?!\d)")


@dataclass(frozen=True)
class _Check:
    flow: Flow
    lines: LineMap
    file: str

    def problem(self, location: Location, message: str) -> Problem:
        return Problem(self.file, self.lines.line(location), about(location, message))


def validate(flow: Flow, lines: LineMap, file: str) -> list[Problem]:
    """Every problem of a flow that passed the schema, sorted by line."""
    check = _Check(flow, lines, file)
    return sorted(problem for rule in RULES for problem in rule(check))


def _unknown_nodes(check: _Check) -> Iterator[Problem]:
    for location, target in flow_links(check.flow):
        if target not in check.flow.nodes:
            yield check.problem(location, f"unknown node `{target}`")


def _unreachable_nodes(check: _Check) -> Iterator[Problem]:
    seen = reachable(check.flow)
    for name in check.flow.nodes:
        if name not in seen:
            yield check.problem(("nodes", name), f"unreachable from `{check.flow.start}`")


def _languages_of_texts(check: _Check) -> Iterator[Problem]:
    declared = check.flow.languages
    for location, texts in localized_texts(check.flow):
        for language in declared:
            if language not in texts:
                yield check.problem(location, f"no text in `{language}`")
        for language in texts:
            if language not in declared:
                yield check.problem(location + (language,), "not a declared language")


def _intents_without_target(check: _Check) -> Iterator[Problem]:
    for name, node in check.flow.nodes.items():
        if isinstance(node, MenuNode):
            for location, intent in choices(name, node):
                if intent.goto is None:
                    yield check.problem(location, "no `goto`")
        if isinstance(node, NoticeNode) and node.decline.goto is not None:
            location = ("nodes", name, "decline", "goto")
            yield check.problem(location, "a decline goes on to the notice's `next`, no `goto`")
    for location, intent in global_choices(check.flow):
        if location[-1] in ("main_menu", "operator") and intent.goto is None:
            yield check.problem(location, "no `goto`")


def _department_hours(check: _Check) -> Iterator[Problem]:
    flow = check.flow
    for name, department in flow.departments.items():
        location = ("departments", name, "schedule")
        if department.schedule is None:
            yield check.problem(("departments", name), "no `schedule`")
        elif department.schedule not in flow.schedules:
            yield check.problem(location, f"unknown schedule `{department.schedule}`")
        elif _has_no_hours(flow, department.schedule):
            yield check.problem(location, f"schedule `{department.schedule}` has no opening hours")


def _named_departments(check: _Check) -> Iterator[Problem]:
    for name, category in check.flow.categories.items():
        if category.department not in check.flow.departments:
            location = ("categories", name, "department")
            yield check.problem(location, f"unknown department `{category.department}`")
    for name, service in check.flow.services.items():
        if service.department not in check.flow.departments:
            location = ("services", name, "department")
            yield check.problem(location, f"unknown department `{service.department}`")
    services = check.flow.services
    for name, node in check.flow.nodes.items():
        if isinstance(node, TransferNode | CallbackNode) and node.department is not None:
            yield from _node_department(check, name, node.department, node.type)
        if isinstance(node, AppointmentNode) and node.service not in (None, *services):
            yield check.problem(("nodes", name, "service"), f"unknown service `{node.service}`")


def _default_language(check: _Check) -> Iterator[Problem]:
    if check.flow.default_language not in check.flow.languages:
        message = f"`{check.flow.default_language}` is not a declared language"
        yield check.problem(("default_language",), message)


def _node_department(check: _Check, name: str, department: str, kind: str) -> Iterator[Problem]:
    location = ("nodes", name, "department")
    if department not in check.flow.departments:
        yield check.problem(location, f"unknown department `{department}`")
    elif kind == "transfer" and check.flow.departments[department].transfer is None:
        yield check.problem(location, f"department `{department}` has no `transfer` target")


def _slots_set(check: _Check) -> Iterator[Problem]:
    known: dict[str, Mapping[str, object]] = {
        "category": check.flow.categories,
        "department": check.flow.departments,
        "service": check.flow.services,
    }
    for location, intent in all_choices(check.flow):
        for slot, value in intent.set.items():
            where = location + ("set", slot)
            if slot not in SLOTS_SET_BY_INTENTS:
                known_slots = ", ".join(SLOTS_SET_BY_INTENTS)
                yield check.problem(where, f"unknown slot `{slot}` (only {known_slots})")
            elif value not in known[slot]:
                yield check.problem(where, f"unknown {slot} `{value}`")


def _clashing_keys(check: _Check) -> Iterator[Problem]:
    global_keys = list(global_choices(check.flow))
    yield from _clashes_within(check, global_keys)
    for name, node in check.flow.nodes.items():
        own = list(choices(name, node))
        yield from _clashes_within(check, own)
        for location, intent in own:
            for global_location, global_intent in global_keys:
                if intent.keys is not None and intent.keys == global_intent.keys:
                    message = f"key `{intent.keys}` is also the global `{global_location[-1]}` key"
                    yield check.problem(location + ("keys",), message)


def _clashes_within(check: _Check, intents: list[tuple[Location, Intent]]) -> Iterator[Problem]:
    first: dict[str, Location] = {}
    for location, intent in intents:
        if intent.keys is None:
            continue
        if intent.keys in first:
            message = f"key `{intent.keys}` is also used by `{first[intent.keys][-1]}`"
            yield check.problem(location + ("keys",), message)
        else:
            first[intent.keys] = location


def _overlapping_hours(check: _Check) -> Iterator[Problem]:
    for name, schedule in check.flow.schedules.items():
        for day, ranges in schedule.weekly.items():
            latest: TimeRange | None = None
            for index, hours in sorted(enumerate(ranges), key=lambda item: item[1].start):
                if latest is not None and hours.start < latest.end:
                    location = ("schedules", name, "weekly", day, index)
                    yield check.problem(location, f"`{hours}` overlaps `{latest}`")
                if latest is None or hours.end > latest.end:
                    latest = hours


def _keys_and_phrases(check: _Check) -> Iterator[Problem]:
    languages = check.flow.languages
    keypad_only = [code for code, language in languages.items() if language.model is None]
    for location, intent in all_choices(check.flow):
        if keypad_only and intent.keys is None:
            yield check.problem(location, f"no `keys` (keypad-only: {', '.join(keypad_only)})")
        for code, language in languages.items():
            if language.model is not None and not intent.phrases.get(code):
                yield check.problem(location + ("phrases",), f"no phrases in `{code}`")
        for code in intent.phrases:
            if code not in languages:
                yield check.problem(location + ("phrases", code), "not a declared language")


def _emergency_notice(check: _Check) -> Iterator[Problem]:
    start = check.flow.nodes.get(check.flow.start)
    if start is None:
        return
    for language, text in start.prompt.items():
        if language in check.flow.languages and not _EMERGENCY_NUMBER.search(text):
            location = ("nodes", check.flow.start, "prompt", language)
            yield check.problem(location, "the welcome must give 112 for emergencies")


def _records_before_notice(check: _Check) -> Iterator[Problem]:
    """A `record` node must only be reachable through a recording notice."""
    flow = check.flow
    paths: dict[str, list[str]] = {flow.start: [flow.start]}
    waiting = [flow.start]
    while waiting:
        name = waiting.pop(0)
        node = flow.nodes.get(name)
        if node is None or isinstance(node, NoticeNode):
            continue
        if node.type == "record":
            shown = " → ".join(paths[name])
            message = f"records before the recording notice (a `notice` node): {shown}"
            yield check.problem(("nodes", name), message)
            continue
        for target in successors(flow, name):
            if target not in paths:
                paths[target] = [*paths[name], target]
                waiting.append(target)


def _failure_paths(check: _Check) -> Iterator[Problem]:
    reported: set[Location] = set()
    for name, node in check.flow.nodes.items():
        if listens(node):
            found = _failure_path_problem(check, name)
            if found is not None and found[0] not in reported:
                reported.add(found[0])
                yield check.problem(*found)


def _failure_path_problem(check: _Check, start: str) -> tuple[Location, str] | None:
    """Follows the failure path from one listening node; (edge, message) if it ends badly."""
    flow = check.flow
    path, hops, current = [start], 0, start
    while True:
        node = flow.nodes[current]
        edge: Location
        if isinstance(node, SayNode | NoticeNode):
            edge, target = ("nodes", current, "next"), node.next
        else:
            (edge, target), hops = failure_link(flow, current, node), hops + 1
        if target not in flow.nodes:
            return None
        path.append(target)
        shown = " → ".join(path)
        if hops > flow.settings.max_failure_hops:
            limit = flow.settings.max_failure_hops
            return edge, f"failure path {shown} is longer than max_failure_hops ({limit})"
        following = flow.nodes[target]
        if following.type in SERVICE_NODE_TYPES:
            return None
        passes_on = isinstance(following, SayNode | NoticeNode)
        if target in path[:-1] or not (listens(following) or passes_on):
            return edge, f"failure path {shown} never reaches a human, a ticket or a callback"
        current = target


AUTOMATIC_EDGES = {
    "say": "next",
    "ticket": "next",
    "callback": "next",
    "appointment": "next",
    "transfer": "after_hours",
    "notice": "next",
}
"""Edges the engine follows without waiting for the caller."""


def _loops_without_input(check: _Check) -> Iterator[Problem]:
    """Nodes that lead back to themselves without ever listening would never end a call."""
    nodes = check.flow.nodes
    reported: set[str] = set()
    for start in nodes:
        path, current = [start], start
        while (field := AUTOMATIC_EDGES.get(nodes[current].type)) is not None:
            target = getattr(nodes[current], field)
            if target not in nodes:
                break
            if target in path:
                loop = path[path.index(target) :]
                if not reported.intersection(loop):
                    reported.update(loop)
                    shown = " → ".join([*loop, target])
                    message = f"{shown} loops without ever listening to the caller"
                    yield check.problem(("nodes", current, field), message)
                break
            path.append(target)
            current = target


def _schedule_cycles(check: _Check) -> Iterator[Problem]:
    schedules = check.flow.schedules
    reported: set[str] = set()
    for name, schedule in schedules.items():
        if schedule.extends is not None and schedule.extends not in schedules:
            location = ("schedules", name, "extends")
            yield check.problem(location, f"unknown schedule `{schedule.extends}`")
        chain = _extends_chain(check.flow, name)
        if chain[-1] == name and len(chain) > 1 and name not in reported:
            reported.update(chain)
            shown = " → ".join(chain)
            yield check.problem(("schedules", name, "extends"), f"schedule cycle {shown}")


def _extends_chain(flow: Flow, name: str) -> list[str]:
    """`name`, what it extends, and so on, ending at a schedule extending nothing known or
    at the first schedule seen twice."""
    chain = [name]
    current = flow.schedules[name].extends
    while current in flow.schedules and current not in chain:
        chain.append(current)
        current = flow.schedules[current].extends
    if current in chain:
        chain.append(current)
    return chain


def _has_no_hours(flow: Flow, schedule: str) -> bool:
    chain = _extends_chain(flow, schedule)
    if chain[-1] in chain[:-1] or flow.schedules[chain[-1]].extends is not None:
        return False
    week: dict[Weekday, list[TimeRange]] = {}
    for name in reversed(chain):
        week.update(flow.schedules[name].weekly)
    return not any(week.values())


def _placeholders(check: _Check) -> Iterator[Problem]:
    for location, texts in localized_texts(check.flow):
        allowed = _allowed_placeholders(check.flow, location)
        for language, text in texts.items():
            try:
                names = [field for _, field, _, _ in string.Formatter().parse(text)]
            except ValueError as error:
                yield check.problem(location + (language,), f"bad placeholder: {error}")
                continue
            for field in names:
                if field is not None and field not in allowed:
                    known = ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "none"
                    message = f"unknown placeholder `{{{field}}}` (allowed: {known})"
                    yield check.problem(location + (language,), message)


def _allowed_placeholders(flow: Flow, location: Location) -> frozenset[str]:
    if location[0] != "nodes":
        return PLACEHOLDERS_BY_TEXT.get(
            location[:3], PLACEHOLDERS_BY_TEXT.get(location[:2], frozenset())
        )
    kind = flow.nodes[str(location[1])].type
    return (
        NODE_PLACEHOLDERS
        | PLACEHOLDERS_BY_NODE_TYPE.get(kind, frozenset())
        | PLACEHOLDERS_BY_NODE_FIELD.get((kind, str(location[2])), frozenset())
    )


def _confirmation(check: _Check) -> Iterator[Problem]:
    """Thresholds in order, and the question and its answers in every language with speech."""
    flow, texts = check.flow, check.flow.texts
    settings = flow.settings
    if settings.reject_threshold >= settings.confirm_threshold:
        message = f"must be below confirm_threshold ({settings.confirm_threshold})"
        yield check.problem(("settings", "reject_threshold"), message)
    spoken = [code for code, language in flow.languages.items() if language.model is not None]
    if spoken and texts.confirm is None:
        message = f"no `confirm` question (speech in {', '.join(spoken)})"
        yield check.problem(("texts",), message)
    for name in ("confirm_yes", "confirm_no"):
        phrases: dict[str, list[str]] = getattr(texts, name)
        for code in spoken:
            if not phrases.get(code):
                yield check.problem(("texts", name), f"no `{name}` phrases in `{code}`")
        for code in phrases:
            if code not in flow.languages:
                yield check.problem(("texts", name, code), "not a declared language")


def _surveys_last(check: _Check) -> Iterator[Problem]:
    """A survey asks about the call once its business is done: it leads to a hang-up."""
    for name, node in check.flow.nodes.items():
        following = check.flow.nodes.get(node.next) if isinstance(node, SurveyNode) else None
        if following is not None and following.type != "hangup":
            message = "a survey must lead to a `hangup` node (it ends the call)"
            yield check.problem(("nodes", name, "next"), message)


def _ladder_numbers(check: _Check) -> Iterator[Problem]:
    """An escalated callback is placed to its rung's `transfer` number; only the officers'
    rung takes its numbers from the officers on record."""
    for index, level in enumerate(check.flow.escalation):
        if level.role != OFFICER_ROLE and level.transfer is None:
            message = f"`{level.role}` has no `transfer` number: its callbacks could not be placed"
            yield check.problem(("escalation", index), message)


def _department_emails(check: _Check) -> Iterator[Problem]:
    """An opted-in department's address must be one an SMTP server takes (syntax only: the
    flow is checked offline)."""
    for code, department in check.flow.departments.items():
        if department.email is None:
            continue
        try:
            validate_email(department.email, check_deliverability=False)
        except EmailNotValidError as error:
            message = f"not an e-mail address: {error}"
            yield check.problem(("departments", code, "email"), message)


def _all_or_none(
    check: _Check, model: object, names: tuple[str, ...], location: Location, what: str
) -> Iterator[Problem]:
    given = [name for name in names if getattr(model, name) is not None]
    if given and len(given) < len(names):
        missing = ", ".join(f"`{name}`" for name in names if name not in given)
        yield check.problem(location, f"missing {missing} ({what}: all or none)")


def _citizen_follow_ups(check: _Check) -> Iterator[Problem]:
    """The texts of the citizen's follow-ups come as a set: the NOTE / SOLVED / NOT SOLVED
    replies, and each status node's follow-up after the status is read."""
    texts = check.flow.texts.callback_sms
    if texts is not None:
        location = ("texts", "callback_sms")
        yield from _all_or_none(check, texts, CITIZEN_SMS_TEXTS, location, "SMS follow-ups")
    for name, node in check.flow.nodes.items():
        if isinstance(node, StatusNode):
            location = ("nodes", name)
            yield from _all_or_none(check, node, STATUS_FOLLOW_UP, location, "follow-up")


def _statuses(check: _Check) -> Iterator[Problem]:
    for status in REQUIRED_STATUSES:
        if status not in check.flow.texts.statuses:
            yield check.problem(("texts", "statuses"), f"missing `{status}`")


def _appointment_texts(check: _Check) -> Iterator[Problem]:
    """A booked visit is texted (its code, and replies 1/2/0 to move or cancel it)."""
    if check.flow.texts.appointment_sms is not None:
        return
    for name, node in check.flow.nodes.items():
        if isinstance(node, AppointmentNode):
            message = "no `texts.appointment_sms` to text the booking"
            yield check.problem(("nodes", name, "type"), message)


RULES: tuple[Callable[[_Check], Iterator[Problem]], ...] = (
    _unknown_nodes,
    _unreachable_nodes,
    _languages_of_texts,
    _intents_without_target,
    _department_hours,
    _named_departments,
    _default_language,
    _slots_set,
    _clashing_keys,
    _overlapping_hours,
    _keys_and_phrases,
    _emergency_notice,
    _records_before_notice,
    _failure_paths,
    _loops_without_input,
    _schedule_cycles,
    _placeholders,
    _statuses,
    _confirmation,
    _surveys_last,
    _ladder_numbers,
    _department_emails,
    _citizen_follow_ups,
    _appointment_texts,
)
