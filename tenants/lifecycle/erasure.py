"""One client's erasure request, orchestrated: refused while the firm holds their money, then core erases.

``client_erasure_plan(*, tenant, client)`` is the dry run; ``client_erase(*,
tenant, client, actor_label)`` does it in one transaction: the client and their
matters locked (``core.erasure.erasure_lock``), the money check
(``billing.selectors.client_money_held``: a trust or client-credit balance must
be refunded or applied first, never orphaned), then ``core.erasure`` erases the
personal data and audits it, with the count of records billing keeps
(``billing.selectors.client_records_kept``). What goes and what stays is
described in ``core.erasure``.
"""

from __future__ import annotations

from django.db import transaction

from billing.selectors import client_money_held, client_records_kept
from core.erasure import ErasureRefused, ErasureReport, erasure_lock, erasure_plan, personal_data_erase
from core.models import User
from tenants.models import Tenant


def _refuse_if_money_held(client: User, *, slug: str) -> None:
    held = "; ".join(map(str, client_money_held(client=client)))
    if held:
        raise ErasureRefused(f"{client.email} of {slug} has money held by the firm ({held}): refund or apply it first")


def client_erasure_plan(*, tenant: Tenant, client: User) -> ErasureReport:
    """What ``client_erase`` would do, refused for the same reasons; changes nothing."""
    with tenant:
        _refuse_if_money_held(client, slug=tenant.slug)
        return erasure_plan(client=client, kept=client_records_kept(client=client))


def client_erase(*, tenant: Tenant, client: User, actor_label: str) -> ErasureReport:
    """Erase ``client``'s personal data in ``tenant``; ``actor_label`` (who ran it) goes into the audit entry."""
    with tenant, transaction.atomic():
        client = erasure_lock(client=client)
        _refuse_if_money_held(client, slug=tenant.slug)
        kept = client_records_kept(client=client)
        return personal_data_erase(tenant=tenant, client=client, kept=kept, actor_label=actor_label)
