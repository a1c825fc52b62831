"""Integrations (issue 14 item 1): OAuth clients a firm admin registers, with client-credentials tokens.

Real parts: django-oauth-toolkit's token endpoint on the firm's subdomain,
the firm's PostgreSQL schema holding the client (its secret hashed) and its
tokens, Redis counting each token's requests, the full middleware and DRF stack.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.contrib.auth.hashers import check_password
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from core.api_tokens import all_scopes, token_issue
from core.audit.models import AuditEntry
from core.integrations import integration_revoke
from core.models import Integration
from core.roles import Role
from core.services import user_set_roles
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.integrations import TOKEN_PATH, integration_token, token_request


def _bearer(firm: Firm, text: str) -> Client:
    return Client(HTTP_HOST=firm.host, HTTP_AUTHORIZATION=f"Bearer {text}")


# --- The token endpoint -------------------------------------------------------------------------


def test_an_integration_gets_a_token_with_its_secret_and_acts_as_its_admin(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"])
    client = _bearer(cast.firm, got.text)

    me = client.get("/api/v1/me")
    matters = client.get("/api/v1/matters", {"limit": 200})

    assert me.status_code == 200
    assert me.json()["email"] == "alice@acme.test"  # the admin who registered it
    assert matters.status_code == 200
    assert "2025-0002" in {m["reference"] for m in matters.json()["results"]}  # alice sees every matter
    with cast.firm.tenant:
        token = AccessToken.objects.get(application__client_id=got.registered.client_id)
    assert token.user_id == cast.alice.pk
    assert token.scope == "matters:read"
    assert token.token == ""  # stored as its fingerprint only


def test_the_token_answer_is_oauth_json_with_the_integrations_scopes(cast: Cast) -> None:
    with cast.firm.tenant:
        from core.integrations import integration_register

        registered = integration_register(name="Books", scopes=["billing:read", "matters:read"], by=cast.alice)

    answer = token_request(cast.firm, registered.client_id, registered.client_secret)
    narrower = token_request(cast.firm, registered.client_id, registered.client_secret, scope="billing:read")
    wider = token_request(cast.firm, registered.client_id, registered.client_secret, scope="billing:write")

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "billing:read matters:read"
    assert "refresh_token" not in body
    assert narrower.json()["scope"] == "billing:read"
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert _bearer(cast.firm, narrower.json()["access_token"]).get("/api/v1/matters").status_code == 403


def test_the_client_secret_is_stored_hashed_and_shown_once(cast: Cast) -> None:
    admin = cast.firm.client(cast.alice)

    registered = admin.post("/staff/settings/integrations/", {"name": "Case sync", "scopes": ["matters:read"]})
    page = registered.content.decode()
    client_id = re.search(r'data-testid="client-id">([^<]+)<', page)
    secret = re.search(r'data-testid="client-secret">([^<]+)<', page)

    assert registered.status_code == 201
    assert client_id is not None
    assert secret is not None
    with cast.firm.tenant:
        stored = Application.objects.get(client_id=client_id.group(1))
    assert stored.client_secret != secret.group(1)
    assert check_password(secret.group(1), stored.client_secret)
    listed = admin.get("/staff/settings/integrations/").content.decode()
    assert "Case sync" in listed
    assert client_id.group(1) in listed
    assert secret.group(1) not in listed
    assert token_request(cast.firm, client_id.group(1), secret.group(1)).status_code == 200


def test_a_wrong_secret_another_firms_client_and_a_personal_tokens_application_get_invalid_client(
    cast: Cast, firm_b: Firm
) -> None:
    got = integration_token(cast.firm, ["matters:read"])
    with cast.firm.tenant:
        personal = token_issue(user=cast.alice, label="PAT", scopes=["matters:read"], days=5, by=cast.alice)
        personal.application.client_secret = "known-secret"  # hashed on save; a personal token's has none known
        personal.application.save()

    answers = [
        token_request(cast.firm, got.registered.client_id, "wrong"),
        token_request(firm_b, got.registered.client_id, got.registered.client_secret),
        token_request(cast.firm, personal.application.client_id, "known-secret"),
    ]

    assert [(a.status_code, a.json()["error"]) for a in answers] == [(401, "invalid_client")] * 3
    assert _bearer(firm_b, got.text).get("/api/v1/matters").status_code == 401  # firm A's token, on firm B


def test_only_the_client_credentials_grant_is_served(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"])
    client = Client(HTTP_HOST=cast.firm.host)

    password = client.post(TOKEN_PATH, {"grant_type": "password", "username": "alice@acme.test", "password": "x"})
    device = client.post(TOKEN_PATH, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"})
    nothing = client.post(TOKEN_PATH, {})

    assert [r.status_code for r in (password, device, nothing)] == [400, 400, 400]
    assert {r.json()["error"] for r in (password, device, nothing)} == {"unsupported_grant_type"}
    assert client.get(TOKEN_PATH).status_code == 405
    assert got.text  # the integration itself was served


# --- Revocation and the admin's role ----------------------------------------------------------------


def test_revoking_the_integration_revokes_its_tokens(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"])
    client = _bearer(cast.firm, got.text)
    assert client.get("/api/v1/matters").status_code == 200

    with cast.firm.tenant:
        integration_revoke(integration=got.registered.integration, by=cast.alice)
        assert not AccessToken.objects.filter(application__client_id=got.registered.client_id).exists()

    assert client.get("/api/v1/matters").status_code == 401
    again = token_request(cast.firm, got.registered.client_id, got.registered.client_secret)
    assert again.status_code == 401


def test_an_integration_stops_when_its_admin_is_no_longer_a_firm_admin(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"], by=cast.alice)
    with cast.firm.tenant:
        from core.services import user_create

        second = user_create(email="admin2@acme.test", role=Role.FIRM_ADMIN, password="x" * 12)
        user_set_roles(user=cast.alice, roles={Role.ATTORNEY}, by=second)

    refused = _bearer(cast.firm, got.text).get("/api/v1/matters")
    again = token_request(cast.firm, got.registered.client_id, got.registered.client_secret)

    assert refused.status_code == 401
    assert b"2025-0001" not in refused.content
    assert again.status_code == 401


def test_an_expired_integration_token_is_401(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"])
    with cast.firm.tenant:
        AccessToken.objects.filter(application__client_id=got.registered.client_id).update(
            expires=timezone.now() - timedelta(seconds=1)
        )

    assert _bearer(cast.firm, got.text).get("/api/v1/matters").status_code == 401


# --- Audit and rate ----------------------------------------------------------------------------------


def test_registration_each_token_each_use_and_revocation_are_audited(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"], name="Case sync")
    client = _bearer(cast.firm, got.text)
    client.get("/api/v1/matters")
    client.get(f"/api/v1/matters/{cast.m1.pk}/documents")  # refused for its scope, and audited
    with cast.firm.tenant:
        integration_revoke(integration=got.registered.integration, by=cast.alice)
        entries = list(AuditEntry.objects.filter(action__regex=r"^(integration|api_token)\.").order_by("sequence"))

    assert [e.action for e in entries] == [
        "integration.registered",
        "integration.token_issued",
        "api_token.used",
        "api_token.used",
        "integration.revoked",
    ]
    assert {e.actor_email for e in entries} == {"alice@acme.test"}
    client_id = got.registered.client_id
    assert json.loads(entries[1].data)["client"] == client_id
    assert json.loads(entries[2].data) == {
        "credential": "Case sync",
        "client": client_id,
        "scope": "matters:read",
        "allowed": True,
        "method": "GET",
        "path": "/api/v1/matters",
    }
    assert json.loads(entries[3].data)["allowed"] is False
    assert got.registered.client_secret not in "".join(e.data for e in entries)


@override_settings(PORTICO_API_TOKEN_RATE="2/min")
def test_each_integration_token_is_rate_limited_with_429(cast: Cast) -> None:
    from django.core.cache import cache

    cache.clear()
    got = integration_token(cast.firm, ["matters:read"])
    client = _bearer(cast.firm, got.text)

    answers = [client.get("/api/v1/me").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


# --- The page and the API that register them -----------------------------------------------------


def test_the_page_lists_last_use_and_revokes(cast: Cast) -> None:
    got = integration_token(cast.firm, ["matters:read"], name="Case sync")
    _bearer(cast.firm, got.text).get("/api/v1/me")
    admin = cast.firm.client(cast.alice)
    integration_id = got.registered.integration.pk

    listed = admin.get("/staff/settings/integrations/").content.decode()
    row = listed[listed.index(f'data-testid="integration-{integration_id}"') :]
    row = row[: row.index("</tr>")]
    assert "never" not in row
    assert timezone.now().strftime("%Y-%m-%d") in row

    revoked = admin.post(f"/staff/settings/integrations/{integration_id}/revoke/")
    after = admin.get("/staff/settings/integrations/").content.decode()

    assert revoked.status_code == 302
    assert "The integration “Case sync” was revoked; its tokens no longer work." in after
    assert f'data-testid="integration-{integration_id}"' not in after
    assert _bearer(cast.firm, got.text).get("/api/v1/me").status_code == 401


def test_the_form_refuses_bad_input_with_a_message_and_keeps_it(cast: Cast) -> None:
    refused = cast.firm.client(cast.alice).post("/staff/settings/integrations/", {"name": "Sync"})

    assert refused.status_code == 400
    assert "Choose at least one scope." in refused.content.decode()
    assert 'value="Sync"' in refused.content.decode()
    with cast.firm.tenant:
        assert not Integration.objects.exists()


def test_only_firm_admins_see_the_page_others_get_404(cast: Cast, firm_b: Firm) -> None:
    got = integration_token(cast.firm, ["matters:read"], name="Case sync")
    revoke = f"/staff/settings/integrations/{got.registered.integration.pk}/revoke/"

    for person in (cast.paula, cast.arthur, cast.bill, cast.carol, cast.charlie):
        client = cast.firm.client(person)
        assert client.get("/staff/settings/integrations/").status_code == 404, person.email
        assert client.post(revoke).status_code == 404, person.email
    other_firm = firm_b.client(firm_b.admin)
    assert other_firm.post(revoke).status_code == 404
    assert "Case sync" not in other_firm.get("/staff/settings/integrations/").content.decode()
    assert _bearer(cast.firm, got.text).get("/api/v1/me").status_code == 200


def test_a_firm_admin_registers_and_revokes_through_the_api_but_no_token_may(cast: Cast) -> None:
    admin = cast.firm.client(cast.alice)

    made = admin.post(
        "/api/v1/integrations", {"name": "Books", "scopes": ["billing:read"]}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert set(body) == {"id", "name", "client_id", "scopes", "acts_as", "created", "last_used", "client_secret"}
    assert body["acts_as"] == "alice@acme.test"
    assert token_request(cast.firm, body["client_id"], body["client_secret"]).status_code == 200
    listed = admin.get("/api/v1/integrations").json()["results"]
    assert [(row["name"], row["last_used"]) for row in listed] == [("Books", None)]
    assert "client_secret" not in listed[0]

    with cast.firm.tenant:
        everything = token_issue(user=cast.alice, label="All", scopes=list(all_scopes()), days=1, by=cast.alice)
    token = _bearer(cast.firm, everything.text)
    assert token.get("/api/v1/integrations").status_code == 403
    assert token.post(f"/api/v1/integrations/{body['id']}/revoke").status_code == 403

    revoked = admin.post(f"/api/v1/integrations/{body['id']}/revoke")
    assert revoked.status_code == 200
    assert admin.get(f"/api/v1/integrations/{body['id']}").status_code == 404
    assert cast.firm.client(cast.paula).get("/api/v1/integrations").status_code == 404


def test_a_retried_registration_acts_once_and_never_stores_the_secret(cast: Cast) -> None:
    from core.models import IdempotencyKey

    admin = cast.firm.client(cast.alice)
    body = {"name": "Books", "scopes": ["billing:read"]}

    first = admin.post("/api/v1/integrations", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = admin.post("/api/v1/integrations", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["client_id"] == first.json()["client_id"]
    assert retry.json()["client_secret"] == ""
    with cast.firm.tenant:
        assert Integration.objects.count() == 1
        assert first.json()["client_secret"] not in json.dumps(list(IdempotencyKey.objects.values("body")))
