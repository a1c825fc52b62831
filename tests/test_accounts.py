"""Accounts (issue 11 item 6): password reset, two-factor backup codes, the emails about a person's own account.

In-process through Django's test client, with the in-memory mail backend and the real cache (Redis) for the
reset limits. The reset email is sent by a Celery task queued after the commit: tests capture the commit
callbacks (pytest-django) and run the task eagerly in the process, so the request's own work and the
worker's are seen apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit.models import AuditEntry
from core.auth.reset import reset_tokens, throttle_keys
from core.celery import app as celery_app
from core.models import BackupCode, KnownBrowser, User
from tests.support.firms import PASSWORD
from tests.test_auth_hardening import Clock, _sign_in

if TYPE_CHECKING:
    from tests.support.cast import Cast

SITE = "http://acme.localhost:8000"
SENDER = "Acme Immigration LLP <no-reply@localhost>"
NEW_PASSWORD = "a brand new passphrase 42"
ADDRESSES = ("10.9.0.1", "10.9.0.2", "10.9.0.3", "127.0.0.1")
EMAILS = ("lucia@example.test", "pete@acme.test", "nobody@acme.test", "bob@globex.test", "dora@example.test")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture(autouse=True)
def _eager_tasks_and_fresh_limits(monkeypatch: pytest.MonkeyPatch, cast: Cast) -> Iterator[None]:
    """Tasks run in the process (as the worker would run them); the reset limits start at zero for firm A."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)

    def clear() -> None:
        with cast.firm.tenant:  # the cache keys carry the firm's schema
            cache.delete_many(
                [
                    key
                    for email in EMAILS
                    for address in ADDRESSES
                    for key in throttle_keys(email=email, address=address)
                ]
            )

    clear()
    yield
    clear()


def _client(cast: Cast, **extra: Any) -> Client:
    return Client(HTTP_HOST=cast.firm.host, **extra)


def _ask(client: Client, email: str) -> Any:
    return client.post("/accounts/password-reset/", {"email": email})


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def _link_in(body: str) -> str:
    [link] = re.findall(rf"{re.escape(SITE)}/accounts/password-reset/\S+", body)
    return str(link).removeprefix(SITE)


def _requested(client: Client, email: str, capture: Callable[..., Any]) -> tuple[Any, list[Any]]:
    with capture(execute=False) as callbacks:
        response = _ask(client, email)
    return response, list(callbacks)


# --- Password reset --------------------------------------------------------------------------------


def test_the_answer_and_the_work_are_the_same_whether_or_not_the_email_has_an_account(
    cast: Cast, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = cast.firm.client()
    client.get("/accounts/password-reset/")  # the firm's schema is entered (a SET) before, not in, the requests
    mail.outbox.clear()

    with CaptureQueriesContext(connection) as known_queries:
        known, known_queued = _requested(client, "pete@acme.test", django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as unknown_queries:
        unknown, unknown_queued = _requested(client, "nobody@acme.test", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 200
    assert _without_csrf(known.content) == _without_csrf(unknown.content)
    assert b"If that email belongs to an account here" in known.content
    # The same statements in the request (no lookup of the email: that and the mail are the worker's).
    assert [q["sql"].split(" ")[0] for q in known_queries] == [q["sql"].split(" ")[0] for q in unknown_queries]
    assert not any("core_user" in q["sql"] for q in known_queries.captured_queries)
    assert len(known_queued) == len(unknown_queued) == 1
    assert mail.outbox == []  # nothing is sent while the person waits

    for callback in (*known_queued, *unknown_queued):  # the worker's part
        callback()
    [email] = mail.outbox
    assert email.to == ["pete@acme.test"]
    with cast.firm.tenant:
        requested = AuditEntry.objects.filter(action="auth.reset_requested").order_by("pk")
        assert [entry.data_dict["email"] for entry in requested][-2:] == ["pete@acme.test", "nobody@acme.test"]
        assert AuditEntry.objects.filter(action="auth.reset_sent", target_id=str(cast.pete.pk)).count() == 1


def test_a_spanish_client_resets_her_password_in_spanish_and_the_link_works_once(
    cast: Cast, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = cast.firm.client()
    form = client.get("/accounts/password-reset/?lang=es")
    with django_capture_on_commit_callbacks(execute=True):
        sent = _ask(client, "Lucia@Example.test")
    [email] = mail.outbox
    link = _link_in(str(email.body))

    chosen = client.get(link, follow=True)
    done = client.post(chosen.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    again = client.get(link, follow=True)
    signed_in = cast.firm.client().post(
        "/accounts/login/", {"username": "lucia@example.test", "password": NEW_PASSWORD}
    )

    assert "¿Olvidó su contraseña?" in form.content.decode()
    assert "Revise su correo" in sent.content.decode()
    assert email.from_email == SENDER
    assert email.subject == "Restablezca su contraseña en Acme Immigration LLP"
    assert "Elija una contraseña nueva aquí" in email.body
    assert link.endswith("?lang=es")
    assert "Elija una contraseña nueva" in chosen.content.decode()
    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/?reset=1"
    assert "Este enlace ha caducado o ya se usó." in again.content.decode()
    assert signed_in.status_code == 302
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action="auth.reset_done", actor_email="lucia@example.test").exists()


def test_a_reset_link_expires_after_an_hour(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    with cast.firm.tenant:
        from core.auth.reset import password_reset_link

        link = password_reset_link(user=cast.dora).removeprefix(SITE)
    later = datetime.now() + timedelta(seconds=settings.PORTICO_PASSWORD_RESET_SECONDS + 60)  # noqa: DTZ005 - Django's clock
    monkeypatch.setattr(reset_tokens, "_now", lambda: later)

    page = cast.firm.client().get(link, follow=True)

    assert b"This link has expired or was already used." in page.content
    assert b"Ask for a new link by email" in page.content


def test_an_invitation_link_is_not_a_reset_link(cast: Cast) -> None:
    from core.services import set_password_link

    with cast.firm.tenant:
        invitation = set_password_link(user=cast.dora).removeprefix(SITE)
    as_reset = invitation.replace("/accounts/set-password/", "/accounts/password-reset/")

    assert b"This link has expired or was already used." in cast.firm.client().get(as_reset, follow=True).content


def test_no_email_for_another_firms_user_nor_a_deactivated_one(
    cast: Cast, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with cast.firm.tenant:
        User.objects.filter(pk=cast.dora.pk).update(is_active=False)
    client = cast.firm.client()

    with django_capture_on_commit_callbacks(execute=True):
        other_firm = _ask(client, "bob@globex.test")  # firm B's admin: unknown at firm A
        deactivated = _ask(client, "dora@example.test")

    assert other_firm.status_code == deactivated.status_code == 200
    assert mail.outbox == []


def test_reset_requests_are_limited_per_email_whether_or_not_it_has_an_account(
    cast: Cast, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = _client(cast, REMOTE_ADDR="10.9.0.1")
    answers = []
    for email in ("pete@acme.test", "nobody@acme.test"):
        for _ in range(settings.PORTICO_PASSWORD_RESET_PER_EMAIL):
            assert _requested(client, email, django_capture_on_commit_callbacks)[0].status_code == 200
        answers.append(_requested(client, email, django_capture_on_commit_callbacks))
    elsewhere = _requested(_client(cast, REMOTE_ADDR="10.9.0.2"), "pete@acme.test", django_capture_on_commit_callbacks)

    for response, queued in answers:
        assert response.status_code == 429
        assert b"Too many reset requests. Try again in 60 minutes." in response.content
        assert queued == []
    assert _without_csrf(answers[0][0].content) == _without_csrf(answers[1][0].content)
    assert elsewhere[0].status_code == 429  # the email's limit holds from any address
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action="auth.reset_throttled").count() >= 3


def test_reset_requests_are_limited_per_address(
    cast: Cast, django_capture_on_commit_callbacks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PORTICO_PASSWORD_RESET_PER_ADDRESS", 2)
    client = _client(cast, REMOTE_ADDR="10.9.0.3")

    answers = [_requested(client, email, django_capture_on_commit_callbacks)[0].status_code for email in EMAILS[:3]]

    assert answers == [200, 200, 429]


def test_a_reset_leaves_two_factor_on_and_the_lockout_in_place(
    cast: Cast, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with cast.firm.tenant:
        TOTPDevice.objects.create(user=cast.pete, name="Authenticator app", confirmed=True)
    locked_here = _client(cast, REMOTE_ADDR="10.9.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked_here.post("/accounts/login/", {"username": "pete@acme.test", "password": "wrong 1234567"})
    with django_capture_on_commit_callbacks(execute=True):
        _ask(cast.firm.client(), "pete@acme.test")
    resetting = cast.firm.client()
    chosen = resetting.get(_link_in(str(mail.outbox[-1].body)), follow=True)
    resetting.post(chosen.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    still_locked = locked_here.post("/accounts/login/", {"username": "pete@acme.test", "password": NEW_PASSWORD})
    elsewhere = _client(cast, REMOTE_ADDR="10.9.0.2")
    signed_in = elsewhere.post("/accounts/login/", {"username": "pete@acme.test", "password": NEW_PASSWORD})
    held = elsewhere.get("/staff/matters/")

    assert still_locked.status_code == 429
    assert signed_in.status_code == 302
    assert held.status_code == 302
    assert held["Location"].startswith("/accounts/two-factor/verify/")
    with cast.firm.tenant:
        assert TOTPDevice.objects.filter(user=cast.pete, confirmed=True).exists()


def test_the_sign_in_page_links_to_the_reset_in_both_languages(cast: Cast) -> None:
    english = cast.firm.client().get("/accounts/login/").content.decode()
    spanish = cast.firm.client().get("/accounts/login/?lang=es").content.decode()

    assert '<a href="/accounts/password-reset/">Forgot your password?</a>' in english
    assert '<a href="/accounts/password-reset/">¿Olvidó su contraseña?</a>' in spanish


# --- Backup codes and the two-factor emails ----------------------------------------------------------


def _enrol_with_codes(client: Client, clock: Clock) -> tuple[bytes, list[str]]:
    from base64 import b32decode

    page = client.get("/accounts/two-factor/")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7 ]+)<', page.content)
    assert secret is not None
    text = secret.group(1).replace(b" ", b"")
    key = b32decode(text + b"=" * (-len(text) % 8))
    done = client.post("/accounts/two-factor/", {"code": clock.code(key)})
    assert done.status_code == 200
    return key, re.findall(r"<li>([a-z2-7]{5}-[a-z2-7]{5})</li>", done.content.decode())


def test_turning_two_factor_on_shows_ten_backup_codes_once_stored_only_as_digests_and_emails(
    cast: Cast, clock: Clock, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = _sign_in(cast.firm, "paula@acme.test")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _key, codes = _enrol_with_codes(client, clock)
    status = client.get("/accounts/two-factor/").content.decode()
    later = client.get("/accounts/two-factor/backup-codes/").content.decode()

    assert len(set(codes)) == 10
    assert "You have 10 backup codes left." in status
    assert "You have 10 backup codes left." in later
    assert not any(code in later for code in codes)  # shown once
    with cast.firm.tenant:
        digests = list(BackupCode.objects.filter(device__user=cast.paula).values_list("digest", flat=True))
        assert len(digests) == 10
        assert not any(code.replace("-", "") in digest or code in digest for code in codes for digest in digests)
        assert AuditEntry.objects.filter(action="otp.backup_codes_generated", actor_email="paula@acme.test").exists()
    [email] = mail.outbox
    assert email.subject == "Two-factor authentication is on at Acme Immigration LLP"
    assert email.from_email == SENDER
    assert f"{SITE}/accounts/password-reset/?lang=en" in email.body


def test_a_backup_code_signs_in_once_and_the_count_goes_down(cast: Cast, clock: Clock) -> None:
    _key, codes = _enrol_with_codes(_sign_in(cast.firm, "paula@acme.test"), clock)
    client = _sign_in(cast.firm, "paula@acme.test")

    used = client.post(
        "/accounts/two-factor/verify/", {"code": codes[0].upper().replace("-", " "), "next": "/staff/matters/"}
    )
    page = client.get("/staff/matters/")
    again = _sign_in(cast.firm, "paula@acme.test")
    clock.next_step()
    replay = again.post("/accounts/two-factor/verify/", {"code": codes[0]})

    assert used.status_code == 302
    assert used["Location"] == "/staff/matters/"
    assert page.status_code == 200
    assert "You have 9 backup codes left." in page.content.decode()
    assert replay.status_code == 400
    assert b"one of your backup codes" in replay.content
    assert "You have 9 backup codes left." in client.get("/accounts/two-factor/").content.decode()
    # New codes for a session that came in with a backup code: it stays signed in.
    assert client.post("/accounts/two-factor/backup-codes/").status_code == 200
    assert client.get("/staff/matters/").status_code == 200
    assert "You have 10 backup codes left." in client.get("/accounts/two-factor/").content.decode()
    with cast.firm.tenant:
        entry = AuditEntry.objects.filter(action="otp.backup_code_used").last()
        assert entry is not None
        assert entry.data_dict == {"left": 9}


def test_new_backup_codes_replace_the_old_ones(cast: Cast, clock: Clock) -> None:
    client = _sign_in(cast.firm, "paula@acme.test")
    _key, old = _enrol_with_codes(client, clock)

    fresh = client.post("/accounts/two-factor/backup-codes/")
    new = re.findall(r"<li>([a-z2-7]{5}-[a-z2-7]{5})</li>", fresh.content.decode())
    with_old = _sign_in(cast.firm, "paula@acme.test").post("/accounts/two-factor/verify/", {"code": old[1]})
    clock.next_step()
    with_new = _sign_in(cast.firm, "paula@acme.test").post("/accounts/two-factor/verify/", {"code": new[1]})

    assert fresh.status_code == 200
    assert fresh["Cache-Control"] == "no-store"
    assert len(new) == 10
    assert set(new).isdisjoint(old)
    assert with_old.status_code == 400
    assert with_new.status_code == 302


def test_turning_two_factor_off_removes_the_codes_and_emails_in_the_users_language(
    cast: Cast, clock: Clock, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with cast.firm.tenant:
        User.objects.filter(pk=cast.paula.pk).update(preferred_language="es")
    client = _sign_in(cast.firm, "paula@acme.test")
    key, _codes = _enrol_with_codes(client, clock)
    clock.next_step()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        off = client.post("/accounts/two-factor/", {"code": clock.code(key)})

    assert off.status_code == 302
    with cast.firm.tenant:
        assert not BackupCode.objects.filter(device__user=cast.paula).exists()
    [email] = mail.outbox
    assert email.subject == "La autenticación de doble factor está desactivada en Acme Immigration LLP"
    assert "Se desactivó la autenticación de doble factor" in email.body
    assert f"{SITE}/accounts/password-reset/?lang=es" in email.body


def test_an_admins_reset_of_two_factor_is_emailed_too(
    cast: Cast, clock: Clock, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    _enrol_with_codes(_sign_in(cast.firm, "paula@acme.test"), clock)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        cast.firm.client(cast.alice).post(f"/staff/users/{cast.paula.pk}/two-factor/reset/")

    [email] = mail.outbox
    assert email.to == ["paula@acme.test"]
    assert "A firm admin turned off two-factor authentication" in email.body
    with cast.firm.tenant:
        assert not BackupCode.objects.filter(device__user=cast.paula).exists()


# --- A new browser ---------------------------------------------------------------------------------------


def test_a_sign_in_from_a_new_browser_is_emailed_but_not_the_first_nor_a_known_one(cast: Cast) -> None:
    mail.outbox.clear()
    first = _client(cast, HTTP_USER_AGENT="Firefox/140 on Linux")
    first.post("/accounts/login/", {"username": "lucia@example.test", "password": PASSWORD})
    after_first = len(mail.outbox)
    first.post("/accounts/logout/")
    first.post("/accounts/login/", {"username": "lucia@example.test", "password": PASSWORD})
    after_known = len(mail.outbox)

    phone = _client(cast, HTTP_USER_AGENT="Safari on iPhone", REMOTE_ADDR="10.9.0.3")
    phone.post("/accounts/login/", {"username": "lucia@example.test", "password": PASSWORD})

    assert after_first == after_known == 0
    assert "portico_browser" in first.cookies
    assert first.cookies["portico_browser"]["httponly"]
    [email] = mail.outbox
    assert email.to == ["lucia@example.test"]
    assert email.subject == "Nuevo inicio de sesión en su cuenta de Acme Immigration LLP"
    assert "Safari on iPhone" in email.body
    assert "10.9.0.3" in email.body
    assert email.from_email == SENDER
    assert f"{SITE}/accounts/password-reset/?lang=es" in email.body
    with cast.firm.tenant:
        assert KnownBrowser.objects.filter(user=cast.lucia).count() == 2
        cookie = first.cookies["portico_browser"].value
        assert not KnownBrowser.objects.filter(digest__contains=cookie.split(":")[0]).exists()
        assert AuditEntry.objects.filter(action="auth.new_browser", actor_email="lucia@example.test").count() == 1


def test_a_forged_browser_cookie_counts_as_a_new_browser(cast: Cast) -> None:
    cast.firm.client().post("/accounts/login/", {"username": "dora@example.test", "password": PASSWORD})
    mail.outbox.clear()
    forged = cast.firm.client()
    forged.cookies["portico_browser"] = "made-up-value"

    forged.post("/accounts/login/", {"username": "dora@example.test", "password": PASSWORD})

    assert [email.to for email in mail.outbox] == [["dora@example.test"]]


# --- Every email: the firm's name as the sender, an absolute link to the firm's site -----------------------


def test_invitation_reset_and_reminder_come_from_the_firm_with_an_absolute_link_to_its_site(
    books: Cast,
) -> None:
    from billing.collections.models import CollectionsSettings
    from billing.collections.reminders import reminder_deliver, reminders_fire_due
    from core.auth.reset import password_reset_send
    from core.services import user_invite
    from tests.test_collections_reminders import _overdue

    CollectionsSettings.objects.update(quiet_days=0)
    invoice = _overdue(books.m1, books.alice, days=7)
    mail.outbox.clear()
    user_invite(user=books.dora)
    password_reset_send(email="pete@acme.test")
    [due] = [sent for sent in reminders_fire_due() if sent.invoice_id == invoice.pk]
    reminder_deliver(sent=due)

    invitation, reset, reminder = mail.outbox
    for email in (invitation, reset, reminder):
        assert email.from_email == SENDER
        assert re.search(rf"{re.escape(SITE)}/\S*", str(email.body)), email.subject
    assert email.message()["From"] == SENDER


def test_erasing_a_client_forgets_the_browsers_she_signed_in_from(cast: Cast) -> None:
    from core.erasure import personal_data_erase

    _client(cast, HTTP_USER_AGENT="Firefox").post(
        "/accounts/login/", {"username": "dora@example.test", "password": PASSWORD}
    )
    with cast.firm.tenant:
        assert KnownBrowser.objects.filter(user=cast.dora).count() == 1

        personal_data_erase(tenant=cast.firm.tenant, client=cast.dora, kept={}, actor_label="test")

        assert not KnownBrowser.objects.filter(user=cast.dora).exists()
