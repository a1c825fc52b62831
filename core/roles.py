"""The roles a firm's users hold, as Django groups with model permissions (SPEC §5).

``ROLE_PERMISSIONS`` is the whole role matrix. ``ensure_default_roles`` makes a
schema's groups match it; it runs after every migration of a firm or the
template schema (``CoreConfig.ready`` connects it to ``post_migrate``) and at
onboarding, so a permission added here reaches every firm with the next
``portico tenants migrate``.

Role permissions say what a role may do anywhere in the firm. Which matters a
person reaches is decided per matter (assignment, client of, grant) in
``core.access``; the only role-wide matter permission is ``view_all_matters``.
Attorneys see their assigned matters, or every matter when the firm turns on
``FirmSettings.attorneys_see_all_matters``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group, Permission
from django.db import router, transaction

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from core.models import User


class Role(StrEnum):
    FIRM_ADMIN = "firm admin"
    PARTNER = "partner"
    ATTORNEY = "attorney"
    PARALEGAL = "paralegal"
    INTAKE_CLERK = "intake clerk"
    BILLING_CLERK = "billing clerk"
    CLIENT = "client"
    OUTSIDE_COUNSEL = "outside counsel"


STAFF_ROLES = frozenset(Role) - {Role.CLIENT, Role.OUTSIDE_COUNSEL}

VIEW_ALL_MATTERS = "core.view_all_matters"
MANAGE_GRANTS = "core.manage_grants"
VIEW_ACCESS_REVIEW = "core.view_access_review"
MANAGE_ROLES = "core.manage_roles"
MANAGE_FIRM_SETTINGS = "core.manage_firm_settings"
ADD_MATTER = "core.add_matter"
VIEW_LEDGER = "billing.view_ledger"
MANAGE_TRUST = "billing.manage_trust"
APPROVE_TRUST = "billing.approve_trust"
RECONCILE_TRUST = "billing.reconcile_trust"
CHANGE_MATTER = "core.change_matter"
# Invoicing (billing/invoices, billing/credit_notes): see, draft and take payments; issue and void; approve adjustments.
VIEW_BILLING = "billing.view_billing"
MANAGE_INVOICES = "billing.manage_invoices"
ISSUE_INVOICE = "billing.issue_invoice"
APPROVE_ADJUSTMENT = "billing.approve_adjustment"
_INVOICING = [VIEW_BILLING, MANAGE_INVOICES, ISSUE_INVOICE, APPROVE_ADJUSTMENT]
MANAGE_MATTER_TYPES = "core.manage_matter_types"

_PARTNER = [VIEW_ALL_MATTERS, ADD_MATTER, CHANGE_MATTER, MANAGE_GRANTS, VIEW_ACCESS_REVIEW]

# Model-level permissions per role. Per-matter permissions (view_matter,
# change_matter on one matter) are given by django-guardian, never here.
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.FIRM_ADMIN: frozenset(
        [
            *_PARTNER,
            *_INVOICING,
            MANAGE_ROLES,
            MANAGE_FIRM_SETTINGS,
            MANAGE_MATTER_TYPES,
            VIEW_LEDGER,
            MANAGE_TRUST,
            APPROVE_TRUST,
            RECONCILE_TRUST,
        ]
    ),
    Role.PARTNER: frozenset([*_PARTNER, *_INVOICING, VIEW_LEDGER, APPROVE_TRUST]),
    Role.ATTORNEY: frozenset([ADD_MATTER]),
    Role.PARALEGAL: frozenset(),
    Role.INTAKE_CLERK: frozenset([ADD_MATTER]),
    Role.BILLING_CLERK: frozenset([VIEW_LEDGER, MANAGE_TRUST, RECONCILE_TRUST, VIEW_BILLING, MANAGE_INVOICES]),
    Role.CLIENT: frozenset(),
    Role.OUTSIDE_COUNSEL: frozenset(),
}


def _permissions(labels: Iterable[str]) -> list[Permission]:
    wanted = {tuple(label.split(".", 1)) for label in labels}
    found = [
        permission
        for permission in Permission.objects.select_related("content_type").filter(
            codename__in={codename for _, codename in wanted}
        )
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        raise LookupError(f"permissions missing from this schema (run migrations): {sorted(missing)}")
    return found


def role_groups() -> dict[Role, Group]:
    """The role groups of the current schema (creating a missing one, without touching permissions)."""
    groups = {group.name: group for group in Group.objects.filter(name__in=[role.value for role in Role])}
    return {role: groups.get(role.value) or Group.objects.get_or_create(name=role.value)[0] for role in Role}


@transaction.atomic
def ensure_default_roles() -> dict[Role, Group]:
    """Create any missing role group in the current schema and give each exactly its permissions; idempotent."""
    groups = role_groups()
    for role, group in groups.items():
        group.permissions.set(_permissions(ROLE_PERMISSIONS[role]))
    return groups


def roles_of(user: User | AnonymousUser) -> list[Role]:
    """The user's roles, in the order of ``Role`` (uses prefetched groups when present)."""
    names = {group.name for group in user.groups.all()}
    return [role for role in Role if role.value in names]


def sync_roles_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: bring the migrated schema's role groups up to the matrix above.

    Runs in every schema django-tenants migrates; the public schema has no auth
    tables, which the router says.
    """
    if router.allow_migrate_model(using, Group) and router.allow_migrate_model(using, Permission):
        ensure_default_roles()
