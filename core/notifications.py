"""Telling people that something happened: an in-app notice, and an email in the recipient's language.

Interfaces:

* ``notify(*, recipient, matter, kind, subject, text, link="", email=True) -> Notification``
  — ``subject`` and ``text`` are callables evaluated inside
  ``translation.override(recipient.preferred_language)`` so each person reads
  them in their own language.
* ``notifications_for(user, *, unread_only=False)`` — newest first.
* ``notification_mark_read(*, user, ids)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.mail import send_mail
from django.db.models import QuerySet
from django.utils import timezone, translation

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
        body = f"{body_text}\n\n{link}" if link else body_text
        send_mail(subject_text, body, None, [recipient.email], fail_silently=True)
    return notice


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    found = Notification.objects.filter(recipient=user).select_related("matter")
    return found.filter(read_at__isnull=True) if unread_only else found


def notification_mark_read(*, user: User, ids: Iterable[int]) -> int:
    return Notification.objects.filter(recipient=user, pk__in=list(ids), read_at__isnull=True).update(
        read_at=timezone.now()
    )
