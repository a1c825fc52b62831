"""Firm buckets encrypted by default with the region's KMS key (SSE-KMS), as terraform/ configures them.

Against moto in server mode. The key is the one Terraform's module makes per region
(``aws_kms_key.storage``); Portico names it in the region registry (``storage.sse_kms_key``),
so a bucket it creates, or adopts from Terraform, keeps SSE-KMS rather than falling back to SSE-S3.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from residency import regions, s3
from residency.backends import placement
from residency.regions import get_region
from residency.storage import client_files
from tenants.models import Tenant

if TYPE_CHECKING:
    from tests.support.servers import MotoServer

FILES_REGION = "ap-southeast-2"  # no TLS-only policy: moto speaks plain HTTP (tests/support/residency.py)


def write_regions_file(path: Path, *, s3_endpoint: str) -> Path:
    from tests.support.residency import write_regions_file as write

    return write(path, s3_endpoint=s3_endpoint)


@pytest.fixture
def storage_key(aws: MotoServer, tmp_path: Path) -> Iterator[str]:
    kms = boto3.client("kms", region_name=FILES_REGION, endpoint_url=aws.endpoint_url)
    arn = kms.create_key(Description="Portico storage (terraform: aws_kms_key.storage)")["KeyMetadata"]["Arn"]
    original = os.environ["PORTICO_REGIONS_FILE"]
    path = write_regions_file(tmp_path / "regions.json", s3_endpoint=aws.endpoint_url)
    spec = json.loads(path.read_text())
    spec[FILES_REGION]["storage"]["sse_kms_key"] = arn
    path.write_text(json.dumps(spec))
    os.environ["PORTICO_REGIONS_FILE"] = str(path)
    regions.reload()
    yield arn
    os.environ["PORTICO_REGIONS_FILE"] = original
    regions.reload()


def test_a_firms_bucket_and_files_use_the_regions_kms_key(storage_key: str, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm(FILES_REGION)
    region = get_region(firm.region)
    bucket = placement(firm).bucket

    [rule] = s3.bucket_settings(region, bucket)["encryption"]["Rules"]
    with firm:
        name = client_files.save("matters/1/passport.pdf", ContentFile(b"%PDF-1.7 passport scan"))
        assert client_files.open(name).read() == b"%PDF-1.7 passport scan"
    stored = s3.client(region).head_object(Bucket=bucket, Key=name)

    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": storage_key}
    assert rule["BucketKeyEnabled"] is True
    assert stored["ServerSideEncryption"] == "aws:kms"


def test_a_storage_key_of_another_region_is_refused(aws: MotoServer, tmp_path: Path) -> None:
    path = write_regions_file(tmp_path / "regions.json", s3_endpoint=aws.endpoint_url)
    spec = json.loads(path.read_text())
    spec[FILES_REGION]["storage"]["sse_kms_key"] = "arn:aws:kms:us-east-1:111122223333:key/elsewhere"
    path.write_text(json.dumps(spec))
    original = os.environ["PORTICO_REGIONS_FILE"]
    os.environ["PORTICO_REGIONS_FILE"] = str(path)
    regions.reload()
    try:
        with pytest.raises(ImproperlyConfigured, match="must be the ARN of a KMS key in ap-southeast-2"):
            regions.registry()
    finally:
        os.environ["PORTICO_REGIONS_FILE"] = original
        regions.reload()
