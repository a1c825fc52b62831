"""Key rotation: a new primary KEK version, data keys re-wrapped, files untouched, old data still readable."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from kms import aws as kms_aws
from kms.files import file_key_rewrap
from kms.keys import kek_primary
from kms.models import KeyEncryptionKey
from residency import services
from residency.models import StoredObject
from residency.storage import client_files, retained_files
from tenants.lifecycle.rotation import firm_rewrap, firm_rotate_keys
from tenants.models import Tenant
from tests.kms_demo.models import ClientIdentity


def ciphertext_on_disk(tenant: Tenant, name: str) -> bytes:
    return (Path(settings.PORTICO_STORAGE_DIR) / tenant.region / tenant.slug / name).read_bytes()


@pytest.mark.usefixtures("storage_dir")
def test_rotation_keeps_old_files_readable_without_re_encrypting_them(acme: Tenant) -> None:
    with acme:
        client_files.save("before/passport.pdf", ContentFile(b"passport"))
        retained_files.save("before/ledger.csv", ContentFile(b"ledger"))
        wrapped_before = {o.name: bytes(o.wrapped_data_key) for o in StoredObject.objects.all()}
    on_disk_before = ciphertext_on_disk(acme, "before/passport.pdf")

    report = firm_rotate_keys(tenant=acme)

    assert report.versions == {"client": 2, "retention": 2}
    assert report.objects_rewrapped == 2
    with acme:
        rows = {o.name: o for o in StoredObject.objects.all()}
        assert {o.kek_version for o in rows.values()} == {2}
        assert all(bytes(rows[n].wrapped_data_key) != blob for n, blob in wrapped_before.items())
        assert client_files.open("before/passport.pdf").read() == b"passport"
        assert retained_files.open("before/ledger.csv").read() == b"ledger"
    assert ciphertext_on_disk(acme, "before/passport.pdf") == on_disk_before  # the file was not re-encrypted


@pytest.mark.usefixtures("storage_dir")
def test_after_rotation_new_data_uses_the_new_version(acme: Tenant) -> None:
    firm_rotate_keys(tenant=acme)

    with acme:
        client_files.save("after/i-485.pdf", ContentFile(b"adjustment"))
        assert StoredObject.objects.get(name="after/i-485.pdf").kek_version == 2
    assert kek_primary(tenant=acme, key_class="client").version == 2
    assert KeyEncryptionKey.objects.filter(tenant=acme, key_class="client").count() == 2  # v1 kept for old data


def test_encrypted_fields_and_their_lookups_survive_rotation(acme: Tenant) -> None:
    with acme:
        ClientIdentity.objects.create(full_name="Maria Lopez", a_number="A123456789", bank_account_number="DE89")

    report = firm_rotate_keys(tenant=acme)

    assert report.field_keys_rewrapped == 2
    with acme:
        maria = ClientIdentity.objects.get(a_number_hash="A123456789")
        assert (maria.a_number, maria.bank_account_number) == ("A123456789", "DE89")


@pytest.mark.usefixtures("storage_dir")
def test_an_interrupted_re_wrap_leaves_every_file_readable_and_can_be_finished(
    acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with acme:
        for number in range(3):
            client_files.save(f"batch/{number}.txt", ContentFile(b"%d" % number))
    original = file_key_rewrap
    calls = 0

    def failing_after_one(**kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ConnectionError("key service went away")
        return original(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "BATCH", 1)
    monkeypatch.setattr(services, "file_key_rewrap", failing_after_one)
    with pytest.raises(ConnectionError):
        firm_rotate_keys(tenant=acme)
    with acme:
        assert sorted(StoredObject.objects.values_list("kek_version", flat=True)) == [1, 1, 2]
        assert [client_files.open(f"batch/{n}.txt").read() for n in range(3)] == [b"0", b"1", b"2"]

    monkeypatch.setattr(services, "file_key_rewrap", original)
    assert firm_rewrap(tenant=acme).objects_rewrapped == 2
    with acme:
        assert set(StoredObject.objects.values_list("kek_version", flat=True)) == {2}


def test_rotation_with_aws_kms_creates_a_new_key_in_the_region_and_moves_the_alias(
    aws: object, new_firm: Callable[..., Tenant]
) -> None:
    firm = new_firm("ap-southeast-2")
    with firm:
        client_files.save("scan.pdf", ContentFile(b"scan"))
    old = kek_primary(tenant=firm, key_class="client").key_id

    firm_rotate_keys(tenant=firm)

    new = kek_primary(tenant=firm, key_class="client").key_id
    assert new != old
    assert new.startswith("arn:aws:kms:ap-southeast-2:")
    alias = kms_aws.client("ap-southeast-2").describe_key(KeyId=f"alias/portico/{firm.slug}/client")
    assert alias["KeyMetadata"]["Arn"] == new
    with firm:
        assert StoredObject.objects.get(name="scan.pdf").kek_version == 2
        assert client_files.open("scan.pdf").read() == b"scan"


@pytest.mark.usefixtures("storage_dir")
def test_the_rotate_keys_verb_shows_progress_and_a_summary(acme: Tenant) -> None:
    from tests.support.residency import portico

    with acme:
        for number in range(3):
            client_files.save(f"cli/{number}.txt", ContentFile(b"x"))

    result = portico("tenants", "rotate-keys", "acme")
    as_json = portico("tenants", "rotate-keys", "acme", "--json")

    assert result.exit_code == 0, result.output
    assert "re-wrapped 3/3 file data keys" in result.stderr
    assert "client key is now version 2 (local/acme/client/v2)" in result.stdout
    assert "no file was re-encrypted" in result.stdout
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["versions"] == {"client": 3, "retention": 3}
    assert as_json.stderr == ""


def test_rotating_an_unknown_firm_is_a_one_line_error(db: None) -> None:
    from tests.support.residency import portico

    result = portico("tenants", "rotate-keys", "nobody")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no firm with slug 'nobody'"
