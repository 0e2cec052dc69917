"""A PostgreSQL database of a benchmark's own, for benchmarks that start a real server and worker
against it (they cannot share the test database or the one a developer works in)."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection


@contextmanager
def own_database(name: str):
    """A PostgreSQL database `name`, migrated, and dropped afterwards; yields the URL the server
    and worker use to reach it. Django must be set up first."""
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    try:
        yield f"{url}/{name}"
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
