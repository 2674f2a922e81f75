"""Post-call survey scores (1–5): stored once per call or callback, summed up per period
for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.storage.models import SurveyResponse
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
    return insert_once(session, SurveyResponse, values, [key])


def score_summary(
    session: Session, start: datetime, end: datetime, kind: str | None = None
) -> ScoreSummary:
    """The scores given in [start, end), of one kind (`ivr`, `callback`) or all."""
    where = [SurveyResponse.at >= start, SurveyResponse.at < end]
    if kind is not None:
        where.append(SurveyResponse.kind == kind)
    rows = session.execute(
        select(SurveyResponse.score, func.count()).where(*where).group_by(SurveyResponse.score)
    )
    counts = dict.fromkeys(SCORES, 0)
    counts.update({score: count for score, count in rows})
    return ScoreSummary(counts)
