"""Editing a firm's matter types (firm admins): the accessor and the audited save.

Interfaces:

* ``matter_type_for_user(user, type_id) -> MatterType`` — 404 unless the user
  may manage matter types (``core.manage_matter_types``) and the type exists.
* ``matter_type_part(matter_type, model, item_id)`` — a question, requirement
  or stage of that type; 404 otherwise.
* ``matter_type_item_save(*, item, by)`` — saves a type or one of
  its parts (already validated by its form) and audits ``matter_type.changed``.
"""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import Http404

from core.access import Person, object_id
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import DocumentRequirement, IntakeQuestion, MatterType, User, WorkflowStage
from core.roles import MANAGE_MATTER_TYPES

Part = TypeVar("Part", IntakeQuestion, DocumentRequirement, WorkflowStage)


def matter_type_for_user(user: Person, type_id: object) -> MatterType:
    pk = object_id(type_id, "matter type")
    if not (user.is_authenticated and user.is_active and user.is_staff and user.has_perm(MANAGE_MATTER_TYPES)):
        raise Http404("No such matter type.")
    found = MatterType.objects.filter(pk=pk).first()
    if found is None:
        raise Http404("No such matter type.")
    return found


def matter_type_part(matter_type: MatterType, model: type[Part], item_id: object) -> Part:
    found = model.objects.filter(pk=object_id(item_id, str(model._meta.verbose_name)), matter_type=matter_type).first()
    if found is None:
        raise Http404("Not found.")
    return found


@transaction.atomic
def matter_type_item_save(*, item: models.Model, by: User) -> models.Model:
    if not by.has_perm(MANAGE_MATTER_TYPES):
        raise PermissionDenied("Only a firm admin may edit matter types.")
    created = item.pk is None
    item.save()
    matter_type = item if isinstance(item, MatterType) else item.matter_type  # type: ignore[attr-defined]
    audit_record(
        AuditAction.MATTER_TYPE_CHANGED,
        actor=by,
        target=item,
        data={"matter_type": matter_type.code, "part": item._meta.model_name, "created": created},
    )
    return item
