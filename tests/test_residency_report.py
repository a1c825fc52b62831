"""`portico residency report`: per firm, where its rows, files and keys live."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from residency.storage import client_files
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("storage_dir")


def portico(*args: str) -> Any:
    from tests.support.residency import portico

    return portico(*args)


def test_the_report_shows_region_storage_keys_rows_and_objects_per_firm(acme: Tenant, globex: Tenant) -> None:
    with acme:
        client_files.save("a.txt", ContentFile(b"12345"))

    result = portico("residency", "report", "--json")

    assert result.exit_code == 0, result.output
    firms = {firm["slug"]: firm for firm in json.loads(result.stdout)}
    report = firms["acme"]
    assert report["region"] == "eu-central-1"
    assert report["storage"]["backend"] == "local"
    assert report["storage"]["location"] == str(settings.PORTICO_STORAGE_DIR / "eu-central-1" / "acme")
    assert report["storage"]["actual_region"] == "eu-central-1"
    assert (report["objects"], report["bytes"]) == (1, 5)
    assert report["storage"]["stored_objects"] == 1
    assert report["storage"]["stored_bytes"] > 5  # ciphertext: header and tag
    assert report["rows"] >= 1
    assert {(k["class"], k["key_id"]) for k in report["keys"] if k["primary"]} == {
        ("client", "local/acme/client/v1"),
        ("retention", "local/acme/retention/v1"),
    }
    assert report["problems"] == []
    assert firms["globex"]["region"] == "us-east-1"


def test_the_text_report_names_each_firms_location_and_keys(acme: Tenant) -> None:
    result = portico("residency", "report")

    assert result.exit_code == 0, result.output
    assert "acme  region eu-central-1  local " in result.stdout
    assert "key client v1 primary: local local/acme/client/v1" in result.stdout


def test_the_report_reads_an_s3_firms_bucket_location_from_s3(aws: object, new_firm: Callable[..., Tenant]) -> None:
    firm = new_firm("ap-southeast-2")
    with firm:
        client_files.save("scan.pdf", ContentFile(b"scan"))

    result = portico("residency", "report", "--json")

    [report] = [f for f in json.loads(result.stdout) if f["slug"] == firm.slug]
    assert report["storage"] == {
        "backend": "s3",
        "location": f"s3://portico-ap-southeast-2-{firm.slug}",
        "actual_region": "ap-southeast-2",
        "stored_objects": 1,
        "stored_bytes": report["storage"]["stored_bytes"],
    }
    assert all(k["key_id"].startswith("arn:aws:kms:ap-southeast-2:") for k in report["keys"])
    assert report["problems"] == []
