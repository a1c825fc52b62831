"""The pooler (issue 15 item 3): Debian's pgbouncer with infra/pgbouncer/pgbouncer.ini, in session mode.

For this module the test process's own database connection goes through a real pgbouncer
in front of the test server, and the tenant-isolation tests (tests/test_isolation.py) run
again through it, together with checks of what session mode guarantees: a session per
client, cleaned (DISCARD ALL) before the next client gets the server connection. A second
pgbouncer in transaction mode shows why that matters, and that Portico refuses it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from core.models import User
from core.startup import session_pooling_problem
from tests import test_isolation
from tests.support.database import database_params
from tests.support.firms import Firm
from tests.support.infra_servers import Pgbouncer, gunicorn_start_failure, pgbouncer, shipped_pgbouncer_settings

# django_db for every test: the module fixtures need the test database (pytest-django sets it up only
# when a selected test asks for it).
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# The isolation tests, collected again in this module: here they run through pgbouncer.
for _name in dir(test_isolation):
    if _name.startswith("test_"):
        globals()[_name] = getattr(test_isolation, _name)


def _server() -> dict[str, str]:
    params = database_params()
    return {"server_host": params["host"], "server_port": params["port"], "user": params.get("user") or "postgres"}


def _point_django_at(host: str, port: str) -> dict[str, object]:
    """Reconnect Django's connection to ``host:port``; returns the settings to restore."""
    saved = {
        key: (dict(value) if isinstance(value, dict) else value) for key, value in connection.settings_dict.items()
    }
    connection.close()
    options = dict(connection.settings_dict.get("OPTIONS") or {})
    options.pop("host", None)  # the embedded server's socket directory
    options.pop("port", None)
    connection.settings_dict.update(HOST=host, PORT=port, OPTIONS=options)
    return saved


@pytest.fixture(scope="module", autouse=True)
def session_pool(django_db_setup: dict[str, Firm], django_db_blocker) -> Iterator[Pgbouncer]:  # type: ignore[no-untyped-def]
    # The admin console (SHOW CLIENTS) for the test's user; production names its own admin_users.
    with pgbouncer(**_server(), admin_users=_server()["user"]) as bouncer, django_db_blocker.unblock():
        saved = _point_django_at("127.0.0.1", str(bouncer.port))
        try:
            yield bouncer
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


def _dsn(bouncer: Pgbouncer) -> str:
    params = database_params()
    return f"host=127.0.0.1 port={bouncer.port} dbname={params['dbname']} user={params.get('user') or 'postgres'}"


# --- What session mode guarantees -----------------------------------------------------------


def test_the_shipped_pooler_runs_in_session_mode_and_discards_sessions() -> None:
    shipped = shipped_pgbouncer_settings()

    assert shipped["pool_mode"] == "session"
    assert shipped["server_reset_query"] == "DISCARD ALL"


def test_the_test_process_itself_talks_through_the_pooler(session_pool: Pgbouncer, firm_a: Firm) -> None:
    with firm_a.tenant:
        assert User.objects.filter(email="alice@acme.test").exists()  # Django's connection is open now
    params = database_params()
    admin = f"host=127.0.0.1 port={session_pool.port} dbname=pgbouncer user={params.get('user') or 'postgres'}"
    with psycopg.connect(admin, autocommit=True) as console:
        cursor = console.execute("SHOW CLIENTS")
        columns = [column.name for column in cursor.description or []]
        clients = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    assert any(client["database"] == params["dbname"] and client["state"] == "active" for client in clients)


@pytest.fixture(scope="module")
def one_server_connection() -> Iterator[Pgbouncer]:
    """The shipped session-mode settings with a pool of one, so the next client surely gets the same session."""
    with pgbouncer(**_server(), default_pool_size="1", min_pool_size="0", reserve_pool_size="0") as bouncer:
        yield bouncer


def test_the_next_client_gets_a_clean_session_on_the_same_server_connection(one_server_connection: Pgbouncer) -> None:
    session_pool = one_server_connection
    with psycopg.connect(_dsn(session_pool), autocommit=True) as first:
        backend = first.execute("SELECT pg_backend_pid()").fetchone()
        first.execute("SET search_path TO acme, public")
        first.execute("CREATE TEMPORARY TABLE leftover (secret text)")
        first.execute("PREPARE leftover_plan AS SELECT 1")
    with psycopg.connect(_dsn(session_pool), autocommit=True) as second:
        same_backend = second.execute("SELECT pg_backend_pid()").fetchone() == backend
        search_path = second.execute("SHOW search_path").fetchone()
        temp_tables = second.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'leftover'").fetchone()
        plans = second.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()

    assert same_backend  # the pool handed the next client the same PostgreSQL session...
    assert search_path == ('"$user", public',)  # ...reset: not acme's
    assert temp_tables == (0,)
    assert plans == (0,)


def test_concurrent_requests_for_two_firms_each_see_only_their_own_rows(firm_a: Firm, firm_b: Firm) -> None:
    expected: dict[str, set[str]] = {}
    for firm in (firm_a, firm_b):
        with firm.tenant:
            expected[firm.tenant.slug] = set(User.objects.values_list("email", flat=True))
    assert "charlie@acme.test" in expected["acme"]
    assert expected["globex"] == {"bob@globex.test"}
    problems: list[str] = []

    def worker(index: int) -> None:
        try:
            for round_ in range(25):
                firm = (firm_a, firm_b)[(index + round_) % 2]
                with firm.tenant:
                    seen = set(User.objects.values_list("email", flat=True))
                if seen != expected[firm.tenant.slug]:
                    problems.append(f"{firm.tenant.slug} saw {sorted(seen)}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert problems == []


# --- Transaction mode: what it would do, and that it is refused -------------------------------


@pytest.fixture(scope="module")
def transaction_pool() -> Iterator[Pgbouncer]:
    with pgbouncer(**_server(), pool_mode="transaction", default_pool_size="1") as bouncer:
        yield bouncer


def test_in_transaction_mode_one_firm_would_read_another_firms_schema(transaction_pool: Pgbouncer) -> None:
    """Why session mode: one server connection, two clients, search_path set per session."""
    with psycopg.connect(_dsn(transaction_pool), autocommit=True) as acme_request:
        acme_request.execute("SET search_path TO acme, public")
        with psycopg.connect(_dsn(transaction_pool), autocommit=True) as globex_request:
            globex_request.execute("SET search_path TO globex, public")
            seen_by_acme = acme_request.execute("SELECT email FROM core_user ORDER BY email").fetchall()

    assert seen_by_acme == [("bob@globex.test",)]  # acme's request got globex's users


def test_the_probe_passes_through_session_mode_and_fails_through_transaction_mode(
    session_pool: Pgbouncer, transaction_pool: Pgbouncer, db: None
) -> None:
    assert session_pooling_problem() is None  # Django's own connection: through the session pool

    saved = _point_django_at("127.0.0.1", str(transaction_pool.port))
    try:
        problem = session_pooling_problem()
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    assert problem == "another connection saw this connection's session setting"


def test_the_web_app_refuses_to_start_behind_transaction_mode(transaction_pool: Pgbouncer, tmp_path: Path) -> None:
    params = database_params()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{_server()['user']}@127.0.0.1:{transaction_pool.port}/{params['dbname']}",
        "PORTICO_VAR_DIR": str(tmp_path),
    }

    code, output = gunicorn_start_failure(env, tmp_path)

    assert code != 0
    assert "refusing to start: the database connection is pooled per transaction" in output
    assert "pool_mode = session" in output


def test_doctor_fails_the_pooler_check_behind_transaction_mode(transaction_pool: Pgbouncer, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    params = database_params()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{_server()['user']}@127.0.0.1:{transaction_pool.port}/{params['dbname']}",
        "PORTICO_VAR_DIR": str(tmp_path),
    }
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "portico"), "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    checks = {check["name"]: check for check in json.loads(completed.stdout)["checks"]}

    assert completed.returncode == 1
    assert checks["pooler"]["status"] == "fail"
    assert "use pool_mode = session" in checks["pooler"]["detail"]
