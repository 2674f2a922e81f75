"""The audit log: who did what to which record, for the supervisor site and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ivr.storage.models import AuditEntry


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any],
    at: datetime,
) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, details=details, at=at)
    session.add(entry)
    return entry
