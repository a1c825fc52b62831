"""Email as the firm sends it: from the firm (through Portico), with links to the firm's own site.

Every email Portico sends is made here (``firm_email``) or carries ``firm_sender()`` and a ``firm_link``:

* ``firm_base_url() -> str`` — the current firm's address, e.g. ``http://acme.localhost:8000``
  (``PORTICO_URL_SCHEME``, the firm's primary domain, ``PORTICO_PUBLIC_PORT``).
* ``firm_link(path) -> str`` — an absolute link on it; a link that is already absolute is kept.
* ``firm_sender() -> str`` — ``"Acme Immigration LLP" <no-reply@…>``: the firm's name as the sender
  name, with the address of ``PORTICO_FROM_EMAIL`` (the firm does not send from its own domain, so
  replies and bounces stay with Portico's address).
* ``firm_email(*, subject, body, to) -> EmailMessage`` — the message, its body signed with the
  firm's name and the absolute address of its site, so that every email links to the firm's
  subdomain even when what it says needs no other link.
* ``firm_mail(*, subject, body, to, fail_silently=False)`` — make it and send it.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage

from tenants.db import tenant_connection


def firm_base_url() -> str:
    tenant = tenant_connection().tenant
    host = tenant.get_primary_domain().domain
    port = settings.PORTICO_PUBLIC_PORT
    default_port = 443 if settings.PORTICO_URL_SCHEME == "https" else 80
    return f"{settings.PORTICO_URL_SCHEME}://{host}{'' if port == default_port else f':{port}'}"


def firm_link(path: str) -> str:
    if not path or "://" in path:
        return path
    return firm_base_url() + (path if path.startswith("/") else f"/{path}")


def firm_sender() -> str:
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    # Quoted as needed but not encoded: Django encodes the header when it sends (RFC 2047 for accents).
    return str(Address(display_name=tenant_connection().tenant.name, addr_spec=address))


def firm_signature() -> str:
    """The last lines of every email: the firm's name and its site ("-- " is the signature separator)."""
    return f"-- \n{tenant_connection().tenant.name}\n{firm_base_url()}/"


def firm_email(*, subject: str, body: str, to: list[str]) -> EmailMessage:
    return EmailMessage(
        subject=subject, body=f"{body.rstrip()}\n\n{firm_signature()}\n", from_email=firm_sender(), to=to
    )


def firm_mail(*, subject: str, body: str, to: list[str], fail_silently: bool = False) -> int:
    return firm_email(subject=subject, body=body, to=to).send(fail_silently=fail_silently)
