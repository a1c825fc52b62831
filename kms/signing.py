"""Ed25519 signatures by the platform (the vendor), e.g. for the audit log's anchors.

Interface (stable)::

    key_id, signature = sign(message)          # bytes -> (str, 64 bytes)
    verify(message, signature, key_id) -> bool  # False for a bad signature or an unknown key
    public_key(key_id) -> bytes                 # raw 32-byte public key, for verifiers outside Portico
    public_keys() -> dict[str, bytes]           # every key ever used, active or retired

The key pair is generated on first use. Its private half is sealed by the
platform key provider (the local master key, or an AWS KMS platform key, see
``kms.providers.platform_sealer``) and stored in the public schema
(``kms.SigningKey``) next to the public half. Retired keys stay, so old
signatures keep verifying. ``key_id`` is ``ed25519:`` followed by the first
16 hex digits of the SHA-256 of the raw public key.
"""

from __future__ import annotations

import hashlib
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.db import IntegrityError, transaction

from kms.errors import KeyNotFound
from kms.models import SigningKey
from kms.providers import platform_sealer

_lock = threading.Lock()
_active: tuple[str, Ed25519PrivateKey] | None = None


def _seal_context(key_id: str) -> dict[str, str]:
    return {"portico:purpose": "platform-signing-key", "portico:key": key_id}


def _key_id(public: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public).hexdigest()[:16]


def _generate() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key_id = _key_id(public)
    sealer = platform_sealer()
    sealed = sealer.seal(raw_private, _seal_context(key_id))
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                key_id=key_id, public_key=public, sealed_private_key=sealed, sealed_by=sealer.description
            )
    except IntegrityError:
        # Another process generated the active key first: use theirs.
        return SigningKey.objects.get(is_active=True)


def _active_key() -> tuple[str, Ed25519PrivateKey]:
    global _active
    with _lock:
        if _active is not None:
            return _active
        record = SigningKey.objects.filter(is_active=True).first() or _generate()
        raw = platform_sealer().unseal(bytes(record.sealed_private_key), _seal_context(record.key_id))
        _active = (record.key_id, Ed25519PrivateKey.from_private_bytes(raw))
        return _active


def sign(message: bytes) -> tuple[str, bytes]:
    """Sign with the platform's active key; returns (key id, 64-byte signature)."""
    key_id, private = _active_key()
    return key_id, private.sign(message)


def public_key(key_id: str) -> bytes:
    record = SigningKey.objects.filter(key_id=key_id).first()
    if record is None:
        raise KeyNotFound(f"no platform signing key {key_id!r}")
    return bytes(record.public_key)


def public_keys() -> dict[str, bytes]:
    return {record.key_id: bytes(record.public_key) for record in SigningKey.objects.order_by("created")}


def verify(message: bytes, signature: bytes, key_id: str) -> bool:
    """True only when ``signature`` is ``key_id``'s signature over exactly ``message``."""
    try:
        public = public_key(key_id)
    except KeyNotFound:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(bytes(signature), message)
    except InvalidSignature:
        return False
    return True


def forget_cached_key() -> None:
    """Drop the in-process private key (after retiring it, or in tests)."""
    global _active
    with _lock:
        _active = None
