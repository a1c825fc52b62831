"""Writes on matters: creating one, assigning staff, and keeping its per-matter permissions true.

django-guardian holds who has ``view_matter`` / ``change_matter`` on each
matter. ``matter_permissions_sync`` derives them from the facts (assignment,
client of, live grants) so that every write that changes a fact calls it, and
an audited ``permission.granted`` / ``permission.revoked`` entry says what
changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_user_perms, remove_perm

from core.access import live_grants
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, MatterType, User, WorkflowStage
from core.roles import ADD_MATTER, CHANGE_MATTER, STAFF_ROLES, Role, roles_of
from core.webhooks import event_emit
from core.work import checklist_tasks_sync, stage_task_open

MATTER_PERMS = ("view_matter", "change_matter")
ATTORNEY_ROLES = frozenset({Role.ATTORNEY, Role.PARTNER, Role.FIRM_ADMIN})


@dataclass
class PermissionChange:
    user: User
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def _wanted(*, matter: Matter, user: User, at: datetime) -> set[str]:
    if not user.is_active:
        return set()
    if user.pk in (matter.responsible_attorney_id, matter.assigned_paralegal_id):
        return {"view_matter", "change_matter"}
    if user.pk == matter.client_id or live_grants(at=at).filter(matter=matter, grantee=user).exists():
        return {"view_matter"}
    return set()


def matter_permissions_sync(*, matter: Matter, user: User, at: datetime | None = None) -> PermissionChange:
    """Give or take ``user``'s per-matter permissions on ``matter`` so they match the facts."""
    wanted = _wanted(matter=matter, user=user, at=at or timezone.now())
    held = {codename for codename in get_user_perms(user, matter) if codename in MATTER_PERMS}
    change = PermissionChange(user=user)
    for codename in sorted(wanted - held):
        assign_perm(f"core.{codename}", user, matter)
        change.added.append(codename)
    for codename in sorted(held - wanted):
        remove_perm(f"core.{codename}", user, matter)
        change.removed.append(codename)
    return change


def record_permission_change(change: PermissionChange, *, matter: Matter, via: str, by: User | None) -> None:
    base = {"user": change.user.email, "matter": matter.reference, "via": via}
    if change.added:
        audit_record(
            AuditAction.PERMISSION_GRANTED,
            actor=by,
            target=matter,
            data={**base, "permissions": change.added},
        )
    if change.removed:
        audit_record(
            AuditAction.PERMISSION_REVOKED,
            actor=by,
            target=matter,
            data={**base, "permissions": change.removed},
        )


def _check_staff(user: User | None, *, roles: frozenset[Role], what: str) -> None:
    if user is None:
        return
    if not (user.is_active and user.is_staff and set(roles_of(user)) & roles):
        raise ValidationError(f"{user.email} cannot be the {what}: they hold none of the roles {sorted(roles)}.")


def _check_client(client: User) -> None:
    if client.is_staff or Role.CLIENT not in roles_of(client):
        raise ValidationError(f"{client.email} is not a client of the firm.")


def matter_type_by_code(code: str) -> MatterType:
    found = MatterType.objects.filter(code__iexact=code).first()
    if found is None:
        raise ValidationError(f"The firm has no matter type {code!r}.")
    return found


@transaction.atomic
def matter_create(
    *,
    reference: str,
    title: str,
    matter_type: MatterType | str,
    client: User,
    by: User,
    responsible_attorney: User | None = None,
    assigned_paralegal: User | None = None,
) -> Matter:
    if not by.has_perm(ADD_MATTER):
        raise PermissionDenied("You may not open matters.")
    _check_client(client)
    _check_staff(responsible_attorney, roles=ATTORNEY_ROLES, what="responsible attorney")
    _check_staff(assigned_paralegal, roles=STAFF_ROLES, what="assigned paralegal")
    kind = matter_type if isinstance(matter_type, MatterType) else matter_type_by_code(matter_type)
    matter = Matter.objects.create(
        reference=reference,
        title=title,
        matter_type=kind,
        stage=WorkflowStage.objects.filter(matter_type=kind, optional=False).order_by("position", "id").first(),
        client=client,
        responsible_attorney=responsible_attorney,
        assigned_paralegal=assigned_paralegal,
    )
    audit_record(AuditAction.MATTER_CREATED, actor=by, target=matter, data={"reference": reference})
    event_emit(
        type="matter.opened",
        data={"matter": matter.pk, "reference": reference, "matter_type": kind.code, "client": client.pk},
    )
    people = [(client, "client"), (responsible_attorney, "assignment"), (assigned_paralegal, "assignment")]
    for user, via in people:
        if user is not None:
            change = matter_permissions_sync(matter=matter, user=user)
            record_permission_change(change, matter=matter, via=via, by=by)
    checklist_tasks_sync(matter)
    if matter.stage is not None:
        stage_task_open(matter=matter, stage=matter.stage, left=None)
    return matter


@transaction.atomic
def matter_assign(
    *,
    matter: Matter,
    responsible_attorney: User | None,
    assigned_paralegal: User | None,
    by: User,
) -> Matter:
    """Change who works on a matter; the people who leave it lose its permissions, the new ones gain them."""
    if not by.has_perm(CHANGE_MATTER):
        raise PermissionDenied("You may not reassign matters.")
    _check_staff(responsible_attorney, roles=ATTORNEY_ROLES, what="responsible attorney")
    _check_staff(assigned_paralegal, roles=STAFF_ROLES, what="assigned paralegal")
    matter = Matter.objects.select_for_update(no_key=True).get(pk=matter.pk)  # see billing/locks.py
    before = {matter.responsible_attorney, matter.assigned_paralegal}
    matter.responsible_attorney = responsible_attorney
    matter.assigned_paralegal = assigned_paralegal
    matter.save(update_fields=["responsible_attorney", "assigned_paralegal", "updated"])
    audit_record(
        AuditAction.MATTER_ASSIGNED,
        actor=by,
        target=matter,
        data={
            "responsible_attorney": responsible_attorney.email if responsible_attorney else None,
            "assigned_paralegal": assigned_paralegal.email if assigned_paralegal else None,
        },
    )
    for user in sorted({u for u in before | {responsible_attorney, assigned_paralegal} if u is not None}, key=str):
        change = matter_permissions_sync(matter=matter, user=user)
        record_permission_change(change, matter=matter, via="assignment", by=by)
    return matter


@transaction.atomic
def client_matter_open(
    *,
    email: str,
    full_name: str,
    language: str,
    matter_type: MatterType,
    by: User,
    title: str = "",
    phone: str = "",
    responsible_attorney: User | None = None,
    assigned_paralegal: User | None = None,
    invite: bool = True,
) -> Matter:
    """Open a matter for a client, creating the client when the email is new, and (by default) invite them.

    The invitation (an emailed set-password link in the client's language)
    stamps ``User.invited_at``, where the time-to-intake KPI starts.
    """
    from core.models import ClientProfile
    from core.services import user_create, user_invite

    if not by.has_perm(ADD_MATTER):
        raise PermissionDenied("You may not open matters.")
    email = email.strip().lower()
    client = User.objects.filter(email=email).first()
    if client is None:
        client = user_create(email=email, role=Role.CLIENT, full_name=full_name.strip(), language=language)
    else:
        _check_client(client)
    if phone:
        ClientProfile.objects.update_or_create(user=client, defaults={"phone": phone[:32]})
    matter = matter_create(
        reference=next_reference(),
        title=title or f"{client.full_name or client.email} {matter_type.code}",
        matter_type=matter_type,
        client=client,
        responsible_attorney=responsible_attorney,
        assigned_paralegal=assigned_paralegal,
        by=by,
    )
    if invite and not client.has_usable_password():
        user_invite(user=client)
        audit_record(AuditAction.CLIENT_INVITED, actor=by, target=client, data={"matter": matter.reference})
    return matter


def next_reference() -> str:
    """The next free file number of this year, e.g. 2026-0007."""
    year = timezone.now().year
    taken = Matter.objects.filter(reference__startswith=f"{year}-").count()
    while True:
        taken += 1
        reference = f"{year}-{taken:04d}"
        if not Matter.objects.filter(reference=reference).exists():
            return reference
