"""SIP requests pyVoIP 1.6.8 cannot make, built as text: the ACK and CANCEL of an outbound
INVITE, an in-dialog REFER, and reading a NOTIFY's sipfrag. Pure: strings in, strings out.

pyVoIP's own ACK puts a fresh random tag on To (the dialog's tag is the one the response
carried) and it has no CANCEL or REFER at all.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from ivr.engine.events import TransferResult

SIPFRAG = re.compile(r"^SIP/2\.0\s+(\d{3})", re.MULTILINE)
DIALOG_HEADERS = ("Via", "From", "Call-ID", "Max-Forwards")


@dataclass(frozen=True)
class Dialog:
    """What a request inside a dialog we answered needs (we are the called side)."""

    call_id: str
    local_uri: str
    """The INVITE's To, without a tag: our side."""
    local_tag: str
    remote_uri: str
    """The INVITE's From, without a tag: the caller."""
    remote_tag: str
    remote_target: str
    """The caller's Contact URI: where in-dialog requests go."""
    cseq: int


def _lines(message: str) -> list[str]:
    return message.split("\r\n\r\n", 1)[0].split("\r\n")


def _header(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.split(":", 1)[0].strip() == name)


def _cseq(lines: list[str]) -> str:
    return _header(lines, "CSeq").split(":", 1)[1].split()[0]


def cancel_for(invite: str) -> str:
    """The CANCEL of an INVITE we sent: same Request-URI, Via branch, From, To, Call-ID."""
    lines = _lines(invite)
    request_uri = lines[0].split(" ")[1]
    kept = [_header(lines, name) for name in (*DIALOG_HEADERS, "To")]
    return "\r\n".join(
        [f"CANCEL {request_uri} SIP/2.0", *kept, f"CSeq: {_cseq(lines)} CANCEL"]
        + ["Content-Length: 0", "", ""]
    )


def ack_for(invite: str, to_header: str, request_uri: str | None = None) -> str:
    """The ACK of a final response to our INVITE: To as the response had it (with its tag);
    the INVITE's Request-URI for a failure, the callee's Contact (`request_uri`) for a 2xx."""
    lines = _lines(invite)
    target = request_uri or lines[0].split(" ")[1]
    kept = [_header(lines, name) for name in DIALOG_HEADERS]
    return "\r\n".join(
        [f"ACK {target} SIP/2.0", *kept, f"To: {to_header}", f"CSeq: {_cseq(lines)} ACK"]
        + ["Content-Length: 0", "", ""]
    )


def refer(dialog: Dialog, refer_to: str, via: str, contact: str) -> str:
    """A REFER asking the caller's side (their PBX) to call `refer_to` instead of us."""
    branch = "z9hG4bK" + secrets.token_hex(8)
    return "\r\n".join(
        [
            f"REFER {dialog.remote_target} SIP/2.0",
            f"Via: SIP/2.0/UDP {via};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: {dialog.local_uri};tag={dialog.local_tag}",
            f"To: {dialog.remote_uri};tag={dialog.remote_tag}",
            f"Call-ID: {dialog.call_id}",
            f"CSeq: {dialog.cseq} REFER",
            f"Contact: <{contact}>",
            f"Refer-To: <{refer_to}>",
            f"Referred-By: <{contact}>",
            "Content-Length: 0",
            "",
            "",
        ]
    )


def sipfrag_status(body: bytes) -> int | None:
    """The status a REFER's NOTIFY reports (`SIP/2.0 180 Ringing` → 180), if any."""
    found = SIPFRAG.search(body.decode("utf8", "replace"))
    return int(found.group(1)) if found else None


def transfer_result(status: int) -> TransferResult:
    """A final SIP status of the transferred call as the engine's TransferFinished result."""
    if 200 <= status < 300:
        return "answered"
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487, 603):
        return "no-answer"
    return "failed"
