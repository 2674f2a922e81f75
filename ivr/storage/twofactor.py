"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238, by pyotp): a key per user,
and codes that work once each (the step of the last code accepted is kept)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp

from ivr.storage.models import User

ISSUER = "civicline"
STEP = timedelta(seconds=30)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The `otpauth://` URI an authenticator app reads (typed in, or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def code_step(secret: str, code: str, at: datetime) -> int | None:
    """The 30-second step at which `code` is right (one step of clock drift either way)."""
    code = code.strip().replace(" ", "")
    totp = pyotp.TOTP(secret)
    for drift in (0, -1, 1):
        moment = at + drift * STEP
        if totp.verify(code, for_time=moment, valid_window=0):
            return int(totp.timecode(moment))
    return None


def check_code(user: User, code: str, at: datetime) -> bool:
    """Whether `code` signs `user` in; a code already used (or older) is refused."""
    if user.totp_secret is None:
        return False
    step = code_step(user.totp_secret, code, at)
    if step is None or (user.totp_step is not None and step <= user.totp_step):
        return False
    user.totp_step = step
    return True
