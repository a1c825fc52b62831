"""ETags on the API's reads (304) and If-Match on its changes (412), issue 14 item 2.

Real parts: the firm's PostgreSQL schema and the full middleware and DRF stack
through Django's test client, with a real access token. Nothing is mocked.
"""

from __future__ import annotations

from django.test import Client

from core.api_tokens import token_issue
from core.models import Matter, WebhookEndpoint
from tests.support.cast import Cast


def _token(cast: Cast, *scopes: str) -> Client:
    with cast.firm.tenant:
        issued = token_issue(user=cast.alice, label="Sync", scopes=scopes, days=30, by=cast.alice)
    return Client(HTTP_HOST=cast.firm.host, HTTP_AUTHORIZATION=f"Bearer {issued.text}")


def test_a_read_carries_a_strong_etag_and_if_none_match_gets_304_without_a_body(cast: Cast) -> None:
    client = cast.client_of(cast.alice)
    url = f"/api/v1/matters/{cast.m1.pk}"

    first = client.get(url)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    among = client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{first["ETag"]}')
    stale = client.get(url, HTTP_IF_NONE_MATCH='"not-it"')

    assert first.status_code == 200
    assert first["ETag"].startswith('"')
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", first["ETag"])
    assert among.status_code == 304
    assert (stale.status_code, stale.json()) == (200, first.json())


def test_the_etag_changes_with_the_object_and_with_who_reads_it(cast: Cast) -> None:
    url = f"/api/v1/matters/{cast.m1.pk}"
    alice = cast.client_of(cast.alice)
    before = alice.get(url)["ETag"]
    with cast.firm.tenant:
        Matter.objects.filter(pk=cast.m1.pk).update(title="Renamed by a colleague")

    after = alice.get(url, HTTP_IF_NONE_MATCH=before)

    assert after.status_code == 200
    assert after.json()["title"] == "Renamed by a colleague"
    assert after["ETag"] != before


def test_a_list_page_has_an_etag_too(cast: Cast) -> None:
    api = _token(cast, "matters:read")
    first = api.get("/api/v1/matters?limit=2")

    assert first.status_code == 200
    assert api.get("/api/v1/matters?limit=2", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert api.get("/api/v1/matters?limit=3", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_errors_carry_no_etag(cast: Cast) -> None:
    missing = cast.client_of(cast.alice).get("/api/v1/matters/999999")

    assert missing.status_code == 404
    assert "ETag" not in missing


def test_a_patch_on_a_stale_etag_is_412_and_changes_nothing(cast: Cast) -> None:
    with cast.firm.tenant:
        endpoint = WebhookEndpoint.objects.create(url="https://hooks.acme.test/x", secret="whsec_x", events=[])
    api = _token(cast, "webhooks:manage")
    url = f"/api/v1/webhooks/endpoints/{endpoint.pk}"
    read = api.get(url)["ETag"]
    first = api.patch(url, {"events": ["matter.opened"]}, content_type="application/json", HTTP_IF_MATCH=read)

    second = api.patch(url, {"events": ["invoice.paid"]}, content_type="application/json", HTTP_IF_MATCH=read)
    weak = api.patch(url, {"events": ["invoice.paid"]}, content_type="application/json", HTTP_IF_MATCH=f"W/{read}")
    fresh = api.get(url)["ETag"]
    third = api.patch(url, {"events": ["invoice.paid"]}, content_type="application/json", HTTP_IF_MATCH=fresh)

    assert first.status_code == 200
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "precondition_failed"
    assert set(second.json()["error"]) == {"code", "message", "fields"}
    assert weak.status_code == 412  # If-Match compares strongly
    assert third.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.events == ["invoice.paid"]


def test_a_patch_without_if_match_or_with_a_star_goes_ahead(cast: Cast) -> None:
    with cast.firm.tenant:
        endpoint = WebhookEndpoint.objects.create(url="https://hooks.acme.test/x", secret="whsec_x", events=[])
    api = _token(cast, "webhooks:manage")
    url = f"/api/v1/webhooks/endpoints/{endpoint.pk}"

    plain = api.patch(url, {"events": ["matter.opened"]}, content_type="application/json")
    star = api.patch(url, {"events": ["invoice.paid"]}, content_type="application/json", HTTP_IF_MATCH="*")

    assert (plain.status_code, star.status_code) == (200, 200)


def test_the_schema_describes_304_and_412_and_their_headers(cast: Cast) -> None:
    from tests.test_api_schema import _schema

    paths = _schema(cast.firm)["paths"]
    read = paths["/api/v1/matters/{matter_id}"]["get"]  # type: ignore[index]
    change = paths["/api/v1/webhooks/endpoints/{endpoint_id}"]["patch"]  # type: ignore[index]

    assert "304" in read["responses"]
    assert "If-None-Match" in [p["name"] for p in read["parameters"]]
    assert change["responses"]["412"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "If-Match" in [p["name"] for p in change["parameters"]]
