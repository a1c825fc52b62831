"""Erasing one client's personal data at their request (SPEC §4): core's part.

The erasure is orchestrated by ``tenants.lifecycle.erasure`` (``portico tenants
erase-client``), which refuses it while billing holds money for the client and
counts the records billing keeps; this module owns what is erased:

* ``erasure_client(*, tenant, email) -> User`` — the firm's client with that
  email; ``ErasureRefused`` for anyone else (staff, outside counsel, unknown).
* ``erasure_plan(*, client, kept) -> ErasureReport`` — what an erasure would
  erase (the dry run); changes nothing.
* ``erasure_lock(*, client) -> User`` and ``personal_data_erase(*, tenant,
  client, kept, actor_label) -> ErasureReport`` — in the orchestrator's
  transaction: lock, then erase and audit.

What goes: every document file of the client's matters, all versions, through
``residency.storage.client_files.delete`` (the file and its wrapped data key:
the file is crypto-shredded even where a copy of the ciphertext survives);
the ``Document`` rows; the encrypted identity fields and their keyed hashes
(NULL) and the phone number; intake answers; message bodies on the client's
matters (replaced by ``ERASED``, so the timeline keeps its shape); matter
titles (``ERASED``; the reference stays, the ledger uses it); notifications
to the client or about their matters. The user is deactivated, renamed to
``erased-<id>@invalid`` and loses their password.

What stays: invoices, payments, credit notes, trust deposits, journal entries
and their lines (billing, under retention keys; ``kept`` counts them), and the
audit log, which is append-only: its earlier entries keep the email they recorded.

All rows change in one transaction; the files are deleted only once it has
committed, so a failure midway leaves the client as they were. A file that
cannot be deleted after the commit is listed in ``files_left`` (its data key
survives with it); running the erasure again for ``erased-<id>@invalid``
deletes it, since leftovers are found by the matter's storage prefix.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import ClientProfile, Document, KnownBrowser, Matter, Message, Notification, User
from core.roles import Role
from kms.models import KeyClass
from residency.models import StoredObject
from residency.storage import client_files
from tenants.models import Tenant

logger = logging.getLogger(__name__)

ERASED = "[erased]"
IDENTITY_FIELDS = ("a_number", "passport_number", "date_of_birth")
COUNTED = ("matters", "documents", "files", "identity_fields", "intake_answers", "messages", "notifications")


class ErasureRefused(Exception):
    """The erasure was not started; the message (one line) says why."""


@dataclass
class ErasureReport:
    client_id: int
    email: str
    matters: int
    documents: int
    files: int
    identity_fields: int
    intake_answers: int
    messages: int
    notifications: int
    kept: dict[str, int]
    erased: bool = False
    files_left: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def placeholder_email(client: User) -> str:
    return f"erased-{client.pk}@invalid"


def erasure_client(*, tenant: Tenant, email: str) -> User:
    with tenant:
        client = User.objects.filter(email__iexact=email.strip()).first()
        if client is None or client.is_staff or not _is_client(client):
            raise ErasureRefused(f"{email} is not a client of {tenant.slug}")
        return client


def _is_client(user: User) -> bool:
    return user.groups.filter(name=Role.CLIENT.value).exists() or Matter.objects.filter(client=user).exists()


def _stored_names(matters: QuerySet[Matter]) -> list[str]:
    """The client's files: every document version, and any object left under their matters by a failed erasure."""
    names = set(Document.objects.filter(matter__in=matters).values_list("storage_name", flat=True))
    for pk in matters.values_list("pk", flat=True):
        leftovers = StoredObject.objects.filter(name__startswith=f"matters/{pk}/", key_class=KeyClass.CLIENT)
        names.update(leftovers.values_list("name", flat=True))
    return sorted(StoredObject.objects.filter(name__in=names).values_list("name", flat=True))


def _notifications(client: User, matters: QuerySet[Matter]) -> QuerySet[Notification]:
    return Notification.objects.filter(Q(recipient=client) | Q(matter__in=matters))


def _identity_fields(client: User) -> int:
    profile = ClientProfile.objects.filter(user=client)
    count = sum(profile.filter(**{f"{name}__isnull": False}).count() for name in IDENTITY_FIELDS)
    return count + profile.exclude(phone="").count()


def _plan(client: User, kept: dict[str, int]) -> tuple[ErasureReport, list[str]]:
    matters = Matter.objects.filter(client=client)
    names = _stored_names(matters)
    report = ErasureReport(
        client_id=client.pk,
        email=client.email,
        matters=matters.count(),
        documents=Document.objects.filter(matter__in=matters).count(),
        files=len(names),
        identity_fields=_identity_fields(client),
        intake_answers=matters.exclude(intake_answers={}).count(),
        messages=Message.objects.filter(matter__in=matters).exclude(body=ERASED).count(),
        notifications=_notifications(client, matters).count(),
        kept=kept,
    )
    return report, names


def erasure_plan(*, client: User, kept: dict[str, int]) -> ErasureReport:
    """What ``personal_data_erase`` would erase (run in the client's firm); changes nothing."""
    return _plan(client, kept)[0]


def erasure_lock(*, client: User) -> User:
    """In the caller's transaction: the client's row, and their matters locked as document_submit locks them.

    No upload lands between the checks the orchestrator makes and the erasure.
    """
    locked = User.objects.select_for_update().get(pk=client.pk)
    list(Matter.objects.select_for_update().filter(client=locked))
    return locked


def personal_data_erase(*, tenant: Tenant, client: User, kept: dict[str, int], actor_label: str) -> ErasureReport:
    """Erase ``client``'s personal data, in the caller's transaction (after ``erasure_lock``) and firm.

    ``kept`` (the records billing keeps) and ``actor_label`` (who ran it) go into the
    report and the audit entry; the files are deleted once the transaction commits.
    """
    report, names = _plan(client, kept)
    _erase_rows(client, Matter.objects.filter(client=client))
    _erase_user(client)
    report.erased = True
    audit_record(AuditAction.CLIENT_ERASE, target=client, data={**_counts(report), "by": actor_label})
    transaction.on_commit(lambda: _delete_files(tenant, names, report))
    return report


def _counts(report: ErasureReport) -> dict[str, object]:
    """The report without personal data (no email), for the audit log."""
    erased = {name: getattr(report, name) for name in COUNTED}
    return {"client": report.client_id, **erased, "kept": report.kept}


def _erase_rows(client: User, matters: QuerySet[Matter]) -> None:
    Document.objects.filter(matter__in=matters).delete()  # timeline events keep their row, without the link
    ClientProfile.objects.filter(user=client).update(
        phone="", **{name: None for name in IDENTITY_FIELDS}, a_number_hash=None, passport_number_hash=None
    )
    Message.objects.filter(matter__in=matters).update(body=ERASED)
    _notifications(client, matters).delete()
    matters.update(intake_answers={}, title=ERASED)


def _erase_user(client: User) -> None:
    KnownBrowser.objects.filter(user=client).delete()  # the browsers they signed in from, with their user agents
    client.email = placeholder_email(client)
    client.full_name = ""
    client.is_active = False
    client.set_unusable_password()
    client.save(update_fields=["email", "full_name", "is_active", "password"])


def _delete_files(tenant: Tenant, names: list[str], report: ErasureReport) -> None:
    """After the commit: each file and its data key; one that fails stays listed for a second run."""
    with tenant:
        for name in names:
            try:
                client_files.delete(name)
            except Exception:
                logger.exception("erasure of client %s in %s: %s was not deleted", report.client_id, tenant.slug, name)
                report.files_left.append(name)
