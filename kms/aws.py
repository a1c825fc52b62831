"""AWS KMS through boto3 (the only module in kms/ that talks to AWS).

A firm gets one symmetric KMS key per key class and version, created in the
firm's region and named by the alias ``alias/portico/<firm>/<class>`` (which
follows the primary version). Data keys are wrapped with KMS Encrypt under an
encryption context naming firm, class, purpose and object, so KMS itself
refuses to unwrap a key presented for another firm or object. Destroying a key
schedules its deletion (the shortest window, 7 days) and removes its alias;
from that moment KMS refuses to decrypt with it.

Credentials come from boto3's usual chain; the endpoint from the region's key
settings (``PORTICO_KMS_ENDPOINT_URL`` / ``PORTICO_AWS_ENDPOINT_URL``, for
moto in tests); ``PORTICO_AWS_TIMEOUT_SECONDS`` (default 20) and
``PORTICO_AWS_MAX_ATTEMPTS`` (default 3) bound each call.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.env import env_int, env_optional
from kms.errors import DecryptionFailed, KeyDestroyed, KeyNotFound, KeyServiceUnavailable
from kms.providers import Context, KekRef, NewKek, endpoint_lookup

DELETION_WINDOW_DAYS = 7
PLATFORM_ALIAS = "alias/portico/platform"


def _endpoint(region: str) -> str | None:
    lookup = endpoint_lookup()
    if lookup is not None:
        return lookup(region)
    return env_optional("PORTICO_KMS_ENDPOINT_URL") or env_optional("PORTICO_AWS_ENDPOINT_URL")


_clients_lock = threading.Lock()


@cache
def _client_for(region: str, endpoint_url: str | None, timeout: int, attempts: int) -> Any:
    config = Config(
        connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": attempts, "mode": "standard"}
    )
    with _clients_lock:
        return boto3.session.Session().client("kms", region_name=region, endpoint_url=endpoint_url, config=config)


def client(region: str) -> Any:
    timeout = env_int("PORTICO_AWS_TIMEOUT_SECONDS", 20, minimum=1)
    attempts = env_int("PORTICO_AWS_MAX_ATTEMPTS", 3, minimum=1)
    return _client_for(region, _endpoint(region), timeout, attempts)


def _call(region: str, what: str, operation: str, **params: Any) -> Any:
    """One KMS call, with failures turned into the errors callers handle."""
    try:
        return getattr(client(region), operation)(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in {"KMSInvalidStateException", "DisabledException"}:
            raise KeyDestroyed(f"{what}: the KMS key is disabled or scheduled for deletion ({message})") from None
        if code == "NotFoundException":
            raise KeyNotFound(f"{what}: the KMS key does not exist in {region} ({message})") from None
        if code in {"InvalidCiphertextException", "IncorrectKeyException"}:
            raise DecryptionFailed(f"{what}: KMS refused the ciphertext (altered, or bound elsewhere)") from None
        raise KeyServiceUnavailable(f"{what}: AWS KMS in {region} answered {code}: {message}") from None
    except BotoCoreError as exc:
        raise KeyServiceUnavailable(f"{what}: AWS KMS in {region} is unreachable ({exc})") from None


def _alias(firm: str, key_class: str) -> str:
    return f"alias/portico/{firm}/{key_class}"


def _point_alias(region: str, alias: str, key_id: str) -> None:
    try:
        client(region).create_alias(AliasName=alias, TargetKeyId=key_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
            raise
        _call(region, f"alias {alias}", "update_alias", AliasName=alias, TargetKeyId=key_id)
    except BotoCoreError as exc:
        raise KeyServiceUnavailable(f"alias {alias}: AWS KMS in {region} is unreachable ({exc})") from None


def _find_tagged_key(region: str, alias: str, version: int) -> str | None:
    """A key created for this alias and version by an earlier, interrupted onboarding (adopted, not duplicated)."""
    described = None
    try:
        described = client(region).describe_key(KeyId=alias)["KeyMetadata"]
    except ClientError:
        return None
    except BotoCoreError as exc:
        raise KeyServiceUnavailable(f"alias {alias}: AWS KMS in {region} is unreachable ({exc})") from None
    if described.get("KeyState") != "Enabled":
        return None
    tags = _call(region, alias, "list_resource_tags", KeyId=described["KeyId"]).get("Tags", [])
    if {"TagKey": "portico:version", "TagValue": str(version)} in tags:
        return str(described["Arn"])
    return None


class AwsProvider:
    name = "aws"

    def create_kek(self, *, firm: str, key_class: str, version: int, region: str) -> NewKek:
        alias = _alias(firm, key_class)
        adopted = _find_tagged_key(region, alias, version)
        if adopted:
            return NewKek(key_id=adopted, sealed_key=None)
        created = _call(
            region,
            f"new key for {firm}/{key_class}",
            "create_key",
            Description=f"Portico: {firm} {key_class} key v{version}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[
                {"TagKey": "portico:firm", "TagValue": firm},
                {"TagKey": "portico:class", "TagValue": key_class},
                {"TagKey": "portico:version", "TagValue": str(version)},
            ],
        )
        arn = str(created["KeyMetadata"]["Arn"])
        _point_alias(region, alias, arn)
        return NewKek(key_id=arn, sealed_key=None)

    def wrap(self, kek: KekRef, plaintext: bytes, context: Context) -> bytes:
        answer = _call(
            kek.region, f"wrap under {kek.key_id}", "encrypt",
            KeyId=kek.key_id, Plaintext=plaintext, EncryptionContext=dict(context),
        )  # fmt: skip
        return bytes(answer["CiphertextBlob"])

    def unwrap(self, kek: KekRef, wrapped: bytes, context: Context) -> bytes:
        answer = _call(
            kek.region, f"unwrap under {kek.key_id}", "decrypt",
            KeyId=kek.key_id, CiphertextBlob=bytes(wrapped), EncryptionContext=dict(context),
        )  # fmt: skip
        return bytes(answer["Plaintext"])

    def destroy(self, kek: KekRef) -> None:
        destroy_key(kek.region, kek.key_id)


def destroy_key(region: str, key_id: str) -> None:
    """Schedule a KMS key's deletion and drop the aliases pointing at it (idempotent)."""
    try:
        aliases = client(region).list_aliases(KeyId=key_id).get("Aliases", [])
        for alias in aliases:
            client(region).delete_alias(AliasName=alias["AliasName"])
        # The bare key id: KMS accepts an ARN too, but moto (the test server) only the id.
        bare_id = key_id.rsplit("/", 1)[-1]
        client(region).schedule_key_deletion(KeyId=bare_id, PendingWindowInDays=DELETION_WINDOW_DAYS)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"KMSInvalidStateException", "NotFoundException"}:
            return  # already pending deletion, or gone
        raise KeyServiceUnavailable(f"destroy {key_id}: AWS KMS in {region} answered {code}") from None
    except BotoCoreError as exc:
        raise KeyServiceUnavailable(f"destroy {key_id}: AWS KMS in {region} is unreachable ({exc})") from None


class AwsSealer:
    """Seals platform secrets with a platform KMS key (created on first use when none is named)."""

    def __init__(self, *, region: str, key_id: str | None) -> None:
        self.region = region
        self.key_id = key_id or PLATFORM_ALIAS
        self.description = f"aws-kms:{self.region}:{self.key_id}"

    def _ensure_key(self) -> None:
        if self.key_id != PLATFORM_ALIAS:
            return
        try:
            client(self.region).describe_key(KeyId=PLATFORM_ALIAS)
            return
        except ClientError:
            pass
        except BotoCoreError as exc:
            raise KeyServiceUnavailable(f"platform key: AWS KMS in {self.region} is unreachable ({exc})") from None
        created = _call(self.region, "platform key", "create_key", Description="Portico platform secrets")
        _point_alias(self.region, PLATFORM_ALIAS, created["KeyMetadata"]["Arn"])

    def seal(self, plaintext: bytes, context: Context) -> bytes:
        self._ensure_key()
        answer = _call(
            self.region, "seal a platform secret", "encrypt",
            KeyId=self.key_id, Plaintext=plaintext, EncryptionContext=dict(context),
        )  # fmt: skip
        return bytes(answer["CiphertextBlob"])

    def unseal(self, sealed: bytes, context: Context) -> bytes:
        answer = _call(
            self.region, "unseal a platform secret", "decrypt",
            CiphertextBlob=bytes(sealed), EncryptionContext=dict(context),
        )  # fmt: skip
        return bytes(answer["Plaintext"])
