"""The package layering (README, Architecture) and the migrations, checked as CI checks them.

``lint-imports`` holds the import contracts in pyproject.toml (layers, core ↛
billing, kms ↛ residency, nothing below the CLI imports it); ``makemigrations
--check`` fails on a model change without its migration. Both run here so that
the README's test command checks them too, not only .ci/run.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    completed = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in completed.stdout


def test_every_module_of_tenants_is_in_a_layer() -> None:
    """A new module under tenants/ must say where it sits, or the layers contract would not see it."""
    layers = next(contract for contract in _contracts() if contract["id"] == "layers")["layers"]
    assert isinstance(layers, list)
    placed = {name.strip() for layer in layers for name in str(layer).replace(":", "|").split("|")}
    package = ROOT / "tenants"
    modules = {
        f"tenants.{path.stem if path.is_file() else path.name}"
        for path in package.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    assert modules - {"tenants.migrations"} <= placed, sorted(modules - placed - {"tenants.migrations"})


@pytest.mark.django_db
def test_every_model_change_has_its_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out, verbosity=1)
    except SystemExit:
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()


PROJECT_PACKAGES = ("tenants", "core", "portal", "billing", "residency", "kms", "api")
# Model field classes are referenced by import path in migrations, as Django requires (the
# autodetector compares them by path): the one kind of live code a migration may name.
FIELD_MODULES = {"kms.fields"}


def _migration_files() -> list[Path]:
    return sorted(path for path in ROOT.glob("**/migrations/*.py") if ".venv" not in path.parts)


def _imported_modules(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_migrations_import_no_live_code() -> None:
    """A migration runs as written forever: it may use Django and its own frozen copies, not today's code."""
    offenders = {}
    for path in _migration_files():
        live = {
            name
            for name in _imported_modules(path)
            if name.split(".")[0] in PROJECT_PACKAGES and name not in FIELD_MODULES and ".migrations." not in name
        }
        if live:
            offenders[str(path.relative_to(ROOT))] = sorted(live)
    assert offenders == {}


@pytest.mark.django_db
def test_migrations_that_run_sql_depend_on_the_apps_whose_tables_they_read() -> None:
    import re

    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations.special import RunSQL

    tables = {model._meta.db_table: model._meta.app_label for model in apps.get_models()}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    missing = {}
    for key, migration in loader.disk_migrations.items():
        sql_text = " ".join(str(op.sql) for op in migration.operations if isinstance(op, RunSQL))
        read = {tables[name] for name in re.findall(r"\b[a-z]+_[a-z_]+\b", sql_text) if name in tables}
        needed = read - {migration.app_label}
        reached = {app for app, _name in loader.graph.forwards_plan(key)}
        if needed - reached:
            missing[f"{key[0]}.{key[1]}"] = sorted(needed - reached)
    assert missing == {}
