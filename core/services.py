"""Writes on the firm's users and settings: creating and inviting users, changing roles and firm settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.mail import firm_base_url, firm_mail
from core.models import FirmSettings, User
from core.roles import MANAGE_FIRM_SETTINGS, MANAGE_ROLES, STAFF_ROLES, Role, role_groups, roles_of
from tenants.db import tenant_connection

FIRM_SETTINGS_FIELDS = ("require_staff_two_factor", "attorneys_see_all_matters")


def set_password_link(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("set_password", kwargs={"uidb64": uid, "token": token}, urlconf=settings.ROOT_URLCONF)
    return firm_base_url() + path


@transaction.atomic
def user_create(
    *, email: str, role: Role, full_name: str = "", password: str | None = None, language: str = "en"
) -> User:
    groups = role_groups()
    user = User.objects.create_user(
        email,
        password,
        full_name=full_name,
        is_staff=role not in (Role.CLIENT, Role.OUTSIDE_COUNSEL),
        preferred_language=language,
    )
    user.groups.add(groups[role])
    return user


def user_invite(*, user: User) -> str:
    """Email the user a one-time link to choose a password; returns the link (it opens in their language)."""
    link = f"{set_password_link(user=user)}?lang={user.preferred_language}"
    firm_name = tenant_connection().tenant.name
    with translation.override(user.preferred_language):
        body = render_to_string("invitation_email.txt", {"firm_name": firm_name, "link": link, "email": user.email})
        subject = translation.gettext("Your invitation to %(firm)s on Portico") % {"firm": firm_name}
    firm_mail(subject=subject, body=body, to=[user.email])
    # KPI (SPEC §8): time to intake starts at the invitation.
    User.objects.filter(pk=user.pk).update(invited_at=timezone.now())
    audit_record(AuditAction.USER_INVITED, target=user, data={"email": user.email})
    return link


@transaction.atomic
def user_set_roles(*, user: User, roles: set[Role], by: User) -> User:
    """Give ``user`` exactly ``roles``; each role added or removed is audited."""
    if not by.has_perm(MANAGE_ROLES):
        raise PermissionDenied("Only a firm admin may change roles.")
    if user.pk == by.pk and Role.FIRM_ADMIN in roles_of(user) and Role.FIRM_ADMIN not in roles:
        raise ValidationError("You cannot remove your own firm admin role; ask another firm admin.")
    groups = role_groups()
    current = set(roles_of(user))
    for role in sorted(roles - current):
        user.groups.add(groups[role])
        audit_record(
            AuditAction.ROLE_ASSIGNED,
            actor=by,
            target=user,
            data={"user": user.email, "role": role.value},
        )
    for role in sorted(current - roles):
        user.groups.remove(groups[role])
        audit_record(
            AuditAction.ROLE_REMOVED,
            actor=by,
            target=user,
            data={"user": user.email, "role": role.value},
        )
    is_staff = bool(roles & STAFF_ROLES)
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return user


@transaction.atomic
def firm_settings_update(*, by: User, **changes: bool) -> FirmSettings:
    """Change the firm's settings; the old and new value of each changed one are audited."""
    if not by.has_perm(MANAGE_FIRM_SETTINGS):
        raise PermissionDenied("Only a firm admin may change the firm's settings.")
    settings_row = FirmSettings.objects.select_for_update().get(pk=FirmSettings.load().pk)
    changed = {}
    for name, value in changes.items():
        if name not in FIRM_SETTINGS_FIELDS:
            raise ValueError(f"unknown firm setting {name!r}")
        if getattr(settings_row, name) != value:
            changed[name] = {"from": getattr(settings_row, name), "to": value}
            setattr(settings_row, name, value)
    if changed:
        settings_row.save()
        audit_record(AuditAction.SETTINGS_CHANGED, actor=by, target=settings_row, data=changed)
    return settings_row
