"""Signing in safely: TOTP two-factor for staff, per-firm login throttling, session timeouts, password rules."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit.models import AuditEntry
from core.auth.middleware import LAST_SEEN_KEY, SIGNED_IN_KEY
from core.models import FirmSettings, User
from tests.support.firms import PASSWORD, Firm

if TYPE_CHECKING:
    from tests.support.cast import Cast


class Clock:
    """The clocks django-otp reads (codes: time.time; throttling: timezone.now), moved by the test, no sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = float(int(time.time()) // 30 * 30 + 5)
        monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: self.now))
        monkeypatch.setattr(timezone, "now", lambda: datetime.fromtimestamp(self.now, tz=UTC))

    def next_step(self) -> None:
        self.now += 30

    def code(self, key: bytes) -> str:
        totp = TOTP(key)
        totp.time = self.now
        return f"{totp.token():06d}"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def _sign_in(firm: Firm, email: str, password: str = PASSWORD) -> Client:
    client = firm.client()
    response = client.post("/accounts/login/", {"username": email, "password": password})
    assert response.status_code == 302, response.content[:400]
    return client


def _enrol(client: Client, clock: Clock) -> bytes:
    """Go through the set-up page as a user would: read the key off the page, type a code."""
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200
    assert b"<svg" in page.content  # the QR code
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7 ]+)<', page.content)
    assert secret is not None
    key = b32decode(secret.group(1).replace(b" ", b"") + b"=" * (-len(secret.group(1).replace(b" ", b"")) % 8))
    done = client.post("/accounts/two-factor/", {"code": clock.code(key)})
    assert done.status_code == 200  # the new backup codes, shown once (tests/test_accounts.py)
    assert b'data-testid="backup-codes"' in done.content
    return key


# --- Two-factor ---------------------------------------------------------------------


def test_staff_member_enrols_with_a_real_totp_code_and_it_is_audited(firm_a: Firm, clock: Clock) -> None:
    client = _sign_in(firm_a, "alice@acme.test")

    _enrol(client, clock)
    status = client.get("/accounts/two-factor/")

    assert b"Two-factor authentication is on" in status.content
    assert client.get("/staff/matters/").status_code == 200  # this session is verified by the enrolment
    with firm_a.tenant:
        assert TOTPDevice.objects.filter(user__email="alice@acme.test", confirmed=True).count() == 1
        entry = AuditEntry.objects.filter(action="otp.enabled").last()
        assert entry is not None
        assert entry.actor_email == "alice@acme.test"


def test_a_wrong_code_does_not_turn_two_factor_on(firm_a: Firm, clock: Clock) -> None:
    client = _sign_in(firm_a, "alice@acme.test")
    client.get("/accounts/two-factor/")

    response = client.post("/accounts/two-factor/", {"code": "000000"})

    assert response.status_code == 400
    assert b"That code is not right." in response.content
    with firm_a.tenant:
        assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_after_the_password_staff_must_enter_a_code_before_any_page_or_api(firm_a: Firm, clock: Clock) -> None:
    key = _enrol(_sign_in(firm_a, "alice@acme.test"), clock)
    clock.next_step()
    client = _sign_in(firm_a, "alice@acme.test")

    page = client.get("/staff/access-review/")
    api = client.get("/api/v1/me")
    wrong = client.post("/accounts/two-factor/verify/", {"code": "123456", "next": "/staff/access-review/"})
    too_soon = client.post("/accounts/two-factor/verify/", {"code": clock.code(key), "next": "/staff/access-review/"})
    clock.next_step()  # django-otp makes each retry after a wrong code wait longer
    right = client.post("/accounts/two-factor/verify/", {"code": clock.code(key), "next": "/staff/access-review/"})

    assert page.status_code == 302
    assert page["Location"] == "/accounts/two-factor/verify/?next=%2Fstaff%2Faccess-review%2F"
    assert api.status_code == 403
    assert api.json()["error"] == {
        "code": "two_factor_required",
        "message": "Enter the code from your authenticator app.",
        "fields": {},
    }
    assert wrong.status_code == 400
    assert b"That code is not right." in wrong.content
    assert too_soon.status_code == 400
    assert right.status_code == 302
    assert right["Location"] == "/staff/access-review/"
    assert client.get("/staff/access-review/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_a_code_cannot_be_used_twice(firm_a: Firm, clock: Clock) -> None:
    key = _enrol(_sign_in(firm_a, "alice@acme.test"), clock)  # uses this time step's code
    client = _sign_in(firm_a, "alice@acme.test")

    replay = client.post("/accounts/two-factor/verify/", {"code": clock.code(key)})

    assert replay.status_code == 400


def test_firm_requirement_sends_staff_without_an_authenticator_to_set_one_up(cast: Cast, clock: Clock) -> None:
    admin = cast.firm.client(cast.alice)
    saved = admin.post("/staff/settings/", {"require_staff_two_factor": "on"})
    partner = cast.firm.client(cast.paula)
    client_of_firm = cast.firm.client(cast.carol)

    held = partner.get(f"/staff/matters/{cast.m1.pk}/")
    held_api = partner.get("/api/v1/matters")
    setup = partner.get(held["Location"])

    assert saved.status_code == 302
    assert held.status_code == 302
    assert held["Location"] == f"/accounts/two-factor/?next=%2Fstaff%2Fmatters%2F{cast.m1.pk}%2F"
    assert held_api.status_code == 403
    assert b"Your firm requires two-factor authentication for staff." in setup.content
    assert client_of_firm.get("/portal/matters/").status_code == 200  # clients are not held
    with cast.firm.tenant:
        assert FirmSettings.load().require_staff_two_factor is True
        entry = AuditEntry.objects.filter(action="settings.changed").last()
        assert entry is not None
        assert entry.data_dict == {"require_staff_two_factor": {"from": False, "to": True}}
    _enrol(partner, clock)
    assert partner.get(f"/staff/matters/{cast.m1.pk}/").status_code == 200


def test_staff_turns_two_factor_off_with_a_current_code_unless_the_firm_requires_it(firm_a: Firm, clock: Clock) -> None:
    client = _sign_in(firm_a, "alice@acme.test")
    key = _enrol(client, clock)
    clock.next_step()
    with firm_a.tenant:
        FirmSettings.objects.update_or_create(id=1, defaults={"require_staff_two_factor": True})
    refused = client.post("/accounts/two-factor/", {"code": clock.code(key)})
    with firm_a.tenant:
        FirmSettings.objects.filter(id=1).update(require_staff_two_factor=False)
    clock.next_step()

    turned_off = client.post("/accounts/two-factor/", {"code": clock.code(key)})

    assert refused.status_code == 400
    assert b"cannot be turned off" in refused.content
    assert turned_off.status_code == 302
    with firm_a.tenant:
        assert not TOTPDevice.objects.filter(user__email="alice@acme.test").exists()
        assert AuditEntry.objects.filter(action="otp.disabled", actor_email="alice@acme.test").exists()


def test_firm_admin_resets_a_lost_authenticator_and_it_is_audited(cast: Cast, clock: Clock) -> None:
    _enrol(cast.firm.client(cast.paula), clock)
    admin = cast.firm.client(cast.alice)

    response = admin.post(f"/staff/users/{cast.paula.pk}/two-factor/reset/")

    assert response.status_code == 302
    with cast.firm.tenant:
        assert not TOTPDevice.objects.filter(user=cast.paula).exists()
        entry = AuditEntry.objects.filter(action="otp.reset").last()
        assert entry is not None
        assert entry.data_dict["user"] == "paula@acme.test"


# --- Login throttling (django-axes), per firm -----------------------------------------


def _fail(firm: Firm, email: str, times: int) -> None:
    for _ in range(times):
        response = firm.client().post("/accounts/login/", {"username": email, "password": "wrong password 123"})
        assert response.status_code == 200


def test_too_many_failures_lock_sign_in_with_a_clear_message(firm_a: Firm) -> None:
    _fail(firm_a, "alice@acme.test", settings.AXES_FAILURE_LIMIT - 1)

    last_failure = firm_a.client().post("/accounts/login/", {"username": "alice@acme.test", "password": "wrong 12"})
    locked = firm_a.client().post("/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD})

    assert last_failure.status_code == 429
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes".encode() in locked.content
    assert "sessionid" not in locked.cookies


def test_lockout_covers_the_email_at_its_address_not_elsewhere_nor_other_emails_there(firm_a: Firm) -> None:
    client = firm_a.client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "alice@acme.test", "password": "wrong 12"}, REMOTE_ADDR="10.0.0.1")

    same_email_same_address = client.post(
        "/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    same_email_elsewhere = firm_a.client().post(
        "/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )
    same_address_other_email = firm_a.client().post(
        "/accounts/login/", {"username": "nobody@acme.test", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )

    assert same_email_same_address.status_code == 429
    assert same_email_elsewhere.status_code == 302  # per-address spraying is stopped by its own limit
    assert same_address_other_email.status_code == 200  # an ordinary failed sign-in, not a lockout


def test_a_lockout_at_one_firm_does_not_lock_the_same_email_or_address_at_another(firm_a: Firm, firm_b: Firm) -> None:
    with firm_a.tenant:
        User.objects.create_user("shared@client.test", PASSWORD)
    with firm_b.tenant:
        User.objects.create_user("shared@client.test", PASSWORD)
    _fail(firm_a, "shared@client.test", settings.AXES_FAILURE_LIMIT - 1)
    firm_a.client().post("/accounts/login/", {"username": "Shared@Client.test", "password": "wrong 12"})

    on_a = firm_a.client().post("/accounts/login/", {"username": "shared@client.test", "password": PASSWORD})
    on_b = firm_b.client().post("/accounts/login/", {"username": "shared@client.test", "password": PASSWORD})

    assert on_a.status_code == 429
    assert on_b.status_code == 302
    with firm_a.tenant:
        assert AccessAttempt.objects.filter(username="shared@client.test").exists()
    with firm_b.tenant:
        assert not AccessAttempt.objects.exists()


def test_failures_below_the_limit_are_forgotten_after_a_successful_sign_in(firm_a: Firm) -> None:
    _fail(firm_a, "alice@acme.test", settings.AXES_FAILURE_LIMIT - 1)
    _sign_in(firm_a, "alice@acme.test")
    _fail(firm_a, "alice@acme.test", settings.AXES_FAILURE_LIMIT - 1)

    assert _sign_in(firm_a, "alice@acme.test").get("/").status_code == 200


# --- Session timeouts ----------------------------------------------------------------


def _age_session(client: Client, key: str, seconds: float) -> None:
    session = client.session
    session[key] = time.time() - seconds
    session.save()


def test_an_idle_session_is_signed_out_with_a_message(firm_a: Firm) -> None:
    client = _sign_in(firm_a, "alice@acme.test")
    assert client.get("/").status_code == 200
    _age_session(client, LAST_SEEN_KEY, settings.PORTICO_IDLE_TIMEOUT_SECONDS + 1)

    response = client.get("/staff/matters/")
    login_page = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fstaff%2Fmatters%2F&timeout=1"
    assert b"You were signed out because your session ended" in login_page.content
    assert client.get("/").status_code == 302  # the session is gone, not just this request


def test_an_idle_api_session_gets_401(firm_a: Firm) -> None:
    client = _sign_in(firm_a, "alice@acme.test")
    client.get("/api/v1/me")
    _age_session(client, LAST_SEEN_KEY, settings.PORTICO_IDLE_TIMEOUT_SECONDS + 1)

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "not_authenticated",
        "message": "Your session has ended. Sign in again.",
        "fields": {},
    }


def test_activity_within_the_idle_window_keeps_the_session(firm_a: Firm) -> None:
    client = _sign_in(firm_a, "alice@acme.test")
    client.get("/")
    _age_session(client, LAST_SEEN_KEY, settings.PORTICO_IDLE_TIMEOUT_SECONDS - 60)

    assert client.get("/").status_code == 200
    assert time.time() - client.session[LAST_SEEN_KEY] < 5  # the request counted as activity


def test_a_session_ends_at_its_absolute_lifetime_even_when_active(firm_a: Firm) -> None:
    client = _sign_in(firm_a, "alice@acme.test")
    client.get("/")
    _age_session(client, SIGNED_IN_KEY, settings.SESSION_COOKIE_AGE + 1)

    assert client.get("/").status_code == 302


# --- Passwords -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1A!", "This password is too short. It must contain at least 12 characters."),
        ("aaaaaaaaaaaaaaaa", "This password repeats too few characters"),
        ("abcabcabcabcabc", "This password repeats too few characters"),
        ("123456789012345", "This password is entirely numeric."),
        ("qwerty123456", "This password is too common."),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_password(password)

    assert any(text.startswith(message) for text in refused.value.messages)


def test_a_long_varied_password_is_accepted() -> None:
    validate_password("Marigold ferry 2031 lantern")
