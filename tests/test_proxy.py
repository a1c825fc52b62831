"""The production stack on loopback (issue 15 item 2): nginx → gunicorn → pgbouncer → PostgreSQL.

Debian's nginx runs infra/nginx/portico.conf.template rendered by envsubst, with a wildcard
certificate for ``*.portico.example`` made here; gunicorn runs core.wsgi with
infra/gunicorn.conf.py and production settings (``PORTICO_ENV=production``); pgbouncer runs
infra/pgbouncer/pgbouncer.ini in session mode. Requests go over real TLS to 127.0.0.1 with
the firm's name in SNI and Host, checked against the test CA. The two firms get extra domains
under portico.example for the module (removed after).
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import secrets
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from core.audit.models import AuditEntry
from core.models import User
from core.roles import Role
from core.services import user_create
from tenants.models import Domain, Tenant
from tests.support.database import commit_sql, database_params
from tests.support.firms import PASSWORD, Firm
from tests.support.infra_servers import Certificate, Gunicorn, Nginx, gunicorn, nginx, pgbouncer, wildcard_certificate

# django_db for every test: the module fixtures need the test database (pytest-django sets it up only
# when a selected test asks for it).
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BASE = "portico.example"
CLIENT_EMAIL = "lucia@acme.test"  # a client of firm A who reads the portal in Spanish
UPLOAD_LIMIT = 1024 * 1024  # PORTICO_UPLOAD_MAX_BYTES for the stack: 1 MiB
PROXY_LIMIT = "2m"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header_values(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


@dataclass
class Stack:
    cert: Certificate
    nginx: Nginx
    web: Gunicorn
    static_root: Path
    env: dict[str, str]
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)

    def context(self, **versions: ssl.TLSVersion) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert.ca))
        if "minimum" in versions:
            context.minimum_version = versions["minimum"]
        if "maximum" in versions:
            context.maximum_version = versions["maximum"]
        return context

    def https(
        self,
        host: str,
        path: str,
        *,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        context: ssl.SSLContext | None = None,
    ) -> Response:
        """One request to nginx on 127.0.0.1, for ``host`` (SNI and Host), keeping that host's cookies."""
        jar = self.cookies.setdefault(host, {})
        sent = {"Host": host, **({"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {})}
        connection = http.client.HTTPSConnection("127.0.0.1", self.nginx.https_port, context=context, timeout=30)
        connection.sock = (context or self.context()).wrap_socket(
            socket.create_connection(("127.0.0.1", self.nginx.https_port), timeout=30), server_hostname=host
        )
        try:
            connection.request(method, path, body=body, headers={**sent, **(headers or {})})
            answer = connection.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()
        for cookie in response.header_values("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            jar[name] = rest.split(";", 1)[0]
        return response

    def http(self, host: str, path: str) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.nginx.http_port, timeout=30)
        try:
            connection.request("GET", path, headers={"Host": host})
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()

    def to_app_directly(self, path: str, *, source: str, headers: dict[str, str]) -> Response:
        """Straight to gunicorn, bypassing nginx, from the loopback address ``source``."""
        connection = http.client.HTTPConnection("127.0.0.1", self.web.port, timeout=30, source_address=(source, 0))
        try:
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()


def _production_env(tmp: Path, *, database_url: str, static_root: Path) -> dict[str, str]:
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PORTICO_", "DJANGO_", "SENTRY_"))}
    master_key = Path(settings.VAR_DIR) / "master_key"
    env |= {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "PORTICO_ENV": "production",
        "PORTICO_VAR_DIR": str(tmp / "var"),
        "PORTICO_SECRET_KEY": secrets.token_urlsafe(64),
        "PORTICO_BASE_DOMAIN": BASE,
        "PORTICO_TRUSTED_PROXIES": "127.0.0.1",
        "PORTICO_ALLOW_LOCAL_KMS": "true",  # no KMS here; the choice is explicit, as production requires
        "PORTICO_STATIC_ROOT": str(static_root),
        "PORTICO_STORAGE_DIR": str(settings.PORTICO_STORAGE_DIR),
        "PORTICO_AUDIT_JOURNAL_DIR": str(tmp / "journal"),
        "PORTICO_UPLOAD_MAX_BYTES": str(UPLOAD_LIMIT),
        "PORTICO_EMAIL_BACKEND": "locmem",
    }
    if master_key.exists() and "PORTICO_MASTER_KEY" not in os.environ:
        env["PORTICO_MASTER_KEY_FILE"] = str(master_key)
    elif "PORTICO_MASTER_KEY" in os.environ:
        env["PORTICO_MASTER_KEY"] = os.environ["PORTICO_MASTER_KEY"]
    return env


@pytest.fixture(scope="module")
def stack(
    django_db_setup: dict[str, Firm], django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    firms = django_db_setup
    with django_db_blocker.unblock():
        with firms["acme"].tenant:
            # Production hashes passwords with Argon2 or PBKDF2, not the tests' MD5.
            client = user_create(email=CLIENT_EMAIL, role=Role.CLIENT, language="es")
            client.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
            client.save(update_fields=["password"])
        public = Tenant.objects.get(schema_name="public")
        added = [
            Domain.objects.create(domain=BASE, tenant=public, is_primary=False),
            Domain.objects.create(domain=f"acme.{BASE}", tenant=firms["acme"].tenant, is_primary=False),
            Domain.objects.create(domain=f"globex.{BASE}", tenant=firms["globex"].tenant, is_primary=False),
        ]
    params = database_params()
    static_root = tmp / "static"
    cert = wildcard_certificate(tmp, BASE)
    try:
        user = params.get("user") or "postgres"
        with pgbouncer(server_host=params["host"], server_port=params["port"], user=user) as bouncer:
            env = _production_env(
                tmp,
                database_url=f"postgresql://{user}@127.0.0.1:{bouncer.port}/{params['dbname']}",
                static_root=static_root,
            )
            collected = subprocess.run(
                [str(Path(sys.executable).parent / "portico"), "manage", "collectstatic", "--noinput", "-v", "0"],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert collected.returncode == 0, collected.stderr
            (tmp / "var").mkdir(exist_ok=True)
            with gunicorn(tmp, env) as web:
                values = {
                    "PORTICO_BASE_DOMAIN": BASE,
                    "PORTICO_TLS_CERTIFICATE": str(cert.cert),
                    "PORTICO_TLS_CERTIFICATE_KEY": str(cert.key),
                    "PORTICO_UPSTREAM": f"127.0.0.1:{web.port}",
                    "PORTICO_STATIC_ROOT": str(static_root),
                    "PORTICO_PROXY_MAX_BODY": PROXY_LIMIT,
                }
                with nginx(tmp / "nginx", values) as proxy:
                    yield Stack(cert=cert, nginx=proxy, web=web, static_root=static_root, env=env)
    finally:
        with django_db_blocker.unblock():
            for domain in added:
                domain.delete()
            _forget_failed_logins(firms)
            with firms["acme"].tenant:
                User.objects.filter(email=CLIENT_EMAIL).delete()


def _forget_failed_logins(firms: dict[str, Firm]) -> None:
    """The probes' failed sign-ins count towards django-axes' lockout of 127.0.0.1: the other tests sign in from it."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for firm in firms.values():
        with firm.tenant:
            for model in (AccessAttempt, AccessFailureLog, AccessLog):
                model.objects.all().delete()


def _login_failures(firm: Firm, email: str) -> list[AuditEntry]:
    with firm.tenant:
        return [
            e for e in AuditEntry.objects.filter(action="auth.login_failed") if json.loads(e.data)["email"] == email
        ]


# --- Firms, hosts and TLS ------------------------------------------------------------------------


def test_each_firm_is_served_on_its_own_subdomain(stack: Stack) -> None:
    acme = stack.https(f"acme.{BASE}", "/accounts/login/")
    globex = stack.https(f"globex.{BASE}", "/accounts/login/")
    apex = stack.https(BASE, "/")

    assert acme.status == globex.status == apex.status == 200
    assert "<strong>Acme Immigration LLP</strong>" in acme.text
    assert "<strong>Globex Visa Partners</strong>" in globex.text
    assert "Sign in at your firm's own address." in apex.text
    assert "Acme" not in apex.text
    assert "Globex" not in apex.text


def _sign_in(stack: Stack, host: str, email: str) -> Response:
    page = stack.https(host, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    form = f"csrfmiddlewaretoken={token.group(1)}&username={email}&password={PASSWORD.replace(' ', '+')}"
    return stack.https(
        host,
        "/accounts/login/",
        method="POST",
        body=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{host}"},
    )


def test_a_session_works_on_its_firm_and_means_nothing_on_the_other(stack: Stack) -> None:
    host = f"acme.{BASE}"
    signed_in = _sign_in(stack, host, CLIENT_EMAIL)
    assert signed_in.status == 302, signed_in.text[-2000:]
    session_cookie = next(c for c in signed_in.header_values("Set-Cookie") if c.startswith("sessionid="))
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert "Domain=" not in session_cookie

    matters = stack.https(host, "/portal/matters/")
    stack.cookies[f"globex.{BASE}"] = dict(stack.cookies[host])  # the same cookies, shown to the other firm
    elsewhere = stack.https(f"globex.{BASE}", "/portal/matters/")

    assert matters.status == 200
    assert "Acme Immigration LLP</a>" in matters.text
    assert '<html lang="es">' in matters.text  # the client's own language
    assert elsewhere.status == 302
    assert elsewhere.headers["Location"].startswith("/accounts/login/")


def test_an_unknown_subdomain_gets_the_not_found_page(stack: Stack) -> None:
    response = stack.https(f"nobody.{BASE}", "/accounts/login/")

    assert response.status == 404
    assert "There is nothing at this address." in response.text


def test_a_suspension_and_a_removed_domain_take_effect_on_the_next_request_in_every_web_process(stack: Stack) -> None:
    """Each gunicorn worker caches host → firm (tenants.routing); another process (this one) commits the change."""
    host, extra = f"globex.{BASE}", f"globex-old.{BASE}"
    commit_sql(
        "INSERT INTO tenants_domain (domain, tenant_id, is_primary) "
        "SELECT %s, id, false FROM tenants_tenant WHERE schema_name = 'globex'",
        extra,
    )
    try:
        warm = [stack.https(name, "/accounts/login/").status for name in (host, extra) * 4]  # both workers, both hosts
        commit_sql("UPDATE tenants_tenant SET status = 'suspended' WHERE schema_name = 'globex'")
        try:
            suspended = [stack.https(host, "/accounts/login/") for _ in range(4)]
        finally:
            commit_sql("UPDATE tenants_tenant SET status = 'active' WHERE schema_name = 'globex'")
        resumed = stack.https(host, "/accounts/login/").status
        commit_sql("DELETE FROM tenants_domain WHERE domain = %s", extra)
        removed = [stack.https(extra, "/accounts/login/") for _ in range(4)]
    finally:
        commit_sql("DELETE FROM tenants_domain WHERE domain = %s", extra)

    assert warm == [200] * 8
    assert [r.status for r in suspended] == [403] * 4
    assert all("The Portico account of Globex Visa Partners is suspended." in r.text for r in suspended)
    assert resumed == 200
    assert [r.status for r in removed] == [404] * 4
    assert all("There is nothing at this address." in r.text for r in removed)


def test_a_host_outside_the_base_domain_gets_no_certificate_and_no_page(stack: Stack) -> None:
    with pytest.raises(ssl.SSLError, match=r"UNRECOGNIZED_NAME|HANDSHAKE_FAILURE|INTERNAL_ERROR"):
        stack.https("evil.example", "/")
    with pytest.raises(http.client.RemoteDisconnected):
        stack.http("evil.example", "/")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_below_1_2_is_refused_and_1_2_and_1_3_are_accepted(stack: Stack) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(stack.cert.ca))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    host = f"acme.{BASE}"

    with pytest.raises(ssl.SSLError, match=r"PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL"):
        stack.https(host, "/healthz", context=old)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        assert stack.https(host, "/healthz", context=stack.context(minimum=version, maximum=version)).status == 200


def test_http_is_redirected_to_https_and_https_carries_hsts_once(stack: Stack) -> None:
    redirect = stack.http(f"acme.{BASE}", "/portal/matters/?page=2")
    page = stack.https(f"acme.{BASE}", "/accounts/login/")

    assert redirect.status == 308
    assert redirect.headers["Location"] == f"https://acme.{BASE}:{stack.nginx.https_port}/portal/matters/?page=2"
    assert page.header_values("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains; preload"]


# --- Upload limit ----------------------------------------------------------------------------------


def _failed_login(stack: Stack, host: str, email: str, *, padding: int, language: str) -> Response:
    stack.cookies[host] = {"django_language": language}
    page = stack.https(host, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    form = f"csrfmiddlewaretoken={token.group(1)}&username={email}&password=wrong-password&padding=".encode()
    return stack.https(
        host,
        "/accounts/login/",
        method="POST",
        body=form + b"x" * padding,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": f"https://{host}"},
    )


@pytest.mark.parametrize(
    ("language", "sentence"),
    [("en", "files can be at most 1.0\xa0MB"), ("es", "los archivos pueden tener como máximo 1,0\xa0MB")],
)
def test_an_oversized_body_is_refused_by_the_proxy_with_the_portals_page(
    stack: Stack, firm_b: Firm, language: str, sentence: str
) -> None:
    host = f"globex.{BASE}"
    probe = f"probe-{uuid.uuid4().hex[:8]}@globex.test"

    refused = _failed_login(stack, host, probe, padding=3 * UPLOAD_LIMIT, language=language)
    small = _failed_login(stack, host, probe, padding=10, language=language)  # the same post, under the limit

    assert refused.status == 413
    assert f'<html lang="{language}">' in refused.text
    assert sentence in refused.text
    assert "<strong>Globex Visa Partners</strong>" in refused.text  # the firm's own page
    # Only the small post reached Django: one failed sign-in is on record, not two.
    assert small.status == 200
    assert len(_login_failures(firm_b, probe)) == 1


def test_an_oversized_upload_by_a_signed_in_client_gets_the_page_in_their_language(stack: Stack) -> None:
    host = f"acme.{BASE}"
    stack.cookies[host] = {}
    assert _sign_in(stack, host, CLIENT_EMAIL).status == 302
    stack.cookies[host].pop("django_language", None)  # only the stored preference says Spanish

    refused = stack.https(
        host,
        "/portal/matters/1/upload/",
        method="POST",
        body=b"x" * (3 * UPLOAD_LIMIT),
        headers={"Content-Type": "multipart/form-data; boundary=x", "Origin": f"https://{host}"},
    )

    assert refused.status == 413
    assert "El archivo es demasiado grande" in refused.text


def test_the_proxy_refuses_a_declared_oversize_before_the_body_is_sent(stack: Stack) -> None:
    host = f"globex.{BASE}"
    sock = stack.context().wrap_socket(
        socket.create_connection(("127.0.0.1", stack.nginx.https_port), timeout=10), server_hostname=host
    )
    with sock:
        sock.sendall(
            f"POST /accounts/login/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {10 * UPLOAD_LIMIT}\r\n\r\n".encode()
        )
        answer = sock.recv(65536).decode(errors="replace")  # no byte of the body was sent

    assert answer.startswith("HTTP/1.1 413 ")


# --- Request ids, forwarded headers ----------------------------------------------------------------


def test_the_request_id_is_passed_through_to_the_app_and_both_logs(stack: Stack) -> None:
    given = f"trace-{uuid.uuid4().hex[:12]}"
    response = stack.https(f"acme.{BASE}", "/no-such-page/", headers={"X-Request-ID": given})
    made_up = stack.https(f"acme.{BASE}", "/healthz", headers={"X-Request-ID": "bad id with spaces"})

    assert response.status == 404
    assert response.headers["X-Request-ID"] == given
    assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers["X-Request-ID"])  # nginx's own, forwarded to the app
    time.sleep(0.5)  # nginx writes its access log after the response
    access = [json.loads(line) for line in stack.nginx.access_log.read_text().splitlines()]
    assert {"request_id": given, "path": "/no-such-page/", "status": 404} in [
        {key: line[key] for key in ("request_id", "path", "status")} for line in access
    ]
    app_lines = [json.loads(line) for line in stack.web.output().splitlines() if line.startswith("{")]
    [not_found] = [line for line in app_lines if line["request_id"] == given]
    assert not_found["tenant"] == "acme"
    assert not_found["message"] == "Not Found: /no-such-page/"


def test_forwarded_headers_are_set_by_the_proxy_not_the_client(stack: Stack, firm_b: Firm) -> None:
    host = f"globex.{BASE}"
    probe = f"forged-{uuid.uuid4().hex[:8]}@globex.test"
    stack.cookies[host] = {}
    page = stack.https(host, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    stack.https(
        host,
        "/accounts/login/",
        method="POST",
        body=f"csrfmiddlewaretoken={token.group(1)}&username={probe}&password=wrong".encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"https://{host}",
            "X-Forwarded-For": "203.0.113.66",
            "X-Forwarded-Proto": "http",
        },
    )

    [failure] = _login_failures(firm_b, probe)
    assert failure.ip == "127.0.0.1"  # nginx's view of the client, not what the client claimed


def test_the_app_believes_forwarded_headers_only_from_the_proxy_address(stack: Stack) -> None:
    forged = {"Host": f"acme.{BASE}", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.66"}

    from_proxy = stack.to_app_directly("/accounts/login/", source="127.0.0.1", headers=forged)
    from_elsewhere = stack.to_app_directly("/accounts/login/", source="127.0.0.3", headers=forged)

    assert from_proxy.status == 200
    # Seen as plain HTTP, so production's SECURE_SSL_REDIRECT sends it to HTTPS.
    assert from_elsewhere.status == 301
    assert from_elsewhere.headers["Location"] == f"https://acme.{BASE}/accounts/login/"


# --- Static files --------------------------------------------------------------------------------


def test_static_files_are_served_by_the_proxy_with_hashed_names(stack: Stack) -> None:
    manifest = json.loads((stack.static_root / "staticfiles.json").read_text())
    hashed = manifest["paths"]["portal/portal.css"]

    plain = stack.https(f"acme.{BASE}", f"/static/{hashed}")
    compressed = stack.https(f"acme.{BASE}", f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})

    assert plain.status == 200
    assert plain.body == (Path(settings.BASE_DIR) / "portal" / "static" / "portal" / "portal.css").read_bytes()
    assert plain.header_values("Cache-Control") == ["public, max-age=31536000, immutable"]
    assert plain.header_values("Strict-Transport-Security")
    assert "X-Request-ID" not in plain.headers  # every response of the app carries one: this never reached it
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.body) == plain.body


# --- portico doctor, through this stack ----------------------------------------------------------


def test_doctor_checks_the_live_proxy_and_the_production_settings(stack: Stack) -> None:
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "portico"),
            "doctor",
            "--json",
            "--url",
            f"https://acme.{BASE}:{stack.nginx.https_port}/",
            "--address",
            "127.0.0.1",
            "--http-port",
            str(stack.nginx.http_port),
        ],
        env={**stack.env, "SSL_CERT_FILE": str(stack.cert.ca)},  # the test CA, as the system's trust store
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    checks = {check["name"]: check for check in json.loads(completed.stdout)["checks"]}

    assert checks["settings"]["status"] == "ok", checks["settings"]
    assert "system and deployment checks pass" in checks["settings"]["detail"]
    assert checks["pooler"]["status"] == "ok"  # pgbouncer in session mode
    assert checks["proxy"]["status"] == "ok", checks["proxy"]
    assert "HSTS, request id passed through" in checks["proxy"]["detail"]
    assert checks["proxy http"]["status"] == "ok", checks["proxy http"]
