"""Caller numbers in E.164, or None when withheld or not a number."""

from __future__ import annotations

import pytest

from ivr.phones import normalize_number


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0722 111 222", "RO", "+40722111222"),
        ("0040722111222", "RO", "+40722111222"),
        ("+40 722-111-222", "RO", "+40722111222"),
        ("+40722111222", "BG", "+40722111222"),
        ("0888 123 456", "BG", "+359888123456"),
        ("anonymous", "RO", None),
        ("Withheld", "RO", None),
        ("", "RO", None),
        (None, "RO", None),
        ("not a number", "RO", None),
        ("12", "RO", None),
    ],
)
def test_normalize_number(raw: str | None, region: str, expected: str | None) -> None:
    assert normalize_number(raw, region) == expected
