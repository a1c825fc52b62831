"""What every benchmark needs: Django pointed at a throwaway database, one onboarded firm, percentiles."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import database


def configure_django(url: str, workdir: Path, **extra_env: str) -> None:
    """Load Django on ``url`` with local state (master key, files) under ``workdir``, not the checkout's var/."""
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="core.settings_test",
        PORTICO_ENV="test",
        PORTICO_VAR_DIR=str(workdir / "var"),
        PORTICO_SECRET_KEY="benchmark-only-not-a-secret",  # noqa: S106 (a throwaway database's key)
        PORTICO_LOG_LEVEL="WARNING",
        **extra_env,
    )
    import django

    django.setup()


def onboard_bench_firm() -> Any:
    """Migrate the empty database and onboard one firm (keys and storage included) the product's way."""
    from tenants.migrate import migrate_all
    from tenants.services import tenant_create

    migrate_all()
    return tenant_create(
        slug="bench", name="Bench Immigration", region="eu-central-1", admin_email="a@bench.test"
    ).tenant


@dataclass(frozen=True)
class BenchFirm:
    tenant: Any
    server: str  # which PostgreSQL served the run, for the report


@contextmanager
def bench_firm(name: str) -> Iterator[BenchFirm]:
    """A throwaway database ``name`` (dropped at the end) with Django on it and one onboarded firm."""
    with (
        database.server() as server,
        tempfile.TemporaryDirectory(prefix=f"{name.replace('_', '-')}-") as tmp,
        database.throwaway_database(server, name) as url,
    ):
        configure_django(url, Path(tmp))
        print(f"onboarding a firm in {name} on {server.description}...", file=sys.stderr, flush=True)
        yield BenchFirm(tenant=onboard_bench_firm(), server=server.description)
        from django.db import connections

        connections.close_all()


def percentiles(timings: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of ``timings``."""
    quantiles = statistics.quantiles(timings, n=100)
    return statistics.median(timings), quantiles[94], quantiles[98]
