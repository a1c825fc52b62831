"""What a Portico process refuses to start with (SPEC §10): unsafe production settings, a pooler in transaction mode.

``refuse_unsafe_production`` runs when the apps are loaded (``CoreConfig.ready``) in
every process, web, worker, scheduler and CLI alike. The settings module itself already
refuses DEBUG, a weak secret key, a missing base domain and missing trusted proxies in
production; this adds what needs the region registry: the local master key (kms.E001),
unless ``PORTICO_ALLOW_LOCAL_KMS=true`` says an operator chose it knowingly.

``refuse_transaction_pooling`` runs once when a web or worker process starts
(``core.wsgi``, ``core.celery``) and in ``portico doctor``. django-tenants sets
``search_path`` once per session; behind a pooler in transaction (or statement)
mode, consecutive transactions of one client may run on different server sessions,
so a request could read another firm's schema. The probe, which needs no access to
the pooler's admin console, sets a session variable on one connection, then checks
that the same connection still sees it in its next transaction and that a second
connection, opened while the first is still open, does not.

``hold_scheduler_lock`` makes "exactly one scheduler" a fact rather than a rule: Celery
beat takes a PostgreSQL advisory lock at start (``core.celery``) and holds it on its own
session for as long as it runs; a second beat, on any host, finds it taken and stops.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PROBE_SETTING = "portico.pooler_probe"
# pg_advisory_lock key of the scheduler: the first 8 bytes of sha256("portico-beat"), as a signed bigint.
SCHEDULER_LOCK = -0x4ED3_CDB0_2562_4BE5
_scheduler_lock: Any = None  # the connection that holds it, kept open for the life of the process


def refuse_unsafe_production() -> None:
    if not settings.PRODUCTION:
        return
    from residency.checks import local_master_key_not_in_production

    errors = local_master_key_not_in_production()
    if errors:
        raise ImproperlyConfigured(f"refusing to start in production: {errors[0].msg} ({errors[0].hint})")


def session_pooling_problem() -> str | None:
    """Why the database connection does not keep one server session per client; None when it does."""
    from django.db import connection

    params = connection.get_connection_params()
    nonce = secrets.token_hex(8)
    first = connection.get_new_connection(params)
    try:
        first.autocommit = True
        with first.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [PROBE_SETTING, nonce])
            cursor.execute("SELECT current_setting(%s, true)", [PROBE_SETTING])
            (kept,) = cursor.fetchone()
        second = connection.get_new_connection(params)
        try:
            second.autocommit = True
            with second.cursor() as cursor:
                cursor.execute("SELECT current_setting(%s, true)", [PROBE_SETTING])
                (leaked,) = cursor.fetchone()
        finally:
            second.close()
    finally:
        first.close()
    if kept != nonce:
        return "a session setting did not survive to the connection's next transaction"
    if leaked == nonce:
        return "another connection saw this connection's session setting"
    return None


def refuse_transaction_pooling() -> None:
    problem = session_pooling_problem()
    if problem:
        raise ImproperlyConfigured(
            f"refusing to start: the database connection is pooled per transaction ({problem}); "
            "django-tenants sets search_path per session, so run the pooler in session mode "
            "(pgbouncer: pool_mode = session, see infra/pgbouncer)"
        )


def hold_scheduler_lock() -> None:
    """Take the scheduler's advisory lock for the life of this process, or refuse to start."""
    global _scheduler_lock
    from django.db import connection

    holder = connection.get_new_connection(connection.get_connection_params())
    holder.autocommit = True
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SCHEDULER_LOCK])
        (taken,) = cursor.fetchone()
    if not taken:
        holder.close()
        raise ImproperlyConfigured(
            "refusing to start: another scheduler (celery beat) is already running against this database; "
            "run exactly one per deployment"
        )
    _scheduler_lock = holder
