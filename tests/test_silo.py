"""Every model is control-plane (public schema) or tenant data, and no foreign key crosses the line.

Like Sentry's silo tags: a model's silo is declared by listing its app in
``settings.SHARED_APPS`` (control plane) or ``settings.TENANT_APPS`` (each
firm's schema). A model in neither, or in both without being on the short
allowlist below, fails; so does any relation from one silo into the other,
because Citus places each tenant schema on its own node (SPEC §2).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from django.apps import AppConfig, apps
from django.conf import settings
from django.db import connection, models
from django.test.utils import isolate_apps

from tests.support.firms import Firm

# Apps whose tables legitimately exist in public and in every firm's schema.
IN_BOTH_SILOS = frozenset({"django.contrib.contenttypes"})

CONTROL_PLANE, TENANT, BOTH = "control plane", "tenant", "both"


def _config_path(config: AppConfig) -> str:
    return f"{type(config).__module__}.{type(config).__qualname__}"


def _declared_app_names(entries: Iterable[str]) -> set[str]:
    """App names for INSTALLED_APPS-style entries (module paths or AppConfig paths)."""
    names = set()
    for entry in entries:
        matches = [c.name for c in apps.get_app_configs() if entry in (c.name, _config_path(c))]
        assert matches, f"{entry} is declared in SHARED_APPS/TENANT_APPS but not installed"
        names.update(matches)
    return names


def silo_violations(
    model_list: Iterable[type[models.Model]], *, shared: set[str], tenant: set[str], in_both: frozenset[str]
) -> list[str]:
    def silo(model: type[models.Model]) -> str | None:
        name = model._meta.app_config.name
        if name in shared and name in tenant:
            return BOTH if name in in_both else None
        return CONTROL_PLANE if name in shared else TENANT if name in tenant else None

    problems = []
    model_list = list(model_list)
    for model in model_list:
        app = model._meta.app_config.name
        if silo(model) is None:
            where = "both SHARED_APPS and TENANT_APPS" if app in shared and app in tenant else "neither silo"
            problems.append(f"{model._meta.label}: app {app} is in {where}")
    for model in model_list:
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            target: object = field.related_model  # a lazy reference not resolved yet is still a string
            if not isinstance(target, type) or not issubclass(target, models.Model):
                continue
            here, there = silo(model), silo(target)
            if {here, there} == {CONTROL_PLANE, TENANT}:
                problems.append(f"{model._meta.label}.{field.name} ({here}) -> {target._meta.label} ({there})")
    return problems


def _declared() -> dict[str, set[str]]:
    return {"shared": _declared_app_names(settings.SHARED_APPS), "tenant": _declared_app_names(settings.TENANT_APPS)}


def test_every_installed_model_is_declared_control_plane_or_tenant() -> None:
    problems = silo_violations(apps.get_models(include_auto_created=True), **_declared(), in_both=IN_BOTH_SILOS)

    assert problems == []


def test_the_both_silos_allowlist_is_exact() -> None:
    declared = _declared()

    assert declared["shared"] & declared["tenant"] == IN_BOTH_SILOS


def test_every_app_with_models_is_in_a_silo() -> None:
    declared = _declared()
    with_models = {c.name for c in apps.get_app_configs() if list(c.get_models(include_auto_created=True))}

    assert with_models - declared["shared"] - declared["tenant"] == set()


def _throwaway_model(name: str, app_label: str, **fields: models.Field[Any, Any]) -> type[models.Model]:
    """A model in the isolated registry of ``isolate_apps``, to show the check can fail."""
    meta = type("Meta", (), {"app_label": app_label})
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})


@isolate_apps("tenants", "core")
def test_the_silo_check_catches_a_foreign_key_across_the_line() -> None:
    firm = _throwaway_model("Firm", "tenants")
    matter = _throwaway_model("Matter", "core", firm=models.ForeignKey(firm, on_delete=models.CASCADE))
    invoice = _throwaway_model("Invoice", "tenants", matter=models.ForeignKey(matter, on_delete=models.CASCADE))

    problems = silo_violations([firm, matter, invoice], shared={"tenants"}, tenant={"core"}, in_both=frozenset())

    assert problems == [
        "core.Matter.firm (tenant) -> tenants.Firm (control plane)",
        "tenants.Invoice.matter (control plane) -> core.Matter (tenant)",
    ]


@isolate_apps("tenants", "core")
def test_the_silo_check_catches_an_undeclared_or_ambiguous_model() -> None:
    orphan = _throwaway_model("Orphan", "core")
    ambiguous = _throwaway_model("Ambiguous", "tenants")

    problems = silo_violations([orphan, ambiguous], shared={"tenants"}, tenant={"tenants"}, in_both=frozenset())

    assert problems == [
        "core.Orphan: app core is in neither silo",
        "tenants.Ambiguous: app tenants is in both SHARED_APPS and TENANT_APPS",
    ]


# --- What PostgreSQL actually holds ---------------------------------------------------


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def _model_tables(app_names: set[str]) -> set[str]:
    return {
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_config.name in app_names and m._meta.managed
    }


def test_public_schema_has_no_tenant_tables_and_firm_schemas_no_control_plane_tables(
    firm_a: Firm, firm_b: Firm
) -> None:
    declared = _declared()
    tenant_only = _model_tables(declared["tenant"] - declared["shared"])
    shared_only = _model_tables(declared["shared"] - declared["tenant"])
    assert tenant_only
    assert shared_only

    assert _tables("public") & tenant_only == set()
    for schema in (firm_a.tenant.schema_name, firm_b.tenant.schema_name, settings.TENANT_BASE_SCHEMA):
        tables = _tables(schema)
        assert tenant_only <= tables, schema
        assert tables & shared_only == set(), schema


def test_no_foreign_key_in_the_database_crosses_two_schemas(firm_a: Firm, firm_b: Firm) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, src_ns.nspname, src.relname, dst_ns.nspname, dst.relname
            FROM pg_constraint c
            JOIN pg_class src ON src.oid = c.conrelid
            JOIN pg_namespace src_ns ON src_ns.oid = src.relnamespace
            JOIN pg_class dst ON dst.oid = c.confrelid
            JOIN pg_namespace dst_ns ON dst_ns.oid = dst.relnamespace
            WHERE c.contype = 'f' AND src_ns.oid <> dst_ns.oid
            """
        )
        crossing = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = %s",
            [firm_a.tenant.schema_name],
        )
        (firm_foreign_keys,) = cursor.fetchone()

    assert firm_foreign_keys > 0  # the query looks at real constraints
    assert crossing == []


@pytest.mark.parametrize("model", ["core.User", "auth.Group", "sessions.Session", "guardian.UserObjectPermission"])
def test_firm_data_models_are_tenant_silo(model: str) -> None:
    app = apps.get_model(model)._meta.app_config.name

    assert app in _declared()["tenant"]
    assert app not in _declared()["shared"]
