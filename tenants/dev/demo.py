"""The demo firm that `portico up` prepares: one user of each role and a few clients.

Everything here is idempotent: a second `portico up` finds the firm and its
people and creates nothing. Every demo login shares one password, printed by
`portico up`; a password someone has since changed is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from core.roles import Role
from tenants.models import Tenant
from tenants.services import firm_url, tenant_create

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Immigration Law"
DEMO_REGION = "us-east-1"
DEMO_PASSWORD = "Lantern-Quartz-93"  # noqa: S105 - the demo logins, printed on purpose


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: Role
    language: str = "en"


FIRM_ADMIN = DemoPerson("admin@demo.test", "Dana Whitfield", Role.FIRM_ADMIN)
STAFF = (
    FIRM_ADMIN,
    DemoPerson("partner@demo.test", "Robert Castillo", Role.PARTNER),
    DemoPerson("attorney@demo.test", "Ana Lucía Ortega", Role.ATTORNEY),
    DemoPerson("paralegal@demo.test", "Miguel Torres", Role.PARALEGAL),
    DemoPerson("intake@demo.test", "Priya Natarajan", Role.INTAKE_CLERK),
    DemoPerson("billing@demo.test", "Grace Liu", Role.BILLING_CLERK),
    DemoPerson("counsel@demo.test", "Thomas Reed", Role.OUTSIDE_COUNSEL),
)
# The first client is the one printed as the client role's login.
CLIENTS = (
    DemoPerson("maria.hernandez@demo.test", "María José Hernández García", Role.CLIENT, language="es"),
    DemoPerson("jose.ramirez@demo.test", "José Ramírez", Role.CLIENT),
    DemoPerson("emily.clarke@demo.test", "Emily Clarke", Role.CLIENT),
)
PEOPLE = STAFF + CLIENTS


@dataclass(frozen=True)
class DemoFirm:
    tenant: Tenant
    url: str
    created: bool
    people_created: int

    @property
    def logins(self) -> list[DemoPerson]:
        """One login per role, in the order of ``Role``."""
        first_by_role: dict[Role, DemoPerson] = {}
        for person in PEOPLE:
            first_by_role.setdefault(person.role, person)
        return [first_by_role[role] for role in Role]


def demo_firm_ensure() -> DemoFirm:
    """Create the demo firm and its people when missing; return what there is."""
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    created = tenant is None
    if tenant is None:
        onboarded = tenant_create(
            slug=DEMO_SLUG,
            name=DEMO_NAME,
            region=DEMO_REGION,
            admin_email=FIRM_ADMIN.email,
            admin_name=FIRM_ADMIN.full_name,
        )
        tenant = onboarded.tenant
    with tenant:  # back to the public schema on the way out
        people_created = demo_people_ensure()
    return DemoFirm(tenant=tenant, url=firm_url(tenant.slug), created=created, people_created=people_created)


@transaction.atomic
def demo_people_ensure() -> int:
    """In the current (demo) schema: add any missing demo person; returns how many were added."""
    from core.models import User
    from core.services import user_create

    added = 0
    for person in PEOPLE:
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user_create(
                email=person.email,
                role=person.role,
                full_name=person.full_name,
                password=DEMO_PASSWORD,
                language=person.language,
            )
            added += 1
        elif not user.has_usable_password():
            # Onboarding invited the firm admin by email; the demo signs in straight away.
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
    return added
