"""Who sees which matter: the accessor, and the pages and API that use it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from core.access import matter_for_user, matters_for_user
from core.models import FirmSettings, Matter, User
from core.services import firm_settings_update

if TYPE_CHECKING:
    from tests.support.cast import Cast


def _visible(cast: Cast) -> dict[str, list[str]]:
    with cast.firm.tenant:
        return {
            name: sorted(matters_for_user(User.objects.get(pk=user.pk)).values_list("reference", flat=True))
            for name, user in cast.people().items()
        }


ALL = ["2025-0001", "2025-0002", "2025-0003", "2026-0101", "2026-0202"]


def test_each_role_sees_exactly_its_matters(cast: Cast) -> None:
    assert _visible(cast) == {
        "alice": ALL,
        "paula": ALL,
        "arthur": ["2025-0001"],
        "anna": [],
        "pete": ["2025-0001"],
        "ivy": [],
        "bill": [],
        "carol": ["2025-0001"],
        "dan": ["2025-0002", "2025-0003"],
        "olga": ["2025-0001"],
        "oscar": [],  # his grant expired a minute ago; the sweep has not run, he still holds the permission
        "lucia": ["2026-0101"],
        "dora": ["2026-0202"],
        "paco": ["2026-0101"],
        "ana": ["2026-0101"],
        "charlie": [],  # signed in to the firm, with no role
    }


def test_firm_setting_lets_attorneys_see_every_matter_but_change_only_their_own(cast: Cast) -> None:
    with cast.firm.tenant:
        firm_settings_update(by=cast.alice, attorneys_see_all_matters=True)
        anna = User.objects.get(pk=cast.anna.pk)

        assert sorted(matters_for_user(anna).values_list("reference", flat=True)) == ALL
        assert list(matters_for_user(anna, action="change")) == []
        with pytest.raises(PermissionDenied):
            matter_for_user(anna, cast.m1.pk, action="change")
    assert _visible(cast)["pete"] == ["2025-0001"]  # paralegals are not attorneys


@pytest.mark.parametrize("matter_id", ["999999", "not-a-number", ""])
def test_missing_matter_and_someone_elses_matter_are_the_same_404(cast: Cast, matter_id: str) -> None:
    with cast.firm.tenant:
        carol = User.objects.get(pk=cast.carol.pk)
        with pytest.raises(Http404) as missing:
            matter_for_user(carol, matter_id)
        with pytest.raises(Http404) as not_hers:
            matter_for_user(carol, cast.m2.pk)

    assert str(missing.value) == str(not_hers.value) == "No such matter."


def test_client_may_see_but_not_change_her_matter(cast: Cast) -> None:
    with cast.firm.tenant:
        carol = User.objects.get(pk=cast.carol.pk)
        assert matter_for_user(carol, cast.m1.pk) == cast.m1
        with pytest.raises(PermissionDenied):
            matter_for_user(carol, cast.m1.pk, action="change")


def test_a_guardian_permission_without_a_live_reason_gives_nothing(cast: Cast) -> None:
    from guardian.shortcuts import assign_perm

    with cast.firm.tenant:
        assign_perm("core.view_matter", cast.anna, cast.m2)  # e.g. by hand in a shell

        assert list(matters_for_user(User.objects.get(pk=cast.anna.pk))) == []


def test_a_deactivated_user_sees_nothing_even_with_assignments(cast: Cast) -> None:
    with cast.firm.tenant:
        User.objects.filter(pk=cast.arthur.pk).update(is_active=False)
        assert list(matters_for_user(User.objects.get(pk=cast.arthur.pk))) == []


def test_attorney_sees_only_assigned_matters_in_the_staff_list_and_the_api(cast: Cast) -> None:
    client = cast.firm.client(cast.arthur)

    page = client.get("/staff/matters/")
    api = client.get("/api/v1/matters")

    assert page.status_code == 200
    assert b"2025-0001" in page.content
    assert b"2025-0002" not in page.content
    assert [m["reference"] for m in api.json()["results"]] == ["2025-0001"]


def test_client_sees_her_matter_in_the_portal_and_another_clients_matter_is_404(cast: Cast) -> None:
    client = cast.firm.client(cast.carol)

    listing = client.get("/portal/matters/")
    own = client.get(f"/portal/matters/{cast.m1.pk}/")
    other = client.get(f"/portal/matters/{cast.m2.pk}/")
    other_api = client.get(f"/api/v1/matters/{cast.m2.pk}")

    assert b"Carol Diaz marriage petition" in listing.content
    assert b"Dan Ortiz" not in listing.content
    assert own.status_code == 200
    assert b"Carol Diaz marriage petition" in own.content
    assert other.status_code == 404
    assert b"Dan Ortiz" not in other.content
    assert other_api.status_code == 404


def test_client_is_refused_the_staff_workspace_even_for_her_own_matter(cast: Cast) -> None:
    client = cast.firm.client(cast.carol)

    assert client.get("/staff/matters/").status_code == 403
    assert client.get(f"/staff/matters/{cast.m1.pk}/").status_code == 403


def test_outside_counsel_sees_the_end_of_his_access_on_the_matter_page(cast: Cast) -> None:
    page = cast.firm.client(cast.olga).get(f"/portal/matters/{cast.m1.pk}/")

    assert page.status_code == 200
    expected = f"Your access to this matter ends on {cast.olga_grant.expires_at:%Y-%m-%d %H:%M} UTC."
    assert expected.encode() in page.content


def test_api_matter_detail_names_the_people_on_it(cast: Cast) -> None:
    detail = cast.firm.client(cast.pete).get(f"/api/v1/matters/{cast.m1.pk}")

    assert detail.status_code == 200
    assert detail.json()["client"] == "carol@acme.test"
    assert detail.json()["responsible_attorney"] == "arthur@acme.test"


def _bulk_matters(cast: Cast, start: int, count: int) -> None:
    with cast.firm.tenant:
        for n in range(start, start + count):
            Matter.objects.create(reference=f"2030-{n:04d}", title=f"Bulk {n}", client=cast.dan)


def test_staff_matter_list_query_count_does_not_grow_with_matters(cast: Cast) -> None:
    client = cast.firm.client(cast.paula)
    client.get("/staff/matters/")  # warm the session
    _bulk_matters(cast, 0, 5)
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/matters/")
    _bulk_matters(cast, 5, 25)

    with CaptureQueriesContext(connection) as many:
        page = client.get("/staff/matters/")

    assert page.content.count(b"Bulk ") == 30
    assert len(many) == len(few) <= 16


def test_matters_for_user_at_a_moment_respects_grant_expiry(cast: Cast) -> None:
    with cast.firm.tenant:
        oscar = User.objects.get(pk=cast.oscar.pk)
        before = cast.oscar_grant.expires_at - timedelta(microseconds=1)

        assert list(matters_for_user(oscar, at=before)) == [cast.m1]
        assert list(matters_for_user(oscar, at=cast.oscar_grant.expires_at)) == []
        assert FirmSettings.load().attorneys_see_all_matters is False
