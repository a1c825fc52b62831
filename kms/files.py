"""Streaming encryption of files: a fresh data key per file, Tink's streaming AEAD, bound to firm and object.

Each file gets its own data key, a fresh Tink keyset of
``AES256_GCM_HKDF_1MB`` (AES-256-GCM in 1 MiB segments, per-file key derived
with HKDF from a random salt; Tink's documented ciphertext format). The keyset is
wrapped by the firm's KEK (``kms.keys.wrap``) and stored next to the object by
the caller, never with the ciphertext. Associated data names firm and object,
so a ciphertext copied to another firm or object key fails authentication.

Memory stays flat: the writer and reader hold one segment at a time.

    key = file_key_new(tenant=firm, key_class="client", name="docs/passport.pdf")
    with encrypting_writer(key.aead, sink, tenant=firm, name="docs/passport.pdf") as out:
        out.write(chunk) ...
    reader = decrypting_reader(file_key_open(...), source, tenant=firm, name="docs/passport.pdf")
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import tink
from tink import proto_keyset_format, secret_key_access, streaming_aead

from kms import keys
from kms.errors import DecryptionFailed
from tenants.models import Tenant

streaming_aead.register()

FILE_KEY_TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
PURPOSE = "file"


@dataclass(frozen=True)
class FileKey:
    """A file's data key: usable primitive, and its wrapped form to store next to the object."""

    aead: streaming_aead.StreamingAead
    wrapped: keys.Wrapped
    keyset: bytes = field(repr=False)  # the serialized keyset, to wrap it again (file_key_wrap_afresh)


def associated_data(*, tenant: Tenant, name: str) -> bytes:
    return b"portico/file/v1\0firm=" + tenant.slug.encode() + b"\0object=" + name.encode()


def _context(tenant: Tenant, key_class: str, name: str) -> dict[str, str]:
    return keys.envelope_context(tenant=tenant, key_class=key_class, purpose=PURPOSE, name=name)


def file_key_new(*, tenant: Tenant, key_class: str, name: str, cached: bool = False) -> FileKey:
    """A fresh data key for one file, already wrapped (this is where the key service is called).

    ``cached``: wrapped under this process's remembered primary KEK, for a caller that
    records the key where the database checks the version (``kms.keys.STALE_PRIMARY``)
    and calls ``file_key_wrap_afresh`` when it is refused.
    """
    return file_keys_new(tenant=tenant, key_class=key_class, names=[name], cached=cached)[0]


def file_keys_new(*, tenant: Tenant, key_class: str, names: Sequence[str], cached: bool = False) -> list[FileKey]:
    """Fresh data keys for many files at once (bulk imports): one KEK lookup, one wrap per file."""
    handles = [tink.new_keyset_handle(FILE_KEY_TEMPLATE) for _ in names]
    items = [
        (proto_keyset_format.serialize(handle, secret_key_access.TOKEN), _context(tenant, key_class, name))
        for handle, name in zip(handles, names, strict=True)
    ]
    wrapped = keys.wrap_many(tenant=tenant, key_class=key_class, items=items, cached=cached)
    return [
        FileKey(aead=handle.primitive(streaming_aead.StreamingAead), wrapped=blob, keyset=keyset)
        for handle, blob, (keyset, _) in zip(handles, wrapped, items, strict=True)
    ]


def file_key_wrap_afresh(*, tenant: Tenant, key_class: str, name: str, key: FileKey) -> keys.Wrapped:
    """The same data key wrapped under the primary KEK the database has now (the remembered one was refused)."""
    keys.primary_forget(tenant=tenant)
    items = [(key.keyset, _context(tenant, key_class, name))]
    return keys.wrap_many(tenant=tenant, key_class=key_class, items=items, cached=True)[0]  # remembered afresh


def file_key_open(*, tenant: Tenant, key_class: str, name: str, wrapped: keys.Wrapped) -> streaming_aead.StreamingAead:
    serialized = keys.unwrap(
        tenant=tenant, key_class=key_class, wrapped=wrapped, context=_context(tenant, key_class, name)
    )
    try:
        handle = proto_keyset_format.parse(serialized, secret_key_access.TOKEN)
    except tink.TinkError:
        raise DecryptionFailed(f"{tenant.slug}/{name}: the unwrapped data key is not a keyset") from None
    return handle.primitive(streaming_aead.StreamingAead)


def file_key_rewrap(*, tenant: Tenant, key_class: str, name: str, wrapped: keys.Wrapped) -> keys.Wrapped:
    return keys.rewrap(tenant=tenant, key_class=key_class, wrapped=wrapped, context=_context(tenant, key_class, name))


class _Sink(io.RawIOBase):
    """What Tink writes ciphertext to. It must not close the caller's sink, and it remembers the
    sink's own failure: Tink reports any error in a write as a bare TinkError."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self.failure: BaseException | None = None
        self.discarding = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.discarding:
            return len(data)
        try:
            self._sink.write(data)
        except BaseException as exc:
            self.failure = exc
            raise
        return len(data)


class _Encrypting:
    """Tink's encrypting stream, raising the sink's own error (e.g. storage unreachable) when it failed."""

    def __init__(self, aead: streaming_aead.StreamingAead, sink: BinaryIO, associated_data: bytes) -> None:
        self._sink = _Sink(sink)
        self._stream = aead.new_encrypting_stream(self._sink, associated_data)

    def _translated(self, exc: tink.TinkError) -> BaseException:
        return self._sink.failure or exc

    def write(self, data: bytes) -> int:
        try:
            written: int = self._stream.write(data)  # tink is untyped
            return written
        except tink.TinkError as exc:
            raise self._translated(exc) from None

    def close(self) -> None:
        try:
            self._stream.close()
        except tink.TinkError as exc:
            raise self._translated(exc) from None

    def __enter__(self) -> _Encrypting:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if exc_type is not None:
            self._sink.discarding = True  # the file is abandoned: do not finish it in the sink
        self.close()


def encrypting_writer(aead: streaming_aead.StreamingAead, sink: BinaryIO, *, tenant: Tenant, name: str) -> BinaryIO:
    """A writable stream: plaintext written to it reaches ``sink`` encrypted. Close it to finish the file."""
    return _Encrypting(aead, sink, associated_data(tenant=tenant, name=name))  # type: ignore[return-value]


class _Decrypting(io.RawIOBase):
    """Tink's decrypting stream, with authentication failures turned into ``DecryptionFailed``."""

    def __init__(self, inner: BinaryIO, what: str) -> None:
        self._inner = inner
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self._inner.read(size)
        except tink.TinkError:
            raise DecryptionFailed(
                f"{self._what} failed authentication: altered, truncated, or not this firm's object"
            ) from None

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        return count

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


def decrypting_reader(aead: streaming_aead.StreamingAead, source: BinaryIO, *, tenant: Tenant, name: str) -> BinaryIO:
    """A readable stream of the plaintext of ``source``; raises ``DecryptionFailed`` on any tampering."""
    inner = aead.new_decrypting_stream(source, associated_data(tenant=tenant, name=name))
    return _Decrypting(inner, f"{tenant.slug}/{name}")  # type: ignore[return-value]


def ciphertext_header_salt(ciphertext_start: bytes) -> bytes:
    """The random salt and nonce prefix in a Tink AES-GCM-HKDF ciphertext header (for uniqueness checks)."""
    header_length = ciphertext_start[0]
    return ciphertext_start[1:header_length]
