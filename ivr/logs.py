"""The processes' logging: the format, and no caller's number in any line.

Our own code logs no numbers, but libraries do: the `twilio` client writes every request's
URL and query (`To=%2B40722333444` when the worker looks a message up) at INFO, urllib3 the
same URL at DEBUG, SQLAlchemy an error's parameters in its traceback. So their chatter is
turned down, and every handler gets a filter that masks whatever still looks like a phone
number, in any format (`+40722333444`, `%2B40722333444`, `40722333444`, `0722333444`,
`722333444`): a run of 9 to 15 digits standing alone, kept as its last three digits.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = {"twilio.http_client": logging.WARNING, "twilio.async_http_client": logging.WARNING}
"""Loggers of libraries that write request details at INFO; their warnings still show."""
NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\+|%2[Bb])?\d{6,12}(\d{3})(?![0-9A-Za-z])")


def mask_numbers(text: str) -> str:
    """`text` with every phone-number-like run of digits masked (`[number …444]`)."""
    return NUMBER.sub(r"[number …\1]", text)


class MaskNumbers(logging.Filter):
    """Rewrites each record's message (and traceback) with the numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_numbers(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_numbers(record.stack_info)
        return True


def configure_logging(level: str) -> None:
    """Log to stderr at `level`, numbers masked, chatty libraries turned down."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    protect(logging.getLogger())
    for name, quiet_level in QUIET.items():
        logging.getLogger(name).setLevel(quiet_level)


def protect(logger: logging.Logger) -> None:
    """Mask numbers in everything `logger`'s handlers write (gunicorn has its own)."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskNumbers) for f in handler.filters):
            handler.addFilter(MaskNumbers())
