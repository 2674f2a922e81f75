"""Twilio's SMS webhooks (under /twilio, each signed):

- POST /twilio/sms: the number's messaging URL. Each message is handed to the SMS
  conversation once per MessageSid (`ivr.sms.inbound`); the answer goes through the outbox,
  so the TwiML response is always empty.
- POST /twilio/sms-status: delivery status callbacks of the messages we sent (the sender
  gives Twilio this URL), kept per MessageSid and only moving forward.
A garbled body or a missing MessageSid answers 400; a body of any length or only emoji is
a message like any other.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, request
from werkzeug.exceptions import BadRequest

from ivr import app_context
from ivr.sms.inbound import receive_sms
from ivr.storage.outbox import DELIVERY_ORDER, record_delivery
from webhooks.signatures import twilio_signed

log = logging.getLogger(__name__)
blueprint = Blueprint("twilio_sms", __name__)

MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _form(name: str) -> str:
    try:
        value = request.form.get(name, "")
    except BadRequest:
        abort(400)
    return value


def _message_sid() -> str:
    sid = _form("MessageSid").strip()
    if not MESSAGE_SID.match(sid):
        abort(400, description="missing or malformed MessageSid")
    return sid


@blueprint.post("/sms")
@twilio_signed
def inbound() -> Response:
    sid = _message_sid()
    sender = _form("From").strip()
    if not sender:
        abort(400, description="missing From")
    services = app_context.services()
    handled = receive_sms(
        services.database,
        services.flows.current().flow,
        message_sid=sid,
        sender=sender,
        body=_form("Body"),
        at=app_context.current_time(),
    )
    if not handled:
        log.info("SMS %s came again; handled already", sid)
    return Response(EMPTY, mimetype="text/xml")


@blueprint.post("/sms-status")
@twilio_signed
def delivery_status() -> Response:
    sid = _message_sid()
    status = _form("MessageStatus").strip()
    if status not in DELIVERY_ORDER:
        abort(400, description="unknown MessageStatus")
    with app_context.services().database.session() as session:
        record_delivery(
            session,
            sid,
            status,
            _form("ErrorCode").strip() or None,
            _form("To").strip(),
            app_context.current_time(),
        )
    return Response(status=204)
