"""`ivr users add --department`: an officer's account linked to the departments it sees."""

from __future__ import annotations

from click.testing import CliRunner

from ivr.cli import main
from ivr.storage.accounts import departments_of
from ivr.storage.db import Database
from ivr.storage.models import User


def test_an_officer_is_added_with_their_departments(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET", "a long secret for ana")
    result = CliRunner().invoke(
        main,
        ["users", "add", "ana", "--role", "officer", "--password-env", "SECRET"]
        + ["--department", "roads", "--department", "lighting"],
    )
    assert result.exit_code == 0, result.output
    database = Database(f"sqlite:///{tmp_path / 'civicline.db'}")
    with database.session() as session:
        user = session.query(User).filter_by(username="ana").one()
        assert departments_of(session, user.id) == ["lighting", "roads"]
    database.dispose()
