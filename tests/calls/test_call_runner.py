"""The call runner on a real SQLite database: everything stored as it happens, PINs never,
calls rebuilt from their events on the flow version they began on, storage failures heard
as an apology."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flow_languages import digit_by_digit
from sqlalchemy import event, select, text

from ivr.calls.runner import CallRunner, CallServices
from ivr.engine import actions as act
from ivr.engine import events as ev
from ivr.storage import outbox
from ivr.storage.models import Call, CallEvent, SmsOutbox, Ticket
from menus.registry import FlowRegistry
from speech.intents import PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Bucharest")).astimezone(UTC)
OWNER = "+40722111222"


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(ROOT / "callflows.yaml", tmp_path / "callflows.yaml"))


@pytest.fixture
def services(database, flow_file) -> CallServices:
    return CallServices(database=database, flows=FlowRegistry(flow_file), matcher=PhraseMatcher())


class Line:
    """Drives a runner the way a channel does: prompts heard at once, keys, recordings."""

    def __init__(
        self,
        services: CallServices,
        caller: str | None = OWNER,
        at: datetime = TUESDAY,
        language: str | None = "en",
    ):
        self.at = at
        self.runner, self.actions = CallRunner.start(
            services, caller=caller, channel="test", at=at, language=language
        )
        self._hear()

    def send(self, event_type, **fields) -> list[act.Action]:
        self.at += timedelta(seconds=2)
        self.actions = self.runner.feed(event_type(at=self.at, **fields))
        return self._hear()

    def keys(self, digits: str) -> list[act.Action]:
        return self.send(ev.DigitsPressed, digits=digits)

    def _hear(self) -> list[act.Action]:
        heard = list(self.actions)
        for action in self.actions:
            if isinstance(action, act.Say):
                heard += self.runner.feed(ev.PromptFinished(at=self.at, mark=action.mark))
        return heard

    def said(self) -> list[str]:
        return [a.text for a in self.actions if isinstance(a, act.Say)]


def up_to_the_confirmation(line: Line) -> None:
    """A pothole in district 3, described: the call waits for the report's confirming key."""
    line.keys("1")
    line.keys("1")
    line.keys("3")
    line.send(ev.RecordingFinished, recording_id=None, seconds=6.0, transcript="hole by the school")


def report(line: Line) -> str:
    up_to_the_confirmation(line)
    line.keys("1")
    [readback] = [t for t in line.said() if "registered with number" in t]
    return readback


def test_every_event_and_action_is_stored_in_order_as_it_happens(services, database):
    line = Line(services)
    line.keys("5")
    with database.session() as session:
        rows = session.scalars(select(CallEvent).order_by(CallEvent.seq)).all()
        call = session.get(Call, line.runner.call_id)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].type == "CallStarted" and rows[0].kind == "event"
    assert ("event", "DigitsPressed") in {(r.kind, r.type) for r in rows}
    assert rows[-1].type == "StartTimer"
    assert call.current_node == "faq" and call.flow_version == services.flows.current().version


def test_a_report_files_a_numbered_ticket_and_queues_its_sms(services, database):
    line = Line(services)
    readback = report(line)
    assert "2 6, 0 0 0 0 0 1" in readback
    with database.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        sms = session.scalars(select(SmsOutbox)).one()
    assert (ticket.ref, ticket.category, ticket.department, ticket.district) == (
        "26-000001",
        "pothole",
        "roads",
        3,
    )
    assert ticket.description == "hole by the school" and ticket.caller == OWNER
    assert sms.to == OWNER and "26-000001" in sms.body and sms.status == "queued"


def test_an_opted_out_number_is_promised_no_sms_and_gets_none(services, database):
    with database.session() as session:
        outbox.opt_out(session, OWNER, TUESDAY - timedelta(days=3))
    readback = report(Line(services))
    assert readback.endswith("Please write them down.") and "text message" not in readback
    with database.session() as session:
        assert session.scalars(select(Ticket)).one().ref == "26-000001"
        assert session.scalars(select(SmsOutbox)).all() == []
        started = session.scalars(select(CallEvent).order_by(CallEvent.seq)).first()
    assert started.type == "CallStarted" and started.payload["texts"] is False


def test_no_pin_is_ever_stored_in_the_calls_events(services, database):
    readback = report(Line(services))
    pin = readback.split("Its PIN is ")[1].split(".")[0].replace(" ", "")
    stranger = Line(services, caller="+40733000000")
    stranger.keys("2")
    stranger.keys("26000001")
    stranger.keys(pin)
    assert any("is registered" in t for t in stranger.said())
    with database.session() as session:
        payloads = " ".join(str(r.payload) for r in session.scalars(select(CallEvent)).all())
    assert pin not in payloads.replace(" ", "").replace(",", "")
    assert " ".join(pin) not in payloads


def pin_and_a_wrong_one(readback: str) -> tuple[str, str]:
    """The PIN a new ticket's readback gives, and a PIN that is not it."""
    pin = readback.split("Its PIN is ")[1].split(".")[0].replace(" ", "")
    return pin, "0000" if pin != "0000" else "1111"


def rebuilt_status_call(services, database, line: Line) -> list[CallEvent]:
    """The rows stored for `line`'s call, which rebuilt from them is where the call is, with
    the status heard."""
    resumed = CallRunner.resume(services, line.runner.call_id)
    assert resumed.session.node == line.runner.session.node
    assert resumed.session.outcome == line.runner.session.outcome == "status"
    with database.session() as session:
        query = select(CallEvent).where(CallEvent.call_id == line.runner.call_id)
        return list(session.scalars(query).all())


def test_a_call_where_a_pin_was_keyed_is_rebuilt_from_its_events(services, database):
    pin, wrong = pin_and_a_wrong_one(report(Line(services)))
    stranger = Line(services, caller="+40733000000")
    for keys in ("2", "26000001", wrong, pin[:2], pin[2:]):
        stranger.keys(keys)
    assert any("is registered" in t for t in stranger.said())
    rows = rebuilt_status_call(services, database, stranger)
    keyed = [r.payload for r in rows if r.type == "DigitsPressed"]
    assert [k["digits"] for k in keyed] == ["2", "26000001", "0000", "00", "00"]
    assert [k["masked"] for k in keyed] == [False, False, True, True, True]


def test_a_pin_said_in_words_is_stored_as_a_zero_per_digit_and_the_call_rebuilt(services, database):
    pin, wrong = pin_and_a_wrong_one(report(Line(services)))
    in_words = {p: digit_by_digit(p, "ro") for p in (pin, wrong)}
    stranger = Line(services, caller="+40733000000", language="ro")
    stranger.keys("2")
    said = ("Două șase, zero zero zero zero zero unu.", in_words[wrong], in_words[pin])
    for words in said:
        stranger.send(ev.SpeechRecognized, text=words, confidence=0.9)
    assert any("Sesizarea 2 6, 0 0 0 0 0 1 este" in t for t in stranger.said())
    rows = rebuilt_status_call(services, database, stranger)
    heard = [r.payload for r in rows if r.type == "SpeechRecognized"]
    assert [(h["text"], h["masked"]) for h in heard] == [
        (said[0], False),
        ("0000", True),
        ("0000", True),
    ]
    assert in_words[pin] not in " ".join(str(r.payload) for r in rows)


def test_the_language_chosen_on_the_line_is_stored_with_the_call(services, database):
    line = Line(services, caller=None, language=None)
    assert line.runner.session.node == "language"
    line.keys("1")
    with database.session() as session:
        assert session.get(Call, line.runner.call_id).language == "ro"


def test_a_call_is_rebuilt_from_its_events_by_another_process(services, database, flow_file):
    line = Line(services)
    line.keys("1")
    line.keys("4")
    other = CallServices(database=database, flows=FlowRegistry(flow_file), matcher=PhraseMatcher())
    resumed = CallRunner.resume(other, line.runner.call_id)
    assert resumed.session.node == "report_district"
    assert resumed.session.slots == {"category": "abandoned_car"}
    actions = resumed.feed(ev.DigitsPressed(at=line.at + timedelta(seconds=3), digits="2"))
    assert [a.prompt for a in actions if isinstance(a, act.Say)] == ["report_description.prompt"]


def test_a_changed_flow_applies_to_new_calls_only(services, database, flow_file):
    first = Line(services)
    first.keys("4")
    flow_file.write_text(
        flow_file.read_text().replace(
            "Connecting you to Urban planning.", "Urban planning, one moment."
        )
    )
    second = Line(services)
    assert second.runner.loaded.version != first.runner.loaded.version
    fresh = CallServices(database=database, flows=FlowRegistry(flow_file), matcher=PhraseMatcher())
    resumed = CallRunner.resume(fresh, first.runner.call_id)
    said = [
        a.text
        for a in resumed.feed(ev.DigitsPressed(at=first.at + timedelta(seconds=3), digits="1"))
        if isinstance(a, act.Say)
    ]
    assert said == ["Connecting you to Urban planning."]
    second.keys("4")
    second.keys("1")
    assert second.said() == ["Urban planning, one moment."]


def test_a_database_error_mid_call_is_an_apology_and_keeps_what_was_stored(services, database):
    line = Line(services)
    line.keys("1")
    line.keys("2")
    line.keys("5")
    line.send(ev.RecordingFinished, recording_id=None, seconds=4.0, transcript="dark street")
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE tickets RENAME TO tickets_away"))
    line.keys("1")
    assert line.said()[:3] == [
        "We are sorry, we have a technical problem.",
        "Your report is kept and will be registered as soon as our system works again.",
        "I cannot help you automatically. To speak to an operator, press 1. "
        "To be called back, press 2.",
    ]
    with database.session() as session:
        types = [r.type for r in session.scalars(select(CallEvent).order_by(CallEvent.seq))]
    assert "RecordingFinished" in types and "StorageFailed" in types


def test_a_hang_up_mid_report_leaves_a_draft_and_closes_the_call(services, database):
    line = Line(services)
    line.keys("1")
    line.keys("3")
    line.send(ev.CallerHungUp)
    with database.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        call = session.get(Call, line.runner.call_id)
    assert ticket.draft and ticket.status == "draft" and ticket.category == "waste"
    assert call.outcome == "draft" and call.ended_at is not None and call.department == "sanitation"
    ended_at = call.ended_at
    line.runner.feed(ev.PromptFinished(at=line.at + timedelta(seconds=30), mark="m1"))
    with database.session() as session:
        assert session.get(Call, line.runner.call_id).ended_at == ended_at


def test_a_call_resumes_on_its_stored_flow_even_when_the_file_is_broken(
    services, database, flow_file
):
    line = Line(services)
    line.keys("5")
    original = line.runner.loaded.version
    flow_file.write_text("not: a flow\n")
    other = CallServices(database=database, flows=FlowRegistry(flow_file), matcher=PhraseMatcher())
    resumed = CallRunner.resume(other, line.runner.call_id)
    assert resumed.loaded.version == original and resumed.session.node == "faq"
    actions = resumed.feed(ev.DigitsPressed(at=line.at + timedelta(seconds=3), digits="3"))
    assert next(a.prompt for a in actions if isinstance(a, act.Say)) == "faq_hours.prompt"


def test_a_key_and_the_prompt_it_brings_are_stored_in_one_commit(services, database):
    """Many calls share one SQLite writer: a turn without storage actions costs one commit,
    and what the caller did is stored with what the call did about it."""
    line = Line(services)
    commits: list[int] = []
    event.listen(database.engine, "commit", lambda connection: commits.append(1))
    actions = line.runner.feed(ev.DigitsPressed(at=line.at, digits="5"))
    assert any(isinstance(a, act.Say) for a in actions)
    assert len(commits) == 1
    with database.session(read_only=True) as session:
        rows = session.scalars(select(CallEvent).order_by(CallEvent.seq)).all()
    since_key = [r.type for r in rows][[r.type for r in rows].index("DigitsPressed") :]
    assert "Say" in since_key and since_key[-1] == "Listen"


def test_a_new_call_is_stored_with_its_first_events_in_one_commit_or_not_at_all(services, database):
    """A process that dies before the first commit leaves no call without events (a retried
    Twilio webhook then starts the call anew instead of resuming an empty one)."""
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE call_events RENAME TO call_events_away"))
    broken = Line(services)
    assert broken.said(), "the caller hears the welcome all the same"
    call_id = broken.runner.call_id
    with database.session(read_only=True) as session:
        assert session.get(Call, call_id) is None
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE call_events_away RENAME TO call_events"))
    broken.keys("5")
    with database.session(read_only=True) as session:
        assert session.get(Call, call_id) is not None
        stored = session.scalars(
            select(CallEvent.type).where(CallEvent.call_id == call_id).order_by(CallEvent.seq)
        ).all()
    assert stored[0] == "CallStarted" and "DigitsPressed" in stored


def commits_of(database) -> list[str]:
    """Each commit from now on, as `durable` or `lazy` (committed without waiting for the disk)."""
    commits: list[str] = []
    lazy: list[bool] = []

    def statement(connection, cursor, sql, *rest) -> None:
        if "synchronous_commit" in sql:
            lazy.append(True)

    def committed(connection) -> None:
        commits.append("lazy" if lazy else "durable")
        lazy.clear()

    event.listen(database.engine, "before_cursor_execute", statement)
    event.listen(database.engine, "commit", committed)
    return commits


def test_a_ticket_is_filed_in_the_commit_of_the_key_that_asked_for_it(services, database):
    """The confirming key, its actions and the new ticket are one commit; the number read back
    and its SMS are the next: a ticket number is stored before the caller hears it."""
    line = Line(services)
    up_to_the_confirmation(line)
    commits = commits_of(database)
    actions = line.runner.feed(ev.DigitsPressed(at=line.at, digits="1"))
    assert any("registered with number" in a.text for a in actions if isinstance(a, act.Say))
    assert commits == ["durable", "durable"]
    with database.session(read_only=True) as session:
        assert session.scalars(select(Ticket.ref)).one() == "26-000001"
        assert "26-000001" in session.scalars(select(SmsOutbox.body)).one()


def test_an_sms_that_cannot_be_queued_costs_the_call_none_of_its_rows(services, database):
    line = Line(services)
    up_to_the_confirmation(line)
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE sms_outbox RENAME TO sms_outbox_away"))
    line.keys("1")
    assert any("registered with number" in t for t in line.said())
    with database.session(read_only=True) as session:
        types = [r.type for r in session.scalars(select(CallEvent).order_by(CallEvent.seq))]
        assert session.scalars(select(Ticket.ref)).one() == "26-000001"
    assert {"TicketCreated", "QueueSms"} <= set(types)
    assert types[-1] == "StartTimer"  # what followed the failed SMS was stored too


@pytest.mark.postgres
def test_a_prompts_end_commits_at_once_without_waiting_for_the_disk(flow_file, pg_database):
    """On PostgreSQL a prompt's end (it only starts a timer) is visible to every node at once
    but costs no disk flush; a key the caller pressed is committed durably."""
    services = CallServices(
        database=pg_database, flows=FlowRegistry(flow_file), matcher=PhraseMatcher()
    )
    line = Line(services)
    commits = commits_of(pg_database)
    [say] = [a for a in line.runner.feed(ev.DigitsPressed(at=line.at, digits="5"))
             if isinstance(a, act.Say)]  # fmt: skip
    line.runner.feed(ev.PromptFinished(at=line.at, mark=say.mark))
    assert commits == ["durable", "lazy"]
    with pg_database.session(read_only=True) as session:
        last = session.scalars(select(CallEvent).order_by(CallEvent.seq.desc())).first()
    assert last.type == "StartTimer"
