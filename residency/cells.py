"""Cells: the deployments a firm's database rows live in, one per region or shared by several.

A *cell* is Portico's whole app (web, workers, beat) whose ``default`` database is
the cell's database, with a broker of its own; django-tenants works inside a cell
exactly as in a single deployment. Every Django process is one cell
(``PORTICO_CELL``). The region registry (``residency.regions``) says which cell
each region's firms live in. Configuration, read once per process (``reload()``
re-reads it) and refused loudly when wrong:

- ``PORTICO_CELLS``: a JSON object ``{"us": {"database_url": "postgresql://…",
  "broker_url": "redis://…"}, "eu": {…}}`` or ``name=database_url`` pairs
  separated by spaces (``us=postgresql://… eu=postgresql://…``; no broker then:
  the cell's ``REDIS_URL``).
- ``PORTICO_REGION_CELLS``: region → cell, ``eu-central-1=eu,us-east-1=us`` (or a
  JSON object); a regions file (``PORTICO_REGIONS_FILE``) may instead give each
  region a ``"cell"``. With one cell every region is in it.
- ``PORTICO_CELL``: this process's cell (required when there are several).

With nothing configured there is one cell, ``default``, whose database is
``DATABASE_URL`` and whose broker is ``REDIS_URL``: today's single deployment.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DEFAULT_CELL = "default"
_CELL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class Cell:
    name: str
    database_url: str
    broker_url: str | None = None


def _check_name(name: str, source: str) -> str:
    if not _CELL_NAME.fullmatch(name):
        raise ImproperlyConfigured(f"{source}: {name!r} is not a cell name (lowercase letters, digits, hyphens)")
    return name


def _parse_cells(raw: str) -> dict[str, Cell]:
    source = "PORTICO_CELLS"
    if raw.startswith("{"):
        try:
            data: Any = json.loads(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{source}: {exc}") from None
        found: dict[str, Cell] = {}
        for name, spec in data.items():
            if isinstance(spec, str):
                spec = {"database_url": spec}
            if not isinstance(spec, dict) or not isinstance(spec.get("database_url"), str):
                raise ImproperlyConfigured(f"{source}: cell {name!r} needs a database_url")
            unknown = set(spec) - {"database_url", "broker_url"}
            if unknown:
                raise ImproperlyConfigured(f"{source}: cell {name!r}: unknown setting(s) {', '.join(sorted(unknown))}")
            found[_check_name(name, source)] = Cell(name, spec["database_url"], spec.get("broker_url"))
    else:
        found = {}
        for pair in raw.split():
            name, sep, url = pair.partition("=")
            if not sep or not url:
                raise ImproperlyConfigured(f"{source}: {pair!r} is not name=database_url")
            found[_check_name(name, source)] = Cell(name, url)
    if not found:
        raise ImproperlyConfigured(f"{source} names no cell")
    return found


@cache
def cells() -> dict[str, Cell]:
    """Every cell of the deployment, by name."""
    raw = os.environ.get("PORTICO_CELLS", "").strip()
    if not raw:
        return {DEFAULT_CELL: Cell(DEFAULT_CELL, os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL"))}
    return _parse_cells(raw)


@cache
def region_cells() -> dict[str, str]:
    """``PORTICO_REGION_CELLS``: region code → cell name (the regions file may say more)."""
    raw = os.environ.get("PORTICO_REGION_CELLS", "").strip()
    if not raw:
        return {}
    source = "PORTICO_REGION_CELLS"
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{source}: {exc}") from None
        pairs = [(str(k), str(v)) for k, v in data.items()]
    else:
        pairs = []
        for item in re.split(r"[,\s]+", raw):
            if item:
                region, sep, cell = item.partition("=")
                if not sep:
                    raise ImproperlyConfigured(f"{source}: {item!r} is not region=cell")
                pairs.append((region, cell))
    known = cells()
    for region, cell in pairs:
        if cell not in known:
            raise ImproperlyConfigured(
                f"{source}: region {region} names unknown cell {cell!r} (known: {', '.join(known)})"
            )
    return dict(pairs)


def cell_for_region(code: str, configured: str | None = None) -> str:
    """The cell region ``code`` lives in: as configured, or the only cell."""
    known = cells()
    name = configured or region_cells().get(code)
    if name is None:
        if len(known) == 1:
            return next(iter(known))
        raise ImproperlyConfigured(f"region {code} is in no cell: add it to PORTICO_REGION_CELLS")
    if name not in known:
        raise ImproperlyConfigured(f"region {code} names unknown cell {name!r} (known: {', '.join(known)})")
    return name


def get_cell(name: str) -> Cell:
    try:
        return cells()[name]
    except KeyError:
        raise ImproperlyConfigured(f"unknown cell {name!r} (known: {', '.join(cells())})") from None


def this_cell() -> Cell:
    """The cell this process belongs to (``PORTICO_CELL``; the only one when there is one)."""
    name = os.environ.get("PORTICO_CELL", "").strip()
    known = cells()
    if not name:
        if len(known) > 1:
            raise ImproperlyConfigured(f"PORTICO_CELL must name this process's cell (one of: {', '.join(known)})")
        name = next(iter(known))
    return get_cell(name)


def reload() -> None:
    """Forget the configuration read so far (after changing the environment)."""
    cells.cache_clear()
    region_cells.cache_clear()
