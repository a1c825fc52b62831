"""The local key provider: KEKs sealed by a master key that never leaves this process.

The master key is 32 random bytes, base64-encoded, from ``PORTICO_MASTER_KEY``
(or the file named by ``PORTICO_MASTER_KEY_FILE``). In development, when
neither is set, one is generated on first use in ``<VAR_DIR>/master_key``
(mode 0600). When DEBUG is off the provider is refused unless
``PORTICO_ALLOW_LOCAL_KMS=true`` says an operator chose it knowingly.

Crypto-shredding with this provider deletes the sealed KEK from the database;
the ciphertext is then undecryptable for anyone without a database backup that
still holds the sealed KEK *and* the master key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from functools import cache

import tink
from django.conf import settings
from tink import aead, proto_keyset_format, secret_key_access
from tink.proto import aes_gcm_pb2, tink_pb2

from core.env import env_optional
from kms.errors import DecryptionFailed, KeyConfigurationError
from kms.providers import Context, KekRef, NewKek, context_bytes

aead.register()

_AES_GCM_TYPE_URL = "type.googleapis.com/google.crypto.tink.AesGcmKey"


def _raw_aes_gcm(raw_key: bytes) -> aead.Aead:
    """A Tink AEAD over a raw 256-bit key (RAW output prefix: nonce || ciphertext || tag)."""
    key = aes_gcm_pb2.AesGcmKey(version=0, key_value=raw_key)
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url=_AES_GCM_TYPE_URL,
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(aead.Aead)


def _check_allowed() -> None:
    if not settings.DEBUG and not settings.PORTICO_ALLOW_LOCAL_KMS:
        raise KeyConfigurationError(
            "the local key provider is for development: with DEBUG off use PORTICO_KMS_PROVIDER=aws, "
            "or set PORTICO_ALLOW_LOCAL_KMS=true to accept a master key held by the application"
        )


def _decode_master_key(value: str, source: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigurationError(f"{source} is not base64") from None
    if len(raw) != 32:
        raise KeyConfigurationError(f"{source} must hold 32 bytes (base64), not {len(raw)}")
    return raw


_generate_lock = threading.Lock()


def _development_master_key() -> bytes:
    path = settings.VAR_DIR / "master_key"
    with _generate_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting together do not overwrite each other's key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return _decode_master_key(path.read_text(), str(path))


@cache
def master_aead() -> aead.Aead:
    """The master key as an AEAD (loaded once per process)."""
    _check_allowed()
    configured = env_optional("PORTICO_MASTER_KEY")
    raw = _decode_master_key(configured, "PORTICO_MASTER_KEY") if configured else _development_master_key()
    return _raw_aes_gcm(raw)


def _kek_associated_data(key_id: str) -> bytes:
    return b"portico/kek/" + key_id.encode()


_kek_cache: dict[bytes, aead.Aead] = {}
_kek_cache_lock = threading.Lock()


def _kek_aead(kek: KekRef) -> aead.Aead:
    if kek.sealed_key is None:
        raise KeyConfigurationError(f"local KEK {kek.key_id} has no sealed key material")
    # Keyed by the sealed bytes: a destroyed row can never be looked up, so the cache cannot outlive a shred.
    cache_key = hashlib.sha256(kek.key_id.encode() + b"\0" + bytes(kek.sealed_key)).digest()
    with _kek_cache_lock:
        cached = _kek_cache.get(cache_key)
    if cached is not None:
        return cached
    try:
        handle = proto_keyset_format.parse_encrypted(
            bytes(kek.sealed_key), master_aead(), _kek_associated_data(kek.key_id)
        )
    except tink.TinkError:
        raise DecryptionFailed(f"local KEK {kek.key_id} cannot be unsealed with this master key") from None
    primitive = handle.primitive(aead.Aead)
    with _kek_cache_lock:
        if len(_kek_cache) > 1024:
            _kek_cache.clear()
        _kek_cache[cache_key] = primitive
    return primitive


class LocalProvider:
    name = "local"

    def create_kek(self, *, firm: str, key_class: str, version: int, region: str) -> NewKek:
        _check_allowed()
        key_id = f"local/{firm}/{key_class}/v{version}"
        handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
        sealed = proto_keyset_format.serialize_encrypted(handle, master_aead(), _kek_associated_data(key_id))
        return NewKek(key_id=key_id, sealed_key=sealed)

    def wrap(self, kek: KekRef, plaintext: bytes, context: Context) -> bytes:
        _check_allowed()
        wrapped: bytes = _kek_aead(kek).encrypt(plaintext, context_bytes(context))  # tink is untyped
        return wrapped

    def unwrap(self, kek: KekRef, wrapped: bytes, context: Context) -> bytes:
        _check_allowed()
        try:
            plaintext: bytes = _kek_aead(kek).decrypt(bytes(wrapped), context_bytes(context))
            return plaintext
        except tink.TinkError:
            raise DecryptionFailed(
                f"data key does not unwrap under {kek.key_id} for {_describe(context)}: altered, or bound elsewhere"
            ) from None

    def destroy(self, kek: KekRef) -> None:
        # The sealed KEK lives in its database row; deleting the row (the caller's job) destroys it.
        with _kek_cache_lock:
            _kek_cache.clear()


class MasterKeySealer:
    description = "local master key"

    def seal(self, plaintext: bytes, context: Context) -> bytes:
        sealed: bytes = master_aead().encrypt(plaintext, context_bytes(context))  # tink is untyped
        return sealed

    def unseal(self, sealed: bytes, context: Context) -> bytes:
        try:
            plaintext: bytes = master_aead().decrypt(bytes(sealed), context_bytes(context))
            return plaintext
        except tink.TinkError:
            raise DecryptionFailed("platform secret cannot be unsealed with this master key") from None


def _describe(context: Context) -> str:
    return ", ".join(f"{k.removeprefix('portico:')}={v}" for k, v in sorted(context.items()))
