"""The production process layout (issue 15 item 1): infra/ agrees with the code, and one scheduler at most.

The systemd units are checked by systemd itself (`systemd-analyze verify`, with the paths
of this checkout); the Procfile, the systemd target and compose.yaml each run a worker for
every queue tasks are routed to, and exactly one scheduler; a second scheduler started
against the same database stops. Every variable the code reads is in the operators' table.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from core.celery import app
from tests.support.database import subprocess_database_url

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
SYSTEMD = INFRA / "systemd"


def _portico_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_every_task_is_routed_to_a_declared_queue() -> None:
    tasks = _portico_tasks()
    routes = {name: app.amqp.router.route({}, name)["queue"].name for name in tasks}

    assert "core.audit.tasks.anchor_firm" in tasks
    assert set(routes.values()) <= set(settings.CELERY_TASK_QUEUES)
    assert routes["core.tasks.send_invitation"] == "default"
    assert routes["core.audit.tasks.anchor_all_firms"] == routes["core.tasks.revoke_expired_grants"] == "maintenance"


def test_every_layout_runs_a_worker_per_queue_and_exactly_one_scheduler() -> None:
    queues = set(settings.CELERY_TASK_QUEUES)
    procfile = [line for line in (INFRA / "Procfile").read_text().splitlines() if line and not line.startswith("#")]
    target = (SYSTEMD / "portico.target").read_text()
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())["services"]
    compose_commands = {name: " ".join(service.get("command") or []) for name, service in compose.items()}

    assert {m for line in procfile for m in re.findall(r"--queues (\w+)", line)} == queues
    assert sum("celery -A core beat" in line for line in procfile) == 1
    assert {f"portico-worker@{queue}.service" for queue in queues} <= set(target.split())
    assert "portico-beat.service" in target
    assert {m for command in compose_commands.values() for m in re.findall(r"--queues (\w+)", command)} == queues
    beats = [name for name, command in compose_commands.items() if command.startswith("celery -A core beat")]
    assert beats == ["beat"]
    assert compose["beat"]["deploy"]["replicas"] == 1


def test_the_systemd_units_pass_systemds_own_check(tmp_path: Path) -> None:
    """With /opt/portico replaced by this checkout, so that systemd finds every command."""
    units = []
    for unit in sorted(SYSTEMD.iterdir()):
        text = unit.read_text().replace("/opt/portico/.venv/bin/", f"{Path(sys.executable).parent}/")
        (tmp_path / unit.name).write_text(text.replace("/opt/portico", str(ROOT)))
        units.append(str(tmp_path / unit.name.replace("@.service", "@default.service")))
        if unit.name.endswith("@.service"):
            (tmp_path / unit.name.replace("@.service", "@default.service")).write_text(
                (tmp_path / unit.name).read_text()
            )
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is in infra/system-packages.txt (package systemd)"
    completed = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )

    assert completed.returncode == 0, completed.stderr
    assert "Unknown" not in completed.stderr, completed.stderr


def test_every_service_runs_unprivileged_with_its_secrets_from_files() -> None:
    for unit in sorted(SYSTEMD.glob("*.service")):
        text = unit.read_text()
        assert "User=portico" in text, unit.name
        assert "NoNewPrivileges=yes" in text, unit.name
        assert "ProtectSystem=strict" in text, unit.name
        assert "LoadCredential=secret_key:/etc/portico/secret_key" in text, unit.name
        assert "PORTICO_SECRET_KEY=" not in text, unit.name
    assert 'CMD ["gunicorn", "core.wsgi", "--config", "infra/gunicorn.conf.py"]' in (INFRA / "Dockerfile").read_text()
    assert "USER portico" in (INFRA / "Dockerfile").read_text()


# --- The operators' table ------------------------------------------------------------------------

ENV_READERS = {"env_str", "env_int", "env_bool", "env_optional", "env_list", "env_choice", "_raw"}
PACKAGES = ("core", "kms", "residency", "tenants", "billing", "portal", "api")


def _variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]
    for path in [*files, INFRA / "gunicorn.conf.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            is_environ = isinstance(func, ast.Attribute) and ast.unparse(func.value) in ("os.environ", "environ")
            if name in ENV_READERS or (is_environ and name == "get"):
                found.add(first.value)
    return {name for name in found if re.fullmatch(r"[A-Z][A-Z0-9_]+", name) and not name.startswith("DJANGO_")}


def _variables_in_the_table() -> set[str]:
    text = (INFRA / "README.md").read_text()
    table = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        cell = row.split("|")[1]
        full = re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)
        names.update(full)
        prefix = full[0].rsplit("_", 1)[0] if full else ""
        names.update(prefix + short for short in re.findall(r"`(_[A-Z0-9_]+)`", cell))
    return names


def test_every_variable_the_code_reads_is_in_the_operators_table() -> None:
    read = _variables_read_by_the_code()

    assert {"DATABASE_URL", "PORTICO_TRUSTED_PROXIES", "SENTRY_DSN", "WEB_CONCURRENCY"} <= read
    assert read - _variables_in_the_table() == set()


# --- One scheduler ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_scheduler_refuses_to_start(tmp_path: Path, db: None) -> None:
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "PORTICO_VAR_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "celery", "-A", "core", "beat", "--loglevel", "INFO"]
    first = subprocess.Popen(
        [*argv, "--schedule", str(tmp_path / "first")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _holds_scheduler_lock():
            assert first.poll() is None, first.stdout.read().decode() if first.stdout else ""
            time.sleep(0.2)
        assert _holds_scheduler_lock(), "the first scheduler never took the lock"
        second = subprocess.run(
            [*argv, "--schedule", str(tmp_path / "second")], env=env, capture_output=True, text=True, timeout=60
        )

        assert second.returncode == 1
        assert (
            "another scheduler (celery beat) is already running against this database" in second.stdout + second.stderr
        )
        assert first.poll() is None  # the first one keeps running
    finally:
        first.terminate()
        first.wait(timeout=20)


def _holds_scheduler_lock() -> bool:
    from django.db import connection

    from core.startup import SCHEDULER_LOCK

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = %s",
            [SCHEDULER_LOCK],
        )
        return bool(cursor.fetchone()[0])
