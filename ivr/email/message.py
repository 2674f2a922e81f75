"""What an e-mail to a department says: plain text only (a citizen's words are never
markup), the citizen's number masked as the site shows it to officers, a link to the ticket
on the site, and never a recording. Pure: facts in, an `EmailMessage` out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

SUBJECTS = {
    "new": "New report {ref}",
    "escalated": "Report {ref} escalated to {level}",
    "callback": "Callback assigned: {ref} on {slot}",
    "note": "The citizen added to report {ref}",
    "reopened": "The citizen reopened report {ref}: not solved",
}
OPENINGS = {
    "new": "A new report was filed by phone.",
    "escalated": "A report went up the escalation ladder, to {level}.",
    "callback": "A callback is assigned to {officer}, on {slot}.",
    "note": "The citizen added information to the report ({source}).",
    "reopened": "The citizen says the problem is not solved: the report is open again ({source}).",
}


@dataclass(frozen=True)
class Notice:
    """The facts of one e-mail, read from the database when it is sent."""

    event: str
    ref: str
    """The registration number; "" for a callback about no report."""
    link: str
    department: str
    caller: str
    """Masked (`+40 722 *** 222`), or "withheld"."""
    status: str
    category: str = ""
    district: int | None = None
    description: str = ""
    note: str = ""
    source: str = ""
    level: str = ""
    officer: str = ""
    slot: str = ""


def compose(
    notice: Notice, *, sender: str, to: list[str], message_id: str, at: datetime
) -> EmailMessage:
    """The message of `notice`, with a stable Message-ID (a resend after a lost answer from
    the server is the same message to the recipient's client)."""
    values = {
        "ref": notice.ref or "(no report)",
        "level": notice.level,
        "officer": notice.officer or "an officer",
        "slot": notice.slot,
        "source": notice.source,
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = f"[civicline] {SUBJECTS[notice.event].format(**values)}"
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_body(notice, OPENINGS[notice.event].format(**values)))
    return message


def _body(notice: Notice, opening: str) -> str:
    rows = [
        ("Report", notice.ref),
        ("Department", notice.department),
        ("Category", notice.category),
        ("District", str(notice.district) if notice.district is not None else ""),
        ("Status", notice.status),
        ("Caller", notice.caller),
        ("Description", notice.description),
        ("Citizen's note", notice.note),
    ]
    lines = [opening, ""]
    lines += [f"{name}: {value}" for name, value in rows if value]
    lines += ["", f"Open it on the site: {notice.link}", "", "Recordings are on the site only."]
    return "\n".join(lines) + "\n"
