"""Storage: the database (SQLite or PostgreSQL), its models, and the operations the shell,
the web app, the worker and the CLI run on it. Nothing here runs at import time."""
