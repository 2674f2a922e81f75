"""SIPp as the caller: a scenario built from steps, run against Kamailio, checked for success.

Steps: `Pause(ms)`, `Keys("13#")` (RFC 2833 events, SIPp's play_dtmf: payload type 96, after
400 ms of no-op packets of type 97 that the node drops; a play_dtmf cuts the one before it
short, so keys close together go in one step), `Speak(path)` (a raw μ-law file streamed as RTP
payload 0), `AwaitBye(ms)` (the node hangs up) or `HangUp()` (the caller sends BYE).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sip_rig import require

INVITE = """  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP {payloads}
{rtpmaps}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="{expect}" rtd="true" rrs="true">{keep_to}</recv>
"""
KEEP_TO = '<action><ereg regexp=".*" search_in="hdr" header="To:" assign_to="dialog_to"/></action>'
"""The dialog's To (with the node's tag), for a NOTIFY (SIPp refuses an unused variable)."""
ACK = """  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""
ACK_FAILURE = """  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""
AWAIT_BYE = """  <recv request="BYE" timeout="{ms}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""
HANG_UP = """  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"""
REFER_ACCEPTED = """  <recv request="REFER"/>
  <send>
    <![CDATA[
      SIP/2.0 202 Accepted
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="300"/>
  <send retrans="500">
    <![CDATA[
      NOTIFY [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[call_number]
      To:[$dialog_to]
      [routes]
      Call-ID: [call_id]
      CSeq: 3 NOTIFY
      Event: refer
      Subscription-State: terminated;reason=noresource
      Max-Forwards: 70
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

      SIP/2.0 200 OK
    ]]>
  </send>
  <recv response="200"/>
"""
RTPMAPS = {
    0: "a=rtpmap:0 PCMU/8000",
    8: "a=rtpmap:8 PCMA/8000",
    18: "a=rtpmap:18 G729/8000",
    96: "a=rtpmap:96 telephone-event/8000\n      a=fmtp:96 0-15",
    111: "a=rtpmap:111 opus/48000/2",
}


@dataclass(frozen=True)
class Pause:
    ms: int


@dataclass(frozen=True)
class Keys:
    keys: str


@dataclass(frozen=True)
class Speak:
    ulaw: Path


@dataclass(frozen=True)
class AwaitBye:
    ms: int = 30000


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class AcceptRefer:
    """The caller's PBX takes a REFER and reports the target answered (NOTIFY 200)."""


Step = Pause | Keys | Speak | AwaitBye | HangUp | AcceptRefer


def scenario(
    steps: list[Step],
    *,
    caller: str = "+359888111222",
    payloads: tuple[int, ...] = (0, 96),
    expect: int = 200,
) -> str:
    """SIPp XML for one call; `expect` other than 200 ends the call at that response."""
    rtpmaps = "\n".join(f"      {RTPMAPS[p]}" for p in payloads)
    keep_to = KEEP_TO if any(isinstance(step, AcceptRefer) for step in steps) else ""
    parts = [
        INVITE.format(
            caller=caller,
            payloads=" ".join(map(str, payloads)),
            rtpmaps=rtpmaps,
            expect=expect,
            keep_to=keep_to,
        )
    ]
    if expect != 200:
        parts.append(ACK_FAILURE.format(caller=caller))
        steps = []
    else:
        parts.append(ACK.format(caller=caller))
    for step in steps:
        match step:
            case Pause(ms=ms):
                parts.append(f'  <pause milliseconds="{ms}"/>\n')
            case Keys(keys=keys):
                parts.append(f'  <nop><action><exec play_dtmf="{keys}"/></action></nop>\n')
            case Speak(ulaw=path):
                parts.append(f'  <nop><action><exec rtp_stream="{path},1,0"/></action></nop>\n')
            case AwaitBye(ms=ms):
                parts.append(AWAIT_BYE.format(ms=ms))
            case HangUp():
                parts.append(HANG_UP.format(caller=caller))
            case AcceptRefer():
                parts.append(REFER_ACCEPTED.format(caller=caller))
    body = "".join(parts)
    head = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="caller">\n'
    return f"{head}{body}</scenario>\n"


def call(
    folder: Path,
    registrar_port: int,
    steps: list[Step],
    *,
    user: str = "civicline",
    timeout: float = 60,
    **options: object,
) -> subprocess.CompletedProcess[str]:
    """One call with SIPp; returns the finished process (returncode 0: the call succeeded)."""
    text = scenario(steps, **options)  # type: ignore[arg-type]
    return run_scenario(folder, registrar_port, text, user, timeout)


def run_scenario(
    folder: Path, port: int, text: str, user: str = "civicline", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """SIPp playing the scenario `text` once against 127.0.0.1:`port`, to its end."""
    from sip_rig import free_udp_port, free_udp_ports

    path = folder / f"caller-{free_udp_port()}.xml"
    path.write_text(text)
    media = free_udp_ports(4)
    return subprocess.run(
        [
            require("sipp"),
            "-sf",
            str(path),
            "-s",
            user,
            f"127.0.0.1:{port}",
            "-i",
            "127.0.0.1",
            "-p",
            str(free_udp_port()),
            "-mp",
            str(media),
            "-m",
            "1",
            "-timeout",
            str(int(timeout)),
            "-timeout_error",
            "-nostdin",
        ],
        capture_output=True,
        text=True,
        timeout=timeout + 15,
        cwd=folder,
    )


AGENT_ANSWERS = (
    """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:agent@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec rtp_stream="{voice},1,0"/></action></nop>
"""
    + AWAIT_BYE.format(ms=30000)
    + "</scenario>\n"
)
AGENT_REFUSES = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy agent">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""


AGENT_RINGS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ringing agent">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="CANCEL"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [last_cseq_number] INVITE
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""
"""SIPp as a target that rings until the node gives up and cancels: no answer."""


def agent(folder: Path, port: int, voice: Path | None) -> subprocess.Popen[str]:
    """SIPp as the transfer's target on `port`: answers and plays `voice` (raw μ-law) until
    our BYE, or answers 486 Busy Here when `voice` is None. Wait on it for its verdict."""
    from sip_rig import free_udp_ports

    path = folder / "agent.xml"
    path.write_text(AGENT_ANSWERS.format(voice=voice) if voice else AGENT_REFUSES)
    return subprocess.Popen(
        [
            require("sipp"),
            "-sf",
            str(path),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-mp",
            str(free_udp_ports(4)),
            "-m",
            "1",
            "-timeout",
            "40",
            "-timeout_error",
            "-nostdin",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=folder,
    )
