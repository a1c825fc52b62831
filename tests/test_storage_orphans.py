"""Objects of a transaction that did not commit: undone by ``storage_atomic``, else swept (issue 18 item 6).

The killed-connection case end to end is tests/test_upload_orphans.py; here the
two mechanisms one by one, on the local backend and on S3 (moto).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from core.audit.models import AuditEntry
from core.tasks import sweep_orphans
from residency import s3
from residency.backends import placement
from residency.models import StoredObject
from residency.orphans import orphans_sweep
from residency.regions import get_region
from residency.storage import client_files, storage_atomic
from tenants.models import Tenant

if TYPE_CHECKING:
    from tests.support.servers import MotoServer

SCAN = b"%PDF-1.7 marriage certificate of Ana and Luis " * 500
GRACE = timedelta(hours=1)


class Boom(Exception):
    pass


def on_disk(tenant: Tenant) -> list[str]:
    root = placement(tenant).root
    return sorted(path.relative_to(root).as_posix() for path in Path(root).rglob("*") if path.is_file())


def orphan(name: str) -> str:
    """An object left as a crash leaves it: written inside a plain transaction that then rolled back."""

    @transaction.atomic
    def store_then_fail() -> None:
        client_files.save(name, ContentFile(SCAN))
        raise Boom()

    with pytest.raises(Boom):
        store_then_fail()
    return name


# --- storage_atomic ---------------------------------------------------------------------------


@pytest.mark.usefixtures("storage_dir")
def test_an_error_after_the_file_is_stored_deletes_it_again(acme: Tenant) -> None:
    @storage_atomic
    def submit() -> None:
        client_files.save("matters/1/documents/passport.pdf", ContentFile(SCAN))
        raise Boom("the use case failed after storing")

    with acme:
        with pytest.raises(Boom):
            submit()

        assert not StoredObject.objects.exists()
    assert on_disk(acme) == []


@pytest.mark.usefixtures("storage_dir")
def test_a_block_that_commits_keeps_its_file(acme: Tenant) -> None:
    with acme:
        with storage_atomic():
            name = client_files.save("matters/1/documents/passport.pdf", ContentFile(SCAN))

        assert client_files.open(name).read() == SCAN
    assert on_disk(acme) == [name]


@pytest.mark.usefixtures("storage_dir")
def test_files_of_an_inner_block_go_when_the_outer_block_fails(acme: Tenant) -> None:
    @storage_atomic
    def outer() -> None:
        with storage_atomic():
            client_files.save("a/inner.pdf", ContentFile(SCAN))
        client_files.save("a/outer.pdf", ContentFile(SCAN))
        raise Boom()

    with acme:
        with pytest.raises(Boom):
            outer()

        assert not StoredObject.objects.exists()
    assert on_disk(acme) == []


# --- the sweep, local backend --------------------------------------------------------------------


@pytest.mark.usefixtures("storage_dir")
def test_the_sweep_deletes_objects_without_a_row_once_past_the_grace_period(acme: Tenant) -> None:
    with acme:
        kept = client_files.save("matters/2/documents/kept.pdf", ContentFile(SCAN))
        lost = orphan("matters/2/documents/lost.pdf")
        unfinished = placement(acme).root / "matters/2/documents/.x.pdf.0123456789abcdef.partial"
        unfinished.write_bytes(b"half a ciphertext")
        assert on_disk(acme) == sorted([kept, lost, "matters/2/documents/.x.pdf.0123456789abcdef.partial"])

        too_soon = orphans_sweep(tenant=acme, grace=GRACE)
        later = orphans_sweep(tenant=acme, grace=GRACE, now=timezone.now() + 2 * GRACE)

        assert (too_soon.deleted, too_soon.young) == ([], 2)  # an upload in flight looks the same for a while
        assert sorted(later.deleted) == sorted([lost, "matters/2/documents/.x.pdf.0123456789abcdef.partial"])
        assert client_files.open(kept).read() == SCAN
    assert on_disk(acme) == [kept]


@pytest.mark.usefixtures("storage_dir")
def test_the_scheduled_task_sweeps_the_current_firm(acme: Tenant, settings: object) -> None:
    settings.PORTICO_ORPHAN_GRACE_SECONDS = 0  # type: ignore[attr-defined]
    with acme:
        lost = orphan("matters/3/documents/lost.pdf")

        deleted = sweep_orphans()

        entry = AuditEntry.objects.get(action="storage.orphans_deleted")
        assert (entry.data_dict["count"], lost in entry.data_dict["names"]) == (1, True)  # type: ignore[operator]
    assert deleted == 1
    assert on_disk(acme) == []


def test_the_sweep_is_scheduled_for_every_firm() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-orphan-objects"]

    assert entry["task"] == "core.tasks.sweep_orphans_in_every_firm"
    assert entry["schedule"] == float(settings.PORTICO_ORPHAN_SWEEP_SECONDS)


# --- the sweep, S3 ----------------------------------------------------------------------------------


def test_the_sweep_deletes_exactly_the_orphaned_s3_version(aws: MotoServer, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm("ap-southeast-2")
    place = placement(firm)
    region = get_region(firm.region)
    with firm:
        kept = client_files.save("matters/4/documents/kept.pdf", ContentFile(SCAN))
        lost = orphan("matters/4/documents/lost.pdf")
        [lost_version] = s3.object_versions(region, place.bucket, lost)

        swept = orphans_sweep(tenant=firm, grace=GRACE, now=timezone.now() + 2 * GRACE)

        assert swept.deleted == [f"{lost}@{lost_version}"]
        assert s3.object_versions(region, place.bucket, lost) == []  # the version itself, not a delete marker
        assert s3.object_versions(region, place.bucket, kept) == [StoredObject.objects.get(name=kept).version_id]
        assert client_files.open(kept).read() == SCAN
