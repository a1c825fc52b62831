"""The one way to store a firm's files: encrypted, region-pinned, a Django ``Storage``.

    from residency.storage import FirmStorage, client_files, retained_files

    class Document(models.Model):
        file = models.FileField(storage=client_files)     # or default_storage: the same
    name = client_files.save("matters/42/passport.pdf", uploaded_file)
    response = FileResponse(client_files.open(name), as_attachment=True, filename="passport.pdf")
    StreamingHttpResponse(client_files.stream(name))

Every call works on the *current* firm (the connection's tenant: ``with
tenant:`` or the request's subdomain) and computes the firm's directory or
bucket afresh (``residency.backends.placement``). A storage may be bound to a
region (``FirmStorage(region="eu-central-1")``): asked to touch a firm of
another region it raises ``CrossRegionError``, as does a bucket that is not in
the firm's region or an object recorded in another region.

Writes: a fresh data key per file (``kms.files``), wrapped by the firm's KEK of
the storage's key class (``client`` or ``retention``); the plaintext streams
through Tink's streaming AEAD into the backend in 1 MiB chunks, and the
inventory row (``residency.StoredObject``) is written only once the ciphertext
is complete, so a failure at any step leaves neither an object nor a row.
Names are never overwritten. Reads stream and authenticate every segment.

The row commits with the caller's transaction, after the object exists; if that
transaction fails instead (an error later in the use case, a connection killed
mid-upload), the object would stay without a row. A use case that stores files
runs under ``storage_atomic`` (``transaction.atomic`` that deletes the objects
written inside it again when the block does not commit); whatever a crash
leaves anyway, ``residency.orphans`` sweeps after a grace period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime
from typing import IO, Any, BinaryIO

from django.core.files import File
from django.core.files.storage import Storage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils.deconstruct import deconstructible

from kms import files
from kms.errors import KmsError
from kms.keys import Wrapped, is_stale_primary
from kms.models import KeyClass
from residency.backends import Placement, Sink, check_object_name, placement
from residency.errors import CrossRegionError, ResidencyError, StorageMisconfigured
from residency.models import StoredObject
from residency.undo import Written, storage_atomic, undo_if_not_committed
from tenants.current import current_firm
from tenants.models import Tenant

CHUNK_SIZE = 1 << 20


@deconstructible(path="residency.storage.FirmStorage")
class FirmStorage(Storage):
    def __init__(self, *, key_class: str = KeyClass.CLIENT, region: str | None = None) -> None:
        if key_class not in KeyClass.values:
            raise ValueError(f"unknown key class {key_class!r} (known: {', '.join(KeyClass.values)})")
        self.key_class = key_class
        self.region = region

    # -- where
    def _firm(self) -> tuple[Tenant, Placement]:
        tenant = current_firm()
        if self.region is not None and tenant.region != self.region:
            raise CrossRegionError(
                f"storage for region {self.region} refuses firm {tenant.slug}, which is pinned to {tenant.region}"
            )
        return tenant, placement(tenant)

    def _record(self, name: str) -> tuple[Tenant, Placement, StoredObject]:
        tenant, place = self._firm()
        record = StoredObject.objects.filter(name=name).first()
        if record is None:
            raise FileNotFoundError(f"{tenant.slug} has no stored object {name!r}")
        if record.region != tenant.region:
            raise CrossRegionError(
                f"{tenant.slug}/{name} is recorded in {record.region}, not the firm's {tenant.region}"
            )
        if (record.backend, record.bucket) != (place.backend, place.bucket):
            where = f"s3://{record.bucket}" if record.bucket else record.backend
            raise StorageMisconfigured(
                f"{tenant.slug}/{name} is stored in {where}, "
                f"but region {tenant.region} is configured for {place.location}"
            )
        return tenant, place, record

    # -- writing
    def _save(self, name: str, content: File) -> str:  # type: ignore[type-arg]
        tenant, place = self._firm()
        name = check_object_name(name)
        sink = place.open_writer(name)
        try:
            plaintext, key = self._encrypting(tenant, name, sink)  # the key service first: nothing written yet
            with plaintext:
                sha256, size = _copy(content, plaintext)
            version_id = sink.commit()  # a name already on disk is refused here, never overwritten
        except FileExistsError:
            sink.abort()
            raise _exists(tenant, name) from None
        except (KmsError, ResidencyError) as exc:
            sink.abort()
            raise type(exc)(f"{tenant.slug}/{name} was not stored: {exc}") from None
        except BaseException:
            sink.abort()
            raise
        record = StoredObject(
            name=name,
            key_class=self.key_class,
            kek_version=key.wrapped.kek_version,
            wrapped_data_key=key.wrapped.blob,
            size=size,
            stored_size=getattr(sink, "size", 0),
            sha256=sha256,
            region=tenant.region,
            backend=place.backend,
            bucket=place.bucket,
            version_id=version_id,
        )
        try:
            self._insert(tenant, record, key)
        except BaseException as exc:
            place.delete(name, version_id)  # S3 keeps versions: remove exactly the one written here
            if isinstance(exc, IntegrityError):
                raise _exists(tenant, name) from None
            if isinstance(exc, KmsError):
                raise type(exc)(f"{tenant.slug}/{name} was not stored: {exc}") from None
            raise
        undo_if_not_committed(Written(tenant=tenant, place=place, name=name, version_id=version_id))
        return name

    def _encrypting(self, tenant: Tenant, name: str, sink: Sink) -> tuple[BinaryIO, files.FileKey]:
        """A fresh data key, wrapped; and a writer that encrypts into ``sink``."""
        key = files.file_key_new(tenant=tenant, key_class=self.key_class, name=name, cached=True)
        return files.encrypting_writer(key.aead, sink, tenant=tenant, name=name), key  # type: ignore[arg-type]

    def _insert(self, tenant: Tenant, record: StoredObject, key: files.FileKey) -> None:
        """Record the object; if its key was wrapped under a remembered primary that is no longer
        primary (rotated or destroyed meanwhile), wrap the data key again and record that."""
        try:
            with transaction.atomic() if connection.in_atomic_block else nullcontext():  # keep the caller's
                record.save(force_insert=True)
        except DatabaseError as exc:
            if not is_stale_primary(exc):
                raise
            wrapped = files.file_key_wrap_afresh(tenant=tenant, key_class=self.key_class, name=record.name, key=key)
            record.kek_version, record.wrapped_data_key = wrapped.kek_version, wrapped.blob
            record.save(force_insert=True)

    # -- reading
    def _open(self, name: str, mode: str = "rb") -> File:  # type: ignore[type-arg]
        if mode not in {"r", "rb"}:
            raise ValueError("stored objects are immutable: open them for reading ('rb'), save new ones with save()")
        tenant, place, record = self._record(name)
        source = place.open_reader(name, record.version_id, size=record.stored_size)
        try:
            stream = self._decrypting(tenant, record, source)
        except BaseException:
            source.close()
            raise
        opened = File(stream, name=name)
        opened.size = record.size
        return opened

    def _decrypting(self, tenant: Tenant, record: StoredObject, source: BinaryIO) -> BinaryIO:
        aead = files.file_key_open(
            tenant=tenant,
            key_class=record.key_class,
            name=record.name,
            wrapped=Wrapped(record.kek_version, bytes(record.wrapped_data_key)),
        )
        return files.decrypting_reader(aead, source, tenant=tenant, name=record.name)

    def stream(self, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The plaintext in chunks, for ``StreamingHttpResponse``; authentication is checked segment by segment."""
        opened = self.open(name)
        try:
            while chunk := opened.read(chunk_size):
                yield chunk
        finally:
            opened.close()

    # -- the rest of Django's Storage API
    def delete(self, name: str) -> None:
        """Delete the object and its data key (the stored version is removed, not hidden)."""
        _, place = self._firm()
        record = StoredObject.objects.filter(name=name).first()
        if record is None:
            return
        with transaction.atomic():
            StoredObject.objects.filter(pk=record.pk).delete()
        place.delete(name, record.version_id)

    def exists(self, name: str) -> bool:
        self._firm()
        return StoredObject.objects.filter(name=name).exists()

    def size(self, name: str) -> int:
        return self._record(name)[2].size

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        self._firm()
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        directories, names = set(), []
        for name in StoredObject.objects.filter(name__startswith=prefix).values_list("name", flat=True):
            rest = name[len(prefix) :]
            if "/" in rest:
                directories.add(rest.split("/", 1)[0])
            else:
                names.append(rest)
        return sorted(directories), sorted(names)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("firm files have no public URL: serve them through a view that checks access")

    def get_created_time(self, name: str) -> datetime:
        return self._record(name)[2].created

    get_modified_time = get_created_time

    def sha256(self, name: str) -> str:
        return self._record(name)[2].sha256

    def open_raw(self, name: str) -> IO[Any]:
        """The ciphertext as stored (for backups and tests); useless without the firm's keys."""
        _, place, record = self._record(name)
        return place.open_reader(name, record.version_id)


def _exists(tenant: Tenant, name: str) -> FileExistsError:
    return FileExistsError(f"{tenant.slug} already has an object {name!r}; objects are never overwritten")


def _copy(content: File, destination: BinaryIO) -> tuple[str, int]:  # type: ignore[type-arg]
    """Copy in 1 MiB chunks; returns the SHA-256 (hex) and size of what was copied.

    Hashing runs on a helper thread, overlapped with encrypting and writing the
    same chunk (hashlib releases the GIL): it would otherwise cost about as
    much as the encryption itself.
    """
    digest, size, pending = hashlib.sha256(), 0, None
    for chunk in content.chunks(CHUNK_SIZE):
        if pending is not None:
            pending.result()
        pending = _hasher.submit(digest.update, chunk)
        destination.write(chunk)
        size += len(chunk)
    if pending is not None:
        pending.result()
    return digest.hexdigest(), size


_hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="portico-sha256")

__all__ = ["CHUNK_SIZE", "FirmStorage", "client_files", "retained_files", "storage_atomic"]

client_files = FirmStorage(key_class=KeyClass.CLIENT)
retained_files = FirmStorage(key_class=KeyClass.RETENTION)
