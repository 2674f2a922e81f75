"""A Twilio call ends however Twilio tells of its end (issue 16, item 7): the caller hangs up
during "Connecting you…" and the final status callback reaches us while the stream is still
live, before the stream's `stop`. Left to the stream, the call must still end then, not wait
twelve hours for the stale-call sweep."""

from __future__ import annotations

from script import PhoneFactory, call_of, finished, mark_of, rows_of, until, until_ended


def test_a_status_callback_before_the_stop_during_the_transfer_prompt_ends_the_call(
    twilio_phones: PhoneFactory,
) -> None:
    with twilio_phones(caller="+359888300017") as phone:
        until(phone, "main.prompt", played=True)
        phone.press("0")
        until(phone, "operator.prompt")
        rows = rows_of(phone.database, phone.call_id)
        assert finished(rows, mark_of(rows, "operator.prompt")) is None  # still playing
        phone.caller.hang_up(status_first=True)  # type: ignore[attr-defined]
        ended = until_ended(phone, limit=10.0)
        rows = rows_of(phone.database, phone.call_id)
    assert ended.outcome is not None and ended.current_node == "operator"
    assert [r.type for r in rows].count("CallerHungUp") == 1
    assert call_of(phone.database, phone.call_id).ended_at is not None
