"""Post-call survey scores (1–5): stored once per call or callback, and counted per local
day, department, survey and score (`survey_day_stats`) for the dashboard, which reads those
rows and never the answers. A callback's answer counts at once under the callback's
department; a call's counts when the call ends, since its department is known only then."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage.models import Call, Callback, FlowVersion, SurveyDayStats, SurveyResponse
from ivr.storage.stats import add_counts
from ivr.storage.upsert import insert_once

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class ScoreSummary:
    counts: dict[int, int]
    """Score → how many answers gave it (every score, zeros included)."""

    @property
    def answers(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        if not self.answers:
            return None
        return sum(score * count for score, count in self.counts.items()) / self.answers


def record_survey(
    session: Session,
    *,
    kind: str,
    score: int,
    language: str,
    at: datetime,
    call_id: str | None = None,
    callback_id: int | None = None,
) -> bool:
    """Keep one score; False when this call or callback was scored already."""
    if score not in SCORES:
        raise ValueError(f"a survey score is 1 to 5, not {score}")
    key = SurveyResponse.call_id if call_id is not None else SurveyResponse.callback_id
    values = dict(
        kind=kind, score=score, language=language, at=at, call_id=call_id, callback_id=callback_id
    )
    stored = insert_once(session, SurveyResponse, values, [key])
    if stored:
        _count_now(session, kind, score, at, call_id, callback_id)
    return stored


def _count_now(
    session: Session,
    kind: str,
    score: int,
    at: datetime,
    call_id: str | None,
    callback_id: int | None,
) -> None:
    """Count an answer whose department is known now: a callback's, or a call's that has
    ended (`count_call_survey` counts the others as their call ends)."""
    if callback_id is not None:
        callback = session.get(Callback, callback_id)
        department = callback.department if callback is not None else ""
    else:
        call = session.get(Call, call_id)
        if call is None or call.ended_at is None:
            return
        department = call.department or ""
    _count(session, at.astimezone(stored_zone(session)).date(), department, kind, score)


def count_call_survey(session: Session, call: Call, zone: ZoneInfo) -> None:
    """Count the answer given in `call`, which has just ended, under its department."""
    answer = session.scalar(select(SurveyResponse).where(SurveyResponse.call_id == call.id))
    if answer is not None:
        day = answer.at.astimezone(zone).date()
        _count(session, day, call.department or "", answer.kind, answer.score)


def _count(session: Session, day: date, department: str, kind: str, score: int) -> None:
    key = {"day": day, "department": department, "kind": kind, "score": score}
    add_counts(session, SurveyDayStats, key, {"answers": 1})


def stored_zone(session: Session) -> ZoneInfo:
    """The time zone of the newest stored flow (UTC when none names one)."""
    source = session.scalar(
        select(FlowVersion.source).order_by(FlowVersion.first_loaded_at.desc()).limit(1)
    )
    return _zone_of(source or "")


@lru_cache(maxsize=8)
def _zone_of(source: str) -> ZoneInfo:
    flow = yaml.safe_load(source) or {}
    city = flow.get("city") if isinstance(flow, dict) else None
    return ZoneInfo((city or {}).get("timezone") or "UTC")


def score_summary(
    session: Session,
    first: date,
    last: date,
    departments: Iterable[str] | None,
    kind: str | None = None,
) -> ScoreSummary:
    """The scores given on the local days [first, last], of one kind (`ivr`, `callback`) or
    all; `departments` limits them (None is every department, and answers of none)."""
    where = [SurveyDayStats.day >= first, SurveyDayStats.day <= last]
    if departments is not None:
        where.append(SurveyDayStats.department.in_(sorted(departments)))
    if kind is not None:
        where.append(SurveyDayStats.kind == kind)
    rows = session.execute(
        select(SurveyDayStats.score, func.sum(SurveyDayStats.answers))
        .where(*where)
        .group_by(SurveyDayStats.score)
    )
    counts = dict.fromkeys(SCORES, 0)
    counts.update({int(score): int(count) for score, count in rows})
    return ScoreSummary(counts)
