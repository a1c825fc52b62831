"""The benchmark's printed table: measurements per scenario, then the issue's goals."""

from __future__ import annotations

from typing import Any

MIGRATE_SPEEDUP = 10.0  # portico tenants migrate vs migrate_schemas, nothing to apply
ONBOARDING_SECONDS = 1.0  # per firm, end to end, at the full model count
CLONE_SPEEDUP = 5.0  # onboarding by clone vs by migrations, at the full model count


def _title(scenario: dict[str, Any]) -> str:
    models = scenario["models"]
    synthetic = models["synthetic"]
    added = f"{synthetic} of them SYNTHETIC" if synthetic else "no synthetic models"
    return f"{models['tenant_schema']} tenant-schema models, {models['total']} in total ({added})"


def _label(scenario: dict[str, Any]) -> str:
    synthetic = scenario["models"]["synthetic"]
    return f"{scenario['models']['total']} models" + (f" ({synthetic} synth.)" if synthetic else " (today)")


def _rows(scenario: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    firms = scenario["tenants"]
    bulk_first = firms - (scenario["bulk_onboarding"] or {"n": 0})["n"] + 1
    return [
        ("onboarding end to end, by clone (template present)", scenario["onboarding"]["clone"]),
        ("onboarding end to end, by migrations (no template)", scenario["onboarding"]["migrations"]),
        ("stamping step alone: _stamp_schema, template present", scenario["stamp"].get("in_use")),
        ("stamping step alone: tenants.stamp.stamp_schema", scenario["stamp"].get("tenants_stamp")),
        ("  tenants.stamp reading the template's DDL (1st stamp per process)", scenario["stamp"].get("blueprint")),
        ("stamping step alone: django-tenants clone_schema()", scenario["stamp"].get("clone_schema")),
        ("stamping step alone: _stamp_schema, no template", scenario["stamp"].get("migrations")),
        (f"onboarding by clone, firms {bulk_first}-{firms} (setup for below)", scenario["bulk_onboarding"]),
        (f"portico tenants migrate, nothing to apply, {firms} firms", scenario["migrate"]["portico"]),
        (f"django-tenants migrate_schemas, nothing to apply, {firms} firms", scenario["migrate"]["migrate_schemas"]),
    ]


def _measurements(scenario: dict[str, Any]) -> list[str]:
    server = scenario["server"]
    lines = [
        f"== {_title(scenario)} ==",
        f"PostgreSQL {server['server_version']}; {server['relations_per_schema']} relations per tenant schema "
        f"(tables, indexes, sequences, TOAST); {server['ms_per_empty_table']:.1f} ms per empty CREATE TABLE here; "
        f"scenario took {scenario['wall_seconds']:.0f} s",
        f"_stamp_schema stamps firms with {scenario.get('stamping', '?')}",
        "",
        f"{'measure (seconds)':<66}{'n':>4}{'median':>9}{'p90':>9}{'min':>9}{'max':>9}",
    ]
    for label, stats in _rows(scenario):
        if stats is None:
            continue
        numbers = "".join(f"{stats[key]:>9.3f}" for key in ("median", "p90", "min", "max"))
        lines.append(f"{label:<66}{stats['n']:>4}{numbers}")
    return lines


def _goal_rows(scenario: dict[str, Any], target_models: int) -> list[tuple[str, str, str, str, str]]:
    label = _label(scenario)
    at_full_size = scenario["models"]["total"] >= target_models
    migrate = scenario["migrate"]
    migrate_ratio = migrate["migrate_schemas"]["median"] / migrate["portico"]["median"]
    onboarding = scenario["onboarding"]
    clone_seconds = onboarding["clone"]["median"]
    clone_ratio = onboarding["migrations"]["median"] / clone_seconds

    def verdict(ok: bool, *, full_size_goal: bool) -> str:
        if full_size_goal and not at_full_size:
            return f"info (goal is at ~{target_models} models)"
        return "PASS" if ok else "FAIL"

    return [
        (
            "migrate, nothing to apply: portico vs migrate_schemas",
            label,
            f"{migrate_ratio:.1f}x faster",
            f">= {MIGRATE_SPEEDUP:.0f}x",
            verdict(migrate_ratio >= MIGRATE_SPEEDUP, full_size_goal=False),
        ),
        (
            "onboarding end to end by clone, median per firm",
            label,
            f"{clone_seconds:.3f} s",
            f"<= {ONBOARDING_SECONDS:.0f} s",
            verdict(clone_seconds <= ONBOARDING_SECONDS, full_size_goal=True),
        ),
        (
            "onboarding: clone vs migrations, medians",
            label,
            f"{clone_ratio:.1f}x faster",
            f">= {CLONE_SPEEDUP:.0f}x",
            verdict(clone_ratio >= CLONE_SPEEDUP, full_size_goal=True),
        ),
    ]


def render(report: dict[str, Any]) -> str:
    target = report["target_models"]
    lines = [f"Portico onboarding benchmark, {report['started'][:19]}Z, {report['server']}, {report['cpus']} CPUs", ""]
    for scenario in report["scenarios"]:
        lines += [*_measurements(scenario), ""]
    rows = [row for scenario in report["scenarios"] for row in _goal_rows(scenario, target)]
    if not any(scenario["models"]["total"] >= target for scenario in report["scenarios"]):
        rows.append((f"goals at ~{target} models", "-", "-", "-", "not run: add --synthetic-models auto"))
    widths = [max(len(row[column]) for row in [*rows, _GOAL_HEADER]) for column in range(5)]
    lines.append("== goals (issue 2, item 10) ==")
    for row in [_GOAL_HEADER, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if any(scenario["models"]["synthetic"] for scenario in report["scenarios"]):
        lines += [
            "",
            "SYNTHETIC models (bench/synthetic) stand in for models the product does not have yet;",
            "figures with them are estimates of the product at that size, not measurements of it.",
        ]
    return "\n".join(lines)


_GOAL_HEADER = ("goal", "scenario", "measured", "target", "result")
