"""Region-pinned storage on S3 with AWS KMS keys, against moto in server mode (S3 and KMS over HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from django.core.files.base import ContentFile, File

from kms import aws as kms_aws
from kms.errors import KeyServiceUnavailable
from kms.keys import kek_primary
from residency import backends, s3
from residency.backends import placement
from residency.errors import CrossRegionError, StorageUnavailable
from residency.models import StoredObject
from residency.regions import get_region
from residency.storage import FirmStorage, client_files
from tenants.models import Tenant

if TYPE_CHECKING:
    from tests.support.residency import OutageProxy
    from tests.support.servers import MotoServer

TLS_REGION = "ca-central-1"  # buckets get the TLS-only policy (see tests/support/residency.py)
FILES_REGION = "ap-southeast-2"  # files move through moto's plain HTTP

SCAN = b"%PDF-1.7 I-94 record of Maria Lopez " * 4000


def bucket_of(tenant: Tenant) -> str:
    return placement(tenant).bucket


def versions(tenant: Tenant, name: str) -> list[str]:
    return s3.object_versions(get_region(tenant.region), bucket_of(tenant), name)


def test_a_firms_bucket_is_created_in_its_region_and_locked_down(
    aws: MotoServer, new_firm: Callable[..., Tenant]
) -> None:
    firm = new_firm(TLS_REGION)

    settings = s3.bucket_settings(get_region(firm.region), bucket_of(firm))

    assert bucket_of(firm) == f"portico-ca-central-1-{firm.slug}"
    assert settings["location"] == "ca-central-1"
    assert settings["versioning"] == "Enabled"
    assert settings["public_access_block"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    [deny] = settings["policy"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    assert settings["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert any("AbortIncompleteMultipartUpload" in rule for rule in settings["lifecycle"])


def test_a_firms_keys_are_kms_keys_in_its_region(aws: MotoServer, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm(TLS_REGION)

    for key_class in ("client", "retention"):
        kek = kek_primary(tenant=firm, key_class=key_class)
        assert (kek.provider, kek.region) == ("aws", "ca-central-1")
        assert kek.key_id.startswith("arn:aws:kms:ca-central-1:")
        described = kms_aws.client("ca-central-1").describe_key(KeyId=f"alias/portico/{firm.slug}/{key_class}")
        assert described["KeyMetadata"]["Arn"] == kek.key_id


def test_files_go_to_the_firms_bucket_as_ciphertext_and_read_back(
    aws: MotoServer, new_firm: Callable[..., Tenant]
) -> None:
    firm = new_firm(FILES_REGION)
    with firm:
        name = client_files.save("matters/3/i-94.pdf", ContentFile(SCAN))
        record = StoredObject.objects.get(name=name)
        with client_files.open_raw(name) as raw:
            stored = raw.read()
        read_back = client_files.open(name).read()

    assert read_back == SCAN
    assert b"Maria Lopez" not in stored
    assert (record.backend, record.bucket, record.region) == ("s3", bucket_of(firm), "ap-southeast-2")
    assert versions(firm, name) == [record.version_id]


def test_a_large_file_is_uploaded_in_parts_and_streams_back(aws: MotoServer, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm(FILES_REGION)
    big = bytes(range(256)) * (12 * 4096)  # 12 MiB: two 8 MiB parts
    with firm:
        name = client_files.save("archive/big.bin", ContentFile(big))
        assert b"".join(client_files.stream(name)) == big


def test_a_write_through_another_regions_storage_is_refused(aws: MotoServer, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm(FILES_REGION)

    with firm, pytest.raises(CrossRegionError, match="pinned to ap-southeast-2"):
        FirmStorage(region="ca-central-1").save("x.pdf", ContentFile(b"x"))
    assert versions(firm, "x.pdf") == []


def test_onboarding_refuses_a_bucket_that_already_exists_in_another_region(
    aws: MotoServer, new_firm: Callable[..., Tenant]
) -> None:
    from residency.provisioning import firm_provision
    from tenants.services import tenant_create

    squatter = boto3.client("s3", region_name="us-east-1", endpoint_url=aws.endpoint_url)
    squatter.create_bucket(Bucket="portico-ca-central-1-misplaced")

    def onboard() -> None:
        onboarded = tenant_create(
            slug="misplaced", name="Misplaced LLP", region="ca-central-1", admin_email="a@misplaced.test"
        )
        firm_provision(tenant=onboarded.tenant)  # part of tenant_create once onboarding calls it

    with pytest.raises(CrossRegionError, match="portico-ca-central-1-misplaced is in us-east-1"):
        onboard()
    # The keys created before the refusal were not left behind in KMS.
    aliases = kms_aws.client("ca-central-1").list_aliases()["Aliases"]
    assert not [a for a in aliases if a["AliasName"].startswith("alias/portico/misplaced/")]


def test_a_bucket_recreated_in_another_region_is_refused(aws: MotoServer, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm(FILES_REGION)
    bucket = bucket_of(firm)
    boto3.client("s3", region_name="ap-southeast-2", endpoint_url=aws.endpoint_url).delete_bucket(Bucket=bucket)
    boto3.client("s3", region_name="us-east-1", endpoint_url=aws.endpoint_url).create_bucket(Bucket=bucket)
    backends._verified.clear()  # as a new process would, the bucket's region is checked afresh

    with firm, pytest.raises(CrossRegionError, match=rf"bucket {bucket} is in us-east-1, but firm .* ap-southeast-2"):
        client_files.save("x.pdf", ContentFile(b"x"))
    assert versions(firm, "x.pdf") == []


class _Chunks(File):  # type: ignore[type-arg]
    """Upload content that calls ``during`` after ``after`` bytes (to fail mid-upload)."""

    def __init__(self, size: int, after: int, during: Callable[[], None]) -> None:
        super().__init__(None, name="upload.bin")
        self.size, self.after, self.during = size, after, during

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        sent = 0
        while sent < self.size:
            if sent >= self.after:
                self.during()
            yield b"\x5a" * (1 << 20)
            sent += 1 << 20


def test_a_key_service_outage_before_upload_writes_nothing_and_says_why(
    aws: MotoServer,
    new_firm: Callable[..., Tenant],
    endpoints: Callable[..., None],
    outage_proxy: Callable[[], OutageProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kms_link = outage_proxy()
    endpoints(s3=aws.endpoint_url, kms=kms_link.url)
    firm = new_firm(FILES_REGION)
    monkeypatch.setenv("PORTICO_AWS_MAX_ATTEMPTS", "1")
    kms_link.cut()

    with (
        firm,
        pytest.raises(KeyServiceUnavailable, match=r"was not stored: .* AWS KMS in ap-southeast-2 is unreachable"),
    ):
        client_files.save("matters/9/passport.pdf", ContentFile(SCAN))

    with firm:
        assert not StoredObject.objects.filter(name="matters/9/passport.pdf").exists()
    assert versions(firm, "matters/9/passport.pdf") == []
    assert s3.incomplete_uploads(get_region(firm.region), bucket_of(firm)) == []


def test_a_storage_outage_mid_upload_leaves_no_object_and_no_row(
    aws: MotoServer,
    new_firm: Callable[..., Tenant],
    endpoints: Callable[..., None],
    outage_proxy: Callable[[], OutageProxy],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    s3_link = outage_proxy()
    endpoints(s3=s3_link.url, kms=aws.endpoint_url)
    firm = new_firm(FILES_REGION)
    monkeypatch.setenv("PORTICO_AWS_MAX_ATTEMPTS", "1")
    upload = _Chunks(size=20 << 20, after=10 << 20, during=s3_link.cut)  # the first 8 MiB part is stored

    with (
        firm,
        pytest.raises(StorageUnavailable, match=r"was not stored: upload .* S3 in ap-southeast-2 is unreachable"),
    ):
        client_files.save("archive/scan.tiff", upload)

    s3_link.restore()
    with firm:
        assert not StoredObject.objects.filter(name="archive/scan.tiff").exists()
    assert versions(firm, "archive/scan.tiff") == []
    # The abort could not reach S3 either; the bucket's lifecycle rule discards the stored part.
    assert "S3 lifecycle will discard it" in caplog.text
    rules = s3.bucket_settings(get_region(firm.region), bucket_of(firm))["lifecycle"]
    assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_a_failure_of_the_upload_source_aborts_the_multipart_upload(
    aws: MotoServer, new_firm: Callable[..., Tenant]
) -> None:
    firm = new_firm(FILES_REGION)

    def client_disconnects() -> None:
        raise ConnectionResetError("client went away")

    with firm, pytest.raises(ConnectionResetError):
        client_files.save("archive/partial.bin", _Chunks(size=20 << 20, after=10 << 20, during=client_disconnects))

    assert versions(firm, "archive/partial.bin") == []
    assert s3.incomplete_uploads(get_region(firm.region), bucket_of(firm)) == []
    with firm:
        assert not StoredObject.objects.filter(name="archive/partial.bin").exists()
