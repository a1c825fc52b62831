"""Onboarding and migration benchmark: ``uv run python -m bench.onboarding``.

Runs each scenario (a model set) in its own process against its own throwaway
database (``portico_bench``, on DATABASE_URL's server or the embedded one),
then prints one table of the measurements and the issue's goals with PASS/FAIL.
See bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import database
from bench.report import render
from bench.synthetic.schema import write_migrations

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
MIGRATIONS_PACKAGE = "bench_synthetic_migrations"


def _child_env(database_url: str, synthetic: int, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        PORTICO_ENV="test",
        PORTICO_VAR_DIR=str(workdir / "var"),  # keeps the checkout's var/ (secret key, mail) untouched
        PORTICO_SECRET_KEY="benchmark-only-not-a-secret",  # noqa: S106 (a throwaway database's key)
        PORTICO_LOG_LEVEL="WARNING",
        PORTICO_BENCH_SYNTHETIC_MODELS=str(synthetic),
        PORTICO_BENCH_SYNTHETIC_MIGRATIONS=MIGRATIONS_PACKAGE,
        PYTHONPATH=os.pathsep.join([str(workdir), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


def _run_scenario(server: database.Server, synthetic: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="portico-bench-") as tmp, database.throwaway_database(server) as url:
        workdir = Path(tmp)
        write_migrations(workdir / MIGRATIONS_PACKAGE, synthetic)
        output = workdir / "result.json"
        command = [sys.executable, "-m", "bench.scenario", "--output", str(output)]
        command += ["--runs", str(args.runs), "--stamp-runs", str(args.stamp_runs), "--tenants", str(args.tenants)]
        command += ["--migrate-runs", str(args.migrate_runs), "--migrate-schemas-runs", str(args.migrate_schemas_runs)]
        started = time.perf_counter()
        subprocess.run(command, env=_child_env(url, synthetic, workdir), cwd=ROOT, check=True)
        result: dict[str, Any] = json.loads(output.read_text())
        result["wall_seconds"] = time.perf_counter() - started
        return result


def _real_model_total(server: database.Server) -> int:
    """Today's model count, without synthetic models (Django is loaded in a child, not here)."""
    with tempfile.TemporaryDirectory(prefix="portico-bench-") as tmp:
        env = _child_env(server.database_url(database.NAME), 0, Path(tmp))
        completed = subprocess.run(
            [sys.executable, "-m", "bench.scenario", "--count-models"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
    return int(json.loads(completed.stdout)["total"])


def _synthetic_counts(spec: str, target: int, server: database.Server) -> list[int]:
    counts = []
    for item in spec.split(","):
        item = item.strip()
        if item == "auto":
            counts.append(max(0, target - _real_model_total(server)))
        elif item.isdigit():
            counts.append(int(item))
        else:
            raise SystemExit(f"--synthetic-models: expected numbers or 'auto', got {item!r}")
    return list(dict.fromkeys(counts))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.onboarding", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--synthetic-models",
        default="auto",
        metavar="N[,N...]",
        help="scenarios, by number of SYNTHETIC tenant models added; 'auto' adds enough to reach "
        "--target-models models in total; e.g. 0,auto also measures today's models alone (default: auto)",
    )
    parser.add_argument(
        "--target-models", type=int, default=60, help="the product's expected model count, for 'auto' (default: 60)"
    )
    parser.add_argument("--runs", type=int, default=10, help="onboardings per path (default: 10)")
    parser.add_argument("--stamp-runs", type=int, default=3, help="stamping steps alone per method (default: 3)")
    parser.add_argument("--tenants", type=int, default=100, help="firms for the migrate comparison (default: 100)")
    parser.add_argument("--migrate-runs", type=int, default=3, help="portico tenants migrate runs (default: 3)")
    parser.add_argument("--migrate-schemas-runs", type=int, default=1, help="migrate_schemas runs (default: 1)")
    parser.add_argument("--json", action="store_true", help="also write the results to bench/results/")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 runs, 2 stamps, 20 firms (~1 minute)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.stamp_runs, args.tenants, args.migrate_runs = 3, 2, 20, 1

    started = datetime.now(tz=UTC)
    with database.server() as server:
        scenarios = []
        for synthetic in _synthetic_counts(args.synthetic_models, args.target_models, server):
            print(f"scenario: {synthetic} synthetic models, on {server.description}", file=sys.stderr, flush=True)
            scenarios.append({"synthetic_models": synthetic, **_run_scenario(server, synthetic, args)})
    report = {
        "started": started.isoformat(),
        "server": server.description,
        "cpus": os.cpu_count(),
        "target_models": args.target_models,
        "arguments": vars(args),
        "scenarios": scenarios,
    }
    print(render(report))
    if args.json:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"onboarding-{started:%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
