"""Cursor pagination and filters of the API's lists (issue 14 item 2).

Real parts: the firm's PostgreSQL schema, the full middleware and DRF stack
through Django's test client, the served OpenAPI schema. Nothing is mocked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from billing.invoices.services import invoice_create
from core.models import Matter
from tests.support.cast import Cast
from tests.test_api_schema import _schema


def _walk(client: Client, url: str) -> tuple[list[dict[str, Any]], int]:
    """Every result of a list, following ``next`` from the first page; and how many pages it took."""
    seen: list[dict[str, Any]] = []
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        seen += body["results"]
        pages += 1
        url = urlsplit(body["next"])._replace(scheme="", netloc="").geturl() if body["next"] else ""
    return seen, pages


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]  # type: ignore[no-any-return]


def test_walking_the_matters_two_at_a_time_sees_each_once_in_order(cast: Cast) -> None:
    with cast.firm.tenant:
        everything = list(Matter.objects.order_by("pk").values_list("reference", flat=True))

    seen, pages = _walk(cast.client_of(cast.alice), "/api/v1/matters?limit=2")

    assert len(everything) >= 5
    assert [m["reference"] for m in seen] == everything  # no gap, no duplicate, stable order
    assert pages == (len(everything) + 1) // 2


def test_previous_leads_back_to_the_first_page(cast: Cast) -> None:
    client = cast.client_of(cast.alice)
    first = client.get("/api/v1/matters?limit=2").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()

    assert first["previous"] is None
    assert {m["id"] for m in second["results"]}.isdisjoint(m["id"] for m in first["results"])
    assert back["results"] == first["results"]


def test_the_matters_filter_by_stage_type_and_client(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.select_related("stage", "matter_type", "client").get(pk=cast.m1.pk)
        by_type = set(Matter.objects.filter(matter_type=m1.matter_type).values_list("reference", flat=True))
        assert m1.stage is not None
        by_stage = set(Matter.objects.filter(stage__code=m1.stage.code).values_list("reference", flat=True))
        by_client = set(Matter.objects.filter(client=m1.client).values_list("reference", flat=True))
    client = cast.client_of(cast.alice)
    assert m1.stage is not None
    assert m1.matter_type is not None

    def refs(query: str) -> set[str]:
        return {m["reference"] for m in _walk(client, f"/api/v1/matters?{query}")[0]}

    assert refs(f"matter_type={m1.matter_type.code}") == by_type
    assert refs(f"stage={m1.stage.code}") == by_stage
    assert refs(f"client={m1.client.email.upper()}") == by_client
    assert refs(f"client={m1.client.email}&stage=no-such-stage") == set()
    assert m1.reference in by_client
    assert len(by_type) < 6


def test_a_client_filtering_for_another_clients_matters_sees_nothing(cast: Cast) -> None:
    seen, _ = _walk(cast.client_of(cast.dan), f"/api/v1/matters?client={cast.carol.email}")

    assert seen == []


def test_a_bad_filter_is_a_400_naming_it(cast: Cast) -> None:
    client = cast.client_of(cast.alice)

    invoices = _error(client.get("/api/v1/billing/invoices?status=bogus"), 400)
    documents = _error(client.get(f"/api/v1/matters/{cast.m1.pk}/documents?status=lost"), 400)
    matters = _error(client.get("/api/v1/matters?client=not-an-email"), 400)

    assert list(invoices["fields"]) == ["status"]
    assert list(documents["fields"]) == ["status"]
    assert list(matters["fields"]) == ["client"]


def test_the_invoices_and_documents_filter_by_state_and_matter(books: Cast) -> None:
    invoice = invoice_create(matter=books.m1, by=books.alice)
    client = books.client_of(books.alice)

    drafts = _walk(client, f"/api/v1/billing/invoices?status=draft&matter={books.m1.reference}")[0]
    paid = _walk(client, "/api/v1/billing/invoices?status=paid")[0]
    received = _walk(client, f"/api/v1/matters/{books.m1.pk}/documents?status=received")[0]
    every = _walk(client, f"/api/v1/matters/{books.m1.pk}/documents")[0]

    assert invoice.pk in [row["id"] for row in drafts]
    assert {row["status"] for row in drafts} == {"draft"}
    assert {row["matter"] for row in drafts} == {books.m1.reference}
    assert invoice.pk not in [row["id"] for row in paid]
    assert [row for row in every if row["status"] == "received"] == received


def test_a_forged_or_cut_cursor_and_a_bad_limit_are_400s(cast: Cast) -> None:
    client = cast.client_of(cast.alice)
    token = urlsplit(client.get("/api/v1/matters?limit=1").json()["next"]).query.split("cursor=")[1].split("&")[0]

    cut = _error(client.get(f"/api/v1/matters?cursor={token[:-3]}"), 400)
    forged = _error(client.get("/api/v1/matters?cursor=cD0x"), 400)  # DRF's own unsigned format for p=1
    zero = _error(client.get("/api/v1/matters?limit=0"), 400)
    word = _error(client.get("/api/v1/matters?limit=ten"), 400)

    assert list(cut["fields"]) == ["cursor"]
    assert list(forged["fields"]) == ["cursor"]
    assert list(zero["fields"]) == ["limit"]
    assert list(word["fields"]) == ["limit"]


def test_a_limit_above_the_cap_gets_the_cap(cast: Cast) -> None:
    response = cast.client_of(cast.alice).get("/api/v1/matters?limit=100000")

    assert response.status_code == 200
    assert len(response.json()["results"]) <= 200


def test_the_schema_describes_the_page_its_cursor_limit_and_filters(cast: Cast) -> None:
    schema: dict[str, Any] = _schema(cast.firm)
    matters = schema["paths"]["/api/v1/matters"]["get"]
    invoices = schema["paths"]["/api/v1/billing/invoices"]["get"]
    page = matters["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    assert {p["name"] for p in matters["parameters"]} >= {"cursor", "limit", "stage", "matter_type", "client"}
    assert {p["name"] for p in invoices["parameters"]} >= {"cursor", "limit", "status", "matter"}
    assert set(schema["components"]["schemas"][page]["properties"]) == {"next", "previous", "results"}


# A matter's checklist is computed from its type's requirements (a few lines), not a list of stored rows.
NOT_PAGED = {"/api/v1/matters/{matter_id}/checklist"}


def test_every_list_in_the_schema_is_a_page(cast: Cast) -> None:
    schema: dict[str, Any] = _schema(cast.firm)
    bare = []
    for path, item in schema["paths"].items():
        read = item.get("get")
        body = read and read["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema")
        if body and body.get("type") == "array" and path not in NOT_PAGED:
            bare.append(path)

    assert bare == []
