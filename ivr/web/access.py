"""Who may see what: the signed-in user's departments as a filter on every query, the roles
a page needs, and the audit entry each supervisor action leaves.

Admins and supervisors see every department; an officer sees the departments linked to
their account (user_departments) and nothing else. A record outside them answers 404, as
if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session
from werkzeug.datastructures import Range

from ivr.app_context import current_time, services
from ivr.storage.audit import audit
from menus.schema import Flow

F = TypeVar("F", bound=Callable[..., Any])


def flow() -> Flow:
    return services().flows.current().flow


def zone() -> ZoneInfo:
    return ZoneInfo(flow().city.timezone)


def departments() -> frozenset[str] | None:
    """The departments the user may see; None means every one."""
    if current_user.role in ("admin", "supervisor"):
        return None
    return frozenset(current_user.departments)


def visible(column: Any) -> ColumnElement[bool]:
    """A WHERE clause keeping rows whose department `column` the user may see."""
    allowed = departments()
    if allowed is None:
        return true()
    return column.in_(sorted(allowed))  # type: ignore[no-any-return]  # a column clause


def may_see(department: str | None) -> bool:
    allowed = departments()
    return allowed is None or department in allowed


def require_role(*roles: str) -> Callable[[F], F]:
    """A view only these roles may open (others get 403)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # same signature as `view`

    return decorate


def record(session: Session, action: str, target: str, **details: Any) -> None:
    """Audit one action of the signed-in user, in the transaction that does it."""
    audit(
        session,
        actor=current_user.username,
        action=action,
        target=target,
        details=details,
        at=current_time(),
    )


def starts_play(requested: Range | None) -> bool:
    """Whether a request for a recording is a play (or download) of its own, not the browser
    fetching the rest of one: a whole file, or a range from its first byte. A player asks
    for `bytes=0-` when play is pressed and for later ranges while it plays or seeks."""
    return requested is None or requested.ranges[0][0] == 0
