"""The region registry: where Portico may place a firm, and how each region stores files and keys.

Every region has storage settings (``local`` files under ``<PORTICO_STORAGE_DIR>/<region>/<firm>/``,
where the directory defaults to ``<VAR_DIR>/storage``,
or ``s3`` with one bucket per firm named by a pattern) and key settings
(``local`` master key or ``aws`` KMS). Configuration, read once per process
(``reload()`` re-reads it) and refused loudly when wrong:

- Defaults for every region from the environment: ``PORTICO_STORAGE_BACKEND``
  (local|s3, default local), ``PORTICO_KMS_PROVIDER`` (local|aws, default local),
  ``PORTICO_BUCKET_PATTERN`` (default ``portico-{region}-{slug}``),
  ``PORTICO_AWS_ENDPOINT_URL`` (an S3/KMS-compatible endpoint, e.g. moto in
  tests; ``PORTICO_S3_ENDPOINT_URL`` and ``PORTICO_KMS_ENDPOINT_URL`` override
  it per service), ``PORTICO_S3_REQUIRE_TLS`` (default true: buckets refuse
  requests not made over TLS).
- The region list: the four launch regions, or ``PORTICO_REGIONS``
  (comma-separated codes), or a JSON file named by ``PORTICO_REGIONS_FILE``::

      {"eu-central-1": {"name": "Europe (Frankfurt)",
                        "storage": {"backend": "s3", "bucket_pattern": "portico-{region}-{slug}",
                                    "endpoint_url": null, "require_tls": true,
                                    "sse_kms_key": "arn:aws:kms:eu-central-1:…:alias/…"},
                        "keys": {"provider": "aws", "endpoint_url": null}}}

  where every key but the region code is optional (defaults above); a region may also
  name its ``"cell"`` (``residency.cells``: the database its firms' rows live in).

A firm's region is chosen at onboarding and stored on the tenant; nothing here
moves a firm.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_choice, env_optional, env_str
from residency import cells as cell_registry
from residency.cells import DEFAULT_CELL, cell_for_region

STORAGE_BACKENDS = ("local", "s3")
KEY_PROVIDERS = ("local", "aws")
DEFAULT_BUCKET_PATTERN = "portico-{region}-{slug}"
_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class StorageSettings:
    backend: str
    bucket_pattern: str
    endpoint_url: str | None
    # A bucket policy refusing every request not made over TLS. Only an S3 server reached over
    # plain HTTP (a test server) needs it off: such a policy would refuse every one of its requests.
    require_tls: bool = True
    # The region's KMS key (ARN or alias ARN) for the buckets' default encryption (SSE-KMS), as
    # terraform/ creates it; unset: SSE-S3. Files are encrypted by Portico before either.
    sse_kms_key: str | None = None


@dataclass(frozen=True)
class KeySettings:
    provider: str
    endpoint_url: str | None


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    storage: StorageSettings
    keys: KeySettings
    # The cell (``residency.cells``) whose database holds the region's firms' rows.
    cell: str = DEFAULT_CELL

    def bucket_name(self, slug: str) -> str:
        name = self.storage.bucket_pattern.format(region=self.code, slug=slug)
        if not _BUCKET_NAME.fullmatch(name) or ".." in name:
            raise ImproperlyConfigured(f"bucket pattern {self.storage.bucket_pattern!r} gives an invalid name {name!r}")
        return name


DEFAULT_REGIONS: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "eu-central-1": "Europe (Frankfurt)",
    "ca-central-1": "Canada (Central)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}


class UnknownRegion(ValueError):
    pass


def _check_pattern(pattern: str, source: str) -> str:
    if "{slug}" not in pattern:
        raise ImproperlyConfigured(f"{source}={pattern!r} must contain {{slug}} (one bucket per firm)")
    try:
        pattern.format(region="us-east-1", slug="acme")
    except (KeyError, IndexError, ValueError) as exc:
        raise ImproperlyConfigured(f"{source}={pattern!r}: only {{region}} and {{slug}} may appear ({exc})") from None
    return pattern


def _env_defaults() -> tuple[StorageSettings, KeySettings]:
    shared_endpoint = env_optional("PORTICO_AWS_ENDPOINT_URL")
    storage = StorageSettings(
        backend=env_choice("PORTICO_STORAGE_BACKEND", "local", STORAGE_BACKENDS),
        bucket_pattern=_check_pattern(
            env_str("PORTICO_BUCKET_PATTERN", DEFAULT_BUCKET_PATTERN), "PORTICO_BUCKET_PATTERN"
        ),
        endpoint_url=env_optional("PORTICO_S3_ENDPOINT_URL") or shared_endpoint,
        require_tls=env_bool("PORTICO_S3_REQUIRE_TLS", default=True),
    )
    keys = KeySettings(
        provider=env_choice("PORTICO_KMS_PROVIDER", "local", KEY_PROVIDERS),
        endpoint_url=env_optional("PORTICO_KMS_ENDPOINT_URL") or shared_endpoint,
    )
    return storage, keys


def _section(spec: dict[str, Any], name: str, allowed: set[str], where: str) -> dict[str, Any]:
    section = spec.get(name, {})
    if not isinstance(section, dict):
        raise ImproperlyConfigured(f"{where}.{name} must be an object")
    unknown = set(section) - allowed
    if unknown:
        raise ImproperlyConfigured(f"{where}.{name}: unknown setting(s) {', '.join(sorted(unknown))}")
    return section


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ImproperlyConfigured(f"{where}={value!r} must be one of: {', '.join(choices)}")
    return str(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{where}={value!r} must be true or false")
    return value


def _region_from_file(code: str, spec: Any, defaults: tuple[StorageSettings, KeySettings], source: str) -> Region:
    where = f"{source}: {code}"
    if not _REGION_CODE.fullmatch(code):
        raise ImproperlyConfigured(f"{where}: not a region code (like eu-central-1)")
    if not isinstance(spec, dict):
        raise ImproperlyConfigured(f"{where} must be an object")
    unknown = set(spec) - {"name", "storage", "keys", "cell"}
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    storage_defaults, key_defaults = defaults
    allowed = {"backend", "bucket_pattern", "endpoint_url", "require_tls", "sse_kms_key"}
    storage = _section(spec, "storage", allowed, where)
    sse_kms_key = storage.get("sse_kms_key")
    if sse_kms_key is not None and (not isinstance(sse_kms_key, str) or f":{code}:" not in sse_kms_key):
        raise ImproperlyConfigured(f"{where}.storage.sse_kms_key must be the ARN of a KMS key in {code}")
    keys = _section(spec, "keys", {"provider", "endpoint_url"}, where)
    return Region(
        code=code,
        name=str(spec.get("name", DEFAULT_REGIONS.get(code, code))),
        storage=StorageSettings(
            backend=_choice(
                storage.get("backend", storage_defaults.backend), STORAGE_BACKENDS, f"{where}.storage.backend"
            ),
            bucket_pattern=_check_pattern(
                str(storage.get("bucket_pattern", storage_defaults.bucket_pattern)), f"{where}.storage.bucket_pattern"
            ),
            endpoint_url=storage.get("endpoint_url", storage_defaults.endpoint_url),
            require_tls=_flag(storage.get("require_tls", storage_defaults.require_tls), f"{where}.storage.require_tls"),
            sse_kms_key=sse_kms_key,
        ),
        keys=KeySettings(
            provider=_choice(keys.get("provider", key_defaults.provider), KEY_PROVIDERS, f"{where}.keys.provider"),
            endpoint_url=keys.get("endpoint_url", key_defaults.endpoint_url),
        ),
        cell=cell_for_region(code, spec.get("cell")),
    )


@cache
def registry() -> dict[str, Region]:
    defaults = _env_defaults()
    file_name = os.environ.get("PORTICO_REGIONS_FILE")
    if file_name:
        try:
            data = json.loads(Path(file_name).read_text())
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(f"PORTICO_REGIONS_FILE={file_name!r}: {exc}") from exc
        if not isinstance(data, dict) or not data:
            raise ImproperlyConfigured("PORTICO_REGIONS_FILE must hold a non-empty JSON object")
        source = f"PORTICO_REGIONS_FILE={file_name}"
        return {code: _region_from_file(code, spec, defaults, source) for code, spec in data.items()}
    codes = os.environ.get("PORTICO_REGIONS")
    chosen = [c.strip() for c in codes.split(",") if c.strip()] if codes else list(DEFAULT_REGIONS)
    for code in chosen:
        if not _REGION_CODE.fullmatch(code):
            raise ImproperlyConfigured(f"PORTICO_REGIONS: {code!r} is not a region code (like eu-central-1)")
    storage, keys = defaults
    return {
        code: Region(code, DEFAULT_REGIONS.get(code, code), storage, keys, cell_for_region(code)) for code in chosen
    }


def reload() -> None:
    """Forget the configuration read so far (after changing the environment), cells included."""
    cell_registry.reload()
    registry.cache_clear()


def kms_endpoint(code: str) -> str | None:
    """The KMS endpoint for keys in region ``code`` (registered with ``kms.providers`` at start-up).

    The platform's own key may live in a region firms are not placed in: it gets the default.
    """
    try:
        return get_region(code).keys.endpoint_url
    except UnknownRegion:
        return _env_defaults()[1].endpoint_url


def get_region(code: str) -> Region:
    try:
        return registry()[code]
    except KeyError:
        raise UnknownRegion(f"unknown region {code!r} (known: {', '.join(registry())})") from None
