"""What an e-mail to a department says: plain text only (a citizen's words are never
markup), the citizen's number masked as the site shows it to officers, a link to the ticket
on the site, and never a recording. Pure: facts in, an `EmailMessage` out.

It is written in the city's language (the flow's default) from the supervisor site's
catalogue (`ivr/web/translations`, which `ivr/web/babel.cfg` extracts these strings into),
English where the catalogue has no such language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.support import Translations

CATALOGUE = Path(__file__).resolve().parents[1] / "web" / "translations"


def N_(text: str) -> str:
    """Marks `text` for the catalogue; it is translated where the message is written."""
    return text


SUBJECTS = {
    "new": N_("New report {ref}"),
    "escalated": N_("Report {ref} escalated to {level}"),
    "callback": N_("Callback assigned: {ref} on {slot}"),
    "note": N_("The citizen added to report {ref}"),
    "reopened": N_("The citizen reopened report {ref}: not solved"),
}
OPENINGS = {
    "new": N_("A new report was filed."),
    "escalated": N_("A report went up the escalation ladder, to {level}."),
    "callback": N_("A callback is assigned to {officer}, on {slot}."),
    "note": N_("The citizen added information to the report ({source})."),
    "reopened": N_(
        "The citizen says the problem is not solved: the report is open again ({source})."
    ),
}
SOURCES = {"phone": N_("by phone"), "sms": N_("by SMS"), "officer": N_("by an officer")}
SAID = N_("(said on the phone; the recording and its transcript are on the site)")
WITHHELD = N_("withheld")


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of `language`; English (the strings as written) when there is none."""
    return Translations.load(str(CATALOGUE), [language])


@dataclass(frozen=True)
class Notice:
    """The facts of one e-mail, read from the database when it is sent."""

    event: str
    ref: str
    """The registration number; "" for a callback about no report."""
    link: str
    department: str
    caller: str
    """Masked (`+40 722 *** 222`); "" when the caller withheld it."""
    status: str
    category: str = ""
    district: int | None = None
    description: str = ""
    note: str = ""
    note_recorded: bool = False
    """The note was said on the phone (its words are `note` once transcribed)."""
    source: str = ""
    """Where the note came from: "phone", "sms" or "officer"."""
    level: str = ""
    officer: str = ""
    slot: str = ""


def compose(
    notice: Notice,
    *,
    sender: str,
    to: list[str],
    message_id: str,
    at: datetime,
    language: NullTranslations,
) -> EmailMessage:
    """The message of `notice` in `language`, with a stable Message-ID (a resend after a
    lost answer from the server is the same message to the recipient's client)."""
    _ = language.gettext
    values = {
        "ref": notice.ref or _("(no report)"),
        "level": notice.level,
        "officer": notice.officer or _("an officer"),
        "slot": notice.slot,
        "source": _(SOURCES[notice.source]) if notice.source in SOURCES else notice.source,
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = f"[civicline] {_(SUBJECTS[notice.event]).format(**values)}"
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_body(notice, _(OPENINGS[notice.event]).format(**values), language))
    return message


def _body(notice: Notice, opening: str, language: NullTranslations) -> str:
    _ = language.gettext
    rows = [
        (_("Report"), notice.ref),
        (_("Department"), notice.department),
        (_("Category"), notice.category),
        (_("District"), str(notice.district) if notice.district is not None else ""),
        (_("Status"), notice.status),
        (_("Caller"), notice.caller or _(WITHHELD)),
        (_("Description"), notice.description),
        (_("Citizen's note"), notice.note or (_(SAID) if notice.note_recorded else "")),
    ]
    lines = [opening, ""]
    lines += [f"{name}: {value}" for name, value in rows if value]
    lines += ["", _("Open it on the site: {link}").format(link=notice.link), ""]
    lines.append(_("Recordings are on the site only."))
    return "\n".join(lines) + "\n"
