"""Public holidays of the countries we serve, as the `holidays` package knows them.

This module owns the one question routing asks about a country's calendar: is this local
date a public holiday, and what is it called? Names are in English, for logs and the
supervisor page. The package's tables are built once per (country, year) and cached.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _year(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year, language="en_US")


def holiday_name(country: str, day: date) -> str | None:
    """The English name of the public holiday on `day` in `country`, or None on a working day."""
    name: str | None = _year(country, day.year).get(day)
    return name
