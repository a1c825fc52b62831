"""Temporary access: given, extended and revoked by partners, failing closed at expiry, swept by a job, audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.audit.models import AuditEntry
from core.celery import app as celery_app
from core.grants import grant_change_expiry, grant_create, grant_revoke
from core.matters import matter_create
from core.models import Grant, User
from core.roles import Role
from core.services import user_create
from core.tasks import revoke_expired_grants, revoke_expired_grants_in_every_firm
from tests.support.firms import Firm

if TYPE_CHECKING:
    from tests.support.cast import Cast


def _last(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("sequence").last()
    assert entry is not None, f"no {action} entry"
    return entry


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Freeze Django's clock (timezone.now) at ``moment`` for the requests that follow."""
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- Expiry is checked at every request --------------------------------------------


def test_grant_works_until_its_expiry_and_not_one_microsecond_after(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = cast.firm.client(cast.olga)
    with cast.firm.tenant:  # within the session's lifetime, so freezing the clock keeps her signed in
        ends = grant_change_expiry(
            grant=cast.olga_grant, expires_at=timezone.now() + timedelta(minutes=10), by=cast.alice
        ).expires_at

    _at(monkeypatch, ends - timedelta(microseconds=1))
    just_before = client.get(f"/portal/matters/{cast.m1.pk}/")
    api_before = client.get(f"/api/v1/matters/{cast.m1.pk}")
    _at(monkeypatch, ends)
    at_expiry = client.get(f"/portal/matters/{cast.m1.pk}/")
    api_at = client.get(f"/api/v1/matters/{cast.m1.pk}")
    listing = client.get("/portal/matters/")

    assert just_before.status_code == 200
    assert api_before.status_code == 200
    assert at_expiry.status_code == 404
    assert api_at.status_code == 404
    assert b"2025-0001" not in listing.content
    with cast.firm.tenant:  # nothing was swept: the refusal came from the accessor alone
        assert Grant.objects.get(pk=cast.olga_grant.pk).revoked_at is None
        assert User.objects.get(pk=cast.olga.pk).has_perm("core.view_matter", cast.m1)


def test_expired_grantee_gets_404_although_the_sweep_has_not_run(cast: Cast) -> None:
    client = cast.firm.client(cast.oscar)

    assert client.get(f"/portal/matters/{cast.m1.pk}/").status_code == 404
    assert client.get(f"/api/v1/matters/{cast.m1.pk}").status_code == 404
    assert client.get("/api/v1/matters").json()["results"] == []


# --- The sweep ---------------------------------------------------------------------


def test_sweep_revokes_expired_grants_removes_the_permission_and_audits_it(cast: Cast) -> None:
    with cast.firm.tenant:
        closed = revoke_expired_grants()

        oscar_grant = Grant.objects.get(pk=cast.oscar_grant.pk)
        assert closed == 1
        assert oscar_grant.revoked_at is not None
        assert oscar_grant.revoked_by is None
        assert not User.objects.get(pk=cast.oscar.pk).has_perm("core.view_matter", cast.m1)
        assert Grant.objects.get(pk=cast.olga_grant.pk).revoked_at is None
        entry = _last("grant.expired")
        assert entry.target_id == str(cast.oscar_grant.pk)
        assert entry.data_dict["grantee"] == "oscar@acme.test"
        assert entry.data_dict["permissions"] == ["view_matter"]
        assert revoke_expired_grants() == 0  # idempotent


def test_scheduled_fan_out_sweeps_every_active_firm_in_its_own_schema(
    cast: Cast, firm_b: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    now = timezone.now()
    with firm_b.tenant:
        bob = User.objects.get(email="bob@globex.test")
        client = user_create(email="erin@client.test", role=Role.CLIENT)
        counsel = user_create(email="vic@counsel.test", role=Role.OUTSIDE_COUNSEL)
        matter = matter_create(reference="G-1", title="Globex matter", matter_type="H-1B", client=client, by=bob)
        globex_grant = grant_create(
            matter=matter,
            grantee=counsel,
            expires_at=now - timedelta(hours=1),
            reason="review",
            by=bob,
            at=now - timedelta(days=2),
        )

    sent_to = revoke_expired_grants_in_every_firm()

    assert sent_to >= 2
    with cast.firm.tenant:
        assert Grant.objects.get(pk=cast.oscar_grant.pk).revoked_at is not None
    with firm_b.tenant:
        assert Grant.objects.get(pk=globex_grant.pk).revoked_at is not None
        assert _last("grant.expired").data_dict["grantee"] == "vic@counsel.test"


def test_fan_out_sends_one_sweep_from_inside_each_active_firm_and_skips_suspended_ones(
    firm_a: Firm, firm_b: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenants.db import current_schema
    from tenants.models import Tenant

    sent_from: list[str] = []
    monkeypatch.setattr(revoke_expired_grants, "delay", lambda: sent_from.append(current_schema()))
    Tenant.objects.filter(pk=firm_b.tenant.pk).update(status=Tenant.Status.SUSPENDED)

    revoke_expired_grants_in_every_firm()

    # tenant-schemas-celery stamps the schema that is current when a task is sent.
    assert "acme" in sent_from
    assert "globex" not in sent_from
    assert {"public", "portico_template"}.isdisjoint(sent_from)
    assert len(sent_from) == len(set(sent_from))


def test_beat_schedule_runs_the_fan_out() -> None:
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["revoke-expired-grants"]
    assert entry["task"] == "core.tasks.revoke_expired_grants_in_every_firm"
    assert revoke_expired_grants_in_every_firm.name == entry["task"]


# --- Staff UI ------------------------------------------------------------------------


def _in_a_week() -> str:
    return (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")


def test_partner_gives_access_from_the_matter_page_and_it_is_audited(cast: Cast) -> None:
    partner = cast.firm.client(cast.paula)
    olga = cast.firm.client(cast.olga)
    assert olga.get(f"/portal/matters/{cast.m3.pk}/").status_code == 404

    response = partner.post(
        f"/staff/matters/{cast.m3.pk}/grants/",
        {"grantee": cast.olga.pk, "expires_at": _in_a_week(), "reason": "second opinion on eligibility"},
    )
    page = partner.get(response["Location"])

    assert response.status_code == 302
    assert b"olga@acme.test can see this matter until" in page.content
    assert b"second opinion on eligibility" in page.content
    assert olga.get(f"/portal/matters/{cast.m3.pk}/").status_code == 200
    with cast.firm.tenant:
        entry = _last("grant.created")
        assert entry.actor_email == "paula@acme.test"
        assert entry.data_dict["matter"] == "2025-0003"
        assert entry.data_dict["reason"] == "second opinion on eligibility"
        assert entry.ip == "127.0.0.1"


def test_partner_extends_a_grant_and_the_change_is_audited(cast: Cast) -> None:
    partner = cast.firm.client(cast.paula)
    new_end = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)

    response = partner.post(
        f"/staff/matters/{cast.m1.pk}/grants/{cast.olga_grant.pk}/expiry/",
        {"expires_at": new_end.strftime("%Y-%m-%dT%H:%M")},
    )

    assert response.status_code == 302
    with cast.firm.tenant:
        assert Grant.objects.get(pk=cast.olga_grant.pk).expires_at == new_end
        entry = _last("grant.changed")
        assert entry.data_dict["expires_at"] == new_end.isoformat()
        assert entry.data_dict["previous_expires_at"] == cast.olga_grant.expires_at.isoformat()


def test_revoking_a_grant_ends_access_at_once_and_is_audited(cast: Cast) -> None:
    partner = cast.firm.client(cast.paula)
    olga = cast.firm.client(cast.olga)

    response = partner.post(f"/staff/matters/{cast.m1.pk}/grants/{cast.olga_grant.pk}/revoke/")

    assert response.status_code == 302
    assert olga.get(f"/portal/matters/{cast.m1.pk}/").status_code == 404
    with cast.firm.tenant:
        assert not User.objects.get(pk=cast.olga.pk).has_perm("core.view_matter", cast.m1)
        entry = _last("grant.revoked")
        assert entry.actor_email == "paula@acme.test"
        assert entry.data_dict["grantee"] == "olga@acme.test"


def test_the_responsible_attorney_may_not_give_access(cast: Cast) -> None:
    attorney = cast.firm.client(cast.arthur)

    response = attorney.post(
        f"/staff/matters/{cast.m1.pk}/grants/",
        {"grantee": cast.oscar.pk, "expires_at": _in_a_week(), "reason": "help"},
    )

    assert response.status_code == 403
    with cast.firm.tenant:
        assert not Grant.objects.filter(
            grantee=cast.oscar, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).exists()


@pytest.mark.parametrize(
    ("grantee", "expires_in", "message"),
    [
        ("carol", timedelta(days=1), b"Select a valid choice"),
        ("olga", timedelta(days=-1), b"The expiry must be in the future."),
        ("olga", timedelta(days=400), b"A grant may last at most a year"),
    ],
)
def test_a_bad_grant_is_refused_with_a_clear_message(
    cast: Cast, grantee: str, expires_in: timedelta, message: bytes
) -> None:
    partner = cast.firm.client(cast.paula)

    response = partner.post(
        f"/staff/matters/{cast.m3.pk}/grants/",
        {
            "grantee": getattr(cast, grantee).pk,
            "expires_at": (timezone.now() + expires_in).strftime("%Y-%m-%dT%H:%M"),
            "reason": "x",
        },
    )

    assert response.status_code == 400
    assert message in response.content


def test_a_second_live_grant_for_the_same_person_is_refused(cast: Cast) -> None:
    with cast.firm.tenant, pytest.raises(ValidationError, match="already has access until"):
        grant_create(
            matter=cast.m1, grantee=cast.olga, expires_at=timezone.now() + timedelta(days=2), reason="x", by=cast.alice
        )


def test_a_new_grant_after_an_unswept_expired_one_closes_the_old_one_first(cast: Cast) -> None:
    with cast.firm.tenant:
        fresh = grant_create(
            matter=cast.m1,
            grantee=cast.oscar,
            expires_at=timezone.now() + timedelta(days=2),
            reason="again",
            by=cast.alice,
        )

        assert Grant.objects.get(pk=cast.oscar_grant.pk).revoked_at is not None
        assert _last("grant.expired").target_id == str(cast.oscar_grant.pk)
        assert fresh.is_live(at=timezone.now())
    assert cast.firm.client(cast.oscar).get(f"/portal/matters/{cast.m1.pk}/").status_code == 200


def test_revoking_a_grant_keeps_access_that_has_another_reason(cast: Cast) -> None:
    with cast.firm.tenant:
        extra = grant_create(
            matter=cast.m1, grantee=cast.pete, expires_at=timezone.now() + timedelta(days=2), reason="x", by=cast.alice
        )
        grant_revoke(grant=extra, by=cast.alice)

        pete = User.objects.get(pk=cast.pete.pk)
        assert pete.has_perm("core.change_matter", cast.m1)  # still the assigned paralegal
    assert cast.firm.client(cast.pete).get(f"/staff/matters/{cast.m1.pk}/").status_code == 200


# --- API -----------------------------------------------------------------------------


def test_api_gives_lists_and_revokes_grants_for_a_partner(cast: Cast) -> None:
    partner = cast.firm.client(cast.paula)
    ends = (timezone.now() + timedelta(days=3)).isoformat()

    created = partner.post(
        f"/api/v1/matters/{cast.m2.pk}/grants",
        {"grantee": "olga@acme.test", "expires_at": ends, "reason": "API grant"},
        content_type="application/json",
    )
    listed = partner.get(f"/api/v1/matters/{cast.m2.pk}/grants")
    revoked = partner.post(f"/api/v1/matters/{cast.m2.pk}/grants/{created.json()['id']}/revoke")

    assert created.status_code == 201
    assert created.json()["grantee"] == "olga@acme.test"
    assert [g["reason"] for g in listed.json()["results"]] == ["API grant"]
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None


def test_api_refuses_grants_to_the_assigned_paralegal(cast: Cast) -> None:
    paralegal = cast.firm.client(cast.pete)

    assert paralegal.get(f"/api/v1/matters/{cast.m1.pk}/grants").status_code == 403
    assert paralegal.get(f"/api/v1/matters/{cast.m2.pk}/grants").status_code == 404
