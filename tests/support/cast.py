"""The one test cast: firm A with one person per role, its clients and outside counsel; firm B; outsiders.

Made once per run through the real services (``user_create``, ``matter_create``,
``grant_create``) into the template database (``tests.support.database``), so a
test gets it by loading rows, and its own changes roll back with its
transaction. Like Healthchecks' alice/bob/charlie, every test has a second
firm and someone who must see nothing.

Firm A (acme), the people:

* alice: firm admin · paula: partner
* arthur: attorney responsible for M1 · anna: attorney on nothing
* pete: paralegal assigned to M1 · ivy: intake clerk · bill: billing clerk
* carol: client of M1 · dan: client of M2 and M3 (a client of other matters)
* olga: outside counsel with a live grant on M1 (for seven days from the run's start)
* oscar: outside counsel whose grant on M1 expired a minute before the run and
  has not been swept, so he still holds the guardian permission
* lucía: a client who prefers Spanish, with an I-130 (``lucia_matter``) that ana
  (attorney) and paco (paralegal) work on · dora: client of ``dora_matter``,
  who must see nothing of Lucía's
* charlie: signed in to firm A with no role at all

The matters: M1 (Carol's I-130), M2 (Dan's N-400), M3 (a consultation with no
one assigned), ``lucia_matter`` (I-130), ``dora_matter`` (N-400).

Firm B (globex) has only its admin, bob; the anonymous client is the plain
outsider.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.grants import grant_create
from core.matters import matter_create
from core.models import Grant, Matter, User
from core.roles import Role
from core.services import user_create
from tests.support.firms import FIRM_A, PASSWORD, Firm

STAFF_AND_CLIENTS = {
    "paula": (Role.PARTNER, "paula@acme.test", "Paula", "en"),
    "arthur": (Role.ATTORNEY, "arthur@acme.test", "Arthur", "en"),
    "anna": (Role.ATTORNEY, "anna@acme.test", "Anna", "en"),
    "pete": (Role.PARALEGAL, "pete@acme.test", "Pete", "en"),
    "ivy": (Role.INTAKE_CLERK, "ivy@acme.test", "Ivy", "en"),
    "bill": (Role.BILLING_CLERK, "bill@acme.test", "Bill", "en"),
    "carol": (Role.CLIENT, "carol@acme.test", "Carol", "en"),
    "dan": (Role.CLIENT, "dan@acme.test", "Dan", "en"),
    "olga": (Role.OUTSIDE_COUNSEL, "olga@acme.test", "Olga", "en"),
    "oscar": (Role.OUTSIDE_COUNSEL, "oscar@acme.test", "Oscar", "en"),
    "lucia": (Role.CLIENT, "lucia@example.test", "Lucía Gómez", "es"),
    "dora": (Role.CLIENT, "dora@example.test", "Dora Díaz", "en"),
    "paco": (Role.PARALEGAL, "paco@acme.test", "Paco Ruiz", "en"),
    "ana": (Role.ATTORNEY, "ana@acme.test", "Ana Lee", "en"),
}
CHARLIE = "charlie@acme.test"
MATTERS = {
    "m1": "2025-0001",
    "m2": "2025-0002",
    "m3": "2025-0003",
    "lucia_matter": "2026-0101",
    "dora_matter": "2026-0202",
}


@dataclass
class Cast:
    firm: Firm
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
    lucia: User
    dora: User
    paco: User
    ana: User
    charlie: User
    m1: Matter
    m2: Matter
    m3: Matter
    lucia_matter: Matter
    dora_matter: Matter
    olga_grant: Grant
    oscar_grant: Grant

    def people(self) -> dict[str, User]:
        """Firm A's people, by name (charlie, who holds no role, included)."""
        return {
            item.name: getattr(self, item.name) for item in fields(self) if isinstance(getattr(self, item.name), User)
        }

    def client_of(self, user: User) -> Client:
        """A test client on firm A's site, signed in as ``user``."""
        return self.firm.client(user)


def cast_create() -> None:
    """Create the cast in firm A (inside its schema), through the real services; run once, into the template."""
    now = timezone.now()
    alice = User.objects.get(email=FIRM_A.admin_email)
    people = {
        name: user_create(email=email, role=role, full_name=full_name, password=PASSWORD, language=language)
        for name, (role, email, full_name, language) in STAFF_AND_CLIENTS.items()
    }
    user_create(email=CHARLIE, role=Role.CLIENT, password=PASSWORD).groups.clear()
    m1 = matter_create(
        reference=MATTERS["m1"],
        title="Carol Diaz marriage petition",
        matter_type="I-130",
        client=people["carol"],
        responsible_attorney=people["arthur"],
        assigned_paralegal=people["pete"],
        by=alice,
    )
    matter_create(
        reference=MATTERS["m2"], title="Dan Ortiz naturalisation", matter_type="N-400", client=people["dan"], by=alice
    )
    matter_create(
        reference=MATTERS["m3"],
        title="Unassigned consultation",
        matter_type="consultation",
        client=people["dan"],
        by=alice,
    )
    matter_create(
        reference=MATTERS["lucia_matter"],
        title="Gómez spousal petition",
        matter_type="I-130",
        client=people["lucia"],
        responsible_attorney=people["ana"],
        assigned_paralegal=people["paco"],
        by=alice,
    )
    matter_create(
        reference=MATTERS["dora_matter"],
        title="Díaz naturalisation",
        matter_type="N-400",
        client=people["dora"],
        by=alice,
    )
    grant_create(
        matter=m1, grantee=people["olga"], expires_at=now + timedelta(days=7), reason="co-counsel at hearing", by=alice
    )
    grant_create(
        matter=m1,
        grantee=people["oscar"],
        expires_at=now - timedelta(minutes=1),
        reason="one-day review",
        by=alice,
        at=now - timedelta(days=1),
    )


def cast_load(firm: Firm) -> Cast:
    """The cast as it is in the database now (fresh instances for each test)."""
    with firm.tenant:
        emails = {email: name for name, (_role, email, _full, _lang) in STAFF_AND_CLIENTS.items()}
        emails[FIRM_A.admin_email], emails[CHARLIE] = "alice", "charlie"
        people = {emails[user.email]: user for user in User.objects.filter(email__in=emails)}
        references = {reference: name for name, reference in MATTERS.items()}
        matters = {references[m.reference]: m for m in Matter.objects.filter(reference__in=references)}
        grants = {
            g.grantee_id: g
            for g in Grant.objects.filter(matter=matters["m1"], grantee__in=[people["olga"], people["oscar"]])
        }
    return Cast(
        firm=firm,
        olga_grant=grants[people["olga"].pk],
        oscar_grant=grants[people["oscar"].pk],
        **people,  # type: ignore[arg-type]  # the names are Cast's fields (checked by the dataclass)
        **matters,  # type: ignore[arg-type]
    )


@pytest.fixture
def cast(firm_a: Firm) -> Cast:
    return cast_load(firm_a)


@pytest.fixture
def books(cast: Cast) -> Iterator[Cast]:
    """The cast, with the test inside firm A's schema for its whole length (tests call services directly)."""
    with cast.firm.tenant:
        yield cast
