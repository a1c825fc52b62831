"""Uploads wrap file keys under a primary KEK remembered per process; the firm's inventory keeps that honest.

Another process (a web worker, a Celery worker) may still remember the primary
it saw before a rotation or a destruction. These tests put this process in that
position by restoring what it remembered before the change, then check what a
firm would see: the file is recorded under the key version the database calls
primary and reads back, or, with no key left, nothing is stored.
"""

from __future__ import annotations

import copy

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError

from kms import keys
from kms.errors import KeyNotFound
from kms.models import KeyEncryptionKey
from residency.models import StoredObject
from residency.storage import client_files
from tenants.lifecycle.rotation import firm_rotate_keys
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("storage_dir")


def remembered(tenant: Tenant) -> dict[tuple[int, str], KeyEncryptionKey]:
    """What this process remembers of the firm's primary keys (as another process still might)."""
    return {k: v for k, v in keys._primaries.items() if k[0] == tenant.pk}


def stored_files(tenant: Tenant) -> list[str]:
    root = settings.PORTICO_STORAGE_DIR / tenant.region / tenant.slug
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_writer_remembering_the_primary_from_before_a_rotation_records_the_new_version(acme: Tenant) -> None:
    with acme:
        client_files.save("before/passport.pdf", ContentFile(b"passport"))
    before = remembered(acme)
    assert {kek.version for kek in before.values()} == {1}

    firm_rotate_keys(tenant=acme)
    keys._primaries.update(before)  # as a worker that did not see the rotation

    with acme:
        client_files.save("after/i-485.pdf", ContentFile(b"adjustment of status"))
        assert StoredObject.objects.get(name="after/i-485.pdf").kek_version == 2
        assert client_files.open("after/i-485.pdf").read() == b"adjustment of status"
        assert client_files.open("before/passport.pdf").read() == b"passport"
    assert keys._primaries[(acme.pk, "client")].version == 2  # it learnt the new primary


def test_a_writer_remembering_a_destroyed_key_stores_nothing_and_says_why(acme: Tenant) -> None:
    with acme:
        client_files.save("kept.pdf", ContentFile(b"stored before the key was destroyed"))
    before = remembered(acme)
    files_before = stored_files(acme)

    keys.keks_destroy(tenant=acme, key_classes=["client"])
    keys._primaries.update(before)  # this worker still holds the destroyed key

    with acme, pytest.raises(KeyNotFound, match=r"acme/late\.pdf was not stored: .*no client key"):
        client_files.save("late.pdf", ContentFile(b"uploaded after the erasure"))
    with acme:
        assert not StoredObject.objects.filter(name="late.pdf").exists()
    assert stored_files(acme) == files_before  # no ciphertext left behind


def test_the_inventory_refuses_a_data_key_wrapped_under_a_version_that_is_not_primary(acme: Tenant) -> None:
    firm_rotate_keys(tenant=acme)  # version 1 still exists, but is no longer primary

    refused = "wrapped under client key version 1, which is not the primary"
    with acme, pytest.raises(DatabaseError, match=refused) as err:
        StoredObject.objects.create(
            name="forged.pdf",
            key_class="client",
            kek_version=1,
            wrapped_data_key=b"x",
            size=1,
            stored_size=1,
            sha256="0" * 64,
            region=acme.region,
            backend="local",
        )
    assert keys.is_stale_primary(err.value)


def test_a_remembered_key_the_key_service_refuses_is_looked_up_again(acme: Tenant) -> None:
    with acme:
        client_files.save("first.pdf", ContentFile(b"first"))
    kek = keys._primaries[(acme.pk, "client")]
    refused = copy.copy(kek)
    refused.sealed_key = b"no longer accepted by the key service"  # e.g. destroyed, then provisioned again
    keys._primaries[(acme.pk, "client")] = refused

    with acme:
        client_files.save("second.pdf", ContentFile(b"second"))
        assert client_files.open("second.pdf").read() == b"second"
    assert keys._primaries[(acme.pk, "client")].sealed_key == kek.sealed_key  # the real key, looked up again
