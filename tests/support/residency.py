"""Fixtures for the kms/residency tests (wired in by tests/conftest.py).

- ``provisioned`` / ``acme`` / ``globex``: conftest's firms (acme in eu-central-1,
  globex in us-east-1) with their keys and local storage, provisioned once if
  onboarding has not done it.
- ``storage_dir``: the local backend in the test's own directory.
- ``aws`` (per module): the session's moto server (S3 and KMS over HTTP) serving
  ca-central-1 and ap-southeast-2 as S3 buckets and AWS KMS keys; the other
  regions stay local. ``new_firm(region)`` onboards a throwaway firm inside the
  test's transaction, so it vanishes with the test (moto keeps its bucket).
- ``endpoints`` and ``outage_proxy``: point those regions at a relay that the
  test cuts to make S3 or KMS unreachable mid-operation.
- ``portico(...)``: the vendor CLI in-process, with this issue's verbs registered.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from residency import regions
from residency.provisioning import firm_is_provisioned, firm_provision
from tenants.models import Tenant
from tests.support.firms import Firm
from tests.support.servers import MotoServer, free_port

AWS_REGIONS = ("ca-central-1", "ap-southeast-2")
TLS_REGION, FILES_REGION = AWS_REGIONS


@pytest.fixture(scope="session")
def provisioned(django_db_setup, django_db_blocker) -> dict[str, Firm]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        for firm in django_db_setup.values():
            if not firm_is_provisioned(tenant=firm.tenant):
                firm_provision(tenant=firm.tenant)
    return django_db_setup  # type: ignore[no-any-return]


@pytest.fixture
def storage_dir(settings: Any, tmp_path: Path) -> Path:
    """Local storage in the test's own directory (the test's rows roll back; its files must go too)."""
    settings.PORTICO_STORAGE_DIR = tmp_path / "storage"
    return settings.PORTICO_STORAGE_DIR  # type: ignore[no-any-return]


@pytest.fixture
def acme(provisioned: dict[str, Firm], db: None) -> Tenant:
    return provisioned["acme"].tenant


@pytest.fixture
def globex(provisioned: dict[str, Firm], db: None) -> Tenant:
    return provisioned["globex"].tenant


def write_regions_file(path: Path, *, s3_endpoint: str, kms_endpoint: str | None = None) -> Path:
    """The launch regions; AWS_REGIONS on S3 and AWS KMS at the given endpoints, the others local."""
    spec: dict[str, object] = {code: {} for code in regions.DEFAULT_REGIONS}
    for code in AWS_REGIONS:
        spec[code] = {
            # moto speaks plain HTTP, and evaluates a Deny statement without its condition: with the
            # TLS-only policy it refuses every object request. So ca-central-1 gets the policy (and is
            # used for provisioning and keys) and ap-southeast-2 does not (and is used to move files).
            "storage": {"backend": "s3", "endpoint_url": s3_endpoint, "require_tls": code == TLS_REGION},
            "keys": {"provider": "aws", "endpoint_url": kms_endpoint or s3_endpoint},
        }
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="module")
def aws(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """Module-scoped: other modules in the session (other firms in these regions) keep the local defaults."""
    saved = {
        name: os.environ.get(name) for name in ("PORTICO_REGIONS_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    path = write_regions_file(tmp_path_factory.mktemp("regions") / "regions.json", s3_endpoint=moto_server.endpoint_url)
    os.environ.update(PORTICO_REGIONS_FILE=str(path), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    regions.reload()
    yield moto_server
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    regions.reload()


def onboard(region: str, prefix: str = "t") -> Tenant:
    """A firm onboarded as `portico tenants create` does, then provisioned (idempotent if onboarding did)."""
    from tenants.services import tenant_create

    slug = f"{prefix}-{secrets.token_hex(4)}"
    result = tenant_create(slug=slug, name=f"Firm {slug}", region=region, admin_email=f"admin@{slug}.test")
    firm_provision(tenant=result.tenant)
    return result.tenant


@pytest.fixture
def new_firm(db: None) -> Callable[..., Tenant]:
    return onboard


@pytest.fixture
def endpoints(aws: MotoServer, tmp_path: Path) -> Iterator[Callable[..., None]]:
    """Point the AWS regions at other S3/KMS endpoints for one test (e.g. an ``OutageProxy``)."""
    original = os.environ["PORTICO_REGIONS_FILE"]

    def point(*, s3: str, kms: str) -> None:
        os.environ["PORTICO_REGIONS_FILE"] = str(
            write_regions_file(tmp_path / "regions.json", s3_endpoint=s3, kms_endpoint=kms)
        )
        regions.reload()

    yield point
    os.environ["PORTICO_REGIONS_FILE"] = original
    regions.reload()


class OutageProxy:
    """A TCP relay in front of a real server that the test can cut (an outage) and restore.

    Connections are refused while cut, and open ones are dropped, as when a
    service or the network to it fails; the server behind keeps its state, so
    the test can look afterwards at what was (not) written.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._connections += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def outage_proxy(aws: MotoServer) -> Iterator[Callable[[], OutageProxy]]:
    """``outage_proxy()``: a relay to the moto server that the test can cut and restore."""
    proxies: list[OutageProxy] = []

    def make() -> OutageProxy:
        proxies.append(OutageProxy(int(aws.endpoint_url.rsplit(":", 1)[1])))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.cut()


def portico(*args: str) -> Result:
    """The vendor CLI in-process."""
    from tenants.cli import main

    return CliRunner().invoke(main, list(args), prog_name="portico")
