"""Celery tasks carry their firm: proved against a real worker process (``tests.support.worker``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from core.celery import app as celery_app
from core.models import User
from core.scrubbing import scrub_text
from core.tasks import send_invitation
from tests.support.database import commit_sql
from tests.support.firms import Firm
from tests.support.worker import PUBLIC_PORT, Worker, celery_worker, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker(django_db_setup: dict[str, Firm], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with celery_worker(tmp_path_factory.mktemp("celery-worker")) as started:
        yield started


def test_a_task_sent_from_a_firm_runs_in_that_firms_schema(worker: Worker, firm_a: Firm, firm_b: Firm) -> None:
    alice = firm_a.admin
    with firm_b.tenant:
        same_id_in_b = User.objects.get(pk=alice.pk)
    assert same_id_in_b.email == firm_b.admin.email, "the fixture firms' admins should share a primary key"

    from_a = worker.send_invitation(user_id=alice.pk, tenant=firm_a.tenant)
    worker.wait_for_log(f"send_invitation[{from_a}] succeeded")
    [mail_a] = worker.mails_to(alice.email)
    assert f"http://acme.localhost:{PUBLIC_PORT}/accounts/set-password/" in mail_a
    assert "Acme Immigration LLP" in mail_a
    assert "globex" not in mail_a.lower()

    # The same user id sent from B is B's user: the firm travels with the task.
    from_b = worker.send_invitation(user_id=alice.pk, tenant=firm_b.tenant)
    worker.wait_for_log(f"send_invitation[{from_b}] succeeded")
    [mail_b] = worker.mails_to(firm_b.admin.email)
    assert f"http://globex.localhost:{PUBLIC_PORT}/accounts/set-password/" in mail_b
    assert "Globex Visa Partners" in mail_b
    assert "acme" not in mail_b.lower()
    assert len(worker.mails_to(alice.email)) == 1


def test_a_change_to_the_firm_committed_elsewhere_reaches_the_workers_next_task(worker: Worker, firm_a: Firm) -> None:
    """The worker caches each firm it enters (tenants.routing), checked against the routing version on every task."""
    alice = firm_a.admin
    before = set(worker.mails_to(alice.email))
    first = worker.send_invitation(user_id=alice.pk, tenant=firm_a.tenant)
    worker.wait_for_log(f"send_invitation[{first}] succeeded")
    commit_sql("UPDATE tenants_tenant SET name = 'Acme Immigration Partners' WHERE schema_name = 'acme'")
    try:
        second = worker.send_invitation(user_id=alice.pk, tenant=firm_a.tenant)
        worker.wait_for_log(f"send_invitation[{second}] succeeded")
    finally:
        commit_sql("UPDATE tenants_tenant SET name = 'Acme Immigration LLP' WHERE schema_name = 'acme'")
    mails = [mail for mail in worker.mails_to(alice.email) if mail not in before]

    # The mail backend's file names do not order two mails of one second; the first was sent before the rename.
    assert len(mails) == 2
    assert sorted("Acme Immigration Partners" in mail for mail in mails) == [False, True]
    assert sorted("Acme Immigration LLP" in mail for mail in mails) == [False, True]


def test_a_task_sent_without_a_firm_fails_instead_of_running_in_public(worker: Worker, firm_a: Firm) -> None:
    mails_before = sorted(worker.mail_dir.glob("*")) if worker.mail_dir.exists() else []

    task_id = worker.send_invitation(user_id=firm_a.admin.pk, tenant=None)
    output = worker.wait_for_log(f"send_invitation[{task_id}] raised unexpected: TaskWithoutTenant(")

    assert "needs a firm but was sent without one" in output
    assert scrub_text(f"send_invitation[{task_id}] succeeded") not in output
    mails_after = sorted(worker.mail_dir.glob("*")) if worker.mail_dir.exists() else []
    assert mails_after == mails_before


def test_a_task_stamped_with_the_template_schema_is_refused(worker: Worker, firm_a: Firm) -> None:
    from django_tenants.utils import schema_context

    template = schema_context(settings.TENANT_BASE_SCHEMA)
    with celery_app.connection_for_write(**worker.broker_options) as broker, template:
        options: dict[str, Any] = {"queue": worker.queue, "connection": broker}  # connection: as in Worker
        task_id = send_invitation.apply_async(args=(firm_a.admin.pk,), **options).id
    output = worker.wait_for_log(f"send_invitation[{task_id}] raised unexpected: TaskWithoutTenant(")

    assert "was sent from the template schema" in output
    assert scrub_text(f"send_invitation[{task_id}] succeeded") not in output


def test_each_step_of_a_chain_made_in_two_firms_runs_in_its_own_firm(
    worker: Worker, firm_a: Firm, firm_b: Firm
) -> None:
    """The worker sends step two while it is in acme's schema (step one's); the step stays pinned to globex."""
    from celery import chain

    alice, bob = firm_a.admin, firm_b.admin
    assert alice.pk == bob.pk, "the fixture firms' admins should share a primary key"
    with firm_a.tenant:
        first = send_invitation.si(alice.pk).set(queue=worker.queue)
    with firm_b.tenant:
        second = send_invitation.si(bob.pk).set(queue=worker.queue)
    mails_to_alice = len(worker.mails_to(alice.email))
    mails_to_bob = len(worker.mails_to(bob.email))

    with celery_app.connection_for_write(**worker.broker_options) as broker:
        chain(first, second).apply_async(connection=broker)
    wait_for(lambda: len(worker.mails_to(bob.email)) > mails_to_bob, "mail to bob", worker.output)

    [mail_b] = worker.mails_to(bob.email)[mails_to_bob:]
    assert f"http://globex.localhost:{PUBLIC_PORT}/accounts/set-password/" in mail_b
    assert len(worker.mails_to(alice.email)) == mails_to_alice + 1  # step one only, once


def test_a_chord_spanning_two_firms_is_refused(firm_a: Firm, firm_b: Firm) -> None:
    """Portico keeps no task results (CELERY_TASK_IGNORE_RESULT, no result backend), so the canvases whose
    final step another firm's task would send, a chord or a group chained into a task, are refused when
    applied (Celery asks the backend to set up the join before it publishes the header). The callback is
    pinned to its firm all the same, should a result backend ever be configured."""
    from celery import chord, group

    with firm_a.tenant:
        header = [send_invitation.si(firm_a.admin.pk), send_invitation.si(firm_a.admin.pk)]
    with firm_b.tenant:
        callback = send_invitation.si(firm_b.admin.pk)

    assert [sig.options["headers"]["_schema_name"] for sig in header] == [firm_a.tenant.schema_name] * 2
    assert callback.options["headers"]["_schema_name"] == firm_b.tenant.schema_name
    with firm_a.tenant, pytest.raises(NotImplementedError, match="chords requires a result backend"):
        chord(header, callback).apply_async()
    with firm_a.tenant, pytest.raises(NotImplementedError, match="chords requires a result backend"):
        (group(header) | callback).apply_async()
