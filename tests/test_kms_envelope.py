"""Envelope encryption with the local provider: fresh data keys, bound to firm and object, tamper-evident."""

from __future__ import annotations

import io
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from kms import files, keys, local
from kms.errors import DecryptionFailed, KeyConfigurationError
from kms.models import KeyClass, KeyEncryptionKey
from kms.providers import KekRef, provider_for
from tenants.models import Tenant


def encrypt(tenant: Tenant, name: str, plaintext: bytes, key_class: str = "client") -> tuple[files.FileKey, bytes]:
    key = files.file_key_new(tenant=tenant, key_class=key_class, name=name)
    sink = io.BytesIO()
    with files.encrypting_writer(key.aead, sink, tenant=tenant, name=name) as out:
        out.write(plaintext)
    return key, sink.getvalue()


def decrypt(tenant: Tenant, name: str, key: files.FileKey, ciphertext: bytes) -> bytes:
    return files.decrypting_reader(key.aead, io.BytesIO(ciphertext), tenant=tenant, name=name).read()


def test_a_file_decrypts_for_its_own_firm_and_object(acme: Tenant) -> None:
    key, ciphertext = encrypt(acme, "matters/1/passport.pdf", b"%PDF passport scan")

    assert b"passport scan" not in ciphertext
    assert decrypt(acme, "matters/1/passport.pdf", key, ciphertext) == b"%PDF passport scan"


def test_a_file_copied_to_another_firm_does_not_decrypt(acme: Tenant, globex: Tenant) -> None:
    key, ciphertext = encrypt(acme, "matters/1/passport.pdf", b"%PDF passport scan")

    with pytest.raises(DecryptionFailed, match="failed authentication"):
        decrypt(globex, "matters/1/passport.pdf", key, ciphertext)


def test_a_file_moved_to_another_object_key_does_not_decrypt(acme: Tenant) -> None:
    key, ciphertext = encrypt(acme, "matters/1/passport.pdf", b"%PDF passport scan")

    with pytest.raises(DecryptionFailed):
        decrypt(acme, "matters/2/passport.pdf", key, ciphertext)


@pytest.mark.parametrize("position", [0, 20, 45, -1])
def test_a_flipped_ciphertext_byte_fails_authentication(acme: Tenant, position: int) -> None:
    key, ciphertext = encrypt(acme, "a.bin", os.urandom(3000))
    tampered = bytearray(ciphertext)
    tampered[position] ^= 0x01

    with pytest.raises(DecryptionFailed):
        decrypt(acme, "a.bin", key, bytes(tampered))


def test_a_truncated_ciphertext_fails_authentication(acme: Tenant) -> None:
    key, ciphertext = encrypt(acme, "a.bin", os.urandom(3000))

    with pytest.raises(DecryptionFailed):
        decrypt(acme, "a.bin", key, ciphertext[:-10])


def test_a_wrapped_data_key_presented_for_another_object_or_firm_is_refused(acme: Tenant, globex: Tenant) -> None:
    key = files.file_key_new(tenant=acme, key_class="client", name="a.pdf")

    with pytest.raises(DecryptionFailed, match=r"object=b\.pdf"):
        files.file_key_open(tenant=acme, key_class="client", name="b.pdf", wrapped=key.wrapped)
    with pytest.raises(DecryptionFailed):  # globex's own v1 key cannot open acme's wrapped key
        files.file_key_open(tenant=globex, key_class="client", name="a.pdf", wrapped=key.wrapped)


def test_ten_thousand_objects_never_share_a_data_key_or_nonce(acme: Tenant) -> None:
    names = [f"bulk/{number}" for number in range(10_000)]
    file_keys = files.file_keys_new(tenant=acme, key_class="client", names=names)
    kek = keys.kek_primary(tenant=acme, key_class="client")
    provider, ref = provider_for(kek.provider), KekRef(kek.key_id, kek.region, bytes(kek.sealed_key or b""))
    data_keys, wrapped, salts = set(), set(), set()
    for name, key in zip(names, file_keys, strict=True):
        sink = io.BytesIO()
        with files.encrypting_writer(key.aead, sink, tenant=acme, name=name) as out:
            out.write(b"x")
        context = keys.envelope_context(tenant=acme, key_class="client", purpose="file", name=name)
        data_keys.add(provider.unwrap(ref, key.wrapped.blob, context))
        wrapped.add(key.wrapped.blob)
        salts.add(files.ciphertext_header_salt(sink.getvalue()))

    assert len(data_keys) == len(wrapped) == len(salts) == 10_000


def test_firms_have_one_key_per_class_in_their_region(acme: Tenant, globex: Tenant) -> None:
    for firm in (acme, globex):
        primaries = KeyEncryptionKey.objects.filter(tenant=firm, is_primary=True)
        assert sorted(primaries.values_list("key_class", flat=True)) == sorted(KeyClass.values)
        assert set(primaries.values_list("region", flat=True)) == {firm.region}
    acme_key = keys.kek_primary(tenant=acme, key_class="client")
    assert acme_key.key_id.startswith(f"local/{acme.slug}/client/v")
    assert acme_key.sealed_key is not None


def test_the_local_provider_is_refused_with_debug_off_unless_allowed(acme: Tenant) -> None:
    local.master_aead.cache_clear()
    try:
        with (
            override_settings(DEBUG=False, PORTICO_ALLOW_LOCAL_KMS=False),
            pytest.raises(KeyConfigurationError, match="PORTICO_ALLOW_LOCAL_KMS"),
        ):
            files.file_key_new(tenant=acme, key_class="client", name="x")
        with override_settings(DEBUG=False, PORTICO_ALLOW_LOCAL_KMS=True):
            files.file_key_new(tenant=acme, key_class="client", name="x")
    finally:
        local.master_aead.cache_clear()


def test_the_system_check_refuses_the_local_master_key_in_production() -> None:
    from residency.checks import local_master_key_not_in_production

    with override_settings(DEBUG=False, PORTICO_ALLOW_LOCAL_KMS=False):
        errors = local_master_key_not_in_production()

    assert [error.id for error in errors] == ["kms.E001"]
    assert "local key provider" in errors[0].msg


@pytest.mark.parametrize(("value", "problem"), [("not base64!", "not base64"), ("c2hvcnQ=", "must hold 32 bytes")])
def test_a_bad_master_key_is_refused_loudly(monkeypatch: pytest.MonkeyPatch, value: str, problem: str) -> None:
    monkeypatch.setenv("PORTICO_MASTER_KEY", value)
    local.master_aead.cache_clear()
    try:
        with pytest.raises(KeyConfigurationError, match=problem):
            local.master_aead()
    finally:
        monkeypatch.delenv("PORTICO_MASTER_KEY")
        local.master_aead.cache_clear()


def test_unknown_key_classes_are_refused(acme: Tenant) -> None:
    with pytest.raises(ValueError, match="unknown key class"):
        keys.kek_primary(tenant=acme, key_class="misc")
    with pytest.raises((ValueError, ImproperlyConfigured)):
        files.file_key_new(tenant=acme, key_class="misc", name="x")
