"""Callbacks over Twilio: the OutboundCaller (`calls.create`) and the webhooks of its calls,
under /twilio/callbacks/<id>/, each signed.

The officer's leg is called first; answering, the officer hears the ticket and waits in a
conference named after the callback while the worker calls the citizen, who joins it. The
call is recorded only with the citizen's consent: one who declined on the line hears it is
not recorded; anyone else hears that it is, unless they press 8, and with no 8 the officer's
leg (which hears the whole conference) starts recording. When the officer hangs up, the
conference ends: the officer's call asks for the resolution (1 resolved, 2 not yet), the
citizen's asks whether they are satisfied (2 takes the ticket one level up), then for a
survey score. Status callbacks of both legs go to
`ivr.callbacks.calls.leg_status` (the retry, the "missed" SMS).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse
from werkzeug.exceptions import BadRequest

from ivr import app_context
from ivr.callbacks import calls as reports
from ivr.engine.render import fill
from ivr.storage import calls as stored_calls
from ivr.storage import twilio as twilio_store
from ivr.storage.models import Call, Callback, CallbackAttempt, Ticket
from menus.schema import Flow
from webhooks.recordings import start_call_recording
from webhooks.signatures import twilio_signed
from webhooks.voice import app_rest_client

log = logging.getLogger(__name__)
blueprint = Blueprint("twilio_callbacks", __name__, url_prefix="/callbacks")

LEGS = ("officer", "citizen")
SAY_LANGUAGES = {"ro": "ro-RO", "en": "en-GB", "bg": "bg-BG", "ko": "ko-KR"}
RING_SECONDS = 30


class TwilioOutboundCaller:
    """The OutboundCaller port over Twilio's REST API (tests point the client at a stand-in)."""

    def __init__(self, client: Client, from_number: str, public_url: str) -> None:
        self.client = client
        self.from_number = from_number
        self.base = public_url.rstrip("/") + "/twilio/callbacks"

    def call(self, to: str, *, callback_id: int, leg: str, attempt: int) -> str:
        url = f"{self.base}/{callback_id}/{leg}"
        call = self.client.calls.create(
            to=to,
            from_=self.from_number,
            url=f"{url}?attempt={attempt}",
            status_callback=f"{url}/status?attempt={attempt}",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=RING_SECONDS,
        )
        return str(call.sid)


def _form(name: str) -> str:
    try:
        return request.form.get(name, "").strip()
    except BadRequest:
        abort(400)


def _call_sid() -> str:
    sid = _form("CallSid")
    if not twilio_store.CALL_SID.match(sid):
        abort(400, description="missing or malformed CallSid")
    return sid


def _attempt() -> int:
    """The attempt our request named in the webhook's URL (`?attempt=N`)."""
    number = request.args.get("attempt", "")
    if not number.isdigit():
        abort(400, description="missing or malformed attempt")
    return int(number)


def _xml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _flow() -> Flow:
    return app_context.services().flows.current().flow


def _texts(flow: Flow) -> dict[str, dict[str, str]]:
    texts = flow.texts.callback_call
    if texts is None:
        abort(404)
    return {name: getattr(texts, name) for name in type(texts).model_fields}


def _callback(db: Session, callback_id: int) -> Callback:
    """The callback a webhook's URL names; 404 when there is none."""
    callback = db.get(Callback, callback_id)
    if callback is None:
        abort(404)
    return callback


def _say(response: VoiceResponse | Gather, text: str, language: str) -> None:
    response.say(text, language=SAY_LANGUAGES.get(language, language))


def _url(callback_id: int, step: str) -> str:
    settings = app_context.settings()
    base = (settings.public_url or request.host_url).rstrip("/")
    return f"{base}/twilio/callbacks/{callback_id}/{step}"


@blueprint.post("/<int:callback_id>/<leg>")
@twilio_signed
def answered(callback_id: int, leg: str) -> Response:
    """A leg answered: the officer hears the ticket and waits; the citizen hears who calls
    and, unless they declined on the line, that the call is recorded unless they press 8."""
    if leg not in LEGS:
        abort(404)
    sid, flow = _call_sid(), _flow()
    texts = _texts(flow)
    with app_context.services().database.session() as db:
        callback = _callback(db, callback_id)
        now = app_context.current_time()
        reports.leg_status(db, flow, callback_id, leg, _attempt(), sid, reports.ANSWERED, now)
        ticket = db.get(Ticket, callback.ticket_id) if callback.ticket_id else None
        language = _language(flow, callback, leg)
        department = flow.departments.get(callback.department)
        params = {
            "ref": ticket.ref if ticket else "",
            "department": department.name[language] if department else callback.department,
        }
        consent = callback.recording_consent
    response = VoiceResponse()
    greeting = leg if leg == "citizen" or ticket is not None else "officer_no_report"
    _say(response, fill(texts[greeting][language], params), language)
    if leg == "officer":
        return _xml(_join(response, callback_id, leg))
    if consent == "declined":
        _say(response, texts["not_recorded"][language], language)
        return _xml(_join(response, callback_id, leg))
    gather = Gather(num_digits=1, action=_url(callback_id, "consent"), timeout=5)
    _say(gather, texts["recorded"][language], language)
    response.append(gather)
    response.redirect(_url(callback_id, "consent"))
    return _xml(response)


@blueprint.post("/<int:callback_id>/consent")
@twilio_signed
def consent(callback_id: int) -> Response:
    """The citizen's answer to the recording notice: 8 declines (kept on the callback), no
    key accepts, and the officer's leg, which hears the whole conference, starts recording."""
    flow = _flow()
    texts = _texts(flow)
    declined = _form("Digits") == "8"
    with app_context.services().database.session() as db:
        callback = _callback(db, callback_id)
        language = _language(flow, callback, "citizen")
        if declined or callback.recording_consent is None:
            callback.recording_consent = "declined" if declined else "accepted"
        record = callback.recording_consent == "accepted"
        officer = _officer_call(db, callback_id)
    response = VoiceResponse()
    if record and officer is not None:
        _record(officer, callback_id)
    else:
        _say(response, texts["not_recorded"][language], language)
    return _xml(_join(response, callback_id, "citizen"))


def _language(flow: Flow, callback: Callback, leg: str) -> str:
    """The citizen hears their language; the officer the flow's default."""
    return flow.language_or_default(callback.language if leg == "citizen" else None)


def _officer_call(db: Session, callback_id: int) -> str | None:
    """The call id of the officer's leg in the conference (answered, not ended)."""
    return db.scalar(
        select(CallbackAttempt.provider_sid)
        .where(
            CallbackAttempt.callback_id == callback_id,
            CallbackAttempt.leg == "officer",
            CallbackAttempt.status == reports.ANSWERED,
        )
        .order_by(CallbackAttempt.id.desc())
        .limit(1)
    )


def _record(officer_sid: str, callback_id: int) -> None:
    """Twilio records the officer's leg from now on (the conference as they hear it)."""
    client = app_rest_client()
    if client is None:
        log.error("callback %s: not recorded, CIVICLINE_TWILIO_ACCOUNT_SID is not set", callback_id)
        return
    try:
        start_call_recording(client, officer_sid, _url(callback_id, "recording"))
    except (TwilioException, OSError) as error:
        log.error("callback %s: Twilio did not start recording it: %s", callback_id, error)


def _join(response: VoiceResponse, callback_id: int, leg: str) -> VoiceResponse:
    """Into the callback's conference; after it, the officer's resolution or the citizen's
    "satisfied?" question, then thanks."""
    flow = _flow()
    texts = _texts(flow)
    with app_context.services().database.session(read_only=True) as db:
        callback = _callback(db, callback_id)
        ticket = db.get(Ticket, callback.ticket_id) if callback.ticket_id else None
        language = _language(flow, callback, leg)
    above = min(ticket.escalation_level + 1 if ticket else 1, len(flow.escalation) - 1)
    level_name = flow.escalation[above].name[language]
    dial = Dial()
    dial.conference(
        f"callback-{callback_id}",
        start_conference_on_enter=True,
        end_conference_on_exit=leg == "officer",
        beep=False,
    )
    response.append(dial)
    step, question = ("resolution", "resolved") if leg == "officer" else ("satisfied", "satisfied")
    gather = Gather(num_digits=1, action=_url(callback_id, step), timeout=8)
    _say(gather, fill(texts[question][language], {"level": level_name}), language)
    response.append(gather)
    _say(response, texts["thanks"][language], language)
    return response


@blueprint.post("/<int:callback_id>/<leg>/status")
@twilio_signed
def leg_status(callback_id: int, leg: str) -> Response:
    if leg not in LEGS:
        abort(404)
    sid, status = _call_sid(), _form("CallStatus")
    if status not in twilio_store.STATUS_ORDER:
        abort(400, description="unknown CallStatus")
    flow = _flow()
    with app_context.services().database.session() as db:
        news = reports.leg_status(
            db, flow, callback_id, leg, _attempt(), sid, status, app_context.current_time()
        )
        missed = news and leg == "citizen" and _callback(db, callback_id).status == "missed"
        officer = _officer_call(db, callback_id) if missed else None
    if officer is not None:
        _let_officer_go(officer, callback_id, flow)
    return Response(status=204)


def _let_officer_go(officer_sid: str, callback_id: int, flow: Flow) -> None:
    """The citizen was not reached twice: the officer, waiting in the conference, is told
    so and the call ends (Twilio runs the new TwiML on their call at once)."""
    client = app_rest_client()
    if client is None:
        log.error("callback %s: the officer's call was not ended: no Twilio account", callback_id)
        return
    language = flow.default_language
    response = VoiceResponse()
    _say(response, _texts(flow)["not_reached"][language], language)
    response.hangup()
    try:
        client.calls(officer_sid).update(twiml=str(response))
    except (TwilioException, OSError) as error:
        log.error("callback %s: the officer's call was not ended: %s", callback_id, error)


@blueprint.post("/<int:callback_id>/resolution")
@twilio_signed
def resolution(callback_id: int) -> Response:
    flow = _flow()
    texts = _texts(flow)
    with app_context.services().database.session() as db:
        reports.resolution(db, flow, callback_id, _form("Digits"), app_context.current_time())
    response = VoiceResponse()
    _say(response, texts["thanks"][flow.default_language], flow.default_language)
    response.hangup()
    return _xml(response)


@blueprint.post("/<int:callback_id>/satisfied")
@twilio_signed
def satisfied(callback_id: int) -> Response:
    flow = _flow()
    texts = _texts(flow)
    with app_context.services().database.session() as db:
        callback = _callback(db, callback_id)
        language = flow.language_or_default(callback.language)
        if _form("Digits") == "2":
            reports.not_satisfied(db, flow, callback_id, app_context.current_time())
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=_url(callback_id, "survey"), timeout=8)
    _say(gather, texts["survey"][language], language)
    response.append(gather)
    _say(response, texts["thanks"][language], language)
    return _xml(response)


@blueprint.post("/<int:callback_id>/survey")
@twilio_signed
def survey(callback_id: int) -> Response:
    flow = _flow()
    texts = _texts(flow)
    with app_context.services().database.session() as db:
        callback = _callback(db, callback_id)
        language = flow.language_or_default(callback.language)
        reports.score(db, callback_id, _form("Digits"), language, app_context.current_time())
    response = VoiceResponse()
    _say(response, texts["thanks"][language], language)
    response.hangup()
    return _xml(response)


@blueprint.post("/<int:callback_id>/recording")
@twilio_signed
def recording(callback_id: int) -> Response:
    """The officer leg's recording is ready: kept on a call row of its own, linked to the
    ticket, and downloaded by the recordings job."""
    sid, recording_sid = _call_sid(), _form("RecordingSid")
    if not twilio_store.RECORDING_SID.match(recording_sid):
        abort(400, description="missing or malformed RecordingSid")
    status = _form("RecordingStatus") or "completed"
    services = app_context.services()
    loaded = services.flows.current()
    with services.database.session() as db:
        callback = _callback(db, callback_id)
        if db.get(Call, sid) is None:
            stored_calls.save_flow_version(
                db, loaded.version, loaded.source, loaded.path, app_context.current_time()
            )
            call = stored_calls.start_call(
                db,
                call_id=sid,
                caller=callback.caller,
                channel="callback",
                flow_version=loaded.version,
                language=callback.language,
                at=app_context.current_time(),
            )
            call.department, call.ticket_id = callback.department, callback.ticket_id
        twilio_store.record_recording(
            db, recording_sid, sid, "callback", status, app_context.current_time()
        )
    return Response(status=204)
