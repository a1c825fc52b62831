"""Secure messages between a client and the firm on one matter.

Interfaces:

* ``message_send(*, matter, sender, body) -> Message`` — the
  sender must be a party to the matter (its client, or the firm's staff who
  reach it: ``core.access.is_party_to``; outside counsel only read the matter,
  never this thread); the other side is notified (the assigned
  paralegal, or else the responsible attorney, when the client writes; the
  client, in their language, when the firm writes). Audited ``message.sent``.
* ``messages_for(matter) -> QuerySet[Message]`` — oldest first.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.access import is_party_to
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, MatterEvent, Message, User
from core.notifications import notify

MAX_LENGTH = 5000


def messages_for(matter: Matter) -> QuerySet[Message]:
    return Message.objects.filter(matter=matter).select_related("sender").order_by("created", "id")


@transaction.atomic
def message_send(*, matter: Matter, sender: User, body: str) -> Message:
    if not is_party_to(sender, matter):
        raise PermissionDenied("Only the client and the firm write in this matter's messages.")
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write a message first."))
    if len(body) > MAX_LENGTH:
        raise ValidationError(_("Keep the message under %(max)s characters.") % {"max": MAX_LENGTH})
    message = Message.objects.create(matter=matter, sender=sender, body=body)
    MatterEvent.objects.create(matter=matter, kind="message.sent", actor=sender, at=message.created)
    audit_record(AuditAction.MESSAGE_SENT, actor=sender, target=message, data={"matter": matter.reference})
    if sender.pk == matter.client_id:
        staff = matter.assigned_paralegal or matter.responsible_attorney
        if staff is not None:
            notify(
                recipient=staff,
                matter=matter,
                kind="message.received",
                subject=lambda: _("New message on %(reference)s") % {"reference": matter.reference},
                text=lambda: (
                    _("%(who)s wrote on matter %(reference)s.")
                    % {"who": sender.get_full_name(), "reference": matter.reference}
                ),
                link=f"/staff/matters/{matter.pk}/",
            )
    elif sender.is_staff:
        notify(
            recipient=matter.client,
            matter=matter,
            kind="message.received",
            subject=lambda: _("New message about your case %(reference)s") % {"reference": matter.reference},
            text=lambda: _("Your legal team sent you a message. Sign in to read it."),
            link=f"/portal/matters/{matter.pk}/",
        )
    return message
