"""Query parameters of the site's pages, parsed in one place: a value that makes no sense
(not a number, out of range, not a date, not one of the choices, a broken page cursor)
answers 400 naming the parameter and what it takes, never a 500 or a silent default.
An absent or empty parameter is the page's default."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import abort, url_for

MAX_ID = 2**63 - 1
"""The largest row id a database column holds (a BIGINT)."""
MAX_TEXT = 200
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
"""Dates a page takes: far enough from year 1 and 9999 that a day before or after and a
time zone never overflow."""
_CURSOR_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def refuse(name: str, expected: str) -> NoReturn:
    abort(400, description=f"The parameter {name!r} takes {expected}.")


def _raw(args: Any, name: str) -> str:
    values = args.getlist(name)
    if len(values) > 1:
        refuse(name, "one value")
    return str(values[0]).strip() if values else ""


def integer(args: Any, name: str, *, low: int, high: int, default: int | None = None) -> Any:
    """A whole number from `low` to `high`, or `default` when absent."""
    value = _raw(args, name)
    if not value:
        return default
    if not value.isdecimal() or not low <= int(value) <= high:
        refuse(name, f"a whole number from {low} to {high}")
    return int(value)


def day(args: Any, name: str) -> date | None:
    """A date written YYYY-MM-DD from FIRST_DAY to LAST_DAY, or None when absent."""
    value = _raw(args, name)
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) != 10 or not FIRST_DAY <= parsed <= LAST_DAY:
        refuse(name, f"a date written YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}")
    return parsed


def choice(args: Any, name: str, options: Collection[str]) -> str:
    """One of `options`, or "" when absent."""
    value = _raw(args, name)
    if value and value not in options:
        refuse(name, "one of " + ", ".join(sorted(options)))
    return value


def text(args: Any, name: str, *, pattern: str = r"[^\x00-\x1f]*", limit: int = MAX_TEXT) -> str:
    """Free text of at most `limit` characters matching `pattern`, or "" when absent."""
    value = _raw(args, name)
    if len(value) > limit or not re.fullmatch(pattern, value):
        refuse(name, f"at most {limit} characters of text")
    return value


def cursor(args: Any, name: str) -> tuple[datetime, str] | None:
    """A keyset page cursor `TIME|ID` (as the page's "Older" link writes it), or None."""
    value = _raw(args, name)
    if not value:
        return None
    stamp, _, row_id = value.partition("|")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        refuse(name, "a page cursor from the page's own link")
    if moment.tzinfo is None or not _CURSOR_ID.fullmatch(row_id):
        refuse(name, "a page cursor from the page's own link")
    return moment, row_id


def safe_next(target: str | None) -> str:
    """Only a path on this site, never another host (open redirect)."""
    if target and target.startswith("/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("dashboard.index")
