"""Sign-in, failed sign-in and sign-out are in the firm's audit log, with address and browser."""

from __future__ import annotations

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse

from core.audit.models import AuditEntry
from core.models import User
from tests.support.firms import PASSWORD, Firm

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) PorticoTest/1.0"


def browser(firm: Firm, address: str) -> Client:
    return Client(HTTP_HOST=firm.host, REMOTE_ADDR=address, HTTP_USER_AGENT=BROWSER)


@pytest.fixture(autouse=True)
def _log_ends(firm_a: Firm, firm_b: Firm) -> None:
    """Where each firm's log ended when the test began (tests that drive a real server commit sign-ins)."""
    for firm in (firm_a, firm_b):
        with firm.tenant:
            LOG_ENDS[firm.tenant.schema_name] = AuditEntry.objects.aggregate(end=Max("sequence"))["end"] or 0


LOG_ENDS: dict[str, int] = {}


def entries(firm: Firm, action: str) -> list[AuditEntry]:
    """This test's entries of ``action`` in ``firm``'s log."""
    with firm.tenant:
        found = AuditEntry.objects.filter(action=action, sequence__gt=LOG_ENDS[firm.tenant.schema_name])
        return list(found.order_by("sequence"))


def test_a_sign_in_is_recorded_with_the_users_address_and_browser(firm_a: Firm, charlie: User) -> None:
    response = browser(firm_a, "198.51.100.20").post(
        reverse("login"), {"username": "charlie@acme.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    [entry] = entries(firm_a, "auth.login")
    assert (entry.actor_id, entry.actor_email) == (charlie.pk, "charlie@acme.test")
    assert (entry.ip, entry.user_agent, entry.tenant) == ("198.51.100.20", BROWSER, "acme")


def test_a_failed_sign_in_keeps_the_attempted_email_and_never_the_password(firm_a: Firm) -> None:
    response = browser(firm_a, "203.0.113.66").post(
        reverse("login"), {"username": "charlie@acme.test", "password": "not-the-password-42"}
    )
    assert response.status_code == 200
    [entry] = entries(firm_a, "auth.login_failed")
    assert entry.actor_id is None
    assert entry.data_dict == {"email": "charlie@acme.test"}
    assert (entry.ip, entry.user_agent) == ("203.0.113.66", BROWSER)
    with firm_a.tenant:
        stored = AuditEntry.objects.filter(sequence=entry.sequence).values_list()[0]
    assert not any("not-the-password" in str(value) for value in stored)


def test_a_sign_out_is_recorded(firm_a: Firm, charlie: User) -> None:
    client = browser(firm_a, "198.51.100.21")
    client.post(reverse("login"), {"username": "charlie@acme.test", "password": PASSWORD})
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    [entry] = entries(firm_a, "auth.logout")
    assert (entry.actor_id, entry.ip, entry.user_agent) == (charlie.pk, "198.51.100.21", BROWSER)


def test_sign_ins_to_one_firm_stay_in_that_firms_log(firm_a: Firm, firm_b: Firm, charlie: User) -> None:
    browser(firm_a, "198.51.100.22").post(reverse("login"), {"username": "charlie@acme.test", "password": PASSWORD})
    assert entries(firm_b, "auth.login") == []
