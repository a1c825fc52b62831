"""Which site a Host header reaches: each firm its own, the base domain the public page, nothing else."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from tests.support.firms import Firm

FIRM_NAMES = (b"Acme Immigration LLP", b"Globex Visa Partners")


def test_each_firms_subdomain_shows_its_own_name_on_the_login_page(firm_a: Firm, firm_b: Firm) -> None:
    acme = firm_a.client().get("/accounts/login/")
    globex = firm_b.client().get("/accounts/login/")

    assert acme.status_code == 200
    assert b"Acme Immigration LLP" in acme.content
    assert b"Globex" not in acme.content
    assert globex.status_code == 200
    assert b"Globex Visa Partners" in globex.content
    assert b"Acme" not in globex.content


def test_firm_home_sends_an_anonymous_visitor_to_the_login_page(firm_a: Firm) -> None:
    response = firm_a.client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_firm_host_with_a_port_reaches_the_firm(firm_a: Firm) -> None:
    response = Client(HTTP_HOST="acme.localhost:8000").get("/accounts/login/")

    assert response.status_code == 200
    assert b"Acme Immigration LLP" in response.content


@pytest.mark.parametrize("host", ["ACME.localhost", "Acme.Localhost:8000", "acme.localhost."])
def test_host_names_are_matched_case_insensitively_and_without_a_trailing_dot(firm_a: Firm, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/accounts/login/")

    assert response.status_code == 200
    assert b"Acme Immigration LLP" in response.content


def test_base_domain_serves_the_public_page_without_firm_data(firm_a: Firm, firm_b: Firm) -> None:
    response = Client(HTTP_HOST="localhost").get("/")

    assert response.status_code == 200
    assert b"Sign in at your firm's own address." in response.content
    for name in FIRM_NAMES:
        assert name not in response.content
    assert b"alice@acme.test" not in response.content


def test_base_domain_has_no_sign_in_page(firm_a: Firm) -> None:
    response = Client(HTTP_HOST="localhost").get("/accounts/login/")

    assert response.status_code == 404


def test_base_domain_ignores_a_stray_session_cookie(firm_a: Firm) -> None:
    """The public schema has no session table; a cookie sent there must not be looked up."""
    client = Client(HTTP_HOST="localhost")
    client.cookies["sessionid"] = "x" * 32

    response = client.get("/")

    assert response.status_code == 200
    assert b"Sign in at your firm's own address." in response.content


@pytest.mark.parametrize("host", ["localhost", "acme.localhost", "globex.localhost"])
def test_healthz_answers_ok_on_every_site(firm_a: Firm, firm_b: Firm, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_readyz_reports_ready_when_the_database_answers(firm_a: Firm, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize(
    "host",
    [
        "nosuch.localhost",
        "template.localhost",  # the template tenant's slug: it has no domain and must stay unreachable
        "portico-template.localhost",
        "public.localhost",
        "acme.globex.localhost",
        "nosuch.localhost:8000",
    ],
)
def test_unknown_host_gets_the_friendly_404_page_and_no_data(
    settings: Settings, firm_a: Firm, firm_b: Firm, host: str
) -> None:
    settings.DEBUG = False

    response = Client(HTTP_HOST=host).get("/")

    assert response.status_code == 404
    assert b"There is nothing at this address." in response.content
    assert b"Sign in at your firm's own address." not in response.content
    for name in FIRM_NAMES:
        assert name not in response.content


def test_unknown_host_gets_404_on_every_path(settings: Settings, firm_a: Firm) -> None:
    settings.DEBUG = False
    client = Client(HTTP_HOST="nosuch.localhost")

    for path in ("/accounts/login/", "/api/v1/me", "/healthz"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"There is nothing at this address." in response.content


def test_unknown_path_on_a_firm_gets_the_friendly_404_page(settings: Settings, firm_a: Firm) -> None:
    settings.DEBUG = False

    response = firm_a.client().get("/no/such/page/")

    assert response.status_code == 404
    assert b"There is nothing at this address." in response.content


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "acme.localhost.evil.example",
        "portico_template.localhost",  # underscores are not valid in a host name (RFC 1034)
    ],
)
def test_host_outside_allowed_hosts_is_a_bad_request(
    settings: Settings, caplog: pytest.LogCaptureFixture, firm_a: Firm, host: str
) -> None:
    settings.DEBUG = False

    response = Client(HTTP_HOST=host).get("/")

    assert response.status_code == 400
    assert b"Bad request" in response.content
    for name in FIRM_NAMES:
        assert name not in response.content
    # Django's own security log line, which django-tenants' bare 404 used to swallow.
    assert [r.name for r in caplog.records if r.name.startswith("django.security")] == [
        "django.security.DisallowedHost"
    ]
