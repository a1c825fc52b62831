"""Session fixtures: two firms and outsiders, created once by cloning the template.

Like Healthchecks' alice/bob/charlie: ``firm_a`` (acme) and ``firm_b`` (globex)
each have an admin; ``charlie`` is a signed-in user of firm A with no role, and
an anonymous client is the plain outsider. Tests reach a firm's site through a
Django test client whose Host header is the firm's domain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client

from core.models import User
from core.roles import Role
from tenants.db import tenant_connection
from tenants.models import Tenant

PASSWORD = "correct horse battery staple"


@dataclass
class Firm:
    tenant: Tenant
    host: str
    admin: User

    def client(self, user: User | None = None) -> Client:
        client = Client(HTTP_HOST=self.host)
        if user is not None:
            with self.tenant:
                client.force_login(user)
        return client


def _onboard(slug: str, name: str, region: str, admin_email: str) -> Firm:
    from tenants.services import tenant_create

    result = tenant_create(slug=slug, name=name, region=region, admin_email=admin_email)
    with result.tenant:
        admin = User.objects.get(email=admin_email)
        admin.set_password(PASSWORD)
        admin.save()
    return Firm(tenant=result.tenant, host=f"{slug}.localhost", admin=admin)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    from tenants.migrate import migrate_all

    with django_db_blocker.unblock():
        migrate_all()
        firms = {
            "acme": _onboard("acme", "Acme Immigration LLP", "eu-central-1", "alice@acme.test"),
            "globex": _onboard("globex", "Globex Visa Partners", "us-east-1", "bob@globex.test"),
        }
        from core.services import user_create

        with firms["acme"].tenant:
            user_create(email="charlie@acme.test", role=Role.CLIENT, password=PASSWORD)
            User.objects.get(email="charlie@acme.test").groups.clear()
        # Checked now, as each web process does before a firm's first request (tenants.schema_check),
        # so that tests pinning a page's query count do not count the check.
        from tenants.schema_check import schema_verified

        for firm in firms.values():
            assert schema_verified(firm.tenant.schema_name) == []
    return firms


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
