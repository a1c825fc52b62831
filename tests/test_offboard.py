"""Export and offboarding: a complete decrypted archive, then schema, storage and keys destroyed (crypto-shredding)."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django_tenants.utils import schema_exists

from kms import aws as kms_aws
from kms import files
from kms.errors import KeyNotFound, KmsError
from kms.keys import Wrapped, envelope_context, keks_destroy
from kms.models import FieldKey, KeyEncryptionKey
from kms.providers import KekRef, provider_for
from residency import s3
from residency.backends import placement
from residency.models import StoredObject
from residency.regions import get_region
from residency.storage import client_files, retained_files
from tenants.models import Domain, Tenant
from tests.kms_demo.models import ClientIdentity

pytestmark = pytest.mark.usefixtures("storage_dir")

PASSPORT = b"%PDF passport of Maria Lopez " * 500
LEDGER = b"date,client,amount\n2025-01-02,Maria Lopez,150000\n"


def portico(*args: str) -> Any:
    from tests.support.residency import portico

    return portico(*args)


def archive_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}  # type: ignore[union-attr]


def a_firm_with_data(tenant: Tenant) -> None:
    with tenant:
        client_files.save("matters/1/passport.pdf", ContentFile(PASSPORT))
        retained_files.save("ledger/2025.csv", ContentFile(LEDGER))
        ClientIdentity.objects.create(full_name="Maria Lopez", a_number="A123456789", bank_account_number="DE89")


def test_the_export_holds_every_row_and_every_decrypted_file_matching_the_manifest(
    acme: Tenant, tmp_path: Path
) -> None:
    a_firm_with_data(acme)
    out = tmp_path / "acme.tar.gz"

    result = portico("tenants", "export", "acme", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert f"to {out}" in result.stdout
    assert "rows: " in result.stderr  # progress
    members = archive_members(out)
    manifest = json.loads(members["manifest.json"])
    assert manifest["firm"]["slug"] == "acme"
    assert {f["name"]: f["sha256"] for f in manifest["files"]} == {
        "ledger/2025.csv": hashlib.sha256(LEDGER).hexdigest(),
        "matters/1/passport.pdf": hashlib.sha256(PASSPORT).hexdigest(),
    }
    for listed in manifest["files"]:
        assert hashlib.sha256(members[listed["path"]]).hexdigest() == listed["sha256"]
    for table, count in manifest["tables"].items():
        assert members[f"rows/{table}.jsonl"].count(b"\n") == count
    assert manifest["tables"]["core_user"] >= 1
    assert manifest["row_count"] == sum(manifest["tables"].values())
    [identity] = [json.loads(line) for line in members["rows/kms_demo_clientidentity.jsonl"].splitlines()]
    assert (identity["a_number"], identity["bank_account_number"]) == ("A123456789", "DE89")  # decrypted


def test_export_refuses_to_overwrite_an_existing_file(acme: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "taken.tar"
    out.write_bytes(b"keep me")

    result = portico("tenants", "export", "acme", "--out", str(out))

    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: acme: {out} already exists; choose another path"
    assert out.read_bytes() == b"keep me"


def _kept_aside(tenant: Tenant, name: str) -> tuple[bytes, StoredObject]:
    with tenant:
        record = StoredObject.objects.get(name=name)
        return client_files.open_raw(name).read(), record


def test_offboarding_exports_then_destroys_schema_storage_and_keys(
    new_firm: Callable[..., Tenant], tmp_path: Path
) -> None:
    firm = new_firm("eu-central-1")
    a_firm_with_data(firm)
    ciphertext, record = _kept_aside(firm, "matters/1/passport.pdf")
    root = Path(settings.PORTICO_STORAGE_DIR) / firm.region / firm.slug
    out = tmp_path / "offboarded.tar.gz"

    result = portico("tenants", "offboard", firm.slug, "--yes", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "2 keys destroyed" in result.stdout  # client and retention, every version
    assert "status offboarding" in result.stderr
    assert hashlib.sha256(archive_members(out)["files/matters/1/passport.pdf"]).hexdigest() == record.sha256
    assert not schema_exists(firm.schema_name)
    assert not root.exists()
    assert not Tenant.objects.filter(slug=firm.slug).exists()
    assert not Domain.objects.filter(domain__startswith=f"{firm.slug}.").exists()
    assert not KeyEncryptionKey.objects.filter(key_id__startswith=f"local/{firm.slug}/").exists()
    assert not FieldKey.objects.filter(tenant_id=firm.pk).exists()
    # Crypto-shredding: the ciphertext and its wrapped data key, kept aside, open with no key left anywhere.
    context = envelope_context(tenant=firm, key_class="client", purpose="file", name=record.name)
    for kek in KeyEncryptionKey.objects.all():
        with pytest.raises(KmsError):
            provider_for(kek.provider).unwrap(
                KekRef(kek.key_id, kek.region, bytes(kek.sealed_key or b"")), bytes(record.wrapped_data_key), context
            )
    with pytest.raises(KeyNotFound):
        files.file_key_open(
            tenant=firm, key_class="client", name=record.name, wrapped=Wrapped(1, bytes(record.wrapped_data_key))
        )
    assert b"Maria Lopez" not in ciphertext


def test_offboarding_on_aws_deletes_every_version_and_the_bucket_and_schedules_key_deletion(
    aws: object, new_firm: Callable[..., Tenant], tmp_path: Path
) -> None:
    """moto accepts Decrypt on a key pending deletion, which AWS KMS refuses; so the test checks the key state."""
    firm = new_firm("ap-southeast-2")
    a_firm_with_data(firm)
    place = placement(firm)
    arns = list(KeyEncryptionKey.objects.filter(tenant=firm).values_list("key_id", flat=True))

    result = portico("tenants", "offboard", firm.slug, "--yes", "--out", str(tmp_path / "a.tar"), "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["storage_location"] == f"s3://{place.bucket}"
    assert report["objects_deleted"] == 2
    assert sorted(report["keys_destroyed"]) == sorted(arns)
    assert not s3.bucket_exists(get_region(firm.region), place.bucket)
    kms = kms_aws.client(firm.region)
    for arn in arns:
        assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert not [a for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith(f"alias/portico/{firm.slug}/")]


def test_a_client_erasure_destroys_client_keys_but_retained_records_still_decrypt(
    new_firm: Callable[..., Tenant],
) -> None:
    firm = new_firm("eu-central-1")
    a_firm_with_data(firm)

    destroyed = keks_destroy(tenant=firm, key_classes=["client"])

    assert {kek.key_class for kek in destroyed} == {"client"}
    with firm:
        assert retained_files.open("ledger/2025.csv").read() == LEDGER
        assert list(ClientIdentity.objects.values_list("bank_account_number", flat=True)) == ["DE89"]
        with pytest.raises(KeyNotFound):
            client_files.open("matters/1/passport.pdf")
        with pytest.raises(KeyNotFound):
            ClientIdentity.objects.values_list("a_number", flat=True).get()


def test_offboarding_without_yes_and_without_a_terminal_is_refused(acme: Tenant) -> None:
    result = portico("tenants", "offboard", "acme")

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: offboarding acme destroys its data: confirm with --yes"
    acme.refresh_from_db()
    assert acme.status == "active"
    assert schema_exists(acme.schema_name)


def test_offboarding_to_an_archive_path_that_exists_changes_nothing(acme: Tenant, tmp_path: Path) -> None:
    taken = tmp_path / "taken.tar.gz"
    taken.write_bytes(b"an earlier export")

    result = portico("tenants", "offboard", "acme", "--yes", "--out", str(taken))

    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"error: acme: {taken} already exists; choose another path")
    acme.refresh_from_db()
    assert acme.status == "active"


def test_offboarding_an_unknown_firm_is_a_one_line_error(db: None) -> None:
    result = portico("tenants", "offboard", "nobody", "--yes")

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no firm with slug 'nobody'"
