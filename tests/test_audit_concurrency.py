"""50 writers appending at once, each on its own database connection, keep the chain valid and gap-free.

The entries are committed (nothing else would show real concurrency), so the
test works outside pytest-django's per-test transaction, on a firm of its own
that it removes again. (``transactional_db`` is not used: its flush at teardown
would empty the public schema's tables and with them the session's firms.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from django.db import connections
from django_tenants.utils import schema_context

from core.audit.actions import AuditAction
from core.audit.models import AuditEntry
from core.audit.services import audit_record
from tenants.cli.audit import audit
from tenants.models import Tenant
from tests.support.firms import FirmSpec, committed_firm

WRITERS = 50
ENTRIES_EACH = 4


@pytest.fixture
def busy_firm(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    with committed_firm(FirmSpec("busy", "Busy Visa LLP", "eu-central-1", "b@busy.test"), django_db_blocker) as firm:
        yield firm


def test_fifty_concurrent_writers_keep_the_chain_valid_and_gap_free(busy_firm: Tenant) -> None:
    with busy_firm:
        start = AuditEntry.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            with schema_context("busy"):
                barrier.wait()
                for n in range(ENTRIES_EACH):
                    audit_record(AuditAction.DOCUMENT_VIEWED, data={"writer": number, "n": n})
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()  # each thread has its own connection: close it

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]

    with busy_firm:
        sequences = list(AuditEntry.objects.order_by("sequence").values_list("sequence", flat=True))
        writers = {entry.data_dict["writer"] for entry in AuditEntry.objects.filter(action=AuditAction.DOCUMENT_VIEWED)}
    assert sequences == list(range(1, start + WRITERS * ENTRIES_EACH + 1))
    assert writers == set(range(WRITERS))
    result = CliRunner().invoke(audit, ["verify", "--tenant", "busy"])
    assert result.exit_code == 0, result.stderr
    assert f"head #{start + WRITERS * ENTRIES_EACH}" in result.stdout
