"""The backup file: a readable header, then everything else encrypted under a key sealed by the platform key.

    PORTICO-BACKUP 1\\n
    {"kind": "firm", "slug": "acme", "created": ..., "sealed_key": "<base64>", ...}\\n
    <Tink streaming AEAD ciphertext (AES-256-GCM-HKDF, 1 MiB segments)>

A fresh data key per backup, sealed by the platform key provider (``kms.providers.
platform_sealer``: AWS KMS in production, the local master key otherwise), with the
backup's id in the sealing context; the header line is the ciphertext's associated data,
so a header cannot be swapped onto another backup's body. The plaintext is a sequence of
sections: ``name``, length and bytes for each small section (JSON), then the database dump
(PostgreSQL's custom format) to the end, so the dump streams without a temporary file.
Whoever holds the file but not the platform key learns only the header.
"""

from __future__ import annotations

import base64
import io
import json
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO

import tink
from tink import proto_keyset_format, secret_key_access, streaming_aead

from kms.providers import platform_sealer

streaming_aead.register()

MAGIC = b"PORTICO-BACKUP 1\n"
TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
_LENGTH = struct.Struct(">Q")


class BackupUnreadable(Exception):
    """Not a Portico backup, damaged, or sealed by a platform key this deployment does not have."""


def _context(backup_id: str) -> dict[str, str]:
    return {"portico:purpose": "backup", "portico:backup": backup_id}


class _RawSink(io.RawIOBase):
    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._sink.write(data)
        return len(data)


class SectionWriter:
    """Writes named sections into the encrypted body."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def section(self, name: str, data: Any) -> None:
        body = json.dumps(data, sort_keys=True, default=str).encode()
        label = name.encode()
        self._stream.write(_LENGTH.pack(len(label)) + label + _LENGTH.pack(len(body)) + body)

    def rest(self, name: str) -> IO[bytes]:
        """The last section, ``name``, runs to the end: write it to the returned stream."""
        label = name.encode()
        self._stream.write(_LENGTH.pack(len(label)) + label + _LENGTH.pack(0xFFFF_FFFF_FFFF_FFFF))
        return self._stream


@contextmanager
def sealed_writer(out: BinaryIO, header: dict[str, Any]) -> Iterator[SectionWriter]:
    """Write the header to ``out`` and yield a writer of the encrypted body; the body is finished on exit."""
    handle = tink.new_keyset_handle(TEMPLATE)
    keyset = proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    sealer = platform_sealer()
    header = {
        **header,
        "sealed_by": sealer.description,
        "sealed_key": base64.b64encode(sealer.seal(keyset, _context(header["backup_id"]))).decode(),
    }
    header_line = json.dumps(header, sort_keys=True).encode() + b"\n"
    out.write(MAGIC + header_line)
    primitive = handle.primitive(streaming_aead.StreamingAead)
    with primitive.new_encrypting_stream(_RawSink(out), header_line) as stream:
        yield SectionWriter(stream)


def read_header(source: BinaryIO) -> tuple[dict[str, Any], bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupUnreadable("not a Portico backup (no PORTICO-BACKUP header)")
    line = source.readline(1 << 20)
    try:
        return json.loads(line), line
    except ValueError:
        raise BackupUnreadable("the backup's header is damaged") from None


class SectionReader:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._stream.read(size - len(data))
            if not chunk:
                raise BackupUnreadable("the backup ends in the middle of a section")
            data += chunk
        return data

    def section(self, name: str) -> Any:
        label = self._exactly(_LENGTH.unpack(self._exactly(_LENGTH.size))[0]).decode()
        if label != name:
            raise BackupUnreadable(f"expected the {name!r} section, found {label!r}")
        return json.loads(self._exactly(_LENGTH.unpack(self._exactly(_LENGTH.size))[0]))

    def rest(self, name: str) -> IO[bytes]:
        label = self._exactly(_LENGTH.unpack(self._exactly(_LENGTH.size))[0]).decode()
        self._exactly(_LENGTH.size)
        if label != name:
            raise BackupUnreadable(f"expected the {name!r} section, found {label!r}")
        return self._stream


@contextmanager
def sealed_reader(source: BinaryIO) -> Iterator[tuple[dict[str, Any], SectionReader]]:
    """The header, and a reader of the decrypted body (each segment authenticated as it is read)."""
    header, header_line = read_header(source)
    try:
        sealed = base64.b64decode(header["sealed_key"])
        keyset = platform_sealer().unseal(sealed, _context(header["backup_id"]))
        handle = proto_keyset_format.parse(keyset, secret_key_access.TOKEN)
    except Exception as exc:  # a KMS refusal, a foreign master key, a damaged header: all unreadable
        raise BackupUnreadable(f"the backup's key cannot be unsealed ({header.get('sealed_by')}): {exc}") from None
    primitive = handle.primitive(streaming_aead.StreamingAead)
    try:
        with primitive.new_decrypting_stream(source, header_line) as stream:
            yield header, SectionReader(stream)
    except tink.TinkError as exc:
        raise BackupUnreadable(f"the backup is damaged or was altered: {exc}") from None
