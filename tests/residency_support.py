"""Fixtures for the kms/residency tests (import them into a test module).

- ``provisioned``: conftest's firms (acme in eu-central-1, globex in us-east-1)
  with their keys and local storage, provisioned once if onboarding has not.
- ``aws``: the session's moto server (S3 and KMS over HTTP) serving two regions,
  ca-central-1 and ap-southeast-2, configured for S3 buckets and AWS KMS keys;
  the other regions stay local. ``new_firm`` onboards a throwaway firm inside
  the test's transaction, so it vanishes with the test (moto keeps its bucket).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from residency import regions
from residency.provisioning import firm_is_provisioned, firm_provision
from tenants.models import Tenant
from tests.conftest import Firm
from tests.servers import MotoServer

AWS_REGIONS = ("ca-central-1", "ap-southeast-2")


@pytest.fixture(scope="session")
def provisioned(django_db_setup, django_db_blocker) -> dict[str, Firm]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        for firm in django_db_setup.values():
            if not firm_is_provisioned(tenant=firm.tenant):
                firm_provision(tenant=firm.tenant)
    return django_db_setup  # type: ignore[no-any-return]


@pytest.fixture
def acme(provisioned: dict[str, Firm], db: None) -> Tenant:
    return provisioned["acme"].tenant


@pytest.fixture
def globex(provisioned: dict[str, Firm], db: None) -> Tenant:
    return provisioned["globex"].tenant


def write_regions_file(path: Path, *, aws_endpoint: str, kms_endpoint: str | None = None) -> Path:
    spec: dict[str, object] = {code: {} for code in regions.DEFAULT_REGIONS}
    for code in AWS_REGIONS:
        spec[code] = {
            "storage": {"backend": "s3", "endpoint_url": aws_endpoint},
            "keys": {"provider": "aws", "endpoint_url": kms_endpoint or aws_endpoint},
        }
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="session")
def aws(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    saved = {
        name: os.environ.get(name) for name in ("PORTICO_REGIONS_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    path = write_regions_file(
        tmp_path_factory.mktemp("regions") / "regions.json", aws_endpoint=moto_server.endpoint_url
    )
    os.environ.update(PORTICO_REGIONS_FILE=str(path), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    regions.reload()
    yield moto_server
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    regions.reload()


def onboard(region: str, prefix: str = "t") -> Tenant:
    """A firm onboarded as `portico tenants create` does, then provisioned (idempotent if onboarding did)."""
    from tenants.services import tenant_create

    slug = f"{prefix}-{secrets.token_hex(4)}"
    result = tenant_create(slug=slug, name=f"Firm {slug}", region=region, admin_email=f"admin@{slug}.test")
    firm_provision(tenant=result.tenant)
    return result.tenant


@pytest.fixture
def new_firm(db: None) -> Callable[..., Tenant]:
    return onboard
