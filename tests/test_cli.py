"""The vendor CLI, `portico tenants ...`, run in-process against the test database.

Every verb's happy path, its text and JSON output, and each error: exit code 1
for a failure, 2 for a usage error, always one line on stderr, and nothing
half-created. One test runs the installed console script for real.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from core.models import User
from core.roles import Role
from residency.regions import DEFAULT_REGIONS
from tenants.cli import main
from tenants.models import Domain, Tenant
from tests.support.database import subprocess_database_url
from tests.support.firms import Firm

pytestmark = pytest.mark.slow  # starts processes (the console script, manage.py check)

NEW_FIRM = ["--name", "Initech Immigration", "--region", "ca-central-1", "--admin-email", "ana@initech.test"]


def portico(*args: str, **env: str) -> Result:
    return CliRunner(env=env or None).invoke(main, list(args), prog_name="portico")


def create(slug: str, *extra: str) -> Result:
    return portico("tenants", "create", "--slug", slug, *NEW_FIRM, *extra)


def assert_one_line_error(result: Result, *, exit_code: int, mentions: str) -> None:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert mentions in lines[0]
    assert result.stdout == ""


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM information_schema.schemata")
        return {row[0] for row in cursor.fetchall()}


def control_plane() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], set[str]]:
    """Everything onboarding writes: tenant rows, domain rows and schemas."""
    return (
        list(Tenant.objects.order_by("pk").values_list("pk", "slug", "schema_name", "status")),
        list(Domain.objects.order_by("pk").values_list("pk", "domain", "tenant_id")),
        schema_names(),
    )


@pytest.fixture
def nothing_created(db: Any) -> Iterator[None]:
    """After the test: no tenant row, domain row or schema more than before, and no email sent."""
    before = control_plane()
    yield
    assert control_plane() == before
    assert mail.outbox == []


# --- help and the console script ---------------------------------------------------


@pytest.mark.parametrize(
    "verb",
    [
        [],
        ["tenants"],
        ["tenants", "create"],
        ["tenants", "list"],
        ["tenants", "show"],
        ["tenants", "suspend"],
        ["tenants", "resume"],
        ["tenants", "migrate"],
        ["tenants", "regions"],
        ["up"],
    ],
    ids=lambda verb: " ".join(verb) or "portico",
)
def test_every_verb_has_help(verb: list[str]) -> None:
    result = portico(*verb, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    assert " ".join(["portico", *verb]) in result.stdout.splitlines()[0]


def test_create_help_names_every_option() -> None:
    result = portico("tenants", "create", "--help")
    for option in ("--slug", "--name", "--region", "--admin-email", "--plan", "--json"):
        assert option in result.stdout


def test_installed_console_script_lists_firms_from_the_database(firm_a: Firm, firm_b: Firm) -> None:
    script = Path(sys.executable).parent / "portico"
    env = {**os.environ, "DATABASE_URL": subprocess_database_url()}
    completed = subprocess.run(
        [str(script), "tenants", "list", "--json"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert [firm["slug"] for firm in json.loads(completed.stdout)] == ["acme", "globex"]


# --- create ----------------------------------------------------------------------


def test_create_onboards_a_firm_and_prints_its_url_and_set_password_link(db: Any) -> None:
    result = create("initech")

    assert result.exit_code == 0, result.output
    assert "Created firm initech (Initech Immigration) in ca-central-1, cloned from the template" in result.stdout
    assert "URL:   http://initech.localhost:8000/\n" in result.stdout
    link = result.stdout.strip().splitlines()[-1].strip()
    assert link.startswith("http://initech.localhost:8000/accounts/set-password/")

    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.schema_name, tenant.name, tenant.region, tenant.plan, tenant.status, tenant.kind) == (
        "initech", "Initech Immigration", "ca-central-1", "standard", "active", "firm",
    )  # fmt: skip
    assert list(tenant.domains.values_list("domain", "is_primary")) == [("initech.localhost", True)]
    assert "initech" in schema_names()

    [email] = mail.outbox
    assert email.to == ["ana@initech.test"]
    assert "Initech Immigration" in email.subject
    assert link in email.body

    with schema_context("initech"):
        admin = User.objects.get()
        assert admin.email == "ana@initech.test"
        assert admin.is_staff
        assert not admin.has_usable_password()
        assert list(admin.groups.values_list("name", flat=True)) == [Role.FIRM_ADMIN.value]
        assert set(Group.objects.values_list("name", flat=True)) == {role.value for role in Role}


def test_invitation_link_opens_the_set_password_form_on_the_firms_own_site(db: Any) -> None:
    result = create("initech")
    assert result.exit_code == 0, result.output
    link = urlsplit(mail.outbox[0].body.split("http://initech.localhost:8000", 1)[1].split()[0])

    response = Client(HTTP_HOST="initech.localhost").get(link.path, follow=True)

    assert response.status_code == 200
    assert b'name="new_password1"' in response.content


def test_create_json_reports_the_new_firm(db: Any) -> None:
    result = create("initech", "--json", "--plan", "trial", "--admin-name", "Ana Ruiz")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("slug", "url", "admin_email", "region", "cloned_from_template")} == {
        "slug": "initech",
        "url": "http://initech.localhost:8000/",
        "admin_email": "ana@initech.test",
        "region": "ca-central-1",
        "cloned_from_template": True,
    }
    assert Tenant.objects.get(slug="initech").plan == "trial"
    with schema_context("initech"):
        assert User.objects.get().full_name == "Ana Ruiz"


def test_create_gives_a_hyphenated_slug_an_underscored_schema(db: Any) -> None:
    result = create("north-star")
    assert result.exit_code == 0, result.output
    assert Tenant.objects.get(slug="north-star").schema_name == "north_star"
    assert Domain.objects.filter(domain="north-star.localhost").exists()
    assert "north_star" in schema_names()


# --- create: errors ----------------------------------------------------------------


def test_create_refuses_a_duplicate_slug(firm_a: Firm, nothing_created: None) -> None:
    result = create("acme")
    assert_one_line_error(result, exit_code=1, mentions="a firm with slug 'acme' already exists")


@pytest.mark.parametrize(
    "slug",
    [
        "www",
        "api",
        "admin",
        "app",
        "template",
        "public",
        "static",
        "media",
        "mail",
        "portico-template",
        "pg-toast",
        "pg-acme",
        "information-schema",
    ],
)
def test_create_refuses_a_reserved_slug(nothing_created: None, slug: str) -> None:
    result = create(slug)
    assert_one_line_error(result, exit_code=2, mentions=f"slug {slug!r} is reserved")


@pytest.mark.parametrize("slug", ["Acme", "a", "ab", "-x", "a_b", "x--y", "acme-", "9lives", "acme.law", "a" * 41, ""])
def test_create_refuses_an_invalid_slug(nothing_created: None, slug: str) -> None:
    result = portico("tenants", "create", f"--slug={slug}", *NEW_FIRM)
    assert_one_line_error(result, exit_code=2, mentions=f"invalid slug {slug!r}")


def test_create_refuses_an_unknown_region(nothing_created: None) -> None:
    result = portico("tenants", "create", "--slug", "initech", "--name", "Initech", "--region", "mars-1",
                     "--admin-email", "ana@initech.test")  # fmt: skip
    assert_one_line_error(result, exit_code=2, mentions="unknown region 'mars-1'")
    assert "eu-central-1" in result.stderr


@pytest.mark.parametrize("email", ["not-an-email", "ana@", "@initech.test", "ana@initech", "ana @initech.test", ""])
def test_create_refuses_a_bad_admin_email(nothing_created: None, email: str) -> None:
    result = portico("tenants", "create", "--slug", "initech", "--name", "Initech", "--region", "us-east-1",
                     f"--admin-email={email}")  # fmt: skip
    assert_one_line_error(result, exit_code=2, mentions="invalid email address")


def test_create_refuses_a_blank_name(nothing_created: None) -> None:
    result = portico("tenants", "create", "--slug", "initech", "--name", "  ", "--region", "us-east-1",
                     "--admin-email", "ana@initech.test")  # fmt: skip
    assert_one_line_error(result, exit_code=2, mentions="name must not be empty")


def test_create_refuses_an_unknown_plan(nothing_created: None) -> None:
    result = create("initech", "--plan", "platinum")
    assert_one_line_error(result, exit_code=2, mentions="unknown plan 'platinum'")


@pytest.mark.parametrize("missing", ["--slug", "--name", "--region", "--admin-email"])
def test_create_without_a_required_option_is_a_usage_error(nothing_created: None, missing: str) -> None:
    options = {"--slug": "initech", "--name": "Initech", "--region": "us-east-1", "--admin-email": "ana@initech.test"}
    del options[missing]
    result = portico("tenants", "create", *[part for pair in options.items() for part in pair])
    assert result.exit_code == 2
    assert f"Missing option '{missing}'" in result.stderr


# --- create: a failure midway ------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_mail_server(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, bool]]:
    """Real SMTP to a closed port, so sending the invitation (the last step of onboarding) fails.

    Returns what the database held at the moment the email was sent, to prove the failure came midway.
    """
    import core.services

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    seen: list[dict[str, bool]] = []
    from core.mail import firm_mail as real_firm_mail  # what core.services sends with

    def send_mail_noting_state(*args: Any, **kwargs: Any) -> Any:
        with schema_context("public"):
            seen.append(
                {
                    "schema": "initech" in schema_names(),
                    "tenant": Tenant.objects.filter(slug="initech").exists(),
                    "domain": Domain.objects.filter(domain="initech.localhost").exists(),
                }
            )
        return real_firm_mail(*args, **kwargs)

    monkeypatch.setattr(core.services, "firm_mail", send_mail_noting_state)
    return seen


def test_failure_midway_through_create_leaves_nothing_behind(
    db: Any, settings: Any, unreachable_mail_server: list[dict[str, bool]]
) -> None:
    before = control_plane()

    result = create("initech")

    assert unreachable_mail_server == [{"schema": True, "tenant": True, "domain": True}]
    assert_one_line_error(result, exit_code=1, mentions="ConnectionRefusedError")
    assert control_plane() == before
    # and the slug is free for a second attempt once mail works
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert create("initech").exit_code == 0
    assert len(mail.outbox) == 1


def test_debug_env_var_lets_the_traceback_through(
    nothing_created: None, unreachable_mail_server: list[dict[str, bool]]
) -> None:
    result = portico("tenants", "create", "--slug", "initech", *NEW_FIRM, PORTICO_DEBUG_CLI="1")
    assert result.exit_code == 1
    assert isinstance(result.exception, ConnectionRefusedError)
    assert "error:" not in result.stderr


# --- list and show -----------------------------------------------------------------


def test_list_shows_every_firm_but_not_the_template_or_public(firm_a: Firm, firm_b: Firm) -> None:
    result = portico("tenants", "list")

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.strip().splitlines()
    assert header.split() == ["SLUG", "STATUS", "REGION", "CELL", "PLAN", "NAME"]
    assert [row.split()[:5] for row in rows] == [
        ["acme", "active", "eu-central-1", "default", "standard"],
        ["globex", "active", "us-east-1", "default", "standard"],
    ]
    assert rows[0].endswith("Acme Immigration LLP")


def test_list_json_gives_each_firms_details(firm_a: Firm, firm_b: Firm) -> None:
    result = portico("tenants", "list", "--json")

    assert result.exit_code == 0, result.output
    firms = json.loads(result.stdout)
    assert [firm["slug"] for firm in firms] == ["acme", "globex"]
    assert {k: v for k, v in firms[1].items() if k != "created"} == {
        "slug": "globex",
        "name": "Globex Visa Partners",
        "region": "us-east-1",
        "cell": "default",
        "plan": "standard",
        "status": "active",
        "url": "http://globex.localhost:8000/",
    }


def test_list_says_so_when_there_are_no_firms(db: Any) -> None:
    Tenant.objects.filter(kind=Tenant.Kind.FIRM).delete()  # rows only; rolled back after the test
    result = portico("tenants", "list")
    assert result.exit_code == 0
    assert "No firms yet" in result.stdout
    assert json.loads(portico("tenants", "list", "--json").stdout) == []


def _people(firm: Firm) -> tuple[int, int]:
    """How many users the firm has, and how many of them are staff (the cast's, counted in its schema)."""
    with firm.tenant:
        return User.objects.count(), User.objects.filter(is_staff=True).count()


def test_show_prints_one_firm(firm_a: Firm) -> None:
    users, staff = _people(firm_a)
    assert (users, staff) == (16, 9)  # alice and the cast (tests/support/cast.py); 9 of them staff

    result = portico("tenants", "show", "acme")

    assert result.exit_code == 0, result.output
    fields = dict(line.split(":", 1) for line in result.stdout.strip().splitlines())
    assert {key: value.strip() for key, value in fields.items() if key != "created"} == {
        "slug": "acme",
        "name": "Acme Immigration LLP",
        "region": "eu-central-1",
        "cell": "default",
        "plan": "standard",
        "status": "active",
        "url": "http://acme.localhost:8000/",
        "schema": "acme",
        "domains": "['acme.localhost']",
        "status changed": "None",
        "users": str(users),
        "staff users": str(staff),
        "migrations pending": "0",
    }


def test_show_json_counts_the_firms_users_and_pending_migrations(firm_a: Firm) -> None:
    users, staff = _people(firm_a)

    result = portico("tenants", "show", "acme", "--json")

    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert detail["schema"] == "acme"
    assert detail["domains"] == ["acme.localhost"]
    assert (detail["users"], detail["staff_users"], detail["migrations_pending"]) == (users, staff, 0)
    assert detail["url"] == "http://acme.localhost:8000/"


@pytest.mark.parametrize("verb", ["show", "suspend", "resume"])
@pytest.mark.parametrize("slug", ["nosuchfirm", "template", "public"])
def test_verbs_on_an_unknown_firm_fail(firm_a: Firm, verb: str, slug: str) -> None:
    result = portico("tenants", verb, slug)
    assert_one_line_error(result, exit_code=1, mentions=f"no firm with slug {slug!r}")
    assert Tenant.objects.get(slug="template").status == "active"


@pytest.mark.parametrize("verb", ["show", "suspend", "resume"])
def test_verbs_that_need_a_slug_say_so(db: Any, verb: str) -> None:
    result = portico("tenants", verb)
    assert result.exit_code == 2
    assert "Missing argument 'SLUG'" in result.stderr


# --- suspend and resume --------------------------------------------------------------


def test_suspend_and_resume_change_the_firms_status(firm_a: Firm, firm_b: Firm) -> None:
    suspended = portico("tenants", "suspend", "acme")
    assert (suspended.exit_code, suspended.stdout) == (0, "acme suspended\n")
    acme = Tenant.objects.get(slug="acme")
    assert acme.status == "suspended"
    assert acme.status_changed is not None
    assert Tenant.objects.get(slug="globex").status == "active"
    assert json.loads(portico("tenants", "show", "acme", "--json").stdout)["status"] == "suspended"

    resumed = portico("tenants", "resume", "acme")
    assert (resumed.exit_code, resumed.stdout) == (0, "acme resumed\n")
    assert Tenant.objects.get(slug="acme").status == "active"


def test_suspending_a_suspended_firm_changes_nothing(firm_a: Firm) -> None:
    assert portico("tenants", "suspend", "acme").exit_code == 0
    first_change = Tenant.objects.get(slug="acme").status_changed

    again = portico("tenants", "suspend", "acme")

    assert (again.exit_code, again.stdout) == (0, "acme was already suspended\n")
    assert Tenant.objects.get(slug="acme").status_changed == first_change


def test_resuming_an_active_firm_changes_nothing(firm_a: Firm) -> None:
    result = portico("tenants", "resume", "acme")
    assert (result.exit_code, result.stdout) == (0, "acme was already active\n")
    assert Tenant.objects.get(slug="acme").status_changed is None


def test_a_firm_being_offboarded_cannot_be_resumed(firm_a: Firm) -> None:
    Tenant.objects.filter(slug="acme").update(status=Tenant.Status.OFFBOARDING)
    result = portico("tenants", "resume", "acme")
    assert_one_line_error(result, exit_code=1, mentions="being offboarded")
    assert Tenant.objects.get(slug="acme").status == "offboarding"


# --- migrate and regions -------------------------------------------------------------


def test_migrate_with_nothing_to_do_reports_every_schema_up_to_date(firm_a: Firm, firm_b: Firm) -> None:
    result = portico("tenants", "migrate")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("0 schema(s) migrated, 4 already up to date")
    assert result.stderr.splitlines() == [
        "public: up to date",
        "[1/3] acme: up to date",
        "[2/3] globex: up to date",
        "[3/3] portico_template: up to date",
    ]


def test_migrate_json_names_the_schema_it_brought_up_to_date(firm_a: Firm, firm_b: Firm) -> None:
    # globex misses the newest migration of the public-only tenants app, so nothing runs in globex itself
    app, name = public_only_leaf_migration()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM globex.django_migrations WHERE app = %s AND name = %s", [app, name])

    result = portico("tenants", "migrate", "--json")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert report["migrated"] == ["globex"]
    assert sorted(report["up_to_date"]) == ["acme", "portico_template", "public"]
    assert isinstance(report["seconds"], float)
    assert json.loads(portico("tenants", "show", "globex", "--json").stdout)["migrations_pending"] == 0


def public_only_leaf_migration() -> tuple[str, str]:
    from django.db.migrations.loader import MigrationLoader

    leaves: list[tuple[str, str]] = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("tenants")
    assert len(leaves) == 1
    return leaves[0]


def test_regions_lists_the_registry() -> None:
    text = portico("tenants", "regions")
    as_json = portico("tenants", "regions", "--json")

    assert text.exit_code == as_json.exit_code == 0
    assert [line.split()[0] for line in text.stdout.strip().splitlines()] == list(DEFAULT_REGIONS)
    assert json.loads(as_json.stdout) == [
        {"code": code, "name": name, "cell": "default"} for code, name in DEFAULT_REGIONS.items()
    ]
    assert text.stdout.splitlines()[1].split()[-2:] == ["cell", "default"]


def test_regions_with_an_unreadable_registry_file_fail_with_one_line(tmp_path: Path) -> None:
    from residency.regions import registry

    broken = tmp_path / "regions.json"
    broken.write_text("{not json")
    registry.cache_clear()
    try:
        result = portico("tenants", "regions", PORTICO_REGIONS_FILE=str(broken))
    finally:
        registry.cache_clear()
    assert_one_line_error(result, exit_code=1, mentions="configuration: PORTICO_REGIONS_FILE=")
