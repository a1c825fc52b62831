"""One client's erasure request: files crypto-shredded, identity blanked, the firm's retained books and log kept."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from billing.invoices.models import Invoice, Payment
from billing.invoices.services import invoice_issue
from billing.ledger.models import JournalEntry, JournalLine
from billing.ledger.selectors import unbalanced_entries
from billing.money import Money
from billing.trust.models import TrustDeposit
from billing.trust.services import trust_deposit
from core import erasure
from core.audit.models import AuditEntry
from core.checklist import checklist_for
from core.erasure import ERASED, ErasureRefused, erasure_client
from core.messages import message_send
from core.models import ClientProfile, Document, Matter, Message, Notification, User
from residency.models import StoredObject
from residency.storage import client_files
from tenants.lifecycle.erasure import client_erase, client_erasure_plan
from tenants.models import Tenant
from tests.support.billing import draft
from tests.support.casework import answer_i130, upload
from tests.support.cast import Cast
from tests.support.firms import Firm

pytestmark = pytest.mark.usefixtures("storage_dir")

LUCIA_A_NUMBER = "A123456789"
DORA_A_NUMBER = "A987654321"

Capture = Callable[..., Any]


@dataclass
class Erasable:
    """Lucía's case with everything an erasure touches; Dora, another client of the firm, must keep hers."""

    cast: Cast
    tenant: Tenant
    lucia_files: list[str]
    dora_file: str
    invoice: Invoice

    @property
    def lucia(self) -> User:
        return self.cast.lucia


def _profile(user: User, a_number: str) -> None:
    ClientProfile.objects.create(
        user=user,
        phone="+34 600 000 000",
        a_number=a_number,
        passport_number=f"P{a_number[1:]}",
        date_of_birth=datetime.date(1990, 5, 17),
    )


@pytest.fixture
def erasable(acme: Tenant, firm_a: Firm, cast: Cast) -> Iterator[Erasable]:
    with acme:
        _profile(cast.lucia, LUCIA_A_NUMBER)
        _profile(cast.dora, DORA_A_NUMBER)
        answer_i130(cast.lucia_matter, cast.lucia)
        first = upload(cast.lucia_matter, "passport", cast.lucia)
        second = upload(cast.lucia_matter, "passport", cast.lucia)  # a second version: both files must go
        message_send(matter=cast.lucia_matter, sender=cast.lucia, body="Mi pasaporte caduca en mayo.")
        message_send(matter=cast.lucia_matter, sender=cast.ana, body="Gracias, Lucía: lo renovamos primero.")
        code = checklist_for(cast.dora_matter)[0].requirement.code
        dora_document = upload(cast.dora_matter, code, cast.dora)
        message_send(matter=cast.dora_matter, sender=cast.dora, body="Hello from Dora")
        # Her invoice is paid from her trust deposit: trust back at zero, the books hold both.
        invoice = draft(cast.lucia_matter, firm_a.admin, "CONS-FLAT")
        trust_deposit(
            client=cast.lucia,
            matter=cast.lucia_matter,
            amount=Money(invoice.total_minor),
            method="cash",
            by=firm_a.admin,
        )
        invoice_issue(invoice=invoice, by=firm_a.admin)
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        yield Erasable(
            cast=cast,
            tenant=acme,
            lucia_files=[first.storage_name, second.storage_name],
            dora_file=dora_document.storage_name,
            invoice=invoice,
        )


def on_disk(name: str) -> list[Path]:
    from django.conf import settings

    return [path for path in Path(settings.PORTICO_STORAGE_DIR).rglob(Path(name).name) if path.is_file()]


def erase(erasable: Erasable, capture: Capture) -> erasure.ErasureReport:
    with capture(execute=True):  # the files go once the rows commit
        return client_erase(tenant=erasable.tenant, client=erasable.lucia, actor_label="test:dpo")


def assert_lucia_intact(erasable: Erasable) -> None:
    with erasable.tenant:
        lucia = User.objects.get(pk=erasable.lucia.pk)
        assert (lucia.email, lucia.is_active, lucia.has_usable_password()) == ("lucia@example.test", True, True)
        profile = ClientProfile.objects.get(user=lucia)
        assert (profile.a_number, profile.date_of_birth) == (LUCIA_A_NUMBER, datetime.date(1990, 5, 17))
        assert ClientProfile.objects.filter(a_number_hash=LUCIA_A_NUMBER).exists()
        matter = Matter.objects.get(pk=erasable.cast.lucia_matter.pk)
        assert matter.intake_answers
        assert matter.title == "Gómez spousal petition"
        assert Document.objects.filter(matter=matter).count() == 2
        assert Message.objects.filter(matter=matter, body="Mi pasaporte caduca en mayo.").exists()
        for name in erasable.lucia_files:
            assert on_disk(name)
            assert client_files.open(name).read().startswith(b"\x89PNG")
        assert not AuditEntry.objects.filter(action="client.erase").exists()


def test_an_erasure_shreds_the_clients_files_and_blanks_their_identity(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture
) -> None:
    with erasable.tenant:
        kept_aside = {name: (on_disk(name)[0], client_files.open_raw(name).read()) for name in erasable.lucia_files}

    report = erase(erasable, django_capture_on_commit_callbacks)

    assert (report.documents, report.files, report.messages, report.identity_fields) == (2, 2, 2, 4)
    assert (report.intake_answers, report.files_left) == (1, [])
    with erasable.tenant:
        for name in erasable.lucia_files:
            assert on_disk(name) == []
            assert not StoredObject.objects.filter(name=name).exists()
        # A ciphertext copy put back where it was: nothing left to decrypt it with.
        for name, (path, ciphertext) in kept_aside.items():
            assert b"\x89PNG" not in ciphertext
            path.write_bytes(ciphertext)
            with pytest.raises(FileNotFoundError):
                client_files.open(name)
        lucia = User.objects.get(pk=erasable.lucia.pk)
        assert (lucia.email, lucia.full_name) == (f"erased-{lucia.pk}@invalid", "")
        assert (lucia.is_active, lucia.has_usable_password()) == (False, False)
        profile = ClientProfile.objects.get(user=lucia)
        assert (profile.a_number, profile.passport_number, profile.date_of_birth, profile.phone) == (
            None,
            None,
            None,
            "",
        )
        assert (profile.a_number_hash, profile.passport_number_hash) == (None, None)
        assert not ClientProfile.objects.filter(a_number_hash=LUCIA_A_NUMBER).exists()
        matter = Matter.objects.get(pk=erasable.cast.lucia_matter.pk)
        assert (matter.intake_answers, matter.title, matter.reference) == ({}, ERASED, "2026-0101")
        assert not Document.objects.filter(matter=matter).exists()
        assert set(Message.objects.filter(matter=matter).values_list("body", flat=True)) == {ERASED}
        assert matter.events.filter(kind="message.sent").count() == 2  # the timeline keeps its shape
        assert not Notification.objects.filter(matter=matter).exists()
        assert not Notification.objects.filter(recipient=lucia).exists()


def test_another_client_of_the_firm_keeps_everything(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture
) -> None:
    erase(erasable, django_capture_on_commit_callbacks)

    with erasable.tenant:
        dora = User.objects.get(pk=erasable.cast.dora.pk)
        assert (dora.email, dora.is_active) == ("dora@example.test", True)
        profile = ClientProfile.objects.get(a_number_hash=DORA_A_NUMBER)
        assert (profile.user_id, profile.a_number, profile.date_of_birth) == (
            dora.pk,
            DORA_A_NUMBER,
            datetime.date(1990, 5, 17),
        )
        assert client_files.open(erasable.dora_file).read().startswith(b"%PDF")
        assert Message.objects.get(matter=erasable.cast.dora_matter).body == "Hello from Dora"
        assert Matter.objects.get(pk=erasable.cast.dora_matter.pk).title == "Díaz naturalisation"


def test_the_clients_invoices_trust_ledger_and_audit_log_are_kept(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture
) -> None:
    with erasable.tenant:
        entries = set(JournalEntry.objects.values_list("pk", flat=True))
        lines = JournalLine.objects.count()
        log = list(AuditEntry.objects.order_by("sequence").values_list("sequence", "hash"))

    report = erase(erasable, django_capture_on_commit_callbacks)

    with erasable.tenant:
        invoice = Invoice.objects.get(pk=erasable.invoice.pk)
        assert (invoice.client_id, invoice.status, invoice.paid_minor) == (
            erasable.lucia.pk,
            Invoice.Status.PAID,
            erasable.invoice.total_minor,
        )
        assert Payment.objects.filter(invoice=invoice).count() == 1
        assert TrustDeposit.objects.filter(client_id=erasable.lucia.pk).count() == 1
        assert set(JournalEntry.objects.values_list("pk", flat=True)) == entries
        assert JournalLine.objects.count() == lines
        assert unbalanced_entries() == []
        assert (report.kept["invoices"], report.kept["payments"], report.kept["trust_deposits"]) == (1, 1, 1)
        assert report.kept["journal_entries"] == len(entries)
        # The log only grows: every earlier entry as it was, then the erasure, with counts and no personal data.
        after = list(AuditEntry.objects.order_by("sequence").values_list("sequence", "hash"))
        assert after[: len(log)] == log
        entry = AuditEntry.objects.get(action="client.erase")
        assert (entry.sequence, entry.target_label) == (after[-1][0], f"erased-{erasable.lucia.pk}@invalid")
        data = json.loads(entry.data)
        assert (data["documents"], data["files"], data["by"]) == (2, 2, "test:dpo")
        for personal in ("lucia", "Lucía", "Gómez", LUCIA_A_NUMBER, "pasaporte"):
            assert personal.lower() not in entry.data.lower()


def test_the_plan_counts_what_would_go_and_changes_nothing(erasable: Erasable) -> None:
    report = client_erasure_plan(tenant=erasable.tenant, client=erasable.lucia)

    assert not report.erased
    assert (report.matters, report.documents, report.files, report.messages) == (1, 2, 2, 2)
    assert report.email == "lucia@example.test"
    assert_lucia_intact(erasable)


@pytest.mark.parametrize("step", ["_erase_user", "audit_record"])
def test_a_failure_midway_leaves_the_client_and_their_files_intact(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(erasure, step, broken)
    with pytest.raises(RuntimeError, match="went away"):
        erase(erasable, django_capture_on_commit_callbacks)

    assert_lucia_intact(erasable)


def test_a_file_that_could_not_be_deleted_is_reported_and_a_second_run_deletes_it(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = erasable.lucia_files[0]
    delete = client_files.delete

    def flaky(name: str) -> None:
        if name == stuck:
            raise OSError("storage unreachable")
        delete(name)

    monkeypatch.setattr(client_files, "delete", flaky)
    report = erase(erasable, django_capture_on_commit_callbacks)
    assert report.files_left == [stuck]
    with erasable.tenant:
        assert StoredObject.objects.filter(name=stuck).exists()
        assert on_disk(stuck)

    monkeypatch.setattr(client_files, "delete", delete)
    again = erasure_client(tenant=erasable.tenant, email=f"erased-{erasable.lucia.pk}@invalid")
    with django_capture_on_commit_callbacks(execute=True):
        second = client_erase(tenant=erasable.tenant, client=again, actor_label="test:dpo")
    assert (second.files, second.documents, second.files_left) == (1, 0, [])
    with erasable.tenant:
        assert not StoredObject.objects.filter(name=stuck).exists()
        assert on_disk(stuck) == []


def test_someone_who_is_not_a_client_of_the_firm_is_refused(erasable: Erasable, firm_b: Firm) -> None:
    for email in ("ana@acme.test", "nobody@example.test", firm_b.admin.email):
        with pytest.raises(ErasureRefused, match=f"^{email} is not a client of acme$"):
            erasure_client(tenant=erasable.tenant, email=email)


def test_a_client_with_money_in_trust_is_refused_naming_the_balance(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture
) -> None:
    with erasable.tenant:
        trust_deposit(
            client=erasable.lucia,
            matter=erasable.cast.lucia_matter,
            amount=Money(1234_56),
            method="cash",
            by=erasable.cast.ana,
        )
    message = (
        r"^lucia@example.test of acme has money held by the firm "
        r"\(1234.56 USD in client trust liability on matter 2026-0101\): refund or apply it first$"
    )
    with pytest.raises(ErasureRefused, match=message):
        client_erasure_plan(tenant=erasable.tenant, client=erasable.lucia)
    with pytest.raises(ErasureRefused, match=message):
        erase(erasable, django_capture_on_commit_callbacks)
    assert_lucia_intact(erasable)


def portico(*args: str) -> Any:
    from tests.support.residency import portico

    return portico(*args)


def test_the_cli_shows_a_dry_run_without_yes_and_erases_with_it(
    erasable: Erasable, django_capture_on_commit_callbacks: Capture
) -> None:
    dry = portico("tenants", "erase-client", "acme", "Lucia@Example.test")
    assert dry.exit_code == 0, dry.output
    assert "would erase lucia@example.test in acme: 1 matters, 2 documents (2 files" in dry.output
    assert "dry run: nothing changed" in dry.output
    assert_lucia_intact(erasable)

    with django_capture_on_commit_callbacks(execute=True):
        done = portico("tenants", "erase-client", "acme", "lucia@example.test", "--yes", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert (report["dry_run"], report["erased"], report["files"], report["files_left"]) == (False, True, 2, [])
    assert report["erased_as"] == f"erased-{erasable.lucia.pk}@invalid"
    with erasable.tenant:
        assert not User.objects.filter(email="lucia@example.test").exists()
        assert all(on_disk(name) == [] for name in erasable.lucia_files)


def test_the_cli_refuses_with_one_line(erasable: Erasable) -> None:
    staff = portico("tenants", "erase-client", "acme", "ana@acme.test", "--yes")
    assert staff.exit_code == 1
    assert staff.output == "error: ana@acme.test is not a client of acme\n"
    unknown = portico("tenants", "erase-client", "nofirm", "lucia@example.test")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("error: no firm with slug 'nofirm'")
    assert_lucia_intact(erasable)
