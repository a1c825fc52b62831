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
