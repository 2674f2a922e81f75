"""Settings from `CIVICLINE_*` environment variables or a `.env` file, with demo defaults.

Secrets are never defaults: on SQLite (one machine) the Flask secret key is generated once
per data directory and kept in a file only its owner can read, so `make run` works without
any configuration; on a shared database (PostgreSQL, several nodes) it must be set, the same
on every node, or a session signed by one node would be refused by the next. The
data directory (database, recordings, prompts, the key) is its owner's alone: 0700, and
`ivr` runs with umask 077 so that what it creates inside is 0600 (`ivr.cli`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ivr.privacy.periods import Retention


class MissingSecretKey(ValueError):
    """Several nodes share the database but no CIVICLINE_SECRET_KEY was set."""


def store_url(url: str) -> str:
    """`url` when it names a recordings store (`file:///…`, `s3://…`, or empty: the data
    directory's); ValueError otherwise."""
    if url and not url.startswith(("file:///", "s3://")):
        raise ValueError("use file:///a/directory or s3://bucket/prefix")
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICLINE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    """SQLAlchemy URL; empty means a SQLite file in the data directory."""
    flow_path: Path = Path("callflows.yaml")
    secret_key: str = ""
    """Signs the site's sessions; required on a shared database (every node the same)."""
    recordings_url: str = ""
    """Where recording files live: `file:///a/directory`, or `s3://bucket/prefix` (an
    S3-compatible object store that every node shares; `s3_*`); empty means
    `<data dir>/recordings`."""
    s3_endpoint_url: str = ""
    """The object store's base URL (`http://127.0.0.1:8333`); empty means AWS S3."""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    """Public base URL as Twilio sees it (behind a proxy); empty means the request's own."""
    trusted_proxies: int = Field(0, ge=0)
    """How many proxies (nginx: deploy/nginx.conf) stand in front of `ivr serve` and set
    X-Forwarded-For/-Proto/-Host/-Port: the request's own URL and address are read from them
    (Twilio's signatures, login throttling per address). 0 trusts no such header."""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    """Signs every Twilio request; without it every Twilio webhook answers 403."""
    twilio_from: str = ""
    """The Twilio number SMS are sent from (and transfers show as caller ID)."""
    twilio_dial_timeout: int = 25
    """Seconds a transfer rings before it counts as not answered."""
    secure_cookies: bool = False
    """Send the session cookie only over HTTPS (set it when the site is served over HTTPS)."""
    session_idle_minutes: int = Field(30, ge=1)
    """Minutes without a request after which a signed-in session of the site ends."""
    session_lifetime_hours: int = Field(12, ge=1)
    """Hours after signing in after which a session ends, however busy."""
    login_account_failures: int = Field(5, ge=1)
    """Failed sign-ins to one account within `login_window_minutes` that lock it."""
    login_address_failures: int = Field(20, ge=1)
    """Failed sign-ins from one client address within `login_window_minutes` that block it."""
    login_window_minutes: int = Field(15, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)
    """How long a locked account or blocked address waits (an admin may unlock sooner)."""
    require_2fa: bool = False
    """Admins must sign in with a code from an authenticator app (TOTP) as well."""
    live_refresh_seconds: float = 2.0
    """How often the live calls page's event stream reads the database."""
    worker_poll_seconds: float = 1.0
    worker_lease_seconds: float = Field(30, gt=0)
    """How long a job's lease lasts: renewed by its worker's heartbeat every third of it
    while the job runs, so a job whose worker died is taken over after at most this."""
    worker_threads: int = Field(4, ge=1)
    """Jobs a worker runs at once besides the slow kinds: SMS, callbacks at their slot and
    their reminders, deadlines, sweeps."""
    worker_slow_threads: int = Field(1, ge=1)
    """Slow jobs (transcriptions, recording downloads, the retention purge) a worker runs at
    once, in threads of their own so they never hold up the others."""
    stale_call_minutes: int = Field(10, ge=1)
    """Minutes without a stored event after which an open call counts as lost (its process
    died) and the worker ends it (`ivr.calls.stale`); longer than any prompt and listen."""
    twilio_api_url: str = ""
    """Base URL of a Twilio-compatible REST API (a proxy, or a stand-in in tests); empty
    means Twilio's own."""
    http_connect_seconds: float = Field(5.0, gt=0)
    http_read_seconds: float = Field(20.0, gt=0)
    """Connect and read timeouts of every outbound request (Twilio's REST API, recording
    downloads, the object store): a hung request fails and is retried instead of holding a
    worker."""
    callback_stale_minutes: int = Field(30, ge=1)
    """A callback not placed this long after its slot began (the worker was down) is booked
    again and the citizen texted the new time, instead of being dialled late."""
    max_recognizers: int = Field(20, ge=0)
    """Live speech recognisers per process; beyond them a new call is served keypad-first."""
    sip_registrar_host: str = "127.0.0.1"
    sip_registrar_port: int = 5060
    """Where `ivr sip` registers (Kamailio); calls arrive through it."""
    sip_user: str = "civicline"
    sip_password: str = ""
    """The SIP account's password (a 401 digest challenge); never a default."""
    sip_host: str = "127.0.0.1"
    """The address this node binds and announces in SIP and SDP."""
    sip_port: int = 5070
    sip_node_name: str = ""
    """The name this SIP node keeps across restarts in the database, where its heartbeat
    tells whether the calls it carries are still alive; empty means sip:<host>:<port>."""
    sip_rtp_port_min: int = 20000
    sip_rtp_port_max: int = 20999
    sip_accept_users: list[str] = Field(default_factory=list)
    """Request-URI users served besides `sip_user` (e.g. the number a dispatcher routes)."""
    sip_media_timeout: float = 20.0
    """Seconds without RTP from the caller before a call counts as gone."""
    sip_transfer: Literal["bridge", "refer"] = "bridge"
    """bridge: call the target and relay both legs (no answer comes back into the flow);
    refer: REFER the caller's PBX to it (only where the PBX handles no answer itself)."""
    sip_ring_seconds: float = 25.0
    """Seconds a transfer rings before it counts as not answered."""
    log_level: str = "INFO"
    retention_recordings_days: int = Field(90, ge=1)
    """Days recordings (call audio and descriptions) are kept, files included."""
    retention_transcripts_days: int = Field(180, ge=1)
    """Days after a ticket closes that its description and transcript are kept."""
    retention_caller_numbers_days: int = Field(365, ge=1)
    """Days callers' numbers are kept on calls, closed tickets, past callbacks, sent and
    received SMS and PIN look-ups."""
    retention_languages_days: int = Field(365, ge=1)
    """Days the language chosen by a number is remembered after its last call."""
    retention_sms_bodies_days: int = Field(90, ge=1)
    """Days the text of sent SMS is kept."""
    retention_call_events_days: int = Field(180, ge=1)
    """Days a call's events (keys, words heard, prompts) are kept after it ended."""
    open311_address_per_minute: int = Field(120, ge=1)
    """Open311 API requests per minute from one client address; beyond them, 429."""
    open311_key_per_minute: int = Field(30, ge=1)
    """Reports per minute one Open311 API key may POST; beyond them, 429."""
    open311_push_url: str = ""
    """The city's own GeoReport v2 endpoint (ending in /v2): every report filed by phone is
    POSTed there by the worker, and its status polled back; empty, nothing is pushed."""
    open311_push_key: str = ""
    """The API key the city's endpoint issued to us."""
    open311_push_services: dict[str, str] = Field(default_factory=dict)
    """Our category codes → the endpoint's service codes (JSON); a category not named keeps
    its own code."""
    open311_poll_minutes: int = Field(5, ge=1)
    """How often the worker asks the city's endpoint for the status of pushed reports."""
    smtp_url: str = ""
    """The SMTP server e-mail to departments goes through: `smtp://user:pass@host:587`
    (STARTTLS; `?starttls=0` for a relay without credentials) or `smtps://user:pass@host:465`.
    Empty: departments that opted in get no e-mail (each job fails saying so)."""
    smtp_ca_file: Path | None = None
    """CA certificates to trust for the SMTP server (a city's own CA); default: the system's."""
    smtp_timeout_seconds: float = Field(20.0, gt=0)
    """Bounds the SMTP connection and every read from the server."""
    email_from: str = ""
    """The From address of e-mail to departments; default civicline@<the SMTP host>."""
    site_url: str = ""
    """The supervisor site's base URL, for links in e-mail; default `public_url`."""
    officers_see_numbers: bool = False
    """Let supervisors and officers see callers' numbers in full on the site and in CSV
    exports (admins always do); off, they see them masked (`+40 722 *** 222`)."""

    @field_validator("recordings_url")
    @classmethod
    def _recordings_url(cls, url: str) -> str:
        return store_url(url)

    def retention(self) -> Retention:
        return Retention(
            recordings=self.retention_recordings_days,
            transcripts=self.retention_transcripts_days,
            caller_numbers=self.retention_caller_numbers_days,
            languages=self.retention_languages_days,
            sms_bodies=self.retention_sms_bodies_days,
            call_events=self.retention_call_events_days,
        )

    def prepare_data_dir(self) -> Path:
        """The data directory, created only its owner can enter (0700), and tightened so if
        an older version left it or the SQLite database readable by others."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        for name in ("civicline.db", "civicline.db-wal", "civicline.db-shm", "secret_key"):
            path = self.data_dir / name
            if path.exists():
                path.chmod(0o600)
        return self.data_dir

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'civicline.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The key set, or on SQLite the one generated for this data directory."""
        if self.secret_key:
            return self.secret_key
        if not self.resolved_database_url().startswith("sqlite"):
            raise MissingSecretKey(
                "CIVICLINE_SECRET_KEY is required when the database is shared (not SQLite): "
                "set the same random value on every node, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.prepare_data_dir()
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text().strip()
