"""Session fixtures: the run's database (copied from a template built once), the two firms and the cast.

The pieces live in ``tests/support/`` (one package: firms, the cast, real
servers, helpers); this file wires them into pytest. ``firm_a`` (acme) and
``firm_b`` (globex) each have an admin; ``cast`` is firm A's people and matters
(``tests.support.cast``); ``charlie`` is signed in to firm A with no role, and
an anonymous client is the plain outsider.

The cast and the firms are committed in the template; each test runs in
pytest-django's transaction and leaves them as it found them. Tests that must
commit (concurrency, a real worker) make firms of their own and remove them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from core.models import User
from tenants.db import tenant_connection
from tests.support.cast import books, cast, cast_create  # noqa: F401 - fixtures
from tests.support.clamd import clamd_configured, clamd_socket  # noqa: F401 - fixtures
from tests.support.collections import reminding_firm  # noqa: F401 - fixtures
from tests.support.database import database_discard, database_prepare
from tests.support.firms import FIRM_A, FIRM_B, Firm, firm_load, firm_onboard
from tests.support.residency import (  # noqa: F401 - fixtures
    acme,
    aws,
    endpoints,
    globex,
    new_firm,
    outage_proxy,
    provisioned,
    storage_dir,
)
from tests.support.servers import moto_server  # noqa: F401 - fixtures
from tests.support.stripe import stripe_front, stripe_servers  # noqa: F401 - fixtures
from tests.support.webhooks import receiver  # noqa: F401 - fixtures


def _build_template() -> None:
    """What every test run starts from: all schemas migrated, both firms onboarded, the cast created."""
    from tenants.migrate import migrate_all

    migrate_all()
    firm_onboard(FIRM_A)
    firm_onboard(FIRM_B)
    with firm_load(FIRM_A).tenant:
        cast_create()


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: Any) -> Iterator[dict[str, Firm]]:
    """This process's own database, copied from the run's template (``tests.support.database``)."""
    with django_db_blocker.unblock():
        database_prepare(_build_template)
        firms = {"acme": firm_load(FIRM_A), "globex": firm_load(FIRM_B)}
        # The template was onboarded by whichever process built it, so the firms' local storage
        # directories exist only under that process's storage dir: each process makes its own.
        from residency.backends import placement

        for firm in firms.values():
            placement(firm.tenant).ensure()
        # Checked now, as each web process does before a firm's first request (tenants.schema_check),
        # so that tests pinning a page's query count do not count the check.
        from tenants.schema_check import schema_verified

        for firm in firms.values():
            assert schema_verified(firm.tenant.schema_name) == []
    yield firms
    with django_db_blocker.unblock():
        database_discard()


@pytest.fixture
def firm_a(django_db_setup: dict[str, Firm], db: None) -> Firm:
    return django_db_setup["acme"]


@pytest.fixture
def firm_b(django_db_setup: dict[str, Firm], db: None) -> Firm:
    return django_db_setup["globex"]


@pytest.fixture
def charlie(firm_a: Firm) -> User:
    with firm_a.tenant:
        return User.objects.get(email="charlie@acme.test")


@pytest.fixture(scope="session")
def _journal_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit-journal")


@pytest.fixture(autouse=True)
def _own_anchor_journal(request: pytest.FixtureRequest, _journal_root: Path) -> Iterator[None]:
    """Each test its own audit anchor journal: an anchor journaled inside a rolled-back test stays out of the next."""
    from django.conf import settings

    previous = settings.PORTICO_AUDIT_JOURNAL_DIR
    settings.PORTICO_AUDIT_JOURNAL_DIR = _journal_root / hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    yield
    settings.PORTICO_AUDIT_JOURNAL_DIR = previous


@pytest.fixture(autouse=True)
def _back_to_public() -> Iterator[None]:
    """A request through the test client leaves the connection in the firm's schema."""
    yield
    tenant_connection().set_schema_to_public()


@pytest.fixture(autouse=True)
def _back_to_english() -> Iterator[None]:
    """A Spanish page rendered in a test leaves its language active in the thread; the next test starts afresh."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist, a module whose tests share a module-scoped fixture (a pgbouncer, an nginx, a worker) runs
    on one worker, so the fixture starts once; tests may also name a group themselves (``xdist_group``).

    Marked before xdist names the groups; the order tests are handed out in is set last
    (``tests.support.bootstrap``), after pytest-django's own sort."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        info = getattr(item, "_fixtureinfo", None)
        definitions = info.name2fixturedefs.values() if info is not None else []
        if any(definition.scope == "module" for found in definitions for definition in found):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's last process (the xdist controller, or the only one) drops the template."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from tests.support.database import template_discard

    template_discard()
