"""The test database as another process reaches it: one place that builds its URL.

Tests that start a subprocess (the console script, a Celery worker) or open a
second connection hand it the pytest database (``test_…``). The address is
taken from Django's connection parameters, not rebuilt from ``HOST``: the
embedded server listens on a Unix socket that dj-database-url keeps in
``OPTIONS``, where ``HOST`` is empty.
"""

from __future__ import annotations

from urllib.parse import quote

from django.db import connection


def database_params() -> dict[str, str]:
    """psycopg connection parameters (``host``, ``port``, ``user``, ``dbname``, ``password``) of the test database.

    Django's own ``get_connection_params`` (``HOST``/``PORT`` or their ``OPTIONS``
    spelling), so nothing is rebuilt by hand and no query is needed.
    """
    params = connection.get_connection_params()
    wanted = {"host": "localhost", "port": 5432, "user": "", "dbname": "", "password": None}
    found = {key: params.get(key) or default for key, default in wanted.items()}
    return {key: str(value) for key, value in found.items() if value is not None}


def subprocess_database_url() -> str:
    """The test database as a ``DATABASE_URL`` for a subprocess."""
    params = database_params()
    user = quote(params["user"], safe="")
    credentials = f"{user}:{quote(params['password'], safe='')}" if "password" in params else user
    name = quote(params["dbname"], safe="")
    if params["host"].startswith("/"):  # a Unix socket directory
        return f"postgresql://{credentials}@/{name}?host={quote(params['host'], safe='')}&port={params['port']}"
    return f"postgresql://{credentials}@{params['host']}:{params['port']}/{name}"
