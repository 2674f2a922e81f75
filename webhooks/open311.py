"""Open311 GeoReport v2 at /open311/v2 (README "Open311"): HTTP routes only, the logic is
in `ivr.open311`. Mounted as an application of its own, like Twilio's webhooks: clients
send an `api_key`, not the site's session or CSRF token.

The format is the extension (`services.xml`, `services.json`); every refusal is the spec's
error list with a code and a description, in the format asked for (XML when it is unknown).
Requests are counted per client address, and POSTs per key too, in the database
(`ivr.open311.limits`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ivr import app_context
from ivr.app_context import current_time, services, settings
from ivr.open311 import filing, formats, keys, limits
from ivr.open311 import requests as service_requests
from ivr.open311.services import UnknownLocale, definition, language, service_list
from ivr.storage.models import Open311Report, Ticket
from ivr.storage.pin_pool import pins
from ivr.storage.tickets import NewPin
from menus.schema import Flow

blueprint = Blueprint("open311", __name__)
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


class Refused(Exception):
    """An answer in the spec's error format: HTTP `status` and what to change."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def init_app(app: Flask) -> None:
    """Serve the API under /open311 as an application of its own."""
    open311_app = Flask(__name__)
    app_context.share(app, open311_app)
    open311_app.register_blueprint(blueprint, url_prefix="/v2")
    open311_app.register_error_handler(HTTPException, _http_error)
    app.extensions["civicline.open311"] = open311_app
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/open311": open311_app})  # type: ignore[method-assign]


def _http_error(error: HTTPException) -> Response:
    """An unknown path or method, in the spec's error format too."""
    return _refused(Refused(error.code or 400, error.description or error.name))


@blueprint.errorhandler(Refused)
def _refused(refusal: Refused) -> Response:
    fmt = _fmt()
    body = formats.errors([(refusal.status, refusal.description)], fmt)
    answer = Response(body, status=refusal.status, content_type=formats.FORMATS[fmt])
    if refusal.retry_after is not None:
        answer.headers["Retry-After"] = str(refusal.retry_after)
    return answer


@blueprint.get("/discovery.<fmt>")
def discovery(fmt: str) -> Response:
    _checked(fmt)
    base = request.url_root.rstrip("/") + "/v2"
    return _answer("discovery", {
        "changeset": current_time().replace(microsecond=0).isoformat(),
        "contact": _flow().city.name.get(_flow().default_language),
        "key_service": "An API key is issued by the city hall's administrators.",
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": base,
            "changeset": current_time().replace(microsecond=0).isoformat(),
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })  # fmt: skip


@blueprint.get("/services.<fmt>")
def services_list(fmt: str) -> Response:
    _checked(fmt)
    return _answer("services", service_list(_flow(), _language()))


@blueprint.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> Response:
    _checked(fmt)
    try:
        return _answer("service_definition", definition(_flow(), code))
    except KeyError:
        raise Refused(404, f"service_code {code!r} is not a service (see services.xml)") from None


@blueprint.get("/requests.<fmt>")
def requests_list(fmt: str) -> Response:
    _checked(fmt)
    try:
        query = service_requests.parse_query(request.args.to_dict(), _flow(), current_time())
    except service_requests.BadParameter as problem:
        raise Refused(400, str(problem)) from problem
    return _answer("service_requests", _rows(query))


@blueprint.get("/requests/<ref>.<fmt>")
def request_one(ref: str, fmt: str) -> Response:
    _checked(fmt)
    try:
        query = service_requests.parse_query({"service_request_id": ref}, _flow(), current_time())
    except service_requests.BadParameter:
        query = None  # not a registration number: no such request
    rows = _rows(query) if query else []
    if not rows:
        raise Refused(404, f"no service request {ref!r} (ids look like 26-000123)")
    return _answer("service_requests", rows)


@blueprint.get("/tokens/<token>.<fmt>")
def token(token: str, fmt: str) -> Response:
    _checked(fmt)
    with services().database.session(read_only=True) as session:
        ref = session.scalar(
            select(Ticket.ref)
            .join(Open311Report, Open311Report.ticket_id == Ticket.id)
            .where(Open311Report.token == token)
        )
    if ref is None:
        raise Refused(404, f"no service request has the token {token!r}")
    return _answer("service_requests", [{"service_request_id": ref, "token": token}])


@blueprint.post("/requests.<fmt>")
def create(fmt: str) -> Response:
    _checked(fmt)
    form = request.form.to_dict()
    given = form.get("api_key", "")
    now = current_time()
    with services().database.session() as session:
        key = keys.find_active(session, given) if given else None
        limit = settings().open311_key_per_minute
        over = key is not None and limits.over_limit(session, f"key:{key.id}", limit, now)
    if key is None:
        raise Refused(403, "a valid api_key is required to file a report")
    if over:
        raise Refused(429, "too many reports with this api_key; wait a minute",
                      limits.retry_after(now))  # fmt: skip
    try:
        report = filing.parse_report(form, _flow(), _language(form.get("locale")))
    except filing.BadReport as problem:
        raise Refused(400, str(problem)) from problem
    pin = pins.take()  # before the transaction: a hash made now is slow (new_pin)
    try:
        filed = _file(given, report, pin, now)
    except IntegrityError:  # the same external_id POSTed twice at once: the other won
        filed = _file(given, report, pin, now)
    return _answer("service_requests", [{
        "service_request_id": filed.ref,
        "token": filed.token,
        "service_notice": "",
        "account_id": None,
        "pin": filed.pin,
    }])  # fmt: skip


def _file(given: str, report: filing.Report, pin: NewPin, now: datetime) -> filing.Filed:
    """The report filed, or the one this key filed before with its external id."""
    with services().database.session() as session:
        key = keys.find_active(session, given)
        if key is None:  # revoked since the check above
            raise Refused(403, "a valid api_key is required to file a report")
        return filing.earlier(session, key, report) or filing.file_report(
            session, _flow(), key, report, pin, now
        )


@blueprint.before_request
def _count_address() -> None:
    now, address = current_time(), f"address:{request.remote_addr or 'unknown'}"
    with services().database.session() as session:
        over = limits.over_limit(session, address, settings().open311_address_per_minute, now)
    if over:
        raise Refused(429, "too many requests from this address; wait a minute",
                      limits.retry_after(now))  # fmt: skip


def _rows(query: service_requests.Query) -> list[dict[str, Any]]:
    flow, lang = _flow(), _language()
    with services().database.session(read_only=True) as session:
        return [
            service_requests.row(ticket, report, flow, lang)
            for ticket, report in service_requests.find_requests(session, query)
        ]


def _flow() -> Flow:
    return services().flows.current().flow


def _language(locale: str | None = None) -> str:
    try:
        return language(_flow(), locale if locale is not None else request.args.get("locale"))
    except UnknownLocale as problem:
        raise Refused(400, str(problem)) from problem


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt", "xml")
    return fmt if fmt in formats.FORMATS else "xml"


def _checked(fmt: str) -> None:
    if fmt not in formats.FORMATS:
        raise Refused(400, f"format {fmt!r} is not served; use .xml or .json")


def _answer(root: str, document: Any) -> Response:
    fmt = _fmt()
    return Response(formats.render(root, document, fmt), content_type=formats.FORMATS[fmt])
