"""On a shared database every `ivr serve` must sign sessions with one key, so none is
generated there: `ivr serve` refuses to start without CIVICLINE_SECRET_KEY, saying why."""

from __future__ import annotations

from click.testing import CliRunner

from ivr.cli import main

SHARED = "postgresql+psycopg://civicline@db.example/civicline"


def test_serve_on_a_shared_database_needs_the_secret_key(tmp_path):
    environment = {"CIVICLINE_DATA_DIR": str(tmp_path), "CIVICLINE_DATABASE_URL": SHARED,
                   "CIVICLINE_SECRET_KEY": ""}  # fmt: skip
    result = CliRunner().invoke(main, ["serve"], env=environment)
    assert result.exit_code == 1
    assert "CIVICLINE_SECRET_KEY is required when the database is shared" in result.output
    assert not (tmp_path / "secret_key").exists(), "no key of its own for one node"
