"""One firm never sees another's rows, users, sessions or cache entries."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.test import Client
from django_tenants.utils import schema_context

from core.models import User
from tests.support.firms import PASSWORD, Firm

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


def _dave(firm: Firm) -> User:
    with firm.tenant:
        return User.objects.create_user("dave@acme.test", PASSWORD, full_name="Dave Acme")


def _login(firm: Firm, email: str, password: str = PASSWORD) -> tuple[Client, TestResponse]:
    client = firm.client()
    response = client.post("/accounts/login/", {"username": email, "password": password})
    return client, response


# --- ORM --------------------------------------------------------------------------


def test_user_created_in_firm_a_is_invisible_to_firm_b_through_the_orm(firm_a: Firm, firm_b: Firm) -> None:
    _dave(firm_a)

    with firm_a.tenant:
        assert User.objects.filter(email="dave@acme.test").exists()
    with firm_b.tenant:
        assert not User.objects.filter(email="dave@acme.test").exists()
        assert set(User.objects.values_list("email", flat=True)) == {"bob@globex.test"}


def test_role_groups_are_per_firm(firm_a: Firm, firm_b: Firm) -> None:
    with firm_a.tenant:
        Group.objects.create(name="acme immigration partners only")
    with firm_b.tenant:
        assert not Group.objects.filter(name="acme immigration partners only").exists()


def test_same_email_can_be_a_user_in_two_firms_independently(firm_a: Firm, firm_b: Firm) -> None:
    with firm_a.tenant:
        User.objects.create_user("shared@client.test", "acme-side password 1")
    with firm_b.tenant:
        User.objects.create_user("shared@client.test", "globex-side password 2")

    _, on_a = _login(firm_a, "shared@client.test", "globex-side password 2")
    _, on_b = _login(firm_b, "shared@client.test", "globex-side password 2")

    assert on_a.status_code == 200  # the login form again: B's password is not A's
    assert b"That email and password do not match an account here." in on_a.content
    assert on_b.status_code == 302


# --- Views ------------------------------------------------------------------------


def test_firm_a_users_email_never_appears_on_firm_bs_pages(firm_a: Firm, firm_b: Firm) -> None:
    _dave(firm_a)
    client, login = _login(firm_b, "bob@globex.test")
    assert login.status_code == 302

    home = client.get("/")
    me = client.get("/api/v1/me")

    assert home.status_code == 200
    assert b"bob@globex.test" in home.content
    assert me.status_code == 200
    assert me.json()["email"] == "bob@globex.test"
    assert me.json()["firm"] == "globex"
    for response in (home, me):
        assert b"dave@acme.test" not in response.content
        assert b"alice@acme.test" not in response.content
        assert b"Acme" not in response.content


def test_firm_a_credentials_do_not_sign_in_on_firm_b(firm_a: Firm, firm_b: Firm) -> None:
    client, response = _login(firm_b, "alice@acme.test")

    assert response.status_code == 200
    assert b"That email and password do not match an account here." in response.content
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_login_ignores_a_next_url_on_another_firms_host(firm_a: Firm, firm_b: Firm) -> None:
    client = firm_a.client()

    response = client.post(
        "/accounts/login/",
        {"username": "alice@acme.test", "password": PASSWORD, "next": "http://globex.localhost/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


# --- Sessions ---------------------------------------------------------------------


def test_session_cookie_from_firm_a_is_not_logged_in_on_firm_b(firm_a: Firm, firm_b: Firm) -> None:
    on_a, login = _login(firm_a, "alice@acme.test")
    assert login.status_code == 302
    cookie = on_a.cookies["sessionid"].value
    assert on_a.get("/api/v1/me").json()["email"] == "alice@acme.test"  # the cookie works where it was issued

    on_b = firm_b.client()
    on_b.cookies["sessionid"] = cookie
    home = on_b.get("/")
    me = on_b.get("/api/v1/me")

    assert home.status_code == 302
    assert home["Location"] == "/accounts/login/?next=/"
    assert me.status_code == 401
    assert b"alice@acme.test" not in me.content


def test_session_and_csrf_cookies_are_host_only(firm_a: Firm) -> None:
    client = firm_a.client()
    form = client.get("/accounts/login/")
    login = client.post("/accounts/login/", {"username": "alice@acme.test", "password": PASSWORD})

    session_cookie = login.cookies["sessionid"]
    csrf_cookie = form.cookies["csrftoken"]
    assert session_cookie.value
    assert session_cookie["domain"] == ""
    assert "domain=" not in session_cookie.output().lower()
    assert session_cookie["httponly"] is True
    assert csrf_cookie["domain"] == ""
    assert "domain=" not in csrf_cookie.output().lower()


def test_session_rows_live_in_the_firms_own_schema(firm_a: Firm, firm_b: Firm) -> None:
    from django.contrib.sessions.models import Session

    on_a, _ = _login(firm_a, "alice@acme.test")
    key = on_a.cookies["sessionid"].value

    with firm_a.tenant:
        assert Session.objects.filter(session_key=key).exists()
    with firm_b.tenant:
        assert not Session.objects.filter(session_key=key).exists()


# --- Cache ------------------------------------------------------------------------


def test_cache_entries_are_per_firm(firm_a: Firm, firm_b: Firm) -> None:
    try:
        with firm_a.tenant:
            cache.set("dashboard-summary", "acme: 12 open matters")
        with firm_b.tenant:
            assert cache.get("dashboard-summary") is None
            cache.set("dashboard-summary", "globex: 3 open matters")
        with schema_context("public"):
            assert cache.get("dashboard-summary") is None
        with firm_a.tenant:
            assert cache.get("dashboard-summary") == "acme: 12 open matters"
    finally:
        for firm in (firm_a, firm_b):
            with firm.tenant:
                cache.delete("dashboard-summary")


def test_cache_keys_carry_the_firms_schema(firm_a: Firm) -> None:
    with firm_a.tenant:
        key = cache.make_key("dashboard-summary")

    assert key.startswith(f"{firm_a.tenant.schema_name}:")


# --- Signing in -------------------------------------------------------------------


def test_wrong_password_shows_a_clear_error_and_does_not_sign_in(firm_a: Firm) -> None:
    client, response = _login(firm_a, "alice@acme.test", "not the password")

    assert response.status_code == 200
    assert b"That email and password do not match an account here." in response.content
    assert b'value="alice@acme.test"' in response.content
    assert client.get("/").status_code == 302


def _link_path(link: str, host: str) -> str:
    """The path of an emailed link, after checking it points at the firm's own host."""
    url = urlsplit(link)
    assert url.hostname == host, link
    return url.path


def test_invited_firm_admin_chooses_a_password_and_signs_in(firm_a: Firm, mailoutbox: list[EmailMessage]) -> None:
    from tenants.services import tenant_create

    onboarded = tenant_create(
        slug="initech", name="Initech Immigration", region="ca-central-1", admin_email="peter@initech.test"
    )
    [invitation] = mailoutbox
    assert invitation.to == ["peter@initech.test"]
    assert "Initech Immigration" in invitation.subject
    [link] = [line for line in invitation.body.splitlines() if line.startswith("http") and "/set-password/" in line]
    assert link == onboarded.invitation_link
    client = Client(HTTP_HOST="initech.localhost")

    form = client.get(_link_path(link, "initech.localhost"), follow=True)
    assert form.status_code == 200
    assert b"Set your password" in form.content
    assert b"Initech Immigration" in form.content
    new_password = "Initech tide pools 2031"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/?set=1"
    assert b"Your password is set. You can sign in now." in client.get(done["Location"]).content

    signed_in = client.post(
        "/accounts/login/", {"username": "peter@initech.test", "password": new_password}, follow=True
    )
    assert signed_in.status_code == 200
    assert b"peter@initech.test" in signed_in.content
    assert b"firm admin" in signed_in.content
    reused = Client(HTTP_HOST="initech.localhost").get(_link_path(link, "initech.localhost"), follow=True)
    assert b"This link has expired or was already used." in reused.content


def test_invitation_link_from_firm_a_does_not_work_on_firm_b(
    firm_a: Firm, firm_b: Firm, mailoutbox: list[EmailMessage]
) -> None:
    from core.roles import Role
    from core.services import user_create, user_invite

    with firm_a.tenant:
        erin = user_create(email="erin@acme.test", role=Role.PARALEGAL)
        link = user_invite(user=erin)
    with firm_b.tenant:
        # B has a user with the same primary key, so only the firm boundary can stop the link.
        if not User.objects.filter(pk=erin.pk).exists():
            User.objects.create_user("frank@globex.test", pk=erin.pk)
    [invitation] = mailoutbox
    assert link in invitation.body

    path = _link_path(link, firm_a.host)
    on_a = firm_a.client().get(path, follow=True)
    on_b = firm_b.client().get(path, follow=True)

    assert b"Set your password" in on_a.content
    assert b"new_password1" in on_a.content
    assert on_b.status_code == 200
    assert b"This link has expired or was already used." in on_b.content
    assert b"new_password1" not in on_b.content
