"""A matter's workflow: its stages in order and moving it to the next one.

Interfaces:

* ``matter_stages(matter) -> list[WorkflowStage]``
* ``matter_advance_stage(*, matter, by, to=None) -> Matter`` — the
  current stage is completed (``core.signals.matter_stage_completed`` is sent
  inside the same transaction) and the matter enters ``to`` or the next
  stage that is not optional.
* ``stage_complete_if_current(*, matter, code, by)`` — the same,
  when something done elsewhere (intake, documents) completes that stage.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.access import may_change_matter
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, MatterEvent, User, WorkflowStage
from core.signals import matter_stage_completed
from core.webhooks import event_emit
from core.work import stage_task_open


def matter_stages(matter: Matter) -> list[WorkflowStage]:
    if matter.matter_type_id is None:
        return []
    return list(WorkflowStage.objects.filter(matter_type_id=matter.matter_type_id).order_by("position", "id"))


def _next(stages: list[WorkflowStage], current: WorkflowStage | None) -> WorkflowStage | None:
    after = stages if current is None else stages[[s.pk for s in stages].index(current.pk) + 1 :]
    return next((stage for stage in after if not stage.optional), None)


def _move(*, matter: Matter, to: WorkflowStage | None, by: User | None) -> Matter:
    stages = matter_stages(matter)
    # no_key: billing, which may run inside this transaction, inserts rows referencing the matter (billing/locks.py).
    locked = Matter.objects.select_for_update(no_key=True).get(pk=matter.pk)
    current = locked.stage
    target = to or _next(stages, current)
    if target is None:
        raise ValidationError("This matter is at its last stage.")
    if target.pk not in {s.pk for s in stages}:
        raise ValidationError("That stage belongs to another matter type.")
    now = timezone.now()
    locked.stage = target
    locked.save(update_fields=["stage", "updated"])
    data = {"from": current.code if current else None, "to": target.code}
    if current is not None:
        MatterEvent.objects.create(
            matter=locked, kind="stage.completed", actor=by, at=now, data={"stage": current.code}
        )
    MatterEvent.objects.create(matter=locked, kind="stage.entered", actor=by, at=now, data={"stage": target.code})
    audit_record(AuditAction.MATTER_STAGE_CHANGED, actor=by, target=locked, data=data)
    event_emit(type="matter.stage_changed", data={"matter": locked.pk, "reference": locked.reference, **data})
    stage_task_open(matter=locked, stage=target, left=current)
    if current is not None:
        matter_stage_completed.send(sender=Matter, matter=locked, stage=current, by=by)
    matter.stage = target
    return matter


@transaction.atomic
def matter_advance_stage(*, matter: Matter, by: User, to: WorkflowStage | None = None) -> Matter:
    if not may_change_matter(by, matter):
        raise PermissionDenied("You may not change this matter's stage.")
    return _move(matter=matter, to=to, by=by)


@transaction.atomic
def stage_complete_if_current(*, matter: Matter, code: str, by: User | None) -> bool:
    current = Matter.objects.filter(pk=matter.pk).values_list("stage__code", flat=True).first()
    if current != code:
        return False
    _move(matter=matter, to=None, by=by)
    return True
