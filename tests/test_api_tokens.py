"""Access tokens for integrations (issue 14 item 1): issued by a firm admin, scoped, per firm, revocable, rate-limited.

Real parts: the firm's PostgreSQL schema holds the tokens (django-oauth-toolkit),
Redis counts each token's requests (DRF throttling on the Django cache), and
every request goes through the full middleware and DRF stack with an
``Authorization: Bearer`` header.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import resolve
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from api.scopes import ANY_SCOPE, AREAS, SESSION_ONLY, declared_area, scope_needed
from core.api_tokens import IssuedToken, all_scopes, token_issue, token_revoke
from core.audit.actions import AuditAction
from core.audit.models import AuditEntry
from core.models import User
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.test_url_access import all_routes, path_of


def _issue(cast: Cast, *scopes: str, user: User | None = None, days: int = 30) -> IssuedToken:
    with cast.firm.tenant:
        return token_issue(user=user or cast.arthur, label="Case sync", scopes=scopes, days=days, by=cast.alice)


def _bearer(firm: Firm, text: str) -> Client:
    return Client(HTTP_HOST=firm.host, HTTP_AUTHORIZATION=f"Bearer {text}")


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


# --- Every API view declares its scope ---------------------------------------------------


def test_every_api_view_declares_the_scope_a_token_needs() -> None:
    undeclared = []
    for route in all_routes():
        if not route.is_api:
            continue
        url = path_of(route, {name: 1 for name in route.converters})
        view = resolve(url, urlconf="core.urls").func.view_class  # type: ignore[attr-defined]
        if declared_area(view) is None:
            undeclared.append(route.name)
    assert undeclared == []


def test_reads_need_the_read_scope_and_writes_the_write_scope() -> None:
    class Documents:
        scope_area = "documents"

    class Forgotten:
        pass

    assert scope_needed(Documents(), "GET") == "documents:read"
    assert scope_needed(Documents(), "POST") == "documents:write"
    assert scope_needed(Forgotten(), "GET") is None
    assert set(AREAS) == {scope.split(":")[0] for scope in all_scopes()}
    assert ANY_SCOPE == "*"


# --- What a token reaches -------------------------------------------------------------------


def test_a_token_reads_what_its_user_may_with_its_scope(cast: Cast) -> None:
    issued = _issue(cast, "matters:read")
    client = _bearer(cast.firm, issued.text)

    me = client.get("/api/v1/me")
    matters = client.get("/api/v1/matters")
    one = client.get(f"/api/v1/matters/{cast.m1.pk}")

    assert me.status_code == 200
    assert me.json()["email"] == "arthur@acme.test"
    assert matters.status_code == 200
    assert {m["reference"] for m in matters.json()["results"]} == {
        "2025-0001"
    }  # arthur's matter only, as in his session
    assert one.status_code == 200
    assert one.json()["reference"] == "2025-0001"


def test_a_token_never_reaches_more_than_its_users_role(cast: Cast) -> None:
    issued = _issue(cast, "matters:read", "access:read")
    client = _bearer(cast.firm, issued.text)

    assert client.get(f"/api/v1/matters/{cast.m2.pk}").status_code == 404  # not arthur's matter
    assert client.get("/api/v1/access-review").status_code == 403  # his role does not hold it


def test_a_token_without_the_scope_is_refused_with_403(cast: Cast) -> None:
    issued = _issue(cast, "matters:read")
    client = _bearer(cast.firm, issued.text)

    documents = client.get(f"/api/v1/matters/{cast.m1.pk}/documents")
    write = client.post(f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "hello"}, content_type="application/json")

    assert documents.status_code == 403
    assert _error(documents)["message"] == "This token does not have the scope documents:read."
    assert write.status_code == 403
    assert _error(write)["message"] == "This token does not have the scope matters:write."
    with cast.firm.tenant:
        assert not cast.m1.messages.exists()


def test_a_write_scope_lets_the_token_write_as_its_user(cast: Cast) -> None:
    issued = _issue(cast, "matters:write")
    sent = _bearer(cast.firm, issued.text).post(
        f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "Filed today."}, content_type="application/json"
    )

    assert sent.status_code == 201, sent.content
    assert sent.json()["sender"] == "arthur@acme.test"


def test_a_token_of_firm_a_is_unknown_on_firm_b(cast: Cast, firm_b: Firm) -> None:
    issued = _issue(cast, "matters:read")

    response = _bearer(firm_b, issued.text).get("/api/v1/matters")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"2025-0001" not in response.content


@pytest.mark.parametrize("text", ["", "pat_nonsense", "x" * 5000])
def test_an_unknown_token_is_401_in_the_one_error_shape(cast: Cast, text: str) -> None:
    response = _bearer(cast.firm, text).get("/api/v1/matters")

    assert response.status_code == 401
    assert _error(response)["message"] == "The access token is unknown, expired or revoked."


def test_an_expired_token_is_401(cast: Cast) -> None:
    issued = _issue(cast, "matters:read")
    with cast.firm.tenant:
        AccessToken.objects.filter(pk=issued.token.pk).update(expires=timezone.now() - timedelta(seconds=1))

    assert _bearer(cast.firm, issued.text).get("/api/v1/matters").status_code == 401


def test_a_revoked_token_is_401_from_the_next_request(cast: Cast) -> None:
    issued = _issue(cast, "matters:read")
    client = _bearer(cast.firm, issued.text)
    assert client.get("/api/v1/matters").status_code == 200
    with cast.firm.tenant:
        token_revoke(application=issued.application, by=cast.alice)

    assert client.get("/api/v1/matters").status_code == 401


def test_a_bad_token_is_not_rescued_by_a_session_cookie(cast: Cast) -> None:
    signed_in = cast.firm.client(cast.arthur)
    signed_in.defaults["HTTP_AUTHORIZATION"] = "Bearer pat_nonsense"

    assert signed_in.get("/api/v1/matters").status_code == 401


def test_anonymous_api_calls_are_told_to_authenticate_with_401(firm_a: Firm) -> None:
    response = firm_a.client().get("/api/v1/matters")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_token_is_stored_as_its_fingerprint_only(cast: Cast) -> None:
    issued = _issue(cast, "matters:read")
    with cast.firm.tenant:
        stored = AccessToken.objects.get(pk=issued.token.pk)

    assert issued.text.startswith("pat_")
    assert len(issued.text) > 40
    assert stored.token == ""
    assert stored.token_checksum == hashlib.sha256(issued.text.encode()).hexdigest()


def test_issuing_refuses_bad_input_naming_each_field(cast: Cast) -> None:
    from django.core.exceptions import ValidationError

    with cast.firm.tenant, pytest.raises(ValidationError) as refused:
        token_issue(user=cast.carol, label=" ", scopes=["matters:read", "everything"], days=0, by=cast.alice)

    assert set(refused.value.message_dict) == {"label", "scopes", "days", "user"}
    assert refused.value.message_dict["scopes"] == ["Unknown scopes: everything."]
    with cast.firm.tenant:
        assert not Application.objects.exists()


# --- Audit -------------------------------------------------------------------------------------


def test_issue_each_use_and_revocation_are_in_the_audit_log(cast: Cast) -> None:
    issued = _issue(cast, "matters:read")
    client = _bearer(cast.firm, issued.text)
    client.get("/api/v1/matters", HTTP_USER_AGENT="case-sync/1.0")
    client.get(f"/api/v1/matters/{cast.m1.pk}/documents")
    with cast.firm.tenant:
        token_revoke(application=issued.application, by=cast.alice)
        entries = list(
            AuditEntry.objects.filter(action__startswith="api_token.")
            .order_by("sequence")
            .values_list("action", flat=True)
        )
        uses = list(AuditEntry.objects.filter(action=AuditAction.API_TOKEN_USED).order_by("sequence"))

    assert entries == ["api_token.issued", "api_token.used", "api_token.used", "api_token.revoked"]
    assert [use.actor_email for use in uses] == ["arthur@acme.test"] * 2
    assert json.loads(uses[0].data) == {
        "credential": "Case sync",
        "scope": "matters:read",
        "allowed": True,
        "method": "GET",
        "path": "/api/v1/matters",
    }
    assert uses[0].user_agent == "case-sync/1.0"
    refused = json.loads(uses[1].data)
    assert refused["allowed"] is False
    assert refused["scope"] == "documents:read"


# --- Rate limit -------------------------------------------------------------------------------------


@override_settings(PORTICO_API_TOKEN_RATE="3/min")
def test_each_token_is_rate_limited_with_429_and_retry_after(cast: Cast) -> None:
    from django.core.cache import cache

    cache.clear()
    first, second = _issue(cast, "matters:read"), _issue(cast, "matters:read", user=cast.paula)
    client = _bearer(cast.firm, first.text)

    answers = [client.get("/api/v1/me").status_code for _ in range(4)]
    over = client.get("/api/v1/me")

    assert answers == [200, 200, 200, 429]
    assert over.status_code == 429
    assert 0 < int(over["Retry-After"]) <= 60
    assert _error(over)["code"] == "throttled"
    assert _bearer(cast.firm, second.text).get("/api/v1/me").status_code == 200  # the other token has its own count
    assert cast.firm.client(cast.arthur).get("/api/v1/me").status_code == 200  # the session is not counted


# --- The staff page -----------------------------------------------------------------------------


def test_a_firm_admin_issues_a_token_shown_once_and_revokes_it(cast: Cast) -> None:
    admin = cast.firm.client(cast.alice)

    issued = admin.post(
        "/staff/api-tokens/",
        {"label": "Accounting sync", "user": "bill@acme.test", "scopes": ["billing:read"], "days": "30"},
    )
    page = issued.content.decode()
    text = re.search(r'data-testid="token-text">(pat_[^<]+)<', page)

    assert issued.status_code == 201
    assert text is not None
    assert _bearer(cast.firm, text.group(1)).get("/api/v1/billing/invoices").status_code == 200
    listed = admin.get("/staff/api-tokens/").content.decode()
    assert "Accounting sync" in listed
    assert "bill@acme.test" in listed
    assert "billing:read" in listed
    assert text.group(1) not in listed  # shown once
    with cast.firm.tenant:
        application = Application.objects.get(name="Accounting sync")

    revoked = admin.post(f"/staff/api-tokens/{application.pk}/revoke/")

    assert revoked.status_code == 302
    after = admin.get("/staff/api-tokens/").content.decode()
    assert "The token “Accounting sync” was revoked." in after
    assert f'data-testid="token-{application.pk}"' not in after
    assert _bearer(cast.firm, text.group(1)).get("/api/v1/billing/invoices").status_code == 401


def test_the_issue_form_refuses_bad_input_with_a_message_and_keeps_it(cast: Cast) -> None:
    admin = cast.firm.client(cast.alice)

    refused = admin.post("/staff/api-tokens/", {"label": "Sync", "user": "carol@acme.test", "days": "9999"})
    page = refused.content.decode()

    assert refused.status_code == 400
    assert "No staff member of the firm has this email." in page
    assert 'value="Sync"' in page
    with cast.firm.tenant:
        assert not Application.objects.exists()

    no_scope = admin.post("/staff/api-tokens/", {"label": "Sync", "user": "bill@acme.test", "days": "9999"})
    assert "Choose at least one scope." in no_scope.content.decode()
    assert "A token lasts from 1 to 365 days." in no_scope.content.decode()


def test_only_firm_admins_see_the_tokens_page_others_get_404(cast: Cast, firm_b: Firm) -> None:
    issued = _issue(cast, "matters:read")
    revoke = f"/staff/api-tokens/{issued.application.pk}/revoke/"

    for person in (cast.paula, cast.arthur, cast.bill, cast.carol, cast.charlie):
        client = cast.firm.client(person)
        assert client.get("/staff/api-tokens/").status_code == 404, person.email
        assert client.post(revoke).status_code == 404, person.email
    other_firm = firm_b.client(firm_b.admin)
    assert other_firm.post(revoke).status_code == 404
    assert "Case sync" not in other_firm.get("/staff/api-tokens/").content.decode()
    assert cast.firm.client().get("/staff/api-tokens/").status_code == 302  # to sign in
    with cast.firm.tenant:
        assert Application.objects.filter(pk=issued.application.pk).exists()


# --- The URL walk, with tokens -----------------------------------------------------------------


def _personal_tokens(cast: Cast, firm_b: Firm) -> dict[str, str]:
    """Firm B's token, firm A's expired and revoked ones (all scopes), and one per area lacking that area's scopes."""
    everything = list(all_scopes())
    with firm_b.tenant:
        other_firm = token_issue(user=firm_b.admin, label="B", scopes=everything, days=30, by=firm_b.admin)
    expired, revoked = _issue(cast, *everything, user=cast.alice), _issue(cast, *everything, user=cast.alice)
    with cast.firm.tenant:
        AccessToken.objects.filter(pk=expired.token.pk).update(expires=timezone.now() - timedelta(seconds=1))
        token_revoke(application=revoked.application, by=cast.alice)
    lacking = {
        f"without {area}": _issue(cast, *[s for s in everything if not s.startswith(f"{area}:")], user=cast.alice).text
        for area in AREAS
    }
    every = _issue(cast, *everything, user=cast.alice).text
    return {
        "firm B's token": other_firm.text,
        "expired": expired.text,
        "revoked": revoked.text,
        "every scope": every,
        **lacking,
    }


def _client_credentials_tokens(cast: Cast, firm_b: Firm) -> dict[str, str]:
    """The same four kinds, each got by an integration from the token endpoint (registered by the firm's admin)."""
    from core.integrations import integration_revoke
    from tests.support.integrations import integration_token

    everything = list(all_scopes())
    other_firm = integration_token(firm_b, everything)
    expired, revoked = integration_token(cast.firm, everything), integration_token(cast.firm, everything)
    with cast.firm.tenant:
        AccessToken.objects.filter(application__client_id=expired.registered.client_id).update(
            expires=timezone.now() - timedelta(seconds=1)
        )
        integration_revoke(integration=revoked.registered.integration, by=cast.alice)
    lacking = {
        f"without {area}": integration_token(cast.firm, [s for s in everything if not s.startswith(f"{area}:")]).text
        for area in AREAS
    }
    every = integration_token(cast.firm, everything).text
    return {
        "firm B's token": other_firm.text,
        "expired": expired.text,
        "revoked": revoked.text,
        "every scope": every,
        **lacking,
    }


@pytest.mark.parametrize("kind", ["personal", "client credentials"])
def test_every_api_url_refuses_bad_tokens_and_tokens_without_its_scope(cast: Cast, firm_b: Firm, kind: str) -> None:
    """Every API route, GET and POST, with firm B's token, an expired and a revoked token of firm A (all scopes),
    and firm A's admin token holding every scope but the route's: 401, 401, 401, 403; never M1's data.
    Personal tokens, and an integration's tokens from the client-credentials grant (acting as firm A's admin)."""
    from tests.test_url_access import VICTIM_MARKERS, _victim_ids

    tokens = (_personal_tokens if kind == "personal" else _client_credentials_tokens)(cast, firm_b)
    wrong: list[str] = []
    for route in all_routes():
        if not route.is_api:
            continue
        path = path_of(route, _victim_ids(cast))
        view = resolve(path, urlconf="core.urls").func.view_class  # type: ignore[attr-defined]
        area = declared_area(view)
        cases = [(label, tokens[label], 401) for label in ("firm B's token", "expired", "revoked")]
        if area in AREAS:
            cases.append((f"without {area}", tokens[f"without {area}"], 403))
        elif area == SESSION_ONLY:
            cases.append(("every scope", tokens["every scope"], 403))  # no token manages integrations
        for label, text, expected in cases:
            client = _bearer(cast.firm, text)
            for method in ("GET", "POST"):
                response = (
                    client.get(path) if method == "GET" else client.post(path, {}, content_type="application/json")
                )
                leaked = [m for m in VICTIM_MARKERS if m in response.content]
                if response.status_code != expected or leaked:
                    wrong.append(f"{method} {path} with {label}: {response.status_code} {leaked}")
    assert wrong == []
