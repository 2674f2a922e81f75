"""Whose data: a phone number as typed by an operator, in any format, and how it is found.

`0722 111 222`, `+40722111222` and `0040722111222` are one person. Stored numbers are E.164
(`ivr.phones`), but free text (SMS bodies, notes, event payloads) may hold any format, so
text is searched by the national significant number (`722111222`), which every format
written without spaces contains.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from ivr.phones import normalize_number


class BadNumber(ValueError):
    """What the operator typed is not a phone number."""


@dataclass(frozen=True)
class Subject:
    e164: str
    national: str
    """The national significant number: the digits every written form contains."""

    @property
    def masked(self) -> str:
        """The number as the audit log keeps it: country code and last three digits."""
        return mask_number(self.e164)


def subject(raw: str, region: str) -> Subject:
    """The person behind `raw`, a number dialled from `region` (the flow's country)."""
    e164 = normalize_number(raw, region)
    if e164 is None:
        raise BadNumber(f"{raw!r} is not a phone number (try +40722111222 or 0722111222)")
    number = phonenumbers.parse(e164)
    return Subject(e164, phonenumbers.national_significant_number(number))


def mask_number(e164: str | None) -> str:
    """`+40722111222` → `+40 722 *** 222`: enough to tell numbers apart, not to call one."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "***"
    national = phonenumbers.national_significant_number(number)
    if len(national) < 7:
        return f"+{number.country_code} ***"
    return f"+{number.country_code} {national[:3]} *** {national[-3:]}"
