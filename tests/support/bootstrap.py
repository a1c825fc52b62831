"""pytest plugin, loaded before Django (``-p tests.support.bootstrap``): the run's PostgreSQL and its databases.

With DATABASE_URL set (CI points it at 127.0.0.1:5432) that server is used;
otherwise the embedded PostgreSQL 18 is started under ``var/test/pg`` so that
the suite runs on a machine that has nothing but Python. Either way the tests
never touch the database DATABASE_URL names: before Django reads its settings,
Django is pointed at a database that does not exist until
``tests.support.database`` gives the process its own copy of the run's template,
``test_<name>_<worker>`` (``main`` without xdist, ``gw0``, ``gw1``… with it).

Each xdist worker also gets its own Redis database and its own local storage directory (set with its
database: the firms of every worker's database have the same slugs, so their
files would otherwise share paths); the master key and secret key stay shared,
since the template's keys are wrapped under them.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings_test")
os.environ.setdefault("PORTICO_ENV", "test")

if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("PORTICO_VAR_DIR", str(ROOT / "var" / "test"))
    from tenants.dev.embedded_db import ensure_database_url

    ensure_database_url()

# xdist workers inherit the controller's environment, where this has already run.
if not os.environ.get("PORTICO_TEST_DATABASE_BASE"):
    _configured = urlsplit(os.environ["DATABASE_URL"])
    os.environ["PORTICO_TEST_DATABASE_BASE"] = _configured.path.lstrip("/") or "portico"
    # Databases are created and dropped from the server's maintenance database, which always exists.
    os.environ["PORTICO_TEST_ADMIN_URL"] = urlunsplit(_configured._replace(path="/postgres"))
    # Until tests.support.database names this process's own copy, Django points at a database
    # that does not exist: nothing can reach the configured one.
    os.environ["DATABASE_URL"] = urlunsplit(_configured._replace(path="/test_portico_not_prepared"))

# One master key for the whole run, in every process it starts. The key is otherwise read from (or made in)
# ``<var dir>/master_key``, and a worker or CLI verb given a var dir of its own would seal platform secrets
# (the audit signing key) under a key of its own in the shared database, unreadable to everyone else.
if not os.environ.get("PORTICO_MASTER_KEY"):
    _key_file = Path(os.environ.get("PORTICO_VAR_DIR") or ROOT / "var").resolve() / "master_key"
    if not _key_file.exists():
        _key_file.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError), open(_key_file, "x") as _handle:
            _key_file.chmod(0o600)
            _handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.environ["PORTICO_MASTER_KEY"] = _key_file.read_text().strip()

# An xdist worker (its id is in the environment before plugins load) gets its own Redis database:
# its Celery workers must not take another worker's tasks, and the cache keys of its firms (the
# same slugs in every worker's database) must not meet another worker's.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _redis = urlsplit(os.environ["REDIS_URL"])
    _base = int(_redis.path.lstrip("/") or 0)
    os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{(_base + 1 + int(_worker[2:])) % 16}"))


@pytest.hookimpl(tryfirst=True)  # before xdist's own answer (the number of cores): the hook takes the first
def pytest_xdist_auto_num_workers(config: object) -> int:
    """``-n auto``: one worker more than the machine has cores (many tests wait on a server or a browser).

    ``PORTICO_TEST_WORKERS`` overrides it; ``-n 0`` runs everything in one process.
    """
    configured = os.environ.get("PORTICO_TEST_WORKERS", "")
    if configured.isdigit():
        return int(configured)
    return max(2, (os.cpu_count() or 1) + 1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """The order tests are handed out in; on an xdist worker, after xdist has named each test's group,
    refuse to run if grouping did not take.

    ``--dist loadgroup`` keeps a module's tests on one worker by a suffix xdist adds to their node ids
    (``…@tests/test_proxy.py``); a pytest whose node ids ignore the suffix (pytest-dev/pytest-xdist#1386)
    silently spreads them, and every shared server and migrated schema is then built once per worker.
    """
    # xdist hands out work in this order. First the tests that need no database (`portico up` brings its
    # own; many check files, settings or a scanner), which keep the workers busy while one of them builds
    # the run's template database (10-20 s) instead of waiting for it. Within each half, the tests that
    # start processes first, so that the run does not end waiting for one worker on a `portico up` or a proxy
    # while the others sit idle. Set after pytest-django's sort, which puts the tests without a database last.
    items.sort(key=lambda item: (_uses_database(item), item.get_closest_marker("slow") is None))
    if not getattr(config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup is not grouping tests (e.g. {lost[0]}): see pyproject's pytest pin")


def _uses_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(fixtures & {"db", "django_db_setup"})
