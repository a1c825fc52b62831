"""The OpenAPI schema served at /api/v1/schema/ is valid, generates without a warning and lists every API endpoint."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from core.api_tokens import all_scopes
from core.models import User
from tests.support.firms import Firm
from tests.test_url_access import all_routes

SCOPES = {*all_scopes(), "any", "none"}  # none: a signed-in session only (api.scopes.SESSION_ONLY)


def _schema(firm: Firm) -> dict[str, object]:
    response = firm.client(firm.admin).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)  # type: ignore[no-any-return]


def test_the_served_schema_is_valid_openapi(firm_a: Firm) -> None:
    validate_schema(_schema(firm_a))


def test_the_schema_generates_without_a_single_warning(tmp_path: Path) -> None:
    """As `spectacular --validate --fail-on-warn`: a view without a serializer, an enum collision, fails."""
    GENERATOR_STATS.reset()
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert not GENERATOR_STATS, "drf-spectacular warned while generating the schema"
    validate_schema(yaml.safe_load(out.read_text()))


def test_every_operation_describes_its_success_and_its_errors(firm_a: Firm) -> None:
    schema = _schema(firm_a)
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, item in schema["paths"].items()  # type: ignore[attr-defined]
        for method, operation in item.items()
    ]
    error = {"$ref": "#/components/schemas/Error"}

    assert len(operations) > 40
    for name, operation in operations:
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, f"{name} has no success response"
        assert any(responses[code].get("content") for code in success), f"{name} does not describe its body"
        for code in ("401", "403", "429"):
            assert responses[code]["content"]["application/json"]["schema"] == error, (name, code)
        if "{" in name or name.startswith("POST"):
            assert "404" in responses, f"{name} does not say it can be 404"
        if name.startswith("POST"):
            assert "400" in responses, f"{name} does not say it can be 400"
        assert operation["x-token-scope"] in SCOPES, f"{name} does not say which token scope it needs"
        session_only = operation["x-token-scope"] == "none"
        assert ({"tokenAuth": []} in operation["security"]) is not session_only, name
        scopes = [] if operation["x-token-scope"] == "any" else [operation["x-token-scope"]]
        assert ({"integrationAuth": scopes} in operation["security"]) is not session_only, name


def test_the_schema_describes_the_client_credentials_flow_of_integrations(firm_a: Firm) -> None:
    schemes = _schema(firm_a)["components"]["securitySchemes"]  # type: ignore[index]

    flow = schemes["integrationAuth"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/v1/oauth/token/"
    assert flow["scopes"] == all_scopes()
    assert schemes["tokenAuth"]["scheme"] == "bearer"


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
    assert firm_a.client().get("/api/v1/schema/").status_code == 401
    assert firm_a.client(charlie).get("/api/v1/schema/").status_code == 403
