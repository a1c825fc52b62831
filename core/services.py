"""Writes on the firm's users: creating them with a role and inviting them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.models import User
from core.roles import Role, ensure_default_roles
from tenants.db import tenant_connection


def firm_base_url() -> str:
    """The current firm's own address, e.g. ``http://acme.localhost:8000``."""
    tenant = tenant_connection().tenant
    host = tenant.get_primary_domain().domain
    port = settings.PORTICO_PUBLIC_PORT
    default_port = 443 if settings.PORTICO_URL_SCHEME == "https" else 80
    return f"{settings.PORTICO_URL_SCHEME}://{host}{'' if port == default_port else f':{port}'}"


def set_password_link(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("set_password", kwargs={"uidb64": uid, "token": token}, urlconf=settings.ROOT_URLCONF)
    return firm_base_url() + path


@transaction.atomic
def user_create(
    *, email: str, role: Role, full_name: str = "", password: str | None = None, language: str = "en"
) -> User:
    groups = ensure_default_roles()
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
    """Email the user a one-time link to choose a password; returns the link."""
    link = set_password_link(user=user)
    firm_name = tenant_connection().tenant.name
    with translation.override(user.preferred_language):
        body = render_to_string("invitation_email.txt", {"firm_name": firm_name, "link": link, "email": user.email})
        subject = translation.gettext("Your invitation to %(firm)s on Portico") % {"firm": firm_name}
    send_mail(subject, body, None, [user.email])
    return link
