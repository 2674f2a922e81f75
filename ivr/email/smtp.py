"""Sending one message through the SMTP server of `CIVICLINE_SMTP_URL`.

`smtp://user:pass@host:587` speaks STARTTLS (on by default; `?starttls=0` only for a relay
without credentials), `smtps://user:pass@host:465` TLS from the first byte. Credentials are
never sent in clear: a URL with a user and no TLS is refused. One timeout bounds the
connection and every read (smtplib applies it to the socket). Errors come out as
`EmailError` (worth retrying: the server is down, slow, or refused the login) or
`EmailRefused` (the server refused every recipient: retrying cannot help); neither
carries the password.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
TRUE = ("1", "true", "yes", "on")


class EmailError(Exception):
    """Sending failed in a way a later attempt may not."""


class EmailRefused(Exception):
    """The server refused every recipient."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """The server a `smtp://` or `smtps://` URL names; ValueError saying what is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                "CIVICLINE_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…"
            )
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        starttls = not implicit and query.get("starttls", ["1"])[0].lower() in TRUE
        username = unquote(parts.username) if parts.username else None
        if username and not (implicit or starttls):
            raise ValueError(
                "CIVICLINE_SMTP_URL has a user but no TLS: credentials would go in clear"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            implicit_tls=implicit,
            starttls=starttls,
            username=username,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def send(
    message: EmailMessage, server: SmtpServer, *, timeout: float, context: ssl.SSLContext
) -> None:
    """Deliver `message` to its To addresses, or raise EmailError / EmailRefused."""
    try:
        with _connect(server, timeout, context) as smtp:
            if server.starttls:
                smtp.starttls(context=context)
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        reply = error.smtp_error.decode(errors="replace")
        raise EmailError(
            f"the SMTP server {server} refused the login of {server.username!r}: "
            f"{error.smtp_code} {reply}"
        ) from None
    except smtplib.SMTPRecipientsRefused as error:
        refused = ", ".join(sorted(error.recipients))
        raise EmailRefused(f"the SMTP server {server} refused every recipient: {refused}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise EmailError(f"sending through the SMTP server {server} failed: {error!r}") from None


def _connect(server: SmtpServer, timeout: float, context: ssl.SSLContext) -> smtplib.SMTP:
    if server.implicit_tls:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    return smtplib.SMTP(server.host, server.port, timeout=timeout)
