"""Alembic migrations of civicline's database; run by `Database.upgrade()` (`ivr db upgrade`).

Exactly one head at a time (a test checks it). New revisions: `ivr db revision MESSAGE`
autogenerates one against the settings' database, then read and edit it.
"""
