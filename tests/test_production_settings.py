"""Production settings (issue 15 item 6): `check --deploy` is clean, and unsafe settings stop the process.

Each case starts a real process with ``PORTICO_ENV=production`` and the environment an
operator would give it (infra/README.md); the refusals are tried in parallel.
The reverse proxy's part (``core.proxy``): forwarded headers believed only from it, and
its page for a refused upload in the visitor's language.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings

from core.proxy import ForwardedHeadersMiddleware
from tests.support.database import subprocess_database_url
from tests.support.firms import Firm

pytestmark = pytest.mark.slow  # starts processes (the console script, manage.py check)

SETUP = "import django; django.setup(); print('started')"


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTICO_", "DJANGO_", "SENTRY_")) or key == "PORTICO_VAR_DIR"
    }
    env |= {
        "DATABASE_URL": subprocess_database_url(),
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "PORTICO_ENV": "production",
        "PORTICO_VAR_DIR": str(tmp_path),
        "PORTICO_SECRET_KEY": secrets.token_urlsafe(64),
        "PORTICO_BASE_DOMAIN": "portico.example",
        "PORTICO_TRUSTED_PROXIES": "10.0.0.0/24",
        "PORTICO_KMS_PROVIDER": "aws",
        "PORTICO_PLATFORM_KMS_KEY_ID": "arn:aws:kms:us-east-1:111122223333:key/platform",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_check_deploy_is_clean_on_production_settings(tmp_path: Path, db: None) -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "portico"), "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "System check identified no issues (0 silenced)." in completed.stdout


REFUSALS = {
    "DEBUG on": ({"PORTICO_DEBUG": "true"}, "PORTICO_DEBUG must be off"),
    "the local master key": ({"PORTICO_KMS_PROVIDER": "local"}, "use the local key provider"),
    "a weak secret key": ({"PORTICO_SECRET_KEY": "correct horse battery staple"}, "PORTICO_SECRET_KEY is too weak"),
    "a Django placeholder key": (
        {"PORTICO_SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(48)},
        "PORTICO_SECRET_KEY is too weak",
    ),
    "no secret key": ({"PORTICO_SECRET_KEY": ""}, "PORTICO_SECRET_KEY (or PORTICO_SECRET_KEY_FILE) must be set"),
    "no base domain, so no allowed host": ({"PORTICO_BASE_DOMAIN": ""}, "PORTICO_BASE_DOMAIN must be set"),
    "any host allowed": ({"PORTICO_EXTRA_HOSTS": "*"}, "allowed hosts must name your domain"),
    "no trusted proxy": ({"PORTICO_TRUSTED_PROXIES": ""}, "PORTICO_TRUSTED_PROXIES must name the reverse proxy"),
}


def test_the_app_refuses_to_start_in_production_with_unsafe_settings(tmp_path: Path, db: None) -> None:
    started = {
        case: subprocess.Popen(
            [sys.executable, "-c", SETUP],
            env=production_env(tmp_path, **overrides),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for case, (overrides, _message) in REFUSALS.items()
    }
    outcomes = {case: process.communicate(timeout=120) for case, process in started.items()}

    for case, (_overrides, message) in REFUSALS.items():
        stdout, stderr = outcomes[case]
        assert started[case].returncode != 0, f"started with {case}"
        assert "started" not in stdout, case
        assert message in stderr.strip().splitlines()[-1], (case, stderr[-2000:])


def test_the_local_master_key_is_accepted_when_explicitly_allowed(tmp_path: Path, db: None) -> None:
    env = production_env(tmp_path, PORTICO_KMS_PROVIDER="local", PORTICO_ALLOW_LOCAL_KMS="true")
    completed = subprocess.run([sys.executable, "-c", SETUP], env=env, capture_output=True, text=True, timeout=120)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "started"


# --- Forwarded headers: believed only from the proxy ------------------------------------------


def _seen_by_django(remote_addr: str) -> dict[str, object]:
    request = RequestFactory().get(
        "/",
        REMOTE_ADDR=remote_addr,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_FORWARDED="for=203.0.113.9;proto=https",
    )
    seen: dict[str, object] = {}

    def view(request):  # type: ignore[no-untyped-def]
        from core.audit.request import client_ip

        seen.update(
            secure=request.is_secure(),
            client=client_ip(request),
            forwarded_host="HTTP_X_FORWARDED_HOST" in request.META,
        )
        return None

    ForwardedHeadersMiddleware(view)(request)
    return seen


@override_settings(PORTICO_AUDIT_TRUSTED_PROXIES=["10.0.0.0/24"])
def test_forwarded_headers_are_believed_from_the_proxy_only() -> None:
    assert _seen_by_django("10.0.0.5") == {"secure": True, "client": "203.0.113.9", "forwarded_host": True}
    assert _seen_by_django("198.51.100.7") == {"secure": False, "client": "198.51.100.7", "forwarded_host": False}


# --- The proxy's page for a refused upload --------------------------------------------------------


def test_the_refused_upload_page_is_in_the_signed_in_clients_language(firm_a: Firm, charlie) -> None:  # type: ignore[no-untyped-def]
    with firm_a.tenant:
        charlie.preferred_language = "es"
        charlie.save(update_fields=["preferred_language"])
    spanish = firm_a.client(charlie).get("/_portico/upload-too-large/")
    english = firm_a.client().get("/_portico/upload-too-large/")

    assert spanish.status_code == english.status_code == 413
    assert "El archivo es demasiado grande" in spanish.content.decode()
    assert "como máximo 20,0\xa0MB" in spanish.content.decode()
    assert "The file is too large" in english.content.decode()
    assert "files can be at most 20.0\xa0MB" in english.content.decode()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_refused_upload_page_follows_the_language_cookie(firm_a: Firm, language: str) -> None:
    client = firm_a.client()
    client.cookies["django_language"] = language
    page = client.post("/_portico/upload-too-large/").content.decode()

    assert f'<html lang="{language}">' in page
    assert ("El archivo es demasiado grande" in page) is (language == "es")


def test_an_unknown_hosts_page_is_not_in_the_previous_requests_language(firm_a: Firm) -> None:
    """Found through the proxy: the not-found page for an unknown host is made before LocaleMiddleware runs."""
    from django.test import Client

    spanish = firm_a.client()
    spanish.cookies["django_language"] = "es"
    assert "Iniciar sesión" in spanish.get("/accounts/login/").content.decode()

    unknown = Client(HTTP_HOST="nobody.localhost").get("/accounts/login/")
    asked_in_spanish = Client(HTTP_HOST="nobody.localhost", HTTP_ACCEPT_LANGUAGE="es").get("/accounts/login/")

    assert unknown.status_code == asked_in_spanish.status_code == 404
    assert "There is nothing at this address." in unknown.content.decode()
    assert "No hay nada en esta dirección." in asked_in_spanish.content.decode()
