"""Twilio's voice webhooks (a Flask blueprint under /twilio), each signed (`signatures`).

- POST /twilio/voice: a call arrives; it starts on the CallRunner with the CallSid as its id
  and is answered with `<Connect><Stream>` carrying a one-time token that also holds the
  first line actions; the `<Connect>`'s action is /twilio/next, for when the stream ends.
- POST /twilio/next: the stream ended; the call's stored actions say what follows: a
  `<Dial action=…>` for a transfer, a hang-up, or a new stream. A stream that ended without
  saying so (the process holding it died) is taken over here, on whichever node Twilio
  reached: the call, rebuilt from its events, hears CallResumed (an apology and its question
  again) on a new stream; what the caller said and keyed is kept, its ticket is the same.
  The same request again (its answer lost, retried by Twilio or by nginx) gets a stream of
  the same actions, never a second CallResumed (`_again`); so does a retried /twilio/voice.
- POST /twilio/dial-result: the transfer ended → TransferFinished into the resumed call.
  Its URL, and gather mode's, carries the `step` the call was at when the TwiML was written:
  the same request again finds rows stored after that step and gets the line actions they
  hold instead of feeding the caller's answer twice (`_answered_before`).
- POST /twilio/whisper: what the officer hears first (the ticket reference).
- POST /twilio/status: call status callbacks, kept once per (CallSid, SequenceNumber); a final
  one (completed, busy, no-answer, failed, canceled) ends a call still going on.
- POST /twilio/gather and /twilio/recorded: gather mode (the flow's `twilio_mode: gather`),
  where `<Gather>` and `<Record>` take the caller's answers instead of a stream (`gather`),
  and `<Play>` fetches our prompts from GET /twilio/prompts/… (`prompt_files`).
- POST /twilio/recording: a recording Twilio made (a `<Dial record>` transfer after consent,
  a gather-mode call or description) is ready; a job downloads it (`recordings`).
- WebSocket /twilio/stream: the Media Streams of those calls (`streams.StreamCall`).
A garbled body or a missing CallSid answers 400; other calls never notice.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, request
from twilio.base.exceptions import TwilioException
from twilio.rest import Client
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ivr import app_context
from ivr.bootstrap import call_recognizer, twilio_client
from ivr.calls.heartbeat import serve_node_name
from ivr.calls.runner import CallRunner, CallServices
from ivr.channels.line_actions import LINE_ACTIONS, from_records, to_records
from ivr.channels.stream import StreamCall
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage import calls as stored_calls
from ivr.storage import twilio as twilio_store
from ivr.storage.models import Call, CallEvent
from webhooks import gather, prompt_files, twiml, websocket
from webhooks.recordings import start_call_recording
from webhooks.signatures import twilio_signed
from webhooks.streams import serve

log = logging.getLogger(__name__)
blueprint = Blueprint("twilio", __name__)

RECORDING_STATUSES = ("completed", "failed", "absent")
RECORDING_KINDS = ("call", "description")
REST_CLIENT = "civicline.twilio_rest"
"""Where the Twilio app keeps its REST client (tests put one there pointed at a stand-in)."""
STEP = "step"
"""The query parameter of an action URL: how many rows the call had stored when its TwiML was
written (`_answered_before`)."""
MAX_DIGITS = 64
MAX_SPEECH = 500
"""Longer answers are cut: no question of ours needs more."""
DIAL_RESULTS: dict[str, ev.TransferResult] = {
    "completed": "answered",
    "answered": "answered",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "failed",
}


def init_app(app: Flask) -> None:
    """Serve Twilio's webhooks and streams under /twilio as an application of their own:
    Twilio signs its requests, so the site's login, session and CSRF token do not apply."""
    twilio_app = Flask(__name__)
    app_context.share(app, twilio_app)
    twilio_app.register_blueprint(blueprint)
    from webhooks import sms  # the SMS webhooks live beside the voice ones, signed alike

    twilio_app.register_blueprint(sms.blueprint)
    from webhooks import callback_calls

    twilio_app.register_blueprint(callback_calls.blueprint)
    twilio_app.register_blueprint(prompt_files.blueprint)
    app.extensions["civicline.twilio"] = twilio_app
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/twilio": twilio_app})  # type: ignore[method-assign]


def _base_url(websocket: bool = False) -> str:
    base = (app_context.settings().public_url or request.host_url).rstrip("/")
    if websocket:
        base = re.sub(r"^http", "ws", base)
    return base


def _form(name: str) -> str:
    try:
        value = request.form.get(name, "")
    except BadRequest:
        abort(400)
    return value.strip()


def _call_sid() -> str:
    sid = _form("CallSid")
    if not twilio_store.CALL_SID.match(sid):
        abort(400, description="missing or malformed CallSid")
    return sid


def _xml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


@blueprint.post("/voice")
@twilio_signed
def voice() -> Response:
    sid = _call_sid()
    services = app_context.services()
    with services.database.session() as db:
        known = db.get(Call, sid) is not None
    if known:  # Twilio retried the webhook: the call goes on where it is
        return _answer(_resume(sid), _again(sid, ev.CallStarted) or [])
    runner, actions = CallRunner.start(
        services,
        caller=_form("From") or None,
        channel="twilio",
        at=app_context.current_time(),
        call_id=sid,
    )
    return _answer(runner, actions)


@blueprint.post("/next")
@twilio_signed
def next_step() -> Response:
    sid = _call_sid()
    runner = _resume(sid)
    if runner.session.ended:
        return _xml(twiml.hang_up())
    transfer = runner.session.pending_transfer
    if transfer is not None:
        return _answer(runner, [transfer])
    database = app_context.services().database
    with database.session(read_only=True) as db:
        orphaned = twilio_store.stream_live(db, sid)
    actions = _again(sid, ev.CallResumed)
    if actions is None and orphaned:
        log.warning("call %s: its stream's process died; the call resumes here", sid)
        actions = runner.feed(ev.CallResumed(at=app_context.current_time()))
    with database.session() as db:
        twilio_store.end_live_streams(db, sid)
    return _answer(runner, actions or [])


@blueprint.post("/dial-result")
@twilio_signed
def dial_result() -> Response:
    sid = _call_sid()
    result = DIAL_RESULTS.get(_form("DialCallStatus"), "failed")
    runner = _resume(sid)
    again = _answered_before(runner)
    if again is not None:
        return _answer(runner, again)
    if runner.session.ended:
        return _xml(twiml.hang_up())
    actions = runner.feed(ev.TransferFinished(at=app_context.current_time(), result=result))
    return _answer(runner, actions)


@blueprint.post("/gather")
@twilio_signed
def gathered() -> Response:
    """Gather mode: what the caller keyed or said (or nothing) at the current question."""
    sid = _call_sid()
    try:
        max_digits = int(request.args.get("digits", "1"))
    except ValueError:
        abort(400, description="bad digits")
    runner = _resume(sid)
    again = _answered_before(runner)
    if again is not None:
        return _answer(runner, again)
    if runner.session.ended:
        return _xml(twiml.hang_up())
    form = {
        "Digits": _form("Digits")[:MAX_DIGITS],
        "SpeechResult": _form("SpeechResult")[:MAX_SPEECH],
        "Confidence": _form("Confidence")[:32],
    }
    mark = request.args.get("mark", "")
    return _answer(
        runner,
        gather.answer(
            runner, form, mark=mark, max_digits=max_digits, at=app_context.current_time()
        ),
    )


@blueprint.post("/recorded")
@twilio_signed
def recorded() -> Response:
    """Gather mode: a `<Record>` ended (its file comes to /twilio/recording later)."""
    sid = _call_sid()
    runner = _resume(sid)
    again = _answered_before(runner)
    if again is not None:
        return _answer(runner, again)
    if runner.session.ended:
        return _xml(twiml.hang_up())
    form = {
        "RecordingDuration": _form("RecordingDuration")[:32],
        "RecordingSid": _form("RecordingSid")[:64],
        "RecordingUrl": _form("RecordingUrl")[:512],
    }
    mark = request.args.get("mark", "")
    return _answer(runner, gather.recorded(runner, form, mark=mark, at=app_context.current_time()))


@blueprint.post("/whisper")
@twilio_signed
def whisper() -> Response:
    ref = request.args.get("ref", "")
    if not re.fullmatch(r"[0-9]{2}-[0-9]{6}", ref):
        return _xml(twiml.whisper("civicline"))
    return _xml(twiml.whisper(f"civicline: {' '.join(ref.replace('-', ''))}"))


@blueprint.post("/status")
@twilio_signed
def status() -> Response:
    sid = _call_sid()
    sequence = _form("SequenceNumber") or "0"
    if not re.fullmatch("[0-9]{1,10}", sequence) or int(sequence) >= 2**31:
        abort(400, description="bad SequenceNumber")  # a count from 0, kept as a 32-bit int
    call_status = _form("CallStatus")
    if call_status not in twilio_store.STATUS_ORDER:
        abort(400, description="unknown CallStatus")
    services = app_context.services()
    with services.database.session() as db:
        twilio_store.record_status(db, sid, int(sequence), call_status, app_context.current_time())
    if call_status in twilio_store.FINAL_STATUSES:
        _caller_gone(services, sid)
    return Response(status=204)


def _caller_gone(services: CallServices, sid: str) -> None:
    """The call is over at Twilio: a call still going on hears CallerHungUp (its draft ticket
    kept), unless its stream said so first. A live stream is left to see the end itself (its
    `stop` or its socket closing), so two writers never feed one call at once."""
    with services.database.session() as db:
        call = db.get(Call, sid)
        if call is None or call.ended_at is not None or twilio_store.stream_live(db, sid):
            return
        if not twilio_store.claim_call_end(db, sid, "status", app_context.current_time()):
            return
    try:
        runner = CallRunner.resume(services, sid)
    except LookupError:
        return
    runner.feed(ev.CallerHungUp(at=app_context.current_time()))


@websocket.route(blueprint, "/stream")
def stream(ws: websocket.WebSocket) -> None:
    call = StreamCall(
        app_context.services(),
        app_context.prompts(),
        call_recognizer,
        started_at=app_context.current_time(),
        recordings=app_context.recordings(),
        node=serve_node_name(),
    )
    serve(ws, call)


@blueprint.post("/recording")
@twilio_signed
def recording() -> Response:
    """A recording Twilio made for us is ready: kept once per RecordingSid, with the job
    that downloads it (`recordings`)."""
    sid = _call_sid()
    recording_sid = _form("RecordingSid")
    status = _form("RecordingStatus") or "completed"
    kind = request.args.get("kind", "")
    if not twilio_store.RECORDING_SID.match(recording_sid):
        abort(400, description="missing or malformed RecordingSid")
    if status not in RECORDING_STATUSES or kind not in RECORDING_KINDS:
        abort(400, description="unknown RecordingStatus or kind")
    with app_context.services().database.session() as db:
        if db.get(Call, sid) is None:
            abort(404)
        twilio_store.record_recording(
            db, recording_sid, sid, kind, status, app_context.current_time()
        )
    return Response(status=204)


def app_rest_client() -> Client | None:
    """The process's Twilio REST client (None without an account SID and auth token)."""
    extensions = current_app.extensions
    if REST_CLIENT not in extensions:
        settings = app_context.settings()
        account, token = settings.twilio_account_sid, settings.twilio_auth_token
        extensions[REST_CLIENT] = twilio_client(settings) if account and token else None
    client: Client | None = extensions[REST_CLIENT]
    return client


def _record_at_twilio(sid: str) -> None:
    """Gather mode carries out StartCallRecording: Twilio records the call from now on."""
    client = app_rest_client()
    if client is None:
        log.error("call %s: not recorded, CIVICLINE_TWILIO_ACCOUNT_SID is not set", sid)
        return
    try:
        start_call_recording(client, sid, f"{_base_url()}/twilio/recording?kind=call")
    except (TwilioException, OSError) as error:
        log.error("call %s: Twilio did not start recording it: %s", sid, error)


def _consented(sid: str) -> bool:
    """The caller heard the recording notice and did not decline (StartCallRecording)."""
    with app_context.services().database.session() as db:
        return any(
            r.kind == "action" and r.type == "StartCallRecording"
            for r in stored_calls.call_events(db, sid)
        )


def _again(sid: str, event: type[ev.Event]) -> list[act.Action] | None:
    """The line actions the call's last event gave, when that event is an `event`: the same
    request again (Twilio, or nginx for a node that died, retried it after its answer was
    lost) gets them again instead of feeding the event twice. Twilio opens only the stream of
    the answer it received, so the actions play once. None when the last event is another."""
    with app_context.services().database.session(read_only=True) as db:
        rows = stored_calls.since_last_event(db, sid)
    if not rows or rows[0].type != event.__name__:
        return None
    return _line_actions(rows[1:])


def _answered_before(runner: CallRunner) -> list[act.Action] | None:
    """The line actions this request got the first time, when it is a retry (its answer was
    lost; Twilio or nginx asked again): the call stored rows after the `step` its URL
    carries, which only answering it can have done. None for a first request, and for a URL
    without a step."""
    step = request.args.get(STEP, "")
    if not step.isdigit() or runner.seq <= int(step):  # seq: the rows the call has stored
        return None
    with app_context.services().database.session(read_only=True) as db:
        rows = stored_calls.call_events(db, runner.call_id)
    return _line_actions([row for row in rows if row.seq > int(step)])


def _line_actions(rows: list[CallEvent]) -> list[act.Action]:
    """The line actions among stored rows, as the engine gave them, but a sentence that
    carried a secret (a new ticket's PIN): it is stored redacted, and is left out rather than
    read out as such."""
    records = [{"type": r.type, "payload": r.payload} for r in rows if r.kind == "action"]
    actions = from_records([r for r in records if r["type"] in LINE_ACTIONS])
    return [a for a in actions if not (isinstance(a, act.Say) and a.secret)]


def _resume(sid: str) -> CallRunner:
    try:
        return CallRunner.resume(app_context.services(), sid)
    except LookupError:
        abort(404)


def _answer(runner: CallRunner, actions: list[act.Action]) -> Response:
    """TwiML for what the call does next: a transfer, a hang-up, a stream, or (gather mode)
    the next question."""
    sid, flow = runner.call_id, runner.loaded.flow
    gathering = flow.settings.twilio_mode == "gather"
    if gathering:
        if any(isinstance(a, act.StartCallRecording) for a in actions):
            _record_at_twilio(sid)
        actions = gather.next_turn(actions)
        if not actions and not runner.session.ended:
            with app_context.services().database.session() as db:
                actions = gather.current_turn(stored_calls.call_events(db, sid))
    transfer = next((a for a in actions if isinstance(a, act.Transfer)), None)
    if transfer is not None:
        settings = app_context.settings()
        whisper_url = f"{_base_url()}/twilio/whisper"
        if ref := _last_ref(runner):
            whisper_url += "?" + urlencode({"ref": ref})
        says = [a for a in actions if isinstance(a, act.Say)]
        return _xml(
            twiml.dial(
                transfer.target,
                action=f"{_base_url()}/twilio/dial-result?{urlencode({STEP: runner.seq})}",
                timeout=settings.twilio_dial_timeout,
                caller_id=settings.twilio_from or None,
                whisper_url=whisper_url,
                first=gather.spoken_of(says, flow, _prompts()) if gathering else None,
                recording_callback=(
                    f"{_base_url()}/twilio/recording?kind=call"
                    if not gathering and _consented(sid)
                    else None
                ),
            )
        )
    if gathering:
        urls = gather.Urls(
            gather=f"{_base_url()}/twilio/gather",
            recorded=f"{_base_url()}/twilio/recorded",
            recording=f"{_base_url()}/twilio/recording",
            step=runner.seq,
        )
        says = [a for a in actions if isinstance(a, act.Say)]
        document = gather.render(actions, flow, urls, _prompts())
        return _xml(document or twiml.hang_up(gather.spoken_of(says, flow, _prompts())))
    if actions and all(isinstance(a, act.HangUp) for a in actions):
        return _xml(twiml.hang_up())
    with app_context.services().database.session() as db:
        token = twilio_store.issue_token(db, sid, to_records(actions), app_context.current_time())
    return _xml(
        twiml.stream(
            f"{_base_url(websocket=True)}/twilio/stream",
            token,
            next_url=f"{_base_url()}/twilio/next",
        )
    )


def _prompts() -> prompt_files.PromptUrls:
    """Gather mode plays our pre-rendered prompts from /twilio/prompts."""
    return prompt_files.prompt_urls(_base_url())


def _last_ref(runner: CallRunner) -> str | None:
    refs = runner.session.ticket_refs
    return refs[-1] if refs else None
