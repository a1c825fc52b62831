"""Roles are groups with real permissions, the same in every firm, and changing them is audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import schema_context

from core.audit.models import AuditEntry
from core.matters import matter_assign
from core.models import User
from core.roles import ROLE_PERMISSIONS, Role, ensure_default_roles, roles_of
from core.services import user_set_roles
from tests.support.firms import Firm

if TYPE_CHECKING:
    from tests.support.cast import Cast


def _group_permissions(role: Role) -> set[str]:
    group = Group.objects.get(name=role.value)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_every_role_group_holds_exactly_the_permissions_of_the_matrix_in_every_firm(firm_a: Firm, firm_b: Firm) -> None:
    for schema in (firm_a.tenant.schema_name, firm_b.tenant.schema_name, "portico_template"):
        with schema_context(schema):
            for role in Role:
                assert _group_permissions(role) == set(ROLE_PERMISSIONS[role]), (schema, role)


def test_role_matrix_gives_firm_wide_powers_only_to_admins_and_partners(cast: Cast) -> None:
    with cast.firm.tenant:
        powers = {
            name: sorted(
                p
                for p in ("core.view_all_matters", "core.manage_grants", "core.view_access_review", "core.manage_roles")
                if User.objects.get(pk=user.pk).has_perm(p)
            )
            for name, user in cast.people().items()
        }

    assert powers == {
        "alice": ["core.manage_grants", "core.manage_roles", "core.view_access_review", "core.view_all_matters"],
        "paula": ["core.manage_grants", "core.view_access_review", "core.view_all_matters"],
        "arthur": [],
        "anna": [],
        "pete": [],
        "ivy": [],
        "bill": [],
        "carol": [],
        "dan": [],
        "olga": [],
        "oscar": [],
        "lucia": [],
        "dora": [],
        "paco": [],
        "ana": [],
        "charlie": [],
    }


def test_ensure_default_roles_is_idempotent_and_repairs_a_tampered_group(firm_a: Firm) -> None:
    with firm_a.tenant:
        partner = Group.objects.get(name=Role.PARTNER.value)
        partner.permissions.clear()
        Group.objects.filter(name=Role.BILLING_CLERK.value).delete()

        ensure_default_roles()
        ensure_default_roles()

        assert Group.objects.filter(name__in=[r.value for r in Role]).count() == len(Role)
        assert _group_permissions(Role.PARTNER) == set(ROLE_PERMISSIONS[Role.PARTNER])


def test_assignment_gives_guardian_permissions_on_that_matter_only(cast: Cast) -> None:
    with cast.firm.tenant:
        arthur, pete, carol = (User.objects.get(pk=u.pk) for u in (cast.arthur, cast.pete, cast.carol))

        assert arthur.has_perm("core.view_matter", cast.m1)
        assert arthur.has_perm("core.change_matter", cast.m1)
        assert pete.has_perm("core.change_matter", cast.m1)
        assert carol.has_perm("core.view_matter", cast.m1)
        assert not carol.has_perm("core.change_matter", cast.m1)
        assert not arthur.has_perm("core.view_matter", cast.m2)
        assert not carol.has_perm("core.view_matter", cast.m2)


def test_reassigning_a_matter_moves_its_permissions_and_audits_them(cast: Cast) -> None:
    with cast.firm.tenant:
        matter_assign(matter=cast.m1, responsible_attorney=cast.anna, assigned_paralegal=cast.pete, by=cast.alice)
        arthur, anna = User.objects.get(pk=cast.arthur.pk), User.objects.get(pk=cast.anna.pk)

        assert not arthur.has_perm("core.view_matter", cast.m1)
        assert anna.has_perm("core.change_matter", cast.m1)
        revoked = AuditEntry.objects.filter(action="permission.revoked").last()
        granted = AuditEntry.objects.filter(action="permission.granted").last()
        assert revoked is not None
        assert revoked.data_dict["user"] == "arthur@acme.test"
        assert revoked.data_dict["permissions"] == ["change_matter", "view_matter"]
        assert granted is not None
        assert granted.data_dict["user"] == "anna@acme.test"
        assert granted.actor_email == "alice@acme.test"


def test_a_client_cannot_be_made_responsible_attorney(cast: Cast) -> None:
    with cast.firm.tenant, pytest.raises(ValidationError, match="cannot be the responsible attorney"):
        matter_assign(matter=cast.m1, responsible_attorney=cast.carol, assigned_paralegal=None, by=cast.alice)


def test_firm_admin_changes_roles_and_each_change_is_audited(cast: Cast) -> None:
    with cast.firm.tenant:
        user_set_roles(user=cast.anna, roles={Role.PARTNER}, by=cast.alice)
        anna = User.objects.get(pk=cast.anna.pk)

        assert roles_of(anna) == [Role.PARTNER]
        assert anna.has_perm("core.view_all_matters")
        actions = list(
            AuditEntry.objects.filter(action__startswith="role.").values_list("action", "data").order_by("sequence")
        )
        assert [a for a, _ in actions[-2:]] == ["role.assigned", "role.removed"]
        assert '"role":"partner"' in actions[-2][1]
        assert '"role":"attorney"' in actions[-1][1]


def test_a_partner_cannot_change_roles(cast: Cast) -> None:
    with cast.firm.tenant, pytest.raises(PermissionDenied):
        user_set_roles(user=cast.anna, roles={Role.FIRM_ADMIN}, by=cast.paula)


def test_roles_page_saves_roles_for_a_firm_admin_and_refuses_a_partner(cast: Cast) -> None:
    admin = cast.firm.client(cast.alice)
    partner = cast.firm.client(cast.paula)

    page = admin.get("/staff/users/")
    saved = admin.post(f"/staff/users/{cast.ivy.pk}/roles/", {"roles": ["intake clerk", "billing clerk"]})
    refused = partner.post(f"/staff/users/{cast.ivy.pk}/roles/", {"roles": ["firm admin"]})

    assert page.status_code == 200
    assert b"ivy@acme.test" in page.content
    assert saved.status_code == 302
    assert refused.status_code == 404  # a partner does not manage users, so the user is "not theirs"
    with cast.firm.tenant:
        assert roles_of(User.objects.get(pk=cast.ivy.pk)) == [Role.INTAKE_CLERK, Role.BILLING_CLERK]
