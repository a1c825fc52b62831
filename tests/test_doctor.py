"""`portico doctor` (issue 15 item 1): what it finds on a working deployment, and what it reports broken.

Run in-process against the test database, broker and storage. The checks through a real
proxy and a pooler in transaction mode are in tests/test_proxy.py and tests/test_pooler.py.
"""

from __future__ import annotations

import json

from click.testing import CliRunner, Result
from django.conf import settings
from django.test import override_settings

from kms.fieldkeys import field_keys_forget
from kms.models import FieldKey
from tenants.cli import main
from tests.support.firms import Firm


def doctor(*args: str) -> Result:
    return CliRunner().invoke(main, ["doctor", *args], prog_name="portico")


def statuses(result: Result) -> dict[str, str]:
    return {check["name"]: check["status"] for check in json.loads(result.stdout)["checks"]}


def details(result: Result) -> dict[str, str]:
    return {check["name"]: check["detail"] for check in json.loads(result.stdout)["checks"]}


def test_doctor_has_help() -> None:
    result = doctor("--help")

    assert result.exit_code == 0
    for option in ("--url", "--address", "--http-port", "--json"):
        assert option in result.stdout


def test_every_dependency_of_a_working_deployment_is_ok(firm_a: Firm, firm_b: Firm) -> None:
    result = doctor("--json")
    found = statuses(result)

    for name in ("settings", "database", "migrations", "schemas", "pooler", "broker", "cache"):
        assert found[name] == "ok", (name, details(result)[name])
    for name in ("storage", "keys", "signing"):
        assert found[name] == "ok", (name, details(result)[name])
    assert "2 firm(s)" in details(result)["keys"]
    assert details(result)["database"].startswith("PostgreSQL ")


def test_the_workers_check_names_the_queues_nobody_consumes(firm_a: Firm) -> None:
    result = doctor("--json")

    if settings.REDIS_URL:
        # No worker consumes Portico's queues during the tests (the worker tests use queues of their own).
        assert statuses(result)["workers"] == "fail"
        assert details(result)["workers"].startswith("no worker consumes default, maintenance")
        assert result.exit_code == 1
    else:
        assert statuses(result)["workers"] == "warn"
        assert "filesystem broker" in details(result)["workers"]


def test_a_firm_whose_key_cannot_be_unwrapped_fails_the_keys_check(firm_a: Firm, firm_b: Firm) -> None:
    FieldKey.objects.filter(tenant=firm_b.tenant).delete()  # rolled back with the test
    try:
        result = doctor("--json")
    finally:
        field_keys_forget(tenant=firm_b.tenant)

    assert statuses(result)["keys"] == "fail"
    assert details(result)["keys"].startswith("1 firm(s): globex: ")
    assert result.exit_code == 1


def test_an_unreachable_clamd_fails_and_a_missing_proxy_setting_fails_in_production(firm_a: Firm) -> None:
    with override_settings(PORTICO_CLAMD_SOCKET="127.0.0.1:9"):
        clamd = doctor("--json")
    with override_settings(PRODUCTION=True, PORTICO_AUDIT_TRUSTED_PROXIES=[]):
        proxy = doctor("--json")

    assert statuses(clamd)["clamd"] == "fail"
    assert "127.0.0.1:9 does not answer" in details(clamd)["clamd"]
    assert statuses(proxy)["proxy headers"] == "fail"


def test_the_text_output_has_one_marked_line_per_check_and_a_verdict(firm_a: Firm) -> None:
    as_json = doctor("--json")
    as_text = doctor()

    checks = json.loads(as_json.stdout)["checks"]
    lines = as_text.stdout.splitlines()
    assert len(lines) == len(checks) + 1
    for line, check in zip(lines, checks, strict=False):
        mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check["status"]]
        assert line.startswith(f"{mark}  {check['name']} ")
        assert check["detail"][:16] in line
    failed = sum(check["status"] == "fail" for check in checks)
    assert lines[-1] == (f"{failed} failed" if failed else lines[-1])
    assert as_text.exit_code == as_json.exit_code == (1 if failed else 0)
