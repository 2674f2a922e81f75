"""The call log's word search: each call's words folded into `call_words`, kept in step by
every flush that changes a call's or a ticket's transcript, and the clause that finds a word
through the full-text index of the database.

Folding is lower case (Unicode case folding) and Latin letters without their diacritics, so
"strada" finds "Stradă" and "sector" finds "Sectorul"; Cyrillic letters keep theirs (й is not
и in Bulgarian). It is done here in Python, the same way for both databases, because SQLite
3.40 has no diacritic-free trigram tokenizer (3.45) and PostgreSQL's `unaccent` would fold
differently from the query side. A word matches as a substring, as the ILIKE it replaces did:
SQLite through an FTS5 trigram table (words of fewer than 3 letters, which trigrams cannot
index, through LIKE), PostgreSQL through LIKE over a pg_trgm GIN index. On SQLite a common
word walks the newest calls instead (`common`), since sorting its every match costs more.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, delete, exists, inspect, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.sql.compiler import SQLCompiler

from ivr.storage.models import Call, CallWords, Ticket
from ivr.storage.upsert import upsert

LATIN_END = 0x0250
"""Letters below this code point (Latin, with its extensions) lose their diacritics."""
TRIGRAM = 3
COMMON = 5_000
"""Matches from which a word is common: walking the newest calls finds a page of it (50)
within about 10,000 calls of a million, sooner than sorting its every match."""


def fold(value: str) -> str:
    """`value` as the search compares it: case-folded, Latin letters without diacritics."""
    kept: list[str] = []
    base = 0
    for char in unicodedata.normalize("NFD", value.casefold()):
        if unicodedata.combining(char):
            if base >= LATIN_END:
                kept.append(char)
            continue
        base = ord(char)
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def words_of(said: str | None, described: dict[str, Any] | None) -> str:
    """The folded words of a call: what was said, then its description's transcript (on
    their own lines, so that no word spans the two)."""
    parts = [said or "", str((described or {}).get("text") or "")]
    return fold("\n".join(part for part in parts if part))


def refresh(session: Session, call_ids: set[str]) -> None:
    """Fold again the words of `call_ids` from their stored (flushed) transcripts."""
    if not call_ids:
        return
    rows = session.execute(
        select(Call.id, Call.transcript, Ticket.transcript)
        .outerjoin(Ticket, Ticket.id == Call.ticket_id)
        .where(Call.id.in_(call_ids))
    )
    found = {call_id: words_of(said, described) for call_id, said, described in rows}
    empty = [call_id for call_id, words in found.items() if not words]
    if empty:
        session.execute(delete(CallWords).where(CallWords.call_id.in_(empty)))
    for call_id, words in found.items():
        if words:
            upsert(session, CallWords, {"call_id": call_id, "words": words}, ["call_id"])


def keep_in_step(session: Session, _flush: UOWTransaction) -> None:
    """After a flush (an `after_flush` hook): refold the calls whose transcript or ticket
    changed, and the calls of tickets whose transcript changed."""
    calls: set[str] = set()
    tickets: set[int] = set()
    for changed in (*session.new, *session.dirty):
        if isinstance(changed, Call) and _changed(changed, "transcript", "ticket_id"):
            calls.add(changed.id)
        elif isinstance(changed, Ticket) and _changed(changed, "transcript"):
            tickets.add(changed.id)
    if tickets:
        calls |= set(session.scalars(select(Call.id).where(Call.ticket_id.in_(tickets))))
    refresh(session, calls)


def _changed(instance: object, *keys: str) -> bool:
    """Whether any of `keys` changed (only those are looked at: a call's row changes at
    every turn, and this runs after every flush)."""
    attrs = inspect(instance).attrs
    return any(attrs[key].history.has_changes() for key in keys)


def common(session: Session, word: str, at_least: int = COMMON) -> bool:
    """Whether `word` is in at least `at_least` calls' words: on SQLite, a page of such a word
    is found sooner by walking the newest calls (`said(word, walk=True)`) than by sorting
    every match the index gives. PostgreSQL's planner weighs that itself (False)."""
    folded = fold(word)
    if session.get_bind().dialect.name != "sqlite" or len(folded) < TRIGRAM:
        return False
    found = session.scalar(
        text(
            "SELECT count(*) FROM (SELECT 1 FROM call_words_fts "
            "WHERE call_words_fts MATCH :phrase LIMIT :most)"
        ),
        {"phrase": _phrase(folded), "most": at_least},
    )
    return bool(found and found >= at_least)


def said(word: str, *, walk: bool = False) -> ColumnElement[bool]:
    """Calls whose folded words hold `word` (a condition on `calls`): the calls the index
    finds, or with `walk` a test of each call read (for a word `common` says is common).
    A comparison, not a boolean column: SQLite would get `(… IN …) = 1`, which no index
    serves."""
    if walk:
        return exists().where(CallWords.call_id == Call.id, _contains(fold(word)))
    return Call.id.op("IN", is_comparison=True)(_Holders(word))


def _contains(folded: str) -> ColumnElement[bool]:
    escaped = "".join("/" + c if c in "/%_" else c for c in folded)
    return CallWords.words.like(f"%{escaped}%", escape="/")


def _phrase(folded: str) -> str:
    """An FTS5 string: one substring to match, quotes doubled."""
    return '"' + folded.replace('"', '""') + '"'


class _Holders(ColumnElement[str]):
    """The ids of the calls whose folded words hold `word`, as a parenthesised subquery in
    the dialect's own way (its index)."""

    inherit_cache = False
    type = String()

    def __init__(self, word: str) -> None:
        self.word = fold(word)


@compiles(_Holders)
def _holders_like(element: _Holders, compiler: SQLCompiler, **kw: Any) -> str:
    """LIKE over the folded words: PostgreSQL's pg_trgm GIN index serves it."""
    found = select(CallWords.call_id).where(_contains(element.word))
    return f"({compiler.process(found, **kw)})"


@compiles(_Holders, "sqlite")
def _holders_fts(element: _Holders, compiler: SQLCompiler, **kw: Any) -> str:
    """The FTS5 trigram table's MATCH: the word as one quoted string, i.e. a substring."""
    if len(element.word) < TRIGRAM:
        return _holders_like(element, compiler, **kw)
    matching = text(
        "SELECT rowid FROM call_words_fts WHERE call_words_fts MATCH :phrase"
    ).bindparams(bindparam("phrase", _phrase(element.word), unique=True))
    found = select(CallWords.call_id).where(CallWords.id.in_(matching))
    return f"({compiler.process(found, **kw)})"
