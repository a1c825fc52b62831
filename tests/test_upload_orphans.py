"""A database connection killed mid-upload leaves no ciphertext behind, on disk or in S3 (issue 18 item 6).

The fault is real: the upload runs through the portal in a thread of its own
while this test holds the firm's audit chain-head lock, so the upload stops in
``document_submit`` after its file is encrypted and written (and its
``StoredObject`` row inserted) but before the transaction commits; the test then
ends the upload's PostgreSQL backend with ``pg_terminate_backend`` from another
connection. Nothing is mocked. The firm is committed (a killed connection takes
pytest's per-test transaction with it), so each test onboards a firm of its own
and removes it again.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test import Client
from psycopg import sql

from core.checklist import checklist_for
from core.matters import matter_create
from core.models import Document, Matter, User
from core.roles import Role
from core.services import user_create
from residency import s3
from residency.backends import placement
from residency.models import StoredObject
from residency.regions import get_region
from residency.storage import client_files, storage_atomic
from tenants.db import tenant_connection
from tenants.models import Tenant
from tests.support import uploads as upload_samples
from tests.support.database import database_params
from tests.support.firms import PASSWORD

LOCAL_REGION = "eu-central-1"
FILES_REGION = "ap-southeast-2"  # on S3 (moto) once the ``aws`` fixture is active: tests/support/residency.py


@dataclass
class Upload:
    tenant: Tenant
    client: User
    matter: Matter
    url: str

    def browser(self) -> Client:
        browser = Client(HTTP_HOST=f"{self.tenant.slug}.localhost", raise_request_exception=False)
        with self.tenant:
            browser.force_login(self.client)
        return browser

    def send(self, browser: Client) -> Any:
        return browser.post(self.url, {"file": SimpleUploadedFile("passport.jpg", upload_samples.photo())})

    def prefix(self) -> str:
        return f"matters/{self.matter.pk}/documents/"


def _remove(tenant: Tenant) -> None:
    tenant_connection().set_schema_to_public()
    root = placement(tenant).root
    Tenant.objects.filter(pk=tenant.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
    shutil.rmtree(root, ignore_errors=True)


def _firm_with_a_client_and_a_matter(region: str) -> Upload:
    from tests.support.residency import onboard  # (a plugin of this module: imported once pytest has it)

    tenant = onboard(region, prefix="kill")
    with tenant:
        admin = User.objects.get(email=f"admin@{tenant.slug}.test")
        lucia = user_create(email="lucia@example.test", role=Role.CLIENT, password=PASSWORD, language="es")
        matter = matter_create(reference="2026-0909", title="I-130", matter_type="I-130", client=lucia, by=admin)
        item = next(line.key for line in checklist_for(matter) if line.requirement.code == "passport")
    return Upload(tenant=tenant, client=lucia, matter=matter, url=f"/portal/matters/{matter.pk}/upload/?item={item}")


@pytest.fixture
def db(django_db_setup: object, django_db_blocker: Any) -> Iterator[None]:
    """This module's ``db``: the test database without pytest-django's per-test transaction, so writes commit.

    Named ``db`` so that pytest-django creates the test database even when only
    these tests are selected (it looks for that name). Each test removes what it made.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def committed_firm(db: None) -> Iterator[Callable[[str], Upload]]:
    made: list[Tenant] = []

    def make(region: str) -> Upload:
        upload = _firm_with_a_client_and_a_matter(region)
        made.append(upload.tenant)
        return upload

    yield make
    for tenant in made:
        _remove(tenant)


def _psycopg() -> psycopg.Connection[Any]:
    """A second connection to the test database (Django's own parameters: the embedded server's socket too)."""
    return psycopg.connect(**database_params())  # type: ignore[arg-type]


def _kill_mid_upload(upload: Upload, browser: Client, objects: Callable[[], list[str]]) -> Any:
    """Send the upload, wait until it is blocked after writing its object, end its backend; the response."""
    result: dict[str, Any] = {}

    def send() -> None:
        try:
            result["response"] = upload.send(browser)
        finally:
            connection.close()  # this thread's own connection

    with _psycopg() as holder, _psycopg() as watcher:
        watcher.autocommit = True
        head = sql.SQL("SELECT 1 FROM {}.audit_auditchainhead WHERE id = 1 FOR UPDATE")
        holder.execute(head.format(sql.Identifier(upload.tenant.schema_name)))
        holder_pid = holder.info.backend_pid
        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.monotonic() + 30
        blocked: list[int] = []
        while not blocked and time.monotonic() < deadline:
            rows = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [holder_pid]
            ).fetchall()
            blocked = [row[0] for row in rows]
            time.sleep(0.05)
        assert blocked, "the upload never waited for the audit log"
        written = objects()
        assert len(written) == 1, f"the upload should be waiting with its object written, found {written}"
        watcher.execute("SELECT pg_terminate_backend(%s)", [blocked[0]])
        holder.rollback()
        thread.join(timeout=60)
    assert not thread.is_alive()
    return result["response"]


def _local_objects(upload: Upload) -> list[str]:
    root = placement(upload.tenant).root
    return sorted(str(path.relative_to(root)) for path in Path(root).rglob("*") if path.is_file())


def _s3_versions(upload: Upload) -> list[str]:
    place = placement(upload.tenant)
    answer = s3.client(get_region(place.region.code)).list_object_versions(Bucket=place.bucket, Prefix=upload.prefix())
    return sorted(f"{item['Key']}@{item['VersionId']}" for item in answer.get("Versions", []))


def _nothing_kept(upload: Upload) -> None:
    with upload.tenant:
        assert not Document.objects.filter(matter=upload.matter).exists()
        assert not StoredObject.objects.filter(name__startswith=upload.prefix()).exists()


def test_a_connection_killed_mid_upload_leaves_no_file_on_the_local_backend(
    committed_firm: Callable[[str], Upload],
) -> None:
    upload = committed_firm(LOCAL_REGION)
    browser = upload.browser()

    response = _kill_mid_upload(upload, browser, lambda: _local_objects(upload))

    assert response.status_code == 500  # the portal's error page (the database went away under the request)
    _nothing_kept(upload)
    assert _local_objects(upload) == []
    again = upload.send(browser)
    assert again.status_code == 302  # the next try stores the file and its row
    with upload.tenant:
        [stored] = StoredObject.objects.filter(name__startswith=upload.prefix()).values_list("name", flat=True)
    assert _local_objects(upload) == [stored]


def test_a_connection_killed_mid_upload_leaves_no_s3_version(
    aws: object, committed_firm: Callable[[str], Upload]
) -> None:
    upload = committed_firm(FILES_REGION)
    assert placement(upload.tenant).backend == "s3"
    browser = upload.browser()

    response = _kill_mid_upload(upload, browser, lambda: _s3_versions(upload))

    assert response.status_code == 500
    _nothing_kept(upload)
    assert _s3_versions(upload) == []
    assert upload.send(browser).status_code == 302
    with upload.tenant:
        record = StoredObject.objects.get(name__startswith=upload.prefix())
    assert _s3_versions(upload) == [f"{record.name}@{record.version_id}"]


def test_a_commit_refused_by_the_database_at_commit_time_also_deletes_the_file(
    committed_firm: Callable[[str], Upload],
) -> None:
    upload = committed_firm(LOCAL_REGION)

    @storage_atomic
    def store_then_fail_at_commit() -> None:
        client_files.save(f"{upload.prefix()}refused-at-commit.pdf", ContentFile(b"%PDF-1.7 scan"))
        with connection.cursor() as cursor:
            # A deferred foreign key is checked at COMMIT: the block finishes, then the commit fails.
            cursor.execute(
                "CREATE TEMP TABLE refused (id int PRIMARY KEY, "
                "parent int REFERENCES refused (id) DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"
            )
            cursor.execute("INSERT INTO refused VALUES (1, 2)")

    with upload.tenant, pytest.raises(IntegrityError):
        store_then_fail_at_commit()

    _nothing_kept(upload)
    assert _local_objects(upload) == []
