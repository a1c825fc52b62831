"""Cells in configuration (issue 16, step 1): one cell by default; several from PORTICO_CELLS; bad settings refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from residency import cells, regions

US = "postgresql://portico@us-db:5432/portico"
EU = "postgresql://portico@eu-db:5432/portico"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("PORTICO_CELLS", "PORTICO_REGION_CELLS", "PORTICO_CELL", "PORTICO_REGIONS", "PORTICO_REGIONS_FILE"):
        monkeypatch.delenv(name, raising=False)
    regions.reload()
    yield
    monkeypatch.undo()
    regions.reload()


def test_with_nothing_configured_there_is_one_cell_holding_every_region() -> None:
    assert list(cells.cells()) == ["default"]
    assert cells.this_cell().database_url == os.environ["DATABASE_URL"]
    assert {region.cell for region in regions.registry().values()} == {"default"}
    assert settings.PORTICO_CELL == "default"
    assert "control" not in settings.DATABASES  # the control plane is the cell's own database


def test_cells_and_the_region_map_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PORTICO_CELLS",
        json.dumps({"us": {"database_url": US, "broker_url": "redis://us-redis/0"}, "eu": {"database_url": EU}}),
    )
    monkeypatch.setenv("PORTICO_REGION_CELLS", "us-east-1=us,ca-central-1=us, eu-central-1=eu ap-southeast-2=eu")
    monkeypatch.setenv("PORTICO_CELL", "eu")
    regions.reload()

    assert cells.get_cell("us") == cells.Cell("us", US, "redis://us-redis/0")
    assert cells.this_cell() == cells.Cell("eu", EU, None)
    assert {code: r.cell for code, r in regions.registry().items()} == {
        "us-east-1": "us", "eu-central-1": "eu", "ca-central-1": "us", "ap-southeast-2": "eu",
    }  # fmt: skip


def test_name_url_pairs_and_a_regions_file_naming_cells(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PORTICO_CELLS", f"us={US} eu={EU}")
    path = tmp_path / "regions.json"
    path.write_text(json.dumps({"eu-central-1": {"cell": "eu"}, "us-east-1": {"cell": "us"}}))
    monkeypatch.setenv("PORTICO_REGIONS_FILE", str(path))
    regions.reload()

    assert [(c.name, c.database_url) for c in cells.cells().values()] == [("us", US), ("eu", EU)]
    assert regions.get_region("eu-central-1").cell == "eu"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"PORTICO_CELLS": "us"}, "is not name=database_url"),
        ({"PORTICO_CELLS": f"US={US}"}, "is not a cell name"),
        ({"PORTICO_CELLS": '{"us": {"url": "x"}}'}, "needs a database_url"),
        ({"PORTICO_CELLS": f"us={US} eu={EU}", "PORTICO_REGION_CELLS": "eu-central-1=mars"}, "unknown cell 'mars'"),
        ({"PORTICO_CELLS": f"us={US} eu={EU}", "PORTICO_REGION_CELLS": "eu-central-1=eu"}, "us-east-1 is in no cell"),
    ],
)
def test_bad_cell_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    regions.reload()
    with pytest.raises(ImproperlyConfigured, match=message):
        regions.registry()


def test_a_process_of_several_cells_must_say_which_it_is_and_needs_a_control_plane() -> None:
    """Settings are read at start-up, so a fresh interpreter loads them (a subprocess: nothing to mock)."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORTICO_CELL")}
    base |= {"PORTICO_CELLS": f"us={US} eu={EU}", "PORTICO_REGION_CELLS": "us-east-1=us,eu-central-1=eu",
             "PORTICO_REGIONS": "us-east-1,eu-central-1", "DJANGO_SETTINGS_MODULE": "core.settings"}  # fmt: skip
    program = "import django; django.setup(); from django.conf import settings as s; "
    program += "print(s.PORTICO_CELL, s.DATABASES['default']['HOST'], s.DATABASES['control']['HOST'])"

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", program], env=base | extra, capture_output=True, text=True,
                              check=False, timeout=60)  # fmt: skip

    assert "PORTICO_CELL must name this process's cell" in run().stderr
    assert "PORTICO_CONTROL_DATABASE_URL must be set" in run(PORTICO_CELL="eu").stderr
    ok = run(PORTICO_CELL="eu", PORTICO_CONTROL_DATABASE_URL="postgresql://portico@control-db/control")
    assert ok.stdout.split() == ["eu", "eu-db", "control-db"], ok.stderr
