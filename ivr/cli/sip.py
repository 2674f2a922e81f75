"""`ivr sip`: a SIP node registered at the registrar, serving calls until SIGTERM or Ctrl-C.
A node that cannot register says why in one line and exits 1; a signal while it waits for
the registrar ends the wait at once."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from datetime import timedelta
from types import FrameType

import click

from ivr.calls import heartbeat, stale
from ivr.calls.runner import CallServices
from ivr.clock import utc_now
from ivr.config import Settings

log = logging.getLogger(__name__)


@click.command("sip")
@click.option("--registrar", default=None, help="HOST[:PORT] of the registrar (Kamailio).")
@click.option("--user", default=None, help="The SIP account (CIVICLINE_SIP_USER).")
@click.option("--host", default=None, help="Address to bind and announce (CIVICLINE_SIP_HOST).")
@click.option("--port", type=int, default=None, help="SIP port (CIVICLINE_SIP_PORT).")
@click.option("--rtp-ports", default=None, help="MIN-MAX RTP ports (CIVICLINE_SIP_RTP_PORT_*).")
@click.option("--flow", type=click.Path(dir_okay=False), default=None, help="The flow file.")
@click.pass_obj
def sip(
    settings: Settings,
    registrar: str | None,
    user: str | None,
    host: str | None,
    port: int | None,
    rtp_ports: str | None,
    flow: str | None,
) -> None:
    """Answer SIP calls (pyVoIP) registered at a registrar; the password comes from
    CIVICLINE_SIP_PASSWORD only."""
    from ivr.channels.sip.node import RegistrationFailed, SipNode

    changes: dict[str, object] = {}
    if registrar:
        name, _, number = registrar.partition(":")
        changes["sip_registrar_host"] = name
        if number:
            changes["sip_registrar_port"] = int(number)
    if rtp_ports:
        low, sep, high = rtp_ports.partition("-")
        if not sep or not low.isdigit() or not high.isdigit() or int(low) > int(high):
            raise click.BadParameter("MIN-MAX, e.g. 20000-20999", param_hint="--rtp-ports")
        changes["sip_rtp_port_min"], changes["sip_rtp_port_max"] = int(low), int(high)
    for key, value in (("sip_user", user), ("sip_host", host), ("sip_port", port)):
        if value is not None:
            changes[key] = value
    if flow:
        changes["flow_path"] = flow
    settings = settings.model_copy(update=changes)
    node = SipNode.from_settings(settings)
    name = settings.sip_node_name or f"sip:{settings.sip_host}:{settings.sip_port}"
    node.services = replace(node.services, carrier=name)  # its calls die with it
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: unregistering", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    heart = alive(node.services, name, stop, timedelta(minutes=settings.stale_call_minutes))
    try:
        node.run_until(stop)
    except RegistrationFailed as error:
        raise click.ClickException(str(error)) from None
    finally:
        stop.set()
        heart.join()


def alive(
    services: CallServices, name: str, stop: threading.Event, stale_limit: timedelta
) -> threading.Thread:
    """Announce the node and beat until `stop` (`ivr.calls.heartbeat`); the calls of its
    previous life are lost: ended at once, their callers offered a callback."""
    heart = heartbeat.start_beating(services.database, name, stop)
    swept = stale.sweep(services, now=utc_now(), limit=stale_limit)
    if swept:
        log.warning("node %s started again: %d calls of its previous life ended", name, len(swept))
    return heart


def register(main: click.Group) -> None:
    main.add_command(sip)
