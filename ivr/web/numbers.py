"""How the site shows a caller's number: in full to admins, masked (`+40 722 *** 222`, see
`ivr.privacy.subject.mask_number`) to everyone else unless `CIVICLINE_OFFICERS_SEE_NUMBERS`
lets supervisors and officers see them too. Pages print numbers through the `phone` filter,
the CSV exports and the live stream through `shown_number`: one rule for every view.
"""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from ivr.app_context import settings
from ivr.privacy.subject import mask_number


def sees_numbers() -> bool:
    """Whether the signed-in user sees callers' numbers in full."""
    role = getattr(current_user, "role", None)  # None when nobody is signed in
    return role == "admin" or (role is not None and settings().officers_see_numbers)


def shown_number(number: str | None) -> str:
    """`number` as the signed-in user may see it; "" when there is none."""
    if not number:
        return ""
    return number if sees_numbers() else mask_number(number)


def init_app(app: Flask) -> None:
    app.add_template_filter(shown_number, "phone")
