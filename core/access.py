"""Who may reach which matter, decided in one place (SPEC §5).

Every view and API endpoint reaches matters through ``matters_for_user`` and
``matter_for_user``; nothing else filters matters by user. A person reaches a
matter when

* their role sees every matter (``core.view_all_matters``: firm admin,
  partner; attorneys too when the firm's setting says so), or
* they hold django-guardian's ``view_matter`` on it **and** a live reason for
  it: they are its responsible attorney, its assigned paralegal, its client, or
  they hold a grant that is not revoked and not yet expired.

Requiring the live reason besides the permission is what makes a grant fail
closed: the moment it expires the matter is gone, even though the sweep that
removes the permission (``core.grants.grants_revoke_expired``) has not run yet.
Changing a matter needs ``change_matter`` on it and an assignment (grants and
clients only read), or the role-wide ``core.change_matter`` with
``view_all_matters``.

"Not found" and "not yours" are the same 404.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from core.models import FirmSettings, Grant, Matter, MatterUserObjectPermission, User
from core.roles import CHANGE_MATTER, MANAGE_ROLES, VIEW_ALL_MATTERS, Role

Action = Literal["view", "change"]


class Via(StrEnum):
    """Why someone reaches a matter, as the access review shows it."""

    ROLE = "role"
    RESPONSIBLE_ATTORNEY = "responsible attorney"
    ASSIGNED_PARALEGAL = "assigned paralegal"
    CLIENT = "client of the matter"
    GRANT = "grant"


def sees_all_matters(user: Any, *, firm_settings: FirmSettings | None = None) -> bool:
    """True when the user's role reaches every matter in the firm."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm(VIEW_ALL_MATTERS):
        return True
    settings = firm_settings or FirmSettings.load()
    return settings.attorneys_see_all_matters and user.groups.filter(name=Role.ATTORNEY.value).exists()


def _holds(user: Any, codename: str) -> Exists:
    return Exists(
        MatterUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"),
            user=user,
            permission__codename=codename,
            permission__content_type__app_label="core",
        )
    )


def live_grants(*, at: datetime) -> QuerySet[Grant]:
    return Grant.objects.filter(revoked_at__isnull=True, expires_at__gt=at)


def matters_for_user(user: Any, *, action: Action = "view", at: datetime | None = None) -> QuerySet[Matter]:
    """Every matter ``user`` may see (or, with ``action="change"``, change) at ``at`` (default: now)."""
    if not user.is_authenticated or not user.is_active:
        return Matter.objects.none()
    at = at or timezone.now()
    if sees_all_matters(user) and (action == "view" or user.has_perm(CHANGE_MATTER)):
        return Matter.objects.all()
    assigned = Q(responsible_attorney=user) | Q(assigned_paralegal=user)
    if action == "change":
        return Matter.objects.filter(_holds(user, "change_matter"), assigned)
    granted = Exists(live_grants(at=at).filter(matter=OuterRef("pk"), grantee=user))
    return Matter.objects.filter(_holds(user, "view_matter"), assigned | Q(client=user) | granted)


def matter_for_user(user: Any, matter_id: object, *, action: Action = "view", at: datetime | None = None) -> Matter:
    """The matter ``matter_id`` if ``user`` may see it; Http404 when it is missing or not theirs.

    With ``action="change"``, a matter the user may see but not change is
    PermissionDenied (403): its existence is no secret to them.
    """
    try:
        pk = int(str(matter_id))
    except ValueError:
        raise Http404("No such matter.") from None
    at = at or timezone.now()
    matter = matters_for_user(user, at=at).filter(pk=pk).first()
    if matter is None:
        raise Http404("No such matter.")
    if action == "change" and not matters_for_user(user, action="change", at=at).filter(pk=pk).exists():
        raise PermissionDenied("You may see this matter but not change it.")
    return matter


def grant_for_matter(matter: Matter, grant_id: object) -> Grant:
    """A grant on ``matter`` (already reached through ``matter_for_user``); 404 when it is not on it."""
    try:
        pk = int(str(grant_id))
    except ValueError:
        raise Http404("No such grant.") from None
    grant = matter.grants.select_related("grantee", "granted_by", "revoked_by").filter(pk=pk).first()
    if grant is None:
        raise Http404("No such grant.")
    return grant


def user_for_user(viewer: Any, user_id: object) -> User:
    """Another user of the firm, for those who manage roles (or the user themself); 404 otherwise."""
    try:
        pk = int(str(user_id))
    except ValueError:
        raise Http404("No such user.") from None
    if not viewer.is_authenticated or not viewer.is_active:
        raise Http404("No such user.")
    if viewer.pk != pk and not viewer.has_perm(MANAGE_ROLES):
        raise Http404("No such user.")
    found = User.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("No such user.")
    return found
