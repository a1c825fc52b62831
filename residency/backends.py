"""Where a firm's ciphertext bytes go: a local directory or the firm's S3 bucket, in the firm's region.

``placement(tenant)`` computes, from the firm and the region registry, the one
place its objects may live; it is called on every storage operation, so nothing
is fixed by an earlier request. Both backends share a small interface:
``open_writer`` (a sink published by ``commit`` or discarded by ``abort``, so
a failed write leaves nothing), ``open_reader``, ``delete``, ``usage``,
``listing`` and ``discard`` (the orphan sweep), ``ensure`` (provisioning) and
``destroy`` (offboarding). These move bytes only;
encryption happens above, in ``residency.storage``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from django.conf import settings

from residency import s3
from residency.errors import CrossRegionError
from residency.readahead import ReadAhead
from residency.regions import Region, get_region
from tenants.models import Tenant

PARTIAL_SUFFIX = ".partial"
READ_AHEAD_FROM = 4 << 20  # smaller objects are read in one go: a helper thread costs more than it saves


def check_object_name(name: str) -> str:
    """Object keys are relative POSIX paths without tricks (no '..', no absolute, no empty parts)."""
    path = PurePosixPath(name)
    if (
        not name
        or len(name) > 512
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or any(part in {"", ".", ".."} for part in name.split("/"))
        or path.name.endswith(PARTIAL_SUFFIX)
    ):
        raise ValueError(f"invalid object name {name!r}")
    return name


class Sink(Protocol):
    def write(self, data: bytes) -> int: ...

    def commit(self) -> str: ...

    def abort(self) -> None: ...


class _LocalSink:
    """Writes to a hidden temporary file beside the target; ``commit`` links it into place (never clobbers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}{PARTIAL_SUFFIX}")
        self._file = open(self.temporary, "xb")  # noqa: SIM115 - closed by commit/abort
        self.size = 0

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self.size += len(data)
        return len(data)

    def commit(self) -> str:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.link(self.temporary, self.path)  # FileExistsError rather than overwrite another object
        finally:
            self.temporary.unlink(missing_ok=True)
        return ""

    def abort(self) -> None:
        self._file.close()
        self.temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class Listed:
    """One object as the backend lists it."""

    name: str
    version_id: str  # the S3 version; "" on the local backend
    modified: datetime
    size: int
    partial: bool = False  # a local temporary file of a write that never completed


@dataclass(frozen=True)
class Placement:
    """The one place a firm's objects live: its region, and a directory or bucket there."""

    tenant: Tenant
    region: Region

    @property
    def backend(self) -> str:
        return self.region.storage.backend

    @property
    def bucket(self) -> str:
        return self.region.bucket_name(self.tenant.slug) if self.backend == "s3" else ""

    @property
    def root(self) -> Path:
        return Path(settings.PORTICO_STORAGE_DIR) / self.region.code / self.tenant.slug

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}" if self.backend == "s3" else str(self.root)

    # -- objects
    def open_writer(self, name: str) -> Sink:
        check_object_name(name)
        if self.backend == "s3":
            self.verify_bucket_region()
            return s3.MultipartWriter(self.region, self.bucket, name)
        return _LocalSink(self.root / name)

    def open_reader(self, name: str, version_id: str = "", *, size: int | None = None) -> BinaryIO:
        """The stored bytes; read ahead on a helper thread unless ``size`` says the object is small."""
        check_object_name(name)
        if self.backend == "s3":
            self.verify_bucket_region()
            source = s3.open_reader(self.region, self.bucket, name, version_id)
        else:
            source = open(self.root / name, "rb")  # noqa: SIM115 - the caller closes it
        if size is not None and size <= READ_AHEAD_FROM:
            return source
        return ReadAhead(source)  # type: ignore[return-value]

    def delete(self, name: str, version_id: str = "") -> None:
        check_object_name(name)
        if self.backend == "s3":
            s3.delete_object(self.region, self.bucket, name, version_id)
        else:
            (self.root / name).unlink(missing_ok=True)

    def listing(self) -> Iterator[Listed]:
        """Everything actually stored in the firm's directory or bucket, rows or not (for the orphan sweep)."""
        if self.backend == "s3":
            for name, version_id, modified, size in s3.all_object_versions(self.region, self.bucket):
                yield Listed(name=name, version_id=version_id, modified=modified, size=size)
            return
        for directory, _, file_names in os.walk(self.root):
            for file_name in file_names:
                path = Path(directory) / file_name
                try:
                    status = path.stat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                yield Listed(
                    name=path.relative_to(self.root).as_posix(),
                    version_id="",
                    modified=datetime.fromtimestamp(status.st_mtime, tz=UTC),
                    size=status.st_size,
                    partial=file_name.endswith(PARTIAL_SUFFIX),
                )

    def discard(self, item: Listed) -> None:
        """Delete one listed object (exactly its S3 version), or a temporary file a crashed write left."""
        if item.partial:
            path = self.root / item.name
            if path.name.endswith(PARTIAL_SUFFIX) and self.root in path.parents:
                path.unlink(missing_ok=True)
            return
        self.delete(item.name, item.version_id)

    def usage(self) -> tuple[int, int]:
        """Objects and bytes actually stored (ciphertext)."""
        if self.backend == "s3":
            return s3.bucket_usage(self.region, self.bucket) if s3.bucket_exists(self.region, self.bucket) else (0, 0)
        count = size = 0
        for directory, _, files in os.walk(self.root):
            for file_name in files:
                if not file_name.endswith(PARTIAL_SUFFIX):
                    count += 1
                    size += os.path.getsize(os.path.join(directory, file_name))
        return count, size

    def actual_location(self) -> str:
        """Where the storage says it is: the bucket's region, or this host's directory."""
        if self.backend == "s3":
            return (
                s3.bucket_location(self.region, self.bucket)
                if s3.bucket_exists(self.region, self.bucket)
                else "missing"
            )
        return self.region.code if self.root.is_dir() else "missing"

    # -- lifecycle
    def ensure(self) -> bool:
        """Create the firm's directory or bucket; True if it was created now."""
        if self.backend == "s3":
            created = s3.bucket_create(self.region, self.bucket, firm=self.tenant.slug)
            _verified.add((self.region.code, self.region.storage.endpoint_url, self.bucket))
            return created
        existed = self.root.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        return not existed

    def destroy(self) -> int:
        """Delete every object (every S3 version) and the bucket or directory; returns what was deleted."""
        if self.backend == "s3":
            _verified.discard((self.region.code, self.region.storage.endpoint_url, self.bucket))
            return s3.bucket_delete(self.region, self.bucket)
        count = self.usage()[0]
        shutil.rmtree(self.root, ignore_errors=True)
        return count

    def verify_bucket_region(self) -> None:
        """Refuse a bucket that is not in the firm's region (checked once per process and bucket)."""
        marker = (self.region.code, self.region.storage.endpoint_url, self.bucket)
        if marker in _verified:
            return
        actual = s3.bucket_location(self.region, self.bucket)
        if actual != self.region.code:
            raise CrossRegionError(
                f"bucket {self.bucket} is in {actual}, but firm {self.tenant.slug} "
                f"is pinned to {self.region.code}: refused"
            )
        with _verified_lock:
            _verified.add(marker)


_verified: set[tuple[str, str | None, str]] = set()
_verified_lock = threading.Lock()


def placement(tenant: Tenant) -> Placement:
    return Placement(tenant=tenant, region=get_region(tenant.region))
