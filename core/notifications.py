"""Telling people that something happened: an in-app notice, and an email in the recipient's language.

Interfaces:

* ``notify(*, recipient, matter, kind, subject, text, link="", email=True) -> Notification``
  — ``subject`` and ``text`` are callables evaluated inside
  ``translation.override(recipient.preferred_language)`` so each person reads
  them in their own language. ``link`` is a path on the firm's site: the in-app
  notice keeps it, the email carries it as an absolute link to the firm's own
  subdomain, sent from the firm (``core.mail``).
* ``notifications_for(user, *, unread_only=False)`` — newest first.
* ``notification_mark_read(*, user, ids)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import QuerySet
from django.utils import timezone, translation

from core.mail import firm_link, firm_mail
from core.models import Matter, Notification, User


def notify(
    *,
    recipient: User,
    matter: Matter | None,
    kind: str,
    subject: Callable[[], str],
    text: Callable[[], str],
    link: str = "",
    email: bool = True,
) -> Notification:
    with translation.override(recipient.preferred_language or "en"):
        subject_text, body_text = str(subject()), str(text())
    notice = Notification.objects.create(recipient=recipient, matter=matter, kind=kind, text=body_text[:500], link=link)
    if email and recipient.is_active:
        body = f"{body_text}\n\n{firm_link(link)}" if link else body_text
        firm_mail(subject=subject_text, body=body, to=[recipient.email], fail_silently=True)
    return notice


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    found = Notification.objects.filter(recipient=user).select_related("matter")
    return found.filter(read_at__isnull=True) if unread_only else found


def notification_mark_read(*, user: User, ids: Iterable[int]) -> int:
    return Notification.objects.filter(recipient=user, pk__in=list(ids), read_at__isnull=True).update(
        read_at=timezone.now()
    )
