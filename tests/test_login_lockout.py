"""Login throttling locks a person at an address, and an address only past a looser limit (issue 18 items 7, 8).

Five wrong passwords for one person lock that person at that address, not the
address: a colleague or another client behind the same office or phone-network
address still signs in. A spray of many emails from one address is stopped by
the per-address limit (``PORTICO_LOGIN_IP_FAILURE_LIMIT``). The lockout key is
the email as the sign-in form reads it (NFKC, case-folded), so full-width
spellings (U+FF41 for ``a``, U+FF20 for ``@``) count against, and are stopped by, the same lockout.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from core.models import User
from core.roles import Role
from core.services import user_create
from tests.support.firms import PASSWORD, Firm

WRONG = "wrong password 123"
OFFICE = "203.0.113.7"  # one firm's office, or a phone network's shared address
ELSEWHERE = "198.51.100.20"


def sign_in(firm: Firm, email: str, password: str, address: str) -> int:
    response = firm.client().post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address)
    return int(response.status_code)


def signed_in_as(client: Client) -> str:
    response = client.get("/api/v1/me")
    return str(response.json().get("email", "")) if response.status_code == 200 else ""


@pytest.fixture
def bea(firm_a: Firm) -> User:
    """A new client who has just set her password."""
    with firm_a.tenant:
        return user_create(email="bea@example.test", role=Role.CLIENT, full_name="Bea Ríos", password=PASSWORD)


# --- Item 7: the person at an address, not the whole address ------------------------------


def test_five_wrong_passwords_for_one_person_do_not_lock_another_user_at_the_same_address(
    firm_a: Firm, bea: User
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(firm_a, "alice@acme.test", WRONG, OFFICE)

    alice_here = sign_in(firm_a, "alice@acme.test", PASSWORD, OFFICE)
    bea_here = firm_a.client().post(
        "/accounts/login/", {"username": "bea@example.test", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )

    assert alice_here == 429
    assert bea_here.status_code == 302
    assert bea_here["Location"] == "/"


def test_a_locked_person_is_told_it_is_their_account_from_this_address(firm_a: Firm) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(firm_a, "alice@acme.test", WRONG, OFFICE)

    page = firm_a.client().post(
        "/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )

    assert page.status_code == 429
    assert b"for this account from this address" in page.content


def test_a_password_spray_from_one_address_is_stopped_at_the_per_address_limit(
    firm_a: Firm, bea: User, settings: object
) -> None:
    settings.PORTICO_LOGIN_IP_FAILURE_LIMIT = 12  # type: ignore[attr-defined]
    # One guess per email stays under the per-person limit every time.
    for number in range(11):
        assert sign_in(firm_a, f"guess{number}@acme.test", WRONG, OFFICE) == 200
    assert sign_in(firm_a, "bea@example.test", PASSWORD, OFFICE) == 302  # 11 failures: still under the limit
    assert sign_in(firm_a, "guess11@acme.test", WRONG, OFFICE) == 429  # the 12th failure from this address

    bea_here = firm_a.client().post(
        "/accounts/login/", {"username": "bea@example.test", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )
    bea_elsewhere = sign_in(firm_a, "bea@example.test", PASSWORD, ELSEWHERE)

    spanish = firm_a.client().post(
        "/accounts/login/",
        {"username": "bea@example.test", "password": PASSWORD},
        REMOTE_ADDR=OFFICE,
        HTTP_ACCEPT_LANGUAGE="es",
    )

    assert bea_here.status_code == 429
    assert b"Too many sign-ins failed from your network" in bea_here.content
    assert bea_elsewhere == 302
    assert spanish.status_code == 429
    assert "Demasiados inicios de sesión fallaron desde su red" in spanish.content.decode()


def test_the_per_address_limit_is_looser_than_the_per_person_limit_by_default() -> None:
    assert settings.PORTICO_LOGIN_IP_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT


# --- Item 8: one lockout whatever the spelling --------------------------------------------


def full_width(text: str) -> str:
    """ASCII letters and signs as their full-width forms (U+FF01-U+FF5E), which NFKC maps back."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


FULL_WIDTH_ALICE = full_width("alice@acme") + ".test"


def test_a_locked_account_cannot_be_signed_into_with_a_full_width_spelling(firm_a: Firm) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(firm_a, "alice@acme.test", WRONG, OFFICE)

    client = firm_a.client()
    response = client.post("/accounts/login/", {"username": FULL_WIDTH_ALICE, "password": PASSWORD}, REMOTE_ADDR=OFFICE)

    assert response.status_code == 429
    assert signed_in_as(client) == ""


def test_failures_spelled_differently_count_against_the_same_account(firm_a: Firm) -> None:
    spellings = [full_width("a") + "lice@acme.test", "alice" + full_width("@") + "acme.test", "ALICE@ACME.TEST"]
    spellings += [FULL_WIDTH_ALICE, "Alice@Acme.Test"]
    assert len(spellings) == settings.AXES_FAILURE_LIMIT

    statuses = [sign_in(firm_a, spelling, WRONG, OFFICE) for spelling in spellings]

    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    assert sign_in(firm_a, "alice@acme.test", PASSWORD, OFFICE) == 429
    with firm_a.tenant:
        assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["alice@acme.test"]


def test_a_full_width_spelling_of_the_right_password_holder_still_signs_in_when_not_locked(firm_a: Firm) -> None:
    client = firm_a.client()
    response = client.post("/accounts/login/", {"username": FULL_WIDTH_ALICE, "password": PASSWORD}, REMOTE_ADDR=OFFICE)

    assert response.status_code == 302  # the sign-in form reads it as alice@acme.test, as it always has
    assert signed_in_as(client) == "alice@acme.test"
