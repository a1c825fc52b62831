"""The run's databases: a template prepared once, a copy per process, and the URL other processes use.

The template (``test_<name>_template``) holds everything the session fixtures
need, committed: every schema migrated, the two firms onboarded, the cast
(``tests.support.cast``) created through the real services. The first process
of a run to get here builds it, under a file lock, and stamps it with the run's
id; every process (one without xdist, one per xdist worker) then copies it with
``CREATE DATABASE … TEMPLATE``, which takes about a second instead of the
migrations and onboarding each would otherwise repeat. A template stamped by an
earlier run is rebuilt, so it never outlives the code that made it.

Tests that start a subprocess (the console script, a Celery worker) or open a
second connection hand it the process's test database (``test_…``). The address
is taken from Django's connection parameters, not rebuilt from ``HOST``: the
embedded server listens on a Unix socket that dj-database-url keeps in
``OPTIONS``, where ``HOST`` is empty.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection, connections
from psycopg import sql

# One id per run: xdist gives its workers the same one; a plain run makes its own.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the server's maintenance database, to create and drop databases."""
    return psycopg.connect(os.environ["PORTICO_TEST_ADMIN_URL"], autocommit=True)


def template_name() -> str:
    return f"test_{os.environ['PORTICO_TEST_DATABASE_BASE']}_template"


def _lock_path() -> Path:
    path = Path(settings.VAR_DIR) / f"{template_name()}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked() -> Iterator[None]:
    with _lock_path().open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp(conn: psycopg.Connection[tuple[object, ...]], name: str) -> str | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
    ).fetchone()
    return None if row is None else str(row[0] or "")


def _use(name: str) -> None:
    """Point Django's default connection at database ``name`` (closing what is open)."""
    for open_connection in connections.all():
        open_connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name


def _recreate(conn: psycopg.Connection[tuple[object, ...]], name: str, *, template: str | None = None) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    conn.execute(create)


def own_name() -> str:
    return f"test_{os.environ['PORTICO_TEST_DATABASE_BASE']}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def database_prepare(build: Callable[[], None]) -> None:
    """Give this process its own copy of the run's template, building the template first if this run has not.

    ``build`` fills an empty database (it runs with Django pointed at the template).
    Afterwards Django's default connection is this process's copy, and an xdist
    worker's local storage is its own directory.
    """
    own, template = own_name(), template_name()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and "PORTICO_STORAGE_DIR" not in os.environ:
        settings.PORTICO_STORAGE_DIR = Path(settings.VAR_DIR) / "test-storage" / worker
    with _locked(), _admin() as conn:
        if _stamp(conn, template) != RUN_ID:
            _recreate(conn, template)
            _use(template)
            try:
                build()
            finally:
                _use(own)
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(template), sql.Literal(RUN_ID)))
        _recreate(conn, own, template=template)
    _use(own)


def database_discard() -> None:
    """Drop this process's copy (the template stays for the run's other workers)."""
    own = str(settings.DATABASES["default"]["NAME"])
    for open_connection in connections.all():
        open_connection.close()
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(own)))


def database_params() -> dict[str, str]:
    """psycopg connection parameters (``host``, ``port``, ``user``, ``dbname``, ``password``) of the test database.

    Django's own ``get_connection_params`` (``HOST``/``PORT`` or their ``OPTIONS``
    spelling), so nothing is rebuilt by hand and no query is needed.
    """
    params = connection.get_connection_params()
    wanted = {"host": "localhost", "port": 5432, "user": "", "dbname": "", "password": None}
    found = {key: params.get(key) or default for key, default in wanted.items()}
    return {key: str(value) for key, value in found.items() if value is not None}


def commit_sql(statement: str, *params: object) -> None:
    """Run one statement on a connection of its own, committed at once: as another process would change the data.

    For tests that run inside a transaction of their own and need a change other processes see.
    """
    with psycopg.connect(**database_params(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(statement, params)


def subprocess_database_url() -> str:
    """The test database as a ``DATABASE_URL`` for a subprocess."""
    params = database_params()
    user = quote(params["user"], safe="")
    credentials = f"{user}:{quote(params['password'], safe='')}" if "password" in params else user
    name = quote(params["dbname"], safe="")
    if params["host"].startswith("/"):  # a Unix socket directory
        return f"postgresql://{credentials}@/{name}?host={quote(params['host'], safe='')}&port={params['port']}"
    return f"postgresql://{credentials}@{params['host']}:{params['port']}/{name}"


def template_discard() -> None:
    """Drop the run's template (at the end of the run, once no process copies it any more)."""
    if not os.environ.get("PORTICO_TEST_ADMIN_URL"):
        return
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template_name())))
