"""`portico doctor`: is this deployment able to serve? Every dependency checked from where the app runs.

Each check answers ``ok``, ``warn`` (works, but not as production wants it) or ``fail``
(something a firm would notice), with one line saying what was found. The checks:
settings (Django's system checks, with the deployment ones in production), the database
(reachable, every schema migrated and complete), the pooler (session mode), the broker
and the workers on each queue, the cache, each firm's storage (in its region) and keys
(its field key unwraps through its KEK), the platform signing key, ClamAV, the proxy
settings, and, given ``--url``, the live proxy (HTTPS, HSTS, request ids, HTTP → HTTPS).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _guarded(name: str, probe: Callable[[], list[Check]]) -> list[Check]:
    """A probe that raises is a failed check, named after what it was checking."""
    try:
        return probe()
    except Exception as exc:  # every failure of a dependency is reported, not raised
        return [Check(name, FAIL, _first_line(exc))]


def _settings() -> list[Check]:
    from django.core import checks

    messages = checks.run_checks(include_deployment_checks=settings.PRODUCTION)
    errors = [m for m in messages if m.level >= checks.ERROR]
    warnings = [m for m in messages if checks.WARNING <= m.level < checks.ERROR]
    mode = f"PORTICO_ENV={settings.PORTICO_ENV}, DEBUG {'on' if settings.DEBUG else 'off'}"
    if errors:
        return [Check("settings", FAIL, f"{mode}; {errors[0].id}: {errors[0].msg}")]
    if warnings:
        status = FAIL if settings.PRODUCTION else WARN
        return [
            Check("settings", status, f"{mode}; {len(warnings)} warning(s), first {warnings[0].id}: {warnings[0].msg}")
        ]
    scope = "system and deployment checks" if settings.PRODUCTION else "system checks"
    return [Check("settings", OK, f"{mode}; {scope} pass")]


def _database() -> list[Check]:
    from django.db import connection

    from tenants.models import Tenant
    from tenants.schema_check import schema_problems
    from tenants.schema_state import pending_migrations

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    found = [Check("database", OK, f"PostgreSQL {version}, {1000 * (time.monotonic() - started):.0f} ms")]
    schemas = ["public", *Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)]
    behind = {schema: missing for schema, missing in pending_migrations(schemas).items() if missing}
    if behind:
        names = ", ".join(sorted(behind)[:5])
        found.append(
            Check("migrations", FAIL, f"{len(behind)} schema(s) behind ({names}): run portico tenants migrate")
        )
    else:
        found.append(Check("migrations", OK, f"{len(schemas)} schema(s) up to date"))
    firms = Tenant.objects.filter(kind=Tenant.Kind.FIRM).order_by("slug")
    incomplete = {firm.slug: problems for firm in firms if (problems := schema_problems(firm.schema_name))}
    if incomplete:
        slug, problems = next(iter(incomplete.items()))
        found.append(Check("schemas", FAIL, f"{len(incomplete)} firm(s) incomplete; {slug}: {problems[0]}"))
    else:
        found.append(Check("schemas", OK, f"{firms.count()} firm schema(s) hold every tenant table"))
    return found


def _pooler() -> list[Check]:
    from core.startup import session_pooling_problem

    problem = session_pooling_problem()
    if problem:
        return [Check("pooler", FAIL, f"pooled per transaction ({problem}): use pool_mode = session")]
    return [Check("pooler", OK, "one server session per client (direct, or a pooler in session mode)")]


def _broker() -> list[Check]:
    from core.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=5)
        transport = connection.transport_cls
    found = [Check("broker", OK, f"{transport} reachable")]
    queues = list(settings.CELERY_TASK_QUEUES)
    if not settings.REDIS_URL:
        found.append(Check("workers", WARN, "filesystem broker: workers cannot be asked (one machine only)"))
        return found
    replies = app.control.inspect(timeout=1.0).active_queues() or {}
    served = {queue["name"] for consumed in replies.values() for queue in consumed}
    missing = [queue for queue in queues if queue not in served]
    if missing:
        detail = f"no worker consumes {', '.join(missing)} ({len(replies)} worker(s) answered)"
        found.append(Check("workers", FAIL, detail))
    else:
        found.append(
            Check("workers", OK, f"{len(replies)} worker(s) answer; every queue is served ({', '.join(queues)})")
        )
    return found


def _cache() -> list[Check]:
    from django.core.cache import cache

    key = f"portico-doctor-{uuid.uuid4().hex}"
    cache.set(key, "ok", 30)
    value = cache.get(key)
    cache.delete(key)
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    if value != "ok":
        return [Check("cache", FAIL, f"{backend}: a value written could not be read back")]
    status = OK if settings.REDIS_URL or not settings.PRODUCTION else WARN
    return [Check("cache", status, f"{backend}: write and read back")]


def _storage_and_keys() -> list[Check]:
    from kms.fieldkeys import field_cipher, field_keys_forget
    from residency.backends import placement
    from tenants.models import Tenant

    misplaced, broken_keys, firms = [], [], list(Tenant.objects.filter(kind=Tenant.Kind.FIRM).order_by("slug"))
    for firm in firms:
        try:
            actual = placement(firm).actual_location()
            if actual != firm.region:
                misplaced.append(f"{firm.slug} in {actual}, not {firm.region}")
        except Exception as exc:  # one firm's storage failing must not hide the others'
            misplaced.append(f"{firm.slug}: {exc}")
        try:
            field_keys_forget(tenant=firm)  # unwrap afresh: the KEK is asked, not a cache
            field_cipher(tenant=firm, key_class="client")
        except Exception as exc:  # as above
            broken_keys.append(f"{firm.slug}: {exc}")
    storage = (
        Check("storage", FAIL, f"{len(misplaced)} firm(s): {misplaced[0]}")
        if misplaced
        else Check("storage", OK, f"{len(firms)} firm(s), each in its own region")
    )
    keys = (
        Check("keys", FAIL, f"{len(broken_keys)} firm(s): {broken_keys[0]}")
        if broken_keys
        else Check("keys", OK, f"{len(firms)} firm(s): field keys unwrap through each firm's key-encryption key")
    )
    return [storage, keys]


def _signing() -> list[Check]:
    from kms import signing

    key_id, signature = signing.sign(b"portico doctor")
    if not signing.verify(b"portico doctor", signature, key_id):
        return [Check("signing", FAIL, f"{key_id}: a fresh signature does not verify")]
    return [Check("signing", OK, f"audit anchors are signed with {key_id} (platform key unsealed)")]


def _clamd() -> list[Check]:
    from core.uploads.clamd import ping

    address = settings.PORTICO_CLAMD_SOCKET
    if not address:
        return [
            Check("clamd", WARN if settings.PRODUCTION else OK, "not configured: uploads are not scanned for viruses")
        ]
    if not ping(address, timeout=5.0):
        return [Check("clamd", FAIL, f"{address} does not answer: uploads are refused until it does")]
    return [Check("clamd", OK, f"{address} answers")]


def _proxy_settings() -> list[Check]:
    proxies = settings.PORTICO_AUDIT_TRUSTED_PROXIES
    if not proxies:
        status = FAIL if settings.PRODUCTION else OK
        return [Check("proxy headers", status, "no trusted proxy: X-Forwarded-* are ignored from everyone")]
    detail = f"X-Forwarded-* believed only from {', '.join(proxies)}; HTTPS from X-Forwarded-Proto"
    return [Check("proxy headers", OK, detail)]


def _request(url: str, *, address: str | None, request_id: str) -> tuple[http.client.HTTPResponse, str]:
    """GET ``url``, connecting to ``address`` when given (one proxy behind a load balancer); (response, TLS version)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = socket.create_connection((address or host, port), timeout=10)
    version = ""
    if parts.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        version = sock.version() or ""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.sock = sock
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    connection.request("GET", parts.path or "/", headers={"Host": host_header, "X-Request-ID": request_id})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response, version


def _live_proxy(url: str, address: str | None, http_port: int) -> list[Check]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return [Check("proxy", FAIL, f"{url}: give the https:// address the firms use")]
    request_id = f"doctor-{uuid.uuid4().hex[:12]}"
    health = f"https://{parts.netloc}/healthz"
    answer, version = _request(health, address=address, request_id=request_id)
    problems = []
    if answer.status != 200:
        problems.append(f"/healthz answered {answer.status}")
    if "max-age=" not in (answer.getheader("Strict-Transport-Security") or ""):
        problems.append("no HSTS header")
    if answer.getheader("X-Request-ID") != request_id:
        problems.append("the request id did not come back")
    found = [
        Check("proxy", FAIL, f"{health}: {'; '.join(problems)}")
        if problems
        else Check("proxy", OK, f"{health}: 200 over {version}, HSTS, request id passed through")
    ]
    netloc = parts.hostname if http_port == 80 else f"{parts.hostname}:{http_port}"
    plain, _ = _request(f"http://{netloc}/healthz", address=address, request_id=request_id)
    location = plain.getheader("Location") or ""
    if plain.status in (301, 308) and location.startswith(f"https://{parts.hostname}"):
        found.append(Check("proxy http", OK, f"http:// redirects ({plain.status}) to {location}"))
    else:
        found.append(Check("proxy http", FAIL, f"http:// answered {plain.status} {location}".strip()))
    return found


def doctor(*, url: str | None = None, address: str | None = None, http_port: int = 80) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    found: list[Check] = []
    found += _guarded("settings", _settings)
    found += _guarded("database", _database)
    found += _guarded("pooler", _pooler)
    found += _guarded("broker", _broker)
    found += _guarded("cache", _cache)
    found += _guarded("storage", _storage_and_keys)
    found += _guarded("signing", _signing)
    found += _guarded("clamd", _clamd)
    found += _guarded("proxy headers", _proxy_settings)
    if url:
        found += _guarded("proxy", lambda: _live_proxy(url, address, http_port))
    return found
