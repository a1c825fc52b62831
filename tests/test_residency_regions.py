"""The region registry: launch regions by default, storage and key settings per region, bad settings refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from residency import regions


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "PORTICO_REGIONS",
        "PORTICO_REGIONS_FILE",
        "PORTICO_STORAGE_BACKEND",
        "PORTICO_KMS_PROVIDER",
        "PORTICO_AWS_ENDPOINT_URL",
        "PORTICO_S3_ENDPOINT_URL",
        "PORTICO_KMS_ENDPOINT_URL",
        "PORTICO_BUCKET_PATTERN",
        "PORTICO_S3_REQUIRE_TLS",
    ):
        monkeypatch.delenv(name, raising=False)
    regions.reload()
    yield
    monkeypatch.undo()
    regions.reload()


def regions_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: Any) -> None:
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(spec))
    monkeypatch.setenv("PORTICO_REGIONS_FILE", str(path))
    regions.reload()


def test_the_launch_regions_store_files_and_keys_locally_by_default() -> None:
    registry = regions.registry()

    assert list(registry) == ["us-east-1", "eu-central-1", "ca-central-1", "ap-southeast-2"]
    for region in registry.values():
        assert (region.storage.backend, region.keys.provider) == ("local", "local")
        assert region.storage.require_tls


def test_the_environment_sets_every_regions_backend_provider_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTICO_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("PORTICO_KMS_PROVIDER", "aws")
    monkeypatch.setenv("PORTICO_AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("PORTICO_KMS_ENDPOINT_URL", "http://127.0.0.1:9001")
    regions.reload()

    region = regions.get_region("eu-central-1")

    assert (region.storage.backend, region.storage.endpoint_url) == ("s3", "http://127.0.0.1:9000")
    assert (region.keys.provider, region.keys.endpoint_url) == ("aws", "http://127.0.0.1:9001")
    assert region.bucket_name("acme") == "portico-eu-central-1-acme"


def test_a_regions_file_sets_storage_and_keys_per_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    regions_file(
        tmp_path,
        monkeypatch,
        {
            "eu-central-1": {
                "name": "Frankfurt",
                "storage": {"backend": "s3", "bucket_pattern": "acme-law-{slug}-{region}"},
                "keys": {"provider": "aws"},
            },
            "us-east-1": {},
        },
    )

    frankfurt, virginia = regions.get_region("eu-central-1"), regions.get_region("us-east-1")

    assert list(regions.registry()) == ["eu-central-1", "us-east-1"]
    assert (frankfurt.name, frankfurt.storage.backend, frankfurt.keys.provider) == ("Frankfurt", "s3", "aws")
    assert frankfurt.bucket_name("acme") == "acme-law-acme-eu-central-1"
    assert (virginia.storage.backend, virginia.keys.provider) == ("local", "local")
    with pytest.raises(regions.UnknownRegion, match="unknown region 'ca-central-1'"):
        regions.get_region("ca-central-1")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"eu-central-1": {"storage": {"backend": "ftp"}}}, "storage.backend='ftp' must be one of: local, s3"),
        ({"eu-central-1": {"keys": {"provider": "vault"}}}, "keys.provider='vault' must be one of: local, aws"),
        ({"eu-central-1": {"storage": {"bucket": "x"}}}, "unknown setting(s) bucket"),
        ({"eu-central-1": {"colour": "blue"}}, "unknown setting(s) colour"),
        ({"Frankfurt": {}}, "not a region code"),
        ({"eu-central-1": {"storage": {"bucket_pattern": "portico-{region}"}}}, "must contain {slug}"),
        ({"eu-central-1": {"storage": {"require_tls": "yes"}}}, "must be true or false"),
        ({}, "non-empty JSON object"),
    ],
)
def test_a_bad_regions_file_is_refused_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: Any, problem: str
) -> None:
    regions_file(tmp_path, monkeypatch, spec)

    with pytest.raises(ImproperlyConfigured) as refused:
        regions.registry()
    assert problem in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("PORTICO_STORAGE_BACKEND", "gcs", "PORTICO_STORAGE_BACKEND='gcs' must be one of: local, s3"),
        ("PORTICO_KMS_PROVIDER", "hsm", "PORTICO_KMS_PROVIDER='hsm' must be one of: local, aws"),
        ("PORTICO_BUCKET_PATTERN", "bucket-{firm}", "must contain {slug}"),
        ("PORTICO_REGIONS", "eu-central-1,mars", "'mars' is not a region code"),
        ("PORTICO_S3_REQUIRE_TLS", "maybe", "is not a boolean"),
    ],
)
def test_bad_environment_settings_are_refused_loudly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    regions.reload()

    with pytest.raises(ImproperlyConfigured) as refused:
        regions.registry()
    assert problem in str(refused.value)


def test_a_bucket_pattern_that_gives_an_invalid_bucket_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTICO_BUCKET_PATTERN", "Portico_{slug}")
    regions.reload()

    with pytest.raises(ImproperlyConfigured, match="invalid name 'Portico_acme'"):
        regions.get_region("us-east-1").bucket_name("acme")
