"""The platform's Ed25519 signing key (kms.signing): used to sign the audit log's anchors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection

from kms import signing
from kms.models import SigningKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_process_cache() -> None:
    signing.forget_cached_key()


def test_a_signature_verifies_with_the_key_id_it_names() -> None:
    key_id, signature = signing.sign(b"anchor: acme head 3f2a")

    assert key_id.startswith("ed25519:")
    assert len(signature) == 64
    assert signing.verify(b"anchor: acme head 3f2a", signature, key_id)


def test_a_changed_message_or_signature_does_not_verify() -> None:
    key_id, signature = signing.sign(b"anchor: acme head 3f2a")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]

    assert not signing.verify(b"anchor: acme head 3f2b", signature, key_id)
    assert not signing.verify(b"anchor: acme head 3f2a", flipped, key_id)
    assert not signing.verify(b"anchor: acme head 3f2a", signature, "ed25519:0000000000000000")


def test_the_key_is_generated_once_and_reused_across_processes() -> None:
    first_id, _ = signing.sign(b"one")
    signing.forget_cached_key()  # as a new process would
    second_id, _ = signing.sign(b"two")

    assert first_id == second_id
    assert SigningKey.objects.count() == 1


def test_outside_verifiers_can_check_with_the_published_public_key() -> None:
    key_id, signature = signing.sign(b"anchor")

    public = signing.public_keys()[key_id]
    Ed25519PublicKey.from_public_bytes(public).verify(signature, b"anchor")  # raises if wrong
    assert signing.public_key(key_id) == public


def test_the_private_half_is_stored_only_sealed() -> None:
    key_id, _ = signing.sign(b"anchor")
    private = signing._active_key()[1].private_bytes_raw()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_private_key FROM public.kms_signingkey WHERE key_id = %s", [key_id])
        (sealed,) = cursor.fetchone()

    assert private not in bytes(sealed)
    assert len(bytes(sealed)) > len(private)
