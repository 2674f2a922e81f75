"""Turning a flow's prompt templates into the words a caller hears.

Placeholders (`{ref}`, `{department}`...) are filled from the call's slots and from storage
results; registration numbers and PINs are spoken digit by digit, dates and times in the
caller's language (Babel) and in the city's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime


class _Blank(dict[str, str]):
    """Placeholders with no value yet read as nothing rather than failing mid-call."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, params: Mapping[str, str]) -> str:
    """The template with its placeholders replaced, spaces tidied."""
    return " ".join(template.format_map(_Blank(params)).split())


def digits(value: str) -> str:
    """`26-000123` → `2 6, 0 0 0 1 2 3`: one digit at a time, a pause at each dash."""
    return ", ".join(" ".join(part) for part in value.split("-"))


def spoken_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=language)


def spoken_slot(at: datetime, zone: ZoneInfo, language: str) -> str:
    """A callback slot as `luni 30 noiembrie, 10:00`, in the city's time zone."""
    return format_datetime(at, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=language)


def sms_slot(at: datetime, zone: ZoneInfo, language: str) -> str:
    """A slot as an SMS shows it, short and free of diacritics: `24.11 10:00` (local time)."""
    return format_datetime(at, "dd.MM HH:mm", tzinfo=zone, locale=language)
