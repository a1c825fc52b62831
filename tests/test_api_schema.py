"""The OpenAPI schema served at /api/v1/schema/ is valid and lists every API endpoint."""

from __future__ import annotations

import re

import yaml
from drf_spectacular.validation import validate_schema

from core.models import User
from tests.support.firms import Firm
from tests.test_url_access import all_routes


def _schema(firm: Firm) -> dict[str, object]:
    response = firm.client(firm.admin).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)  # type: ignore[no-any-return]


def test_the_served_schema_is_valid_openapi(firm_a: Firm) -> None:
    validate_schema(_schema(firm_a))


def test_the_schema_lists_every_api_endpoint(firm_a: Firm) -> None:
    from django.urls import reverse

    paths = set(_schema(firm_a)["paths"])  # type: ignore[call-overload]
    expected = set()
    for route in all_routes():
        if not route.is_api or route.name == "api:schema":
            continue
        url = reverse(route.name, kwargs={name: 1 for name in route.converters}, urlconf="core.urls")
        expected.add(re.sub(r"/1(?=/|$)", "/{}", url))

    listed = {re.sub(r"\{[^}]+\}", "{}", path) for path in paths}
    assert expected - listed == set()
    assert {"/api/v1/intake/import", "/api/v1/matters/{}/documents", "/api/v1/documents/{}/download"} <= listed


def test_clients_and_outsiders_do_not_get_the_schema(firm_a: Firm, charlie: User) -> None:
    assert firm_a.client().get("/api/v1/schema/").status_code == 403
    assert firm_a.client(charlie).get("/api/v1/schema/").status_code == 403
