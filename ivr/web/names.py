"""What the site calls things: departments, categories, statuses and escalation rungs by
their name in the flow, nodes and menu choices in words, outcomes in plain language. Pages
print codes only through these filters, so nobody reads `street_light` or
`report_district → report_description`.

Names come in the site's language (`ivr.web.language`) where the flow speaks it, else in
the flow's default language.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ivr.web.access import flow
from ivr.web.language import current_language
from menus.schema import Flow

OUTCOMES = {
    "handled": _l("Handled by the line"),
    "ticket": _l("Report filed"),
    "message": _l("Message left"),
    "callback": _l("Callback booked"),
    "appointment": _l("Appointment booked"),
    "status": _l("Status heard"),
    "transferred": _l("Transferred"),
    "draft": _l("Unfinished report"),
    "abandoned": _l("Hung up"),
    "failed": _l("Failed"),
    "swept": _l("Cut off"),
}
NOTE_KINDS = {
    "note": _l("Note"),
    "reply": _l("Reply"),
    "closed": _l("Closed: solved"),
    "reopened": _l("Reopened: not solved"),
}
NOTE_SOURCES = {
    "officer": _l("officer"),
    "phone": _l("citizen, by phone"),
    "sms": _l("citizen, by SMS"),
    "civicline": "civicline",
}
TURN_RESULTS = {
    "choice": _l("Chose"),
    "confirm": _l("Asked to confirm"),
    "no_match": _l("Not understood"),
    "no_input": _l("No answer"),
    "stayed": _l("Stayed"),
    "pending": "–",
}


def site_language(current: Flow) -> str:
    return current.language_or_default(current_language())


def _localized(names: dict[str, str], current: Flow) -> str:
    return names.get(site_language(current)) or names.get(current.default_language) or ""


def localized(names: dict[str, str] | None) -> str:
    """A name the flow gives in several languages, in the site's."""
    return _localized(names, flow()) if names else ""


def service_name(code: str) -> str:
    found = flow().services.get(code)
    return _localized(found.name, flow()) if found else code


def department_name(code: str | None) -> str:
    if not code:
        return "–"
    found = flow().departments.get(code)
    return _localized(found.name, flow()) if found else code


def category_name(code: str | None) -> str:
    if not code:
        return "–"
    found = flow().categories.get(code)
    return _localized(found.name, flow()) if found else code


def status_name(code: str | None) -> str:
    if not code:
        return "–"
    names = flow().texts.statuses.get(code)
    return _localized(names, flow()) if names else code


def outcome_name(code: str | None) -> str:
    if not code:
        return gettext("In progress")
    return str(OUTCOMES.get(code, code.replace("_", " ").capitalize()))


def note_kind(code: str) -> str:
    return str(NOTE_KINDS.get(code, code))


def note_source(code: str) -> str:
    """Who a ticket note came from: an officer on the site, or the citizen by phone or SMS."""
    return str(NOTE_SOURCES.get(code, code))


def node_name(code: str | None) -> str:
    """A node in words: the flow gives nodes no names, so its id reads as a phrase."""
    if not code:
        return "–"
    return code.replace("_", " ").capitalize()


def choice_name(current: Flow, node: str, target: str) -> str:
    """The caller's choice at `node` that led to `target`, as the menu says it: the intent's
    first phrase (`Main: report a problem`), else the node it led to."""
    found = current.nodes.get(node)
    intents = getattr(found, "intents", None) or getattr(found, "options", None) or {}
    for intent in intents.values():
        if intent.goto == target:
            phrases = intent.phrases.get(site_language(current)) or [
                p for ps in intent.phrases.values() for p in ps
            ]
            if phrases:
                return f"{node_name(node)}: {max(phrases, key=len)}"
    return gettext(
        "%(node)s: on to %(target)s", node=node_name(node), target=node_name(target).lower()
    )


def flow_names() -> dict[str, dict[str, str]]:
    """In every template: `flow_languages` (code → the language's name) and `rung_names`
    (an escalation role → the rung's name), as the flow gives them."""
    current = flow()
    return {
        "flow_languages": {code: lang.name for code, lang in current.languages.items()},
        "rung_names": {rung.role: localized(rung.name) for rung in current.escalation},
    }


def init_app(app: Flask) -> None:
    app.context_processor(flow_names)
    filters = (
        localized, department_name, service_name, category_name, status_name, outcome_name,
        node_name, note_kind, note_source,
    )  # fmt: skip
    for function in filters:
        app.add_template_filter(function)
