"""Amazon S3 through boto3 (the only module in residency/ that talks to AWS).

One bucket per firm, created in the firm's region (LocationConstraint) with
versioning on, every public-access block set, default encryption, a policy that
denies any request not made over TLS (unless the region's ``require_tls`` is
off, for an S3 server reached over plain HTTP), and a lifecycle rule that
discards incomplete multipart uploads. Uploads are multipart from a bounded buffer and
are aborted on any failure; downloads stream a pinned object version.

Timeouts: ``PORTICO_AWS_TIMEOUT_SECONDS`` (default 20) per connect/read,
``PORTICO_AWS_MAX_ATTEMPTS`` (default 3) attempts per call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.env import env_int
from residency.errors import CrossRegionError, StorageUnavailable
from residency.regions import Region

logger = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024


@cache
def _client_for(region: str, endpoint_url: str | None, timeout: int, attempts: int) -> Any:
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": attempts, "mode": "standard"},
        # A custom endpoint (moto, MinIO) is reached by path, not by bucket subdomain.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


def client(region: Region) -> Any:
    timeout = env_int("PORTICO_AWS_TIMEOUT_SECONDS", 20, minimum=1)
    attempts = env_int("PORTICO_AWS_MAX_ATTEMPTS", 3, minimum=1)
    return _client_for(region.code, region.storage.endpoint_url, timeout, attempts)


@contextmanager
def _translated(what: str, region: Region) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise StorageUnavailable(
            f"{what}: S3 in {region.code} answered {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise StorageUnavailable(f"{what}: S3 in {region.code} is unreachable ({exc})") from None


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def tls_only_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def bucket_location(region: Region, bucket: str) -> str:
    """The region the bucket actually lives in (S3 reports us-east-1 as no constraint)."""
    with _translated(f"location of bucket {bucket}", region):
        answer = client(region).get_bucket_location(Bucket=bucket)
    return str(answer.get("LocationConstraint") or "us-east-1")


def bucket_exists(region: Region, bucket: str) -> bool:
    try:
        client(region).head_bucket(Bucket=bucket)
        return True
    except ClientError as exc:
        if _error_code(exc) in {"404", "NoSuchBucket", "NotFound"}:
            return False
        raise StorageUnavailable(f"bucket {bucket}: S3 in {region.code} answered {_error_code(exc)}") from None
    except BotoCoreError as exc:
        raise StorageUnavailable(f"bucket {bucket}: S3 in {region.code} is unreachable ({exc})") from None


def bucket_create(region: Region, bucket: str, *, firm: str) -> bool:
    """Create the firm's bucket in its region and lock it down; True if created now, False if it existed.

    An existing bucket is adopted only when it is in the right region.
    """
    s3 = client(region)
    created = False
    with _translated(f"create bucket {bucket}", region):
        params: dict[str, Any] = {"Bucket": bucket}
        if region.code != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region.code}
        try:
            s3.create_bucket(**params)
            created = True
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
    actual = bucket_location(region, bucket)
    if actual != region.code:
        raise CrossRegionError(f"bucket {bucket} is in {actual}, but firm {firm} is pinned to {region.code}")
    try:
        _lock_down(region, bucket, firm=firm)
    except BaseException:
        if created:  # a half-configured bucket must not stay behind
            try:
                s3.delete_bucket(Bucket=bucket)
            except (ClientError, BotoCoreError) as exc:
                logger.error("bucket %s was created but could not be configured nor deleted: %s", bucket, exc)
        raise
    return created


def _encryption(region: Region) -> dict[str, Any]:
    """SSE-KMS with the region's key when one is configured (terraform/ makes it), else SSE-S3."""
    key = region.storage.sse_kms_key
    if key is None:
        return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]}


def _lock_down(region: Region, bucket: str, *, firm: str) -> None:
    s3 = client(region)
    with _translated(f"configure bucket {bucket}", region):
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=_encryption(region))
        if region.storage.require_tls:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only_policy(bucket)))
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "discard-incomplete-uploads",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
        )
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "portico:firm", "Value": firm}]})


def bucket_settings(region: Region, bucket: str) -> dict[str, Any]:
    """What the bucket is actually configured with (for reports and checks)."""
    s3 = client(region)
    with _translated(f"read settings of bucket {bucket}", region):
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if _error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = None
        return {
            "location": bucket_location(region, bucket),
            "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
            "public_access_block": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
            "policy": policy,
            "encryption": s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
            "lifecycle": s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []),
        }


def bucket_delete(region: Region, bucket: str) -> int:
    """Delete every version and delete marker, every incomplete upload, then the bucket; returns versions deleted."""
    if not bucket_exists(region, bucket):
        return 0
    s3 = client(region)
    deleted = 0
    with _translated(f"delete bucket {bucket}", region):
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for upload in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            batch = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            if batch:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                deleted += len(batch)
        s3.delete_bucket(Bucket=bucket)
    return deleted


def bucket_usage(region: Region, bucket: str) -> tuple[int, int]:
    """Current objects in the bucket and their bytes (as stored)."""
    count = size = 0
    with _translated(f"list bucket {bucket}", region):
        for page in client(region).get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                count += 1
                size += int(item["Size"])
    return count, size


class MultipartWriter:
    """A write-only sink that uploads in ``PART_SIZE`` parts; ``commit`` publishes, ``abort`` discards.

    Memory is bounded by one part. Nothing is visible in the bucket until
    ``commit`` succeeds.
    """

    def __init__(self, region: Region, bucket: str, key: str) -> None:
        self.region, self.bucket, self.key = region, bucket, key
        self._s3 = client(region)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= PART_SIZE:
            self._upload_part(bytes(self._buffer[:PART_SIZE]))
            del self._buffer[:PART_SIZE]
        return len(data)

    def _upload_part(self, body: bytes) -> None:
        with _translated(f"upload {self.bucket}/{self.key}", self.region):
            if self._upload_id is None:
                started = self._s3.create_multipart_upload(Bucket=self.bucket, Key=self.key)
                self._upload_id = started["UploadId"]
            number = len(self._parts) + 1
            answer = self._s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
            self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> str:
        """Publish the object; returns its S3 version id."""
        with _translated(f"upload {self.bucket}/{self.key}", self.region):
            if self._upload_id is None:
                answer = self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer))
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                answer = self._s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
                )
        self._buffer.clear()
        return str(answer.get("VersionId") or "")

    def abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is None:
            return
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        except (ClientError, BotoCoreError) as exc:
            # The bucket's lifecycle rule discards the parts within a day; the object never became visible.
            logger.warning(
                "could not abort the upload of %s/%s (%s); S3 lifecycle will discard it", self.bucket, self.key, exc
            )


def open_reader(region: Region, bucket: str, key: str, version_id: str) -> BinaryIO:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    with _translated(f"read {bucket}/{key}", region):
        try:
            body: BinaryIO = client(region).get_object(**params)["Body"]
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchKey", "NoSuchVersion", "404"}:
                raise FileNotFoundError(f"{bucket}/{key} is missing from S3") from None
            raise
    return body


def delete_object(region: Region, bucket: str, key: str, version_id: str = "") -> None:
    """Delete one version (when given: used to undo a write) or the current object (a delete marker)."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    with _translated(f"delete {bucket}/{key}", region):
        client(region).delete_object(**params)


def object_versions(region: Region, bucket: str, key: str) -> list[str]:
    """Every stored version id of ``key`` (used to prove nothing was written)."""
    with _translated(f"list versions of {bucket}/{key}", region):
        answer = client(region).list_object_versions(Bucket=bucket, Prefix=key)
    return [v["VersionId"] for v in answer.get("Versions", []) if v["Key"] == key]


def all_object_versions(region: Region, bucket: str) -> Iterator[tuple[str, str, datetime, int]]:
    """(key, version id, last modified, size) of every stored version in the bucket (for the orphan sweep)."""
    with _translated(f"list versions of {bucket}", region):
        for page in client(region).get_paginator("list_object_versions").paginate(Bucket=bucket):
            for item in page.get("Versions", []):
                yield str(item["Key"]), str(item["VersionId"]), item["LastModified"], int(item["Size"])


def incomplete_uploads(region: Region, bucket: str) -> list[str]:
    with _translated(f"list uploads of {bucket}", region):
        answer = client(region).list_multipart_uploads(Bucket=bucket)
    return [u["Key"] for u in answer.get("Uploads", [])]
