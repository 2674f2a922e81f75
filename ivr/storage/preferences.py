"""What the line remembers about a calling number: the language it was last served in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.storage.models import CallerPreference
from ivr.storage.upsert import upsert


def remembered_language(session: Session, number: str) -> str | None:
    statement = select(CallerPreference.language).where(CallerPreference.number == number)
    return session.scalar(statement)


def remember_language(session: Session, number: str, language: str, at: datetime) -> None:
    values = {"number": number, "language": language, "updated_at": at}
    upsert(session, CallerPreference, values, key=["number"])
