"""Summary tables for the dashboard, kept up to date as calls end and tickets close.

Each row is a counter under its key; the dashboard reads ranges of these rows and never
scans calls or their events, so its cost grows with the days shown, not with the calls.
`call_hour_stats` keeps UTC hours; the others count by the local day of the flow's zone
(the day a person sees), each under its department ("" for none).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Mapped, mapped_column

from ivr.storage.models.base import Base

CLUSTERED = {"sqlite_with_rowid": False}
"""On SQLite the rows are kept in primary-key order (WITHOUT ROWID), so a range of days is
read in one pass, without a lookup per row: about 3× faster for a year of rows."""


class CallHourStats(Base):
    """Calls that ended, by the UTC hour they started in, their outcome and department."""

    __tablename__ = "call_hour_stats"

    hour: Mapped[datetime] = mapped_column(primary_key=True)
    outcome: Mapped[str] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    """The call's department, or "" for none."""
    calls: Mapped[int]


class CallDayStats(Base):
    """Calls that ended, by the local day they started on, their department and outcome."""

    __tablename__ = "call_day_stats"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    outcome: Mapped[str] = mapped_column(primary_key=True)
    calls: Mapped[int]


class CallHourOfDayStats(Base):
    """Calls that ended, by the local day and the local hour (0–23) they started in."""

    __tablename__ = "call_hour_of_day_stats"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    calls: Mapped[int]


class NodeDayStats(Base):
    """Turns taken at a node on a day, and how many of them matched nothing or were
    silence: where the flow confuses callers."""

    __tablename__ = "node_day_stats"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(primary_key=True)
    turns: Mapped[int]
    no_match: Mapped[int]
    no_input: Mapped[int]


class ChoiceDayStats(Base):
    """Choices made at a menu on a day: the node left and the node it led to."""

    __tablename__ = "choice_day_stats"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(primary_key=True)
    count: Mapped[int]


class TicketDayStats(Base):
    """Tickets filed by phone and tickets closed (resolved, closed, rejected) on a day."""

    __tablename__ = "ticket_day_stats"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    opened: Mapped[int]
    closed: Mapped[int]


class SurveyDayStats(Base):
    """Survey answers by the local day they were given, the department of the call or
    callback they score ("" for a call that ended with none), the survey and the score."""

    __tablename__ = "survey_day_stats"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(primary_key=True)
    """`ivr` or `callback`."""
    score: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    answers: Mapped[int]
