"""What the site calls things: departments, categories, statuses and escalation rungs by
their name in the flow, nodes and menu choices in words, outcomes in plain language. Pages
print codes only through these filters, so nobody reads `street_light` or
`report_district → report_description`.

The site's language is English where the flow speaks it, else the flow's default.
"""

from __future__ import annotations

from flask import Flask

from ivr.web.access import flow
from menus.schema import Flow

OUTCOMES = {
    "handled": "Handled by the line",
    "ticket": "Report filed",
    "message": "Message left",
    "callback": "Callback booked",
    "status": "Status heard",
    "transferred": "Transferred",
    "draft": "Unfinished report",
    "abandoned": "Hung up",
    "failed": "Failed",
    "swept": "Cut off",
}
TURN_RESULTS = {
    "choice": "Chose",
    "confirm": "Asked to confirm",
    "no_match": "Not understood",
    "no_input": "No answer",
    "stayed": "Stayed",
    "pending": "–",
}
SITE_LANGUAGE = "en"


def site_language(current: Flow) -> str:
    return current.language_or_default(SITE_LANGUAGE)


def _localized(names: dict[str, str], current: Flow) -> str:
    return names.get(site_language(current)) or names.get(current.default_language) or ""


def localized(names: dict[str, str] | None) -> str:
    """A name the flow gives in several languages, in the site's."""
    return _localized(names, flow()) if names else ""


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
        return "In progress"
    return OUTCOMES.get(code, code.replace("_", " ").capitalize())


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
    return f"{node_name(node)}: on to {node_name(target).lower()}"


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
    filters = (localized, department_name, category_name, status_name, outcome_name, node_name)
    for function in filters:
        app.add_template_filter(function)
