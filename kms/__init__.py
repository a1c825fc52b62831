"""Per-firm envelope encryption (SPEC §4): keys, encrypted files and fields, rotation, crypto-shredding.

The public interface, by module:

- ``kms.files``: ``file_key_new`` / ``file_keys_new`` (a fresh data key per file,
  wrapped by the firm's KEK), ``encrypting_writer`` / ``decrypting_reader``
  (Tink streaming AES-256-GCM, associated data binding firm and object).
  Product code stores files through ``residency.storage`` instead, which uses these.
- ``kms.fields``: ``EncryptedCharField``, ``EncryptedDateField`` and
  ``KeyedHashField`` (exact lookups) for A-numbers, passports, dates of birth,
  SSN/ITIN and bank accounts.
- ``kms.keys``: the firm's key-encryption keys per key class (``client``,
  ``retention``; ``kms.models.KeyClass``): ``keks_ensure``, ``kek_rotate``,
  ``keks_destroy`` (crypto-shred one class or all), ``wrap`` / ``unwrap``.
- Rotation of a firm's keys is orchestrated above kms, by
  ``tenants.lifecycle.rotation`` (``portico tenants rotate-keys``).
- ``kms.signing``: ``sign`` / ``verify`` / ``public_key`` with the platform's
  Ed25519 key (audit anchors).
- Providers: ``kms.local`` (master key) and ``kms.aws`` (AWS KMS, the only boto3
  user here), chosen per region by ``residency.regions``, which kms does not
  import: callers pass the region's provider in, and residency registers the
  regions' KMS endpoints (``kms.providers.endpoint_lookup_register``).

Errors are ``kms.errors.KmsError`` subclasses with one-line messages.
"""
