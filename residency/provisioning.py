"""Onboarding's share of residency and keys: a new firm's keys and storage, in its region.

``firm_provision(tenant=...)`` is called by ``tenants.services.tenant_create``
inside its transaction. It is idempotent (a second call finds what exists) and
raises on any failure so that onboarding rolls back. Resources outside the
database (KMS keys, an S3 bucket) created by a call that then fails are removed
again before the error propagates; database rows roll back with the transaction.
"""

from __future__ import annotations

import logging

from kms.fieldkeys import field_keys_ensure
from kms.keys import keks_ensure
from kms.models import KeyEncryptionKey
from kms.providers import KekRef, provider_for
from residency.backends import Placement, placement
from residency.regions import get_region
from tenants.models import Tenant

logger = logging.getLogger(__name__)


class Provisioned:
    """What one ``firm_provision`` call created outside the database, so it can be undone."""

    def __init__(self, place: Placement) -> None:
        self.place = place
        self.created_keys: list[KeyEncryptionKey] = []
        self.bucket_created = False

    def undo(self) -> None:
        """Remove the bucket and KMS keys this call created (database rows roll back on their own)."""
        if self.bucket_created:
            _undo(self.place.destroy, f"storage {self.place.location}")
        for kek in self.created_keys:
            ref = KekRef(key_id=kek.key_id, region=kek.region, sealed_key=None)
            _undo(lambda kek=kek, ref=ref: provider_for(kek.provider).destroy(ref), f"key {kek.key_id}")


def firm_provision(*, tenant: Tenant) -> Provisioned:
    """Create the firm's key-encryption keys, field keys and storage (bucket or directory).

    On failure, what this call created is removed before the error propagates; a
    caller whose own later step fails calls ``.undo()`` on the returned value.
    """
    region = get_region(tenant.region)  # an unknown region fails before anything is created
    done = Provisioned(placement(tenant))
    try:
        done.created_keys = keks_ensure(tenant=tenant, provider=region.keys.provider)
        field_keys_ensure(tenant=tenant)
        done.bucket_created = done.place.ensure()
    except BaseException:
        done.undo()
        raise
    return done


def firm_is_provisioned(*, tenant: Tenant) -> bool:
    from kms.keys import KEY_CLASSES
    from kms.models import FieldKey, KeyEncryptionKey

    classes = len(KEY_CLASSES)
    return (
        KeyEncryptionKey.objects.filter(tenant_id=tenant.pk, is_primary=True).count() == classes
        and FieldKey.objects.filter(tenant_id=tenant.pk).count() == classes
    )


def _undo(action: object, what: str) -> None:
    try:
        action()  # type: ignore[operator]
    except Exception as exc:  # the original failure matters more; leave a trace for the operator
        logger.error("onboarding failed and %s could not be removed: %s", what, exc)
