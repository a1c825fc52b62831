"""Key rotation for one firm: new primary KEK versions, then every wrapped data key re-wrapped.

Orchestrates kms (the keys, the field keys) and residency (the region's key
provider, the inventory of stored files whose data keys are re-wrapped).

New data is wrapped by the new versions as soon as they exist; older versions
stay until nothing refers to them, so data not yet re-wrapped (or a run that
was interrupted, then resumed by running rotation's re-wrap again) still
decrypts. Files are never re-encrypted: only their wrapped data keys change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kms.fieldkeys import field_keys_rewrap
from kms.keys import KEY_CLASSES, kek_rotate
from residency.regions import get_region
from residency.services import objects_rewrap
from tenants.models import Tenant

Progress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    pass


@dataclass
class RotationReport:
    versions: dict[str, int] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)
    field_keys_rewrapped: int = 0
    objects_rewrapped: int = 0


def firm_rotate_keys(*, tenant: Tenant, progress: Progress = _quiet) -> RotationReport:
    report = RotationReport()
    provider = get_region(tenant.region).keys.provider  # the region's provider today; old versions keep theirs
    for key_class in KEY_CLASSES:
        new = kek_rotate(tenant=tenant, key_class=key_class, provider=provider)
        report.versions[key_class] = new.version
        report.key_ids[key_class] = new.key_id
    report.field_keys_rewrapped = field_keys_rewrap(tenant=tenant)
    report.objects_rewrapped = objects_rewrap(tenant=tenant, progress=progress)
    return report


def firm_rewrap(*, tenant: Tenant, progress: Progress = _quiet) -> RotationReport:
    """Finish an interrupted rotation: re-wrap what still uses an older version, without a new version."""
    report = RotationReport()
    report.field_keys_rewrapped = field_keys_rewrap(tenant=tenant)
    report.objects_rewrapped = objects_rewrap(tenant=tenant, progress=progress)
    return report
