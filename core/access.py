"""Who may reach which matter, client and document, decided in one place (SPEC §5).

Every view and API endpoint reaches these objects through the accessors here
(billing's through ``billing.access``); nothing else filters them by user, and
``tests/test_protected_lookups.py`` fails on a view that tries. A person
reaches a matter when

* their role sees every matter (``core.view_all_matters``: firm admin,
  partner; attorneys too when the firm's setting says so), or
* they hold django-guardian's ``view_matter`` on it **and** a live reason for
  it: they are its responsible attorney, its assigned paralegal, its client, or
  they hold a grant that is not revoked and not yet expired.

Requiring the live reason besides the permission is what makes a grant fail
closed: the moment it expires the matter is gone, even though the sweep that
removes the permission (``core.grants.grants_revoke_expired``) has not run yet.
Changing a matter (``may_change_matter``) needs ``change_matter`` on it and an
assignment (grants and clients only read), or the role-wide
``core.change_matter`` with ``view_all_matters``. The matter's parties
(``is_party_to``) are its client and the firm's staff who reach it: they write
in its messages, upload and answer its intake; outside counsel only read.

"Not found", "not yours" and "not an id" are the same 404; ids are read by one
parser (``object_id``).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from core.models import Document, FirmSettings, Grant, Matter, MatterUserObjectPermission, User
from core.roles import CHANGE_MATTER, MANAGE_ROLES, VIEW_ALL_MATTERS, Role

Action = Literal["view", "change"]
Person = User | AnonymousUser

_DIGITS = re.compile(r"[1-9][0-9]{0,17}")  # ASCII digits only, no sign or leading zero, within a bigint


class Via(StrEnum):
    """Why someone reaches a matter, as the access review shows it."""

    ROLE = "role"
    RESPONSIBLE_ATTORNEY = "responsible attorney"
    ASSIGNED_PARALEGAL = "assigned paralegal"
    CLIENT = "client of the matter"
    GRANT = "grant"


def object_id(value: object, what: str) -> int:
    """An object id from a URL, form field, query string or JSON body; Http404 naming ``what`` when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise Http404(f"No such {what}.")


def signed_in(user: Person) -> TypeGuard[User]:
    """A signed-in, active person of this firm (never the anonymous user)."""
    return isinstance(user, User) and user.is_authenticated and user.is_active


def sees_all_matters(user: Person, *, firm_settings: FirmSettings | None = None) -> bool:
    """True when the user's role reaches every matter in the firm."""
    if not signed_in(user):
        return False
    if user.has_perm(VIEW_ALL_MATTERS):
        return True
    settings = firm_settings or FirmSettings.load()
    return settings.attorneys_see_all_matters and user.groups.filter(name=Role.ATTORNEY.value).exists()


def _holds(user: User, codename: str) -> Exists:
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


def matters_for_user(user: Person, *, action: Action = "view", at: datetime | None = None) -> QuerySet[Matter]:
    """Every matter ``user`` may see (or, with ``action="change"``, change) at ``at`` (default: now)."""
    if not signed_in(user):
        return Matter.objects.none()
    at = at or timezone.now()
    if sees_all_matters(user) and (action == "view" or user.has_perm(CHANGE_MATTER)):
        return Matter.objects.all()
    assigned = Q(responsible_attorney=user) | Q(assigned_paralegal=user)
    if action == "change":
        return Matter.objects.filter(_holds(user, "change_matter"), assigned)
    granted = Exists(live_grants(at=at).filter(matter=OuterRef("pk"), grantee=user))
    return Matter.objects.filter(_holds(user, "view_matter"), assigned | Q(client=user) | granted)


def may_change_matter(user: Person, matter: Matter, *, at: datetime | None = None) -> bool:
    """The one answer to "may this person change this matter?" (its stage, review its documents, …)."""
    return matters_for_user(user, action="change", at=at).filter(pk=matter.pk).exists()


def is_client_of(user: Person, matter: Matter) -> bool:
    return signed_in(user) and user.pk == matter.client_id


def is_party_to(user: Person, matter: Matter) -> bool:
    """The matter's client, or the firm's staff who reach it: those the client portal's own pages are for."""
    if is_client_of(user, matter):
        return True
    return signed_in(user) and user.is_staff and matters_for_user(user).filter(pk=matter.pk).exists()


def matter_for_user(user: Person, matter_id: object, *, action: Action = "view", at: datetime | None = None) -> Matter:
    """The matter ``matter_id`` if ``user`` may see it; Http404 when it is missing or not theirs.

    With ``action="change"``, a matter the user may see but not change is
    PermissionDenied (403): its existence is no secret to them.
    """
    pk = object_id(matter_id, "matter")
    at = at or timezone.now()
    matter = matters_for_user(user, at=at).filter(pk=pk).first()
    if matter is None:
        raise Http404("No such matter.")
    if action == "change" and not may_change_matter(user, matter, at=at):
        raise PermissionDenied("You may see this matter but not change it.")
    return matter


def grant_for_matter(matter: Matter, grant_id: object) -> Grant:
    """A grant on ``matter`` (already reached through ``matter_for_user``); 404 when it is not on it."""
    grant = (
        matter.grants.select_related("grantee", "granted_by", "revoked_by")
        .filter(pk=object_id(grant_id, "grant"))
        .first()
    )
    if grant is None:
        raise Http404("No such grant.")
    return grant


# --- Clients and the firm's users ---------------------------------------------------


def clients_for_user(viewer: Person) -> QuerySet[User]:
    """The clients of the matters ``viewer`` reaches."""
    return (
        User.objects.filter(client_matters__in=matters_for_user(viewer))
        .select_related("client_profile")
        .distinct()
        .order_by("email")
    )


def client_for_user(viewer: Person, client_id: object) -> User:
    """A client the viewer may see: themself, or the client of a matter the viewer reaches; 404 otherwise."""
    pk = object_id(client_id, "client")
    if signed_in(viewer) and viewer.pk == pk and not viewer.is_staff:
        return viewer
    found = clients_for_user(viewer).filter(pk=pk).first()
    if found is None:
        raise Http404("No such client.")
    return found


def users_for_user(viewer: Person) -> QuerySet[User]:
    """The firm's users as ``viewer`` may list them: everyone for those who manage roles, else only themself."""
    if not signed_in(viewer):
        return User.objects.none()
    if viewer.has_perm(MANAGE_ROLES):
        return User.objects.all()
    return User.objects.filter(pk=viewer.pk)


def user_for_user(viewer: Person, user_id: object) -> User:
    """Another user of the firm, for those who manage roles (or the user themself); 404 otherwise."""
    found = users_for_user(viewer).filter(pk=object_id(user_id, "user")).first()
    if found is None:
        raise Http404("No such user.")
    return found


def staff_to_assign() -> QuerySet[User]:
    """The firm's active staff, as a matter's responsible attorney or paralegal may be chosen from them."""
    return User.objects.filter(is_active=True, is_staff=True).order_by("email")


def possible_grantees() -> QuerySet[User]:
    """Who a matter may be granted to: active staff and outside counsel, never a client."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_staff=True) | Q(groups__name=Role.OUTSIDE_COUNSEL.value))
        .distinct()
        .order_by("email")
    )


def person_by_email(email: str, *, staff_only: bool = False) -> User | None:
    """An active user of this firm named by email in a form the caller's role already allows (grants, new matters)."""
    found = User.objects.filter(email=email.strip().lower(), is_active=True)
    return (found.filter(is_staff=True) if staff_only else found).first()


# --- Documents ---------------------------------------------------------------------


def documents_for_user(user: Person, *, action: Action = "view") -> QuerySet[Document]:
    """Documents on the matters ``user`` may see (or change)."""
    return Document.objects.filter(matter__in=matters_for_user(user, action=action))


def document_for_user(user: Person, document_id: object, *, action: Action = "view") -> Document:
    """The document if ``user`` reaches its matter; 404 otherwise. ``action="change"`` (review): 403 when read-only."""
    found = (
        documents_for_user(user)
        .select_related("matter", "requirement", "uploaded_by", "reviewed_by")
        .filter(pk=object_id(document_id, "document"))
        .first()
    )
    if found is None:
        raise Http404("No such document.")
    if action == "change" and not may_change_matter(user, found.matter):
        raise PermissionDenied("You may see this document but not review it.")
    return found
