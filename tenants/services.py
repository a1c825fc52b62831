"""Onboarding, status changes and migrations of firms (writes on the control plane).

A new firm's schema is stamped out of the pre-migrated template schema
(``settings.TENANT_BASE_SCHEMA``) by ``tenants.stamp``, which replays the
template's DDL and copies its rows (django-tenants' clone function is the
fallback for a template the stamp cannot reproduce); when the template is
missing, the firm's schema is built by running every migration.
Everything one onboarding does happens in one transaction, so a failure midway
leaves neither rows nor a schema behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists
from psycopg import sql as psycopg_sql

from residency.regions import UnknownRegion, get_region
from tenants.db import tenant_connection
from tenants.models import RESERVED_SLUGS, Domain, Tenant, slug_to_schema
from tenants.schema_state import pending_migrations

TEMPLATE_SLUG = "template"
PUBLIC_SLUG = "public"


class TenantError(Exception):
    """A failure the operator can act on; its message is one line."""


class TenantInputError(TenantError):
    """The operator's input is wrong (bad slug, region, email): a usage error."""


@dataclass(frozen=True)
class Onboarded:
    tenant: Tenant
    url: str
    admin_email: str
    invitation_link: str
    cloned: bool


def firm_domain(slug: str) -> str:
    return f"{slug}.{settings.PORTICO_BASE_DOMAIN}"


def firm_url(slug: str) -> str:
    port = settings.PORTICO_PUBLIC_PORT
    default_port = 443 if settings.PORTICO_URL_SCHEME == "https" else 80
    suffix = "" if port == default_port else f":{port}"
    return f"{settings.PORTICO_URL_SCHEME}://{firm_domain(slug)}{suffix}/"


def validate_new_firm(*, slug: str, name: str, region: str, admin_email: str) -> None:
    import re

    from tenants.models import SLUG_PATTERN

    if slug in RESERVED_SLUGS:
        raise TenantInputError(f"slug {slug!r} is reserved; choose another")
    if not re.fullmatch(SLUG_PATTERN, slug) or "--" in slug:
        raise TenantInputError(
            f"invalid slug {slug!r}: use 3-40 lowercase letters, digits and single hyphens, starting with a letter"
        )
    if _schema_is_reserved(slug_to_schema(slug)):
        raise TenantInputError(f"slug {slug!r} is reserved; choose another")
    if not name.strip():
        raise TenantInputError("the firm's name must not be empty")
    try:
        get_region(region)
    except UnknownRegion as exc:
        raise TenantInputError(str(exc)) from None
    try:
        validate_email(admin_email)
    except ValidationError:
        raise TenantInputError(f"invalid email address {admin_email!r}") from None
    if Tenant.objects.filter(slug=slug).exists() or schema_exists(slug_to_schema(slug)):
        raise TenantError(f"a firm with slug {slug!r} already exists")


def _schema_is_reserved(schema: str) -> bool:
    """PostgreSQL refuses pg_* schema names; the others belong to the platform."""
    return schema.startswith("pg_") or schema in {"public", "information_schema", settings.TENANT_BASE_SCHEMA}


def _stamp_schema(schema_name: str) -> bool:
    """Create the firm's schema; True when it was cloned from the template."""
    from tenants.stamp import UnsupportedTemplate, stamp_schema

    template = settings.TENANT_BASE_SCHEMA
    if schema_exists(template) and not pending_migrations([template]):
        # Both copy the template's rows too (migration history, content types,
        # permissions, roles), so the new schema needs no fake-migrate pass. The
        # stamp replays the template's DDL in one query and matches a migrated
        # schema exactly; the clone function covers templates it cannot reproduce.
        try:
            stamp_schema(template=template, schema=schema_name)
        except UnsupportedTemplate:
            CloneSchema().clone_schema(template, schema_name, "DATA")
        tenant_connection().set_schema_to_public()
        return True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)
    tenant_connection().set_schema_to_public()
    return False


def _restore_constraint_names(*, template: str, schema: str) -> None:
    """Give the clone's unique and primary-key constraints the template's names.

    django-tenants' clone (pg-clone-schema) builds tables with ``LIKE ... INCLUDING
    ALL`` and leaves unique constraints under PostgreSQL's generated names
    (``..._key``) instead of Django's (``..._uniq``, or a ``UniqueConstraint``'s
    name). A later migration that removes a constraint by name would then work on
    the template and fail on every cloned firm.
    """
    query = """
        SELECT t.relname, con.contype::text, pg_get_constraintdef(con.oid), con.conname
        FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = %s AND con.contype IN ('u', 'p', 'x')
    """
    names: dict[str, dict[tuple[str, str, str], set[str]]] = {}
    with connection.cursor() as cursor:
        for side in (template, schema):
            cursor.execute(query, [side])
            names[side] = {}
            for table, kind, definition, name in cursor.fetchall():
                names[side].setdefault((table, kind, definition), set()).add(name)
        for key, current in names[schema].items():
            wanted = names[template].get(key, set())
            for old, new in zip(sorted(current - wanted), sorted(wanted - current), strict=False):
                cursor.execute(
                    psycopg_sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}")
                    .format(
                        psycopg_sql.Identifier(schema, key[0]), psycopg_sql.Identifier(old), psycopg_sql.Identifier(new)
                    )
                    .as_string(connection.connection)
                )


def tenant_create(
    *, slug: str, name: str, region: str, admin_email: str, plan: str = Tenant.Plan.STANDARD, admin_name: str = ""
) -> Onboarded:
    """Onboard a firm, all or nothing: schema, domain, keys and storage in its region, roles, invited admin."""
    from core.roles import Role, ensure_default_roles
    from core.services import user_create, user_invite
    from residency.provisioning import firm_provision

    # The slug is taken as typed: "Acme" is refused rather than silently becoming acme.
    admin_email = admin_email.strip().lower()
    if plan not in Tenant.Plan.values:
        raise TenantInputError(f"unknown plan {plan!r} (known: {', '.join(Tenant.Plan.values)})")
    validate_new_firm(slug=slug, name=name, region=region, admin_email=admin_email)
    with transaction.atomic():
        tenant = Tenant.objects.create(
            slug=slug, schema_name=slug_to_schema(slug), name=name.strip(), region=region, plan=plan
        )
        Domain.objects.create(domain=firm_domain(slug), tenant=tenant, is_primary=True)
        cloned = _stamp_schema(tenant.schema_name)
        if cloned:
            _restore_constraint_names(template=settings.TENANT_BASE_SCHEMA, schema=tenant.schema_name)
        # Keys and storage in the firm's region. They live outside the database,
        # so a failure after this point removes them before the rollback.
        provisioned = firm_provision(tenant=tenant)
        try:
            with tenant:
                ensure_default_roles()
                admin = user_create(email=admin_email, full_name=admin_name, role=Role.FIRM_ADMIN)
                link = user_invite(user=admin)
        except BaseException:
            provisioned.undo()
            raise
    return Onboarded(tenant=tenant, url=firm_url(slug), admin_email=admin_email, invitation_link=link, cloned=cloned)


def tenant_set_status(*, slug: str, status: str) -> tuple[Tenant, bool]:
    """Suspend or resume a firm; returns the firm and whether anything changed.

    Suspending also ends every session of the firm, so resuming does not bring them back.
    """
    # django-tenants refuses to save a tenant row from another firm's schema.
    tenant_connection().set_schema_to_public()
    tenant = firm_get(slug)
    if tenant.status == status:
        return tenant, False
    if tenant.status == Tenant.Status.OFFBOARDING:
        raise TenantError(f"firm {slug!r} is being offboarded; its status cannot change")
    tenant.status = status
    tenant.status_changed = timezone.now()
    with transaction.atomic():
        tenant.save(update_fields=["status", "status_changed"])
        if status != Tenant.Status.ACTIVE:
            _end_sessions(tenant)
        directory_follow(slug=tenant.slug, status=status)
    return tenant, True


def directory_follow(*, slug: str, status: str) -> None:
    """Carry a firm's new status to its control-plane directory entry (firms onboarded before it have none).

    Co-located (no control database of its own) this commits with the change; with a
    separate control plane, in the control database's own transaction.
    """
    from tenants.directory import directory_get, directory_update

    if directory_get(slug) is not None:
        directory_update(slug, status=status)


def _end_sessions(tenant: Tenant) -> None:
    """Sign everyone out of a firm that stops being served: a session from before it must not work after resume."""
    from django.contrib.sessions.models import Session

    with tenant:
        Session.objects.all().delete()  # the firm's own sessions, in its schema
    tenant_connection().set_schema_to_public()


def firm_get(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug, kind=Tenant.Kind.FIRM)
    except Tenant.DoesNotExist:
        raise TenantError(f"no firm with slug {slug!r}") from None


def public_ensure() -> Tenant:
    """The public tenant row and the base domain, which django-tenants routes to the control plane."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public",
        defaults={"slug": PUBLIC_SLUG, "name": "Portico", "region": "", "kind": Tenant.Kind.PUBLIC},
    )
    Domain.objects.get_or_create(domain=settings.PORTICO_BASE_DOMAIN, defaults={"tenant": tenant})
    return tenant


def template_ensure() -> Tenant:
    """The template tenant: a row without a domain, so migrations keep its schema current."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name=settings.TENANT_BASE_SCHEMA,
        defaults={
            "slug": TEMPLATE_SLUG,
            "name": "Template (never holds firm data)",
            "region": "",
            "kind": Tenant.Kind.TEMPLATE,
        },
    )
    if not schema_exists(tenant.schema_name):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{tenant.schema_name}"')
            call_command("migrate_schemas", schema_name=tenant.schema_name, interactive=False, verbosity=0)
            tenant_connection().set_schema_to_public()
    # Roles and their permissions are set by core's post_migrate hook, so the
    # template gets them after every migration that reaches it.
    return tenant


def tenant_discard(tenant: Tenant) -> None:
    """Undo a firm's onboarding that committed in its cell but could not be completed on the control plane.

    For a firm that was never served: its KMS keys (destroyed), its storage, then its
    schema and control rows (domains, anchors) in one transaction. Not an offboarding:
    there is nothing to export.
    """
    from kms.keys import keks_destroy
    from residency.backends import placement

    tenant_connection().set_schema_to_public()
    keks_destroy(tenant=tenant)
    placement(tenant).destroy()
    with transaction.atomic():
        with connection.cursor() as cursor:
            drop = psycopg_sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                psycopg_sql.Identifier(tenant.schema_name)
            )
            cursor.execute(drop.as_string(connection.connection))
        tenant.delete(force_drop=False)
