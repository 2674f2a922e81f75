"""The site's language (Flask-Babel): Romanian, Bulgarian or English, chosen by each user with
the selector on every page and kept on their account, so it follows them to every session
and device. Before a choice (and before sign-in): the browser's Accept-Language; a browser
that asks only for languages the site lacks gets the flow's default language when the site
speaks it; no Accept-Language at all (scripts, test clients) and anything else: English.

Catalogues live in `ivr/web/translations/<lang>/LC_MESSAGES/messages.po`, compiled to the
committed `.mo` beside them (`pybabel compile -d ivr/web/translations`; a test keeps them
in step).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, request, session
from flask_babel import Babel, format_date, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ivr.app_context import services
from ivr.storage.accounts import set_language
from ivr.storage.models import User
from ivr.web.access import flow
from ivr.web.params import safe_next

blueprint = Blueprint("language", __name__)
LANGUAGES = {"ro": "Română", "bg": "Български", "en": "English"}
"""The site's languages, each named in itself for the selector."""
ROLES = {"admin": _l("admin"), "supervisor": _l("supervisor"), "officer": _l("officer")}
"""The site's roles in words (`role_names` in every template)."""
CHOSEN = "site_language"
"""The key of a choice made before sign-in, in Flask's signed cookie."""


def site_language() -> str:
    """The language of this request's pages (see the module's docstring)."""
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return str(current_user.language)
    chosen = session.get(CHOSEN)
    if chosen in LANGUAGES:
        return str(chosen)
    if not request.accept_languages:
        return "en"
    default = flow().default_language
    return request.accept_languages.best_match(LANGUAGES) or (
        default if default in LANGUAGES else "en"
    )


def current_language() -> str:
    """The site's language once Flask-Babel has picked it (for the flow's names)."""
    locale = get_locale()
    return locale.language if locale else "en"


@blueprint.post("/language")
def choose() -> Any:
    """The selector's form: keep the choice on the account (or, signed out, in the cookie)."""
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        return "Unknown language", 400
    if current_user.is_authenticated:
        with services().database.session() as db:
            user = db.get(User, current_user.id)
            assert user is not None  # signed in
            set_language(db, user, language)
    else:
        session[CHOSEN] = language
    return redirect(safe_next(request.form.get("next")))


def languages() -> dict[str, Any]:
    """In every template: the selector's languages, the page's own and the roles' names."""
    return {"site_languages": LANGUAGES, "page_language": current_language(), "role_names": ROLES}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=site_language)
    app.context_processor(languages)
    app.add_template_filter(lambda day: format_date(day, "medium"), "date")
    app.add_template_filter(format_decimal, "number")
