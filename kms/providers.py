"""Key providers: who holds the key-encryption keys (KEKs) and wraps data keys with them.

Two providers implement ``KeyProvider``:

- ``local`` (``kms.local``): KEKs are Tink AES-256-GCM keysets sealed by a
  master key (``PORTICO_MASTER_KEY`` / ``PORTICO_MASTER_KEY_FILE``, or a file
  generated under ``var/`` in development). Refused when DEBUG is off unless
  ``PORTICO_ALLOW_LOCAL_KMS=true``.
- ``aws`` (``kms.aws``): one AWS KMS key per firm, key class and version, in the
  firm's region; data keys are wrapped by KMS Encrypt with an encryption context.

Every wrap binds a *context* (firm, key class, purpose, object): the same pairs
must be given to unwrap, so a wrapped key copied to another firm or object is
refused by the provider itself. The platform's own secrets (the audit signing
key) are sealed by ``platform_sealer()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from core.env import env_choice, env_optional, env_str

Context = Mapping[str, str]


def context_bytes(context: Context) -> bytes:
    """The canonical encoding of a context, used as associated data by local AEADs."""
    return json.dumps(dict(sorted(context.items())), separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class NewKek:
    key_id: str
    sealed_key: bytes | None


@dataclass(frozen=True)
class KekRef:
    """What a provider needs to use a KEK (a ``KeyEncryptionKey`` row satisfies it)."""

    key_id: str
    region: str
    sealed_key: bytes | None


class KeyProvider(Protocol):
    name: str

    def create_kek(self, *, firm: str, key_class: str, version: int, region: str) -> NewKek: ...

    def wrap(self, kek: KekRef, plaintext: bytes, context: Context) -> bytes: ...

    def unwrap(self, kek: KekRef, wrapped: bytes, context: Context) -> bytes: ...

    def destroy(self, kek: KekRef) -> None: ...


class Sealer(Protocol):
    """Seals the platform's own secrets (not a firm's)."""

    description: str

    def seal(self, plaintext: bytes, context: Context) -> bytes: ...

    def unseal(self, sealed: bytes, context: Context) -> bytes: ...


# A region's KMS endpoint comes from the region registry, which lives in residency, above kms
# (residency's storage encrypts through kms). So kms does not read the registry: residency
# registers its lookup when Django starts (``residency.apps``). Without one (kms used on its
# own), every region gets the endpoint from the environment.
EndpointLookup = Callable[[str], str | None]
_endpoint_lookup: EndpointLookup | None = None


def endpoint_lookup_register(lookup: EndpointLookup | None) -> None:
    """Where ``kms.aws`` finds the KMS endpoint of a region (``None``: the environment's default)."""
    global _endpoint_lookup
    _endpoint_lookup = lookup


def endpoint_lookup() -> EndpointLookup | None:
    return _endpoint_lookup


def provider_for(name: str) -> KeyProvider:
    if name == "local":
        from kms.local import LocalProvider

        return LocalProvider()
    if name == "aws":
        from kms.aws import AwsProvider

        return AwsProvider()
    raise ValueError(f"unknown key provider {name!r} (known: local, aws)")


def platform_sealer() -> Sealer:
    """The sealer for platform secrets, from ``PORTICO_PLATFORM_KMS_PROVIDER`` (default: ``PORTICO_KMS_PROVIDER``).

    With AWS, ``PORTICO_PLATFORM_KMS_REGION`` (default us-east-1) and
    ``PORTICO_PLATFORM_KMS_KEY_ID`` (default: the alias ``alias/portico/platform``,
    created on first use) name the KMS key.
    """
    default = env_choice("PORTICO_KMS_PROVIDER", "local", ["local", "aws"])
    name = env_choice("PORTICO_PLATFORM_KMS_PROVIDER", default, ["local", "aws"])
    if name == "local":
        from kms.local import MasterKeySealer

        return MasterKeySealer()
    from kms.aws import AwsSealer

    return AwsSealer(
        region=env_str("PORTICO_PLATFORM_KMS_REGION", "us-east-1"),
        key_id=env_optional("PORTICO_PLATFORM_KMS_KEY_ID"),
    )
