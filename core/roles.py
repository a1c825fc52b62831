"""The roles a firm's users hold, as Django groups (SPEC §5).

Their permissions are filled in by the access-control work; the groups exist
from onboarding on so every user can be placed in one.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import Group


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


def ensure_default_roles() -> dict[Role, Group]:
    """Create any missing role group in the current schema; idempotent."""
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
