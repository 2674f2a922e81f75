"""Phone numbers as stored and compared everywhere: E.164 (`+40722111222`) or None.

Channels give a caller's number as the network sent it ("0722 111 222", "0040722...",
"anonymous"); this is the one place that turns it into E.164 for the flow's country.
"""

from __future__ import annotations

import phonenumbers

WITHHELD = frozenset({"anonymous", "withheld", "private", "restricted", "unknown", "unavailable"})


def normalize_number(raw: str | None, region: str) -> str | None:
    """`raw` as E.164, dialled from `region` (ISO 3166 code, e.g. "RO"); None when the number
    is withheld or cannot be a phone number."""
    if raw is None or not raw.strip() or raw.strip().lower() in WITHHELD:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
