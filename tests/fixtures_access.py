"""A cast of people and matters in firm A (acme) for the access-control tests.

Everyone is made through the real services (user_create, matter_create,
grant_create), inside the test's transaction:

* alice: firm admin (from conftest) · paula: partner
* arthur: attorney responsible for M1 · anna: attorney on nothing
* pete: paralegal assigned to M1 · ivy: intake clerk · bill: billing clerk
* carol: client of M1 · dan: client of M2 (a client of another matter)
* olga: outside counsel with a live grant on M1 (until ``GRANT_ENDS``)
* oscar: outside counsel whose grant on M1 expired a minute ago and has not
  been swept, so he still holds the guardian permission
* M3: a matter with no one assigned
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from core.grants import grant_create
from core.matters import matter_create
from core.models import Grant, Matter, User
from core.roles import Role
from core.services import user_create
from tests.conftest import PASSWORD, Firm


@dataclass
class Cast:
    firm: Firm
    now: datetime
    alice: User
    paula: User
    arthur: User
    anna: User
    pete: User
    ivy: User
    bill: User
    carol: User
    dan: User
    olga: User
    oscar: User
    m1: Matter
    m2: Matter
    m3: Matter
    olga_grant: Grant
    oscar_grant: Grant

    def people(self) -> dict[str, User]:
        names = ["alice", "paula", "arthur", "anna", "pete", "ivy", "bill", "carol", "dan", "olga", "oscar"]
        return {name: getattr(self, name) for name in names}


def build_cast(firm: Firm) -> Cast:
    now = timezone.now()
    with firm.tenant:
        alice = User.objects.get(email="alice@acme.test")

        def person(name: str, role: Role) -> User:
            return user_create(email=f"{name}@acme.test", role=role, full_name=name.title(), password=PASSWORD)

        people = {
            "paula": person("paula", Role.PARTNER),
            "arthur": person("arthur", Role.ATTORNEY),
            "anna": person("anna", Role.ATTORNEY),
            "pete": person("pete", Role.PARALEGAL),
            "ivy": person("ivy", Role.INTAKE_CLERK),
            "bill": person("bill", Role.BILLING_CLERK),
            "carol": person("carol", Role.CLIENT),
            "dan": person("dan", Role.CLIENT),
            "olga": person("olga", Role.OUTSIDE_COUNSEL),
            "oscar": person("oscar", Role.OUTSIDE_COUNSEL),
        }
        m1 = matter_create(
            reference="2025-0001",
            title="Carol Diaz marriage petition",
            matter_type="I-130",
            client=people["carol"],
            responsible_attorney=people["arthur"],
            assigned_paralegal=people["pete"],
            by=alice,
        )
        m2 = matter_create(
            reference="2025-0002", title="Dan Ortiz naturalisation", matter_type="N-400", client=people["dan"], by=alice
        )
        m3 = matter_create(
            reference="2025-0003",
            title="Unassigned consultation",
            matter_type="consultation",
            client=people["dan"],
            by=alice,
        )
        olga_grant = grant_create(
            matter=m1,
            grantee=people["olga"],
            expires_at=now + timedelta(days=7),
            reason="co-counsel at hearing",
            by=alice,
        )
        oscar_grant = grant_create(
            matter=m1,
            grantee=people["oscar"],
            expires_at=now - timedelta(minutes=1),
            reason="one-day review",
            by=alice,
            at=now - timedelta(days=1),
        )
    return Cast(
        firm=firm, now=now, alice=alice, m1=m1, m2=m2, m3=m3, olga_grant=olga_grant, oscar_grant=oscar_grant, **people
    )


@pytest.fixture
def cast(firm_a: Firm) -> Cast:
    return build_cast(firm_a)
