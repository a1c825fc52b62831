"""The quarterly access review (SPEC §5): every user, their roles, each matter they reach and why.

It reads the same facts, by the same rules, as ``core.access.matters_for_user``
(a test holds the two together), in a fixed number of queries however many
users and matters the firm has.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.access import Via, live_grants
from core.models import FirmSettings, Matter, MatterUserObjectPermission, User
from core.roles import ROLE_PERMISSIONS, VIEW_ALL_MATTERS, Role, roles_of


@dataclass(frozen=True)
class Reason:
    via: Via
    detail: str = ""
    expires_at: datetime | None = None

    def __str__(self) -> str:
        text = f"{self.via.value}: {self.detail}" if self.detail else self.via.value
        if self.expires_at is not None:
            text += f" (until {self.expires_at:%Y-%m-%d %H:%M} UTC)"
        return text


@dataclass
class MatterAccess:
    matter: Matter
    reasons: list[Reason]

    @property
    def grant_expires_at(self) -> datetime | None:
        return next((r.expires_at for r in self.reasons if r.via == Via.GRANT), None)

    @property
    def why(self) -> str:
        return "; ".join(str(reason) for reason in self.reasons)


@dataclass
class UserAccess:
    user: User
    roles: list[Role]
    two_factor: bool
    role_wide: Reason | None
    matters: list[MatterAccess] = field(default_factory=list)


def _role_wide_reasons(users: list[User], settings: FirmSettings) -> dict[int, Reason]:
    codename = VIEW_ALL_MATTERS.split(".", 1)[1]
    permission = Permission.objects.get(content_type__app_label="core", codename=codename)
    direct = set(
        User.objects.filter(Q(is_superuser=True) | Q(user_permissions=permission)).values_list("pk", flat=True)
    )
    reasons = {}
    for user in users:
        if not user.is_active:
            continue
        roles = roles_of(user)
        giving = [role.value for role in roles if VIEW_ALL_MATTERS in ROLE_PERMISSIONS[role]]
        if settings.attorneys_see_all_matters and Role.ATTORNEY in roles:
            giving.append("attorney (firm setting: attorneys see all matters)")
        if not giving and user.pk in direct:
            giving.append("permission given to the user directly")
        if giving:
            reasons[user.pk] = Reason(Via.ROLE, ", ".join(giving))
    return reasons


def access_review(*, at: datetime | None = None) -> list[UserAccess]:
    at = at or timezone.now()
    settings = FirmSettings.load()
    users = list(User.objects.prefetch_related("groups").order_by("email"))
    matters = list(Matter.objects.order_by("reference"))
    viewers = set(
        MatterUserObjectPermission.objects.filter(
            permission__codename="view_matter", permission__content_type__app_label="core"
        ).values_list("user_id", "content_object_id")
    )
    grants = {(g.grantee_id, g.matter_id): g for g in live_grants(at=at)}
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    role_wide = _role_wide_reasons(users, settings)

    per_matter: dict[int, dict[int, list[Reason]]] = defaultdict(lambda: defaultdict(list))
    for matter in matters:
        facts = [
            (matter.responsible_attorney_id, Reason(Via.RESPONSIBLE_ATTORNEY)),
            (matter.assigned_paralegal_id, Reason(Via.ASSIGNED_PARALEGAL)),
            (matter.client_id, Reason(Via.CLIENT)),
        ]
        for user_id, reason in facts:
            if user_id is not None and (user_id, matter.pk) in viewers:
                per_matter[user_id][matter.pk].append(reason)
    for (user_id, matter_id), grant in grants.items():
        if (user_id, matter_id) in viewers:
            per_matter[user_id][matter_id].append(Reason(Via.GRANT, grant.reason, grant.expires_at))

    rows = []
    for user in users:
        row = UserAccess(
            user=user,
            roles=roles_of(user),
            two_factor=user.pk in enrolled,
            role_wide=role_wide.get(user.pk),
        )
        if user.is_active:
            specific = per_matter.get(user.pk, {})
            for matter in matters:
                reasons = ([row.role_wide] if row.role_wide else []) + specific.get(matter.pk, [])
                if reasons:
                    row.matters.append(MatterAccess(matter=matter, reasons=reasons))
        rows.append(row)
    return rows
