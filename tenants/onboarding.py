"""Onboarding across cells: the directory row on the control plane, the firm in its region's cell.

``firm_onboard`` runs in the process of the cell that will hold the firm: here
when the region's cell is this process's (``PORTICO_CELL``), otherwise in a child
process of that cell (``tenants.cellrun``, with that cell's ``DATABASE_URL``), so
that a Django process is always one cell. The steps, each undone if a later one fails:

1. the directory row (status ``provisioning``) and its outbox row, on the control plane;
2. the firm in the cell: schema, domain, keys, storage, roles, invited admin
   (``tenants.services.tenant_create``: one transaction, its keys and bucket removed on failure);
3. the directory row made ``active`` (with its outbox row); if that fails the firm is
   removed from the cell again (``tenant_discard``) and the directory row with it;
4. the cell's pending directory changes delivered (at least once: the cell's scheduled
   ``tenants.tasks.directory_deliver`` retries a failure; not a reason to undo).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from residency.cells import get_cell, this_cell
from residency.regions import UnknownRegion, get_region
from tenants.directory import (
    DirectoryConflict,
    directory_create,
    directory_deliver,
    directory_discard,
    directory_update,
)
from tenants.models import FirmDirectory, Tenant
from tenants.services import (
    TenantError,
    TenantInputError,
    firm_domain,
    tenant_create,
    tenant_discard,
    validate_new_firm,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FirmCreated:
    slug: str
    name: str
    region: str
    cell: str
    url: str
    admin_email: str
    invitation_link: str
    cloned: bool


def firm_onboard(
    *, slug: str, name: str, region: str, admin_email: str, plan: str = Tenant.Plan.STANDARD, admin_name: str = ""
) -> FirmCreated:
    """Onboard a firm into its region's cell, with its control-plane directory row; all or nothing."""
    try:
        cell = get_region(region).cell
    except UnknownRegion as exc:
        raise TenantInputError(str(exc)) from None
    arguments = {
        "slug": slug, "name": name, "region": region, "admin_email": admin_email, "plan": plan,
        "admin_name": admin_name,
    }  # fmt: skip
    if cell != this_cell().name:
        return FirmCreated(**cell_run(cell, "onboard", arguments))
    return _onboard_here(cell=cell, **arguments)


def _onboard_here(
    *, cell: str, slug: str, name: str, region: str, admin_email: str, plan: str, admin_name: str
) -> FirmCreated:
    admin_email = admin_email.strip().lower()
    if plan not in Tenant.Plan.values:
        raise TenantInputError(f"unknown plan {plan!r} (known: {', '.join(Tenant.Plan.values)})")
    validate_new_firm(slug=slug, name=name, region=region, admin_email=admin_email)
    try:
        directory_create(slug=slug, region=region, cell=cell, plan=plan, domains=[firm_domain(slug)])
    except DirectoryConflict as exc:
        raise TenantError(str(exc)) from None
    try:
        onboarded = tenant_create(
            slug=slug, name=name, region=region, admin_email=admin_email, plan=plan, admin_name=admin_name
        )
    except BaseException:
        _compensate(slug, "directory row")
        raise
    try:
        directory_update(slug, status=FirmDirectory.Status.ACTIVE)
    except BaseException:
        try:
            tenant_discard(onboarded.tenant)
        except Exception as exc:
            logger.error("onboarding of %s failed and its cell's firm could not be removed: %s", slug, exc)
        _compensate(slug, "directory row")
        raise
    try:
        directory_deliver(cell)
    except Exception as exc:  # delivered later by the cell's scheduled task
        logger.warning("directory change of %s not delivered yet: %s", slug, exc)
    return FirmCreated(
        slug=slug, name=onboarded.tenant.name, region=region, cell=cell, url=onboarded.url,
        admin_email=onboarded.admin_email, invitation_link=onboarded.invitation_link, cloned=onboarded.cloned,
    )  # fmt: skip


def _compensate(slug: str, what: str) -> None:
    try:
        directory_discard(slug)
    except Exception as exc:  # the original failure matters more; leave a trace for the operator
        logger.error("onboarding of %s failed and its %s could not be removed: %s", slug, what, exc)


# --- running a step in another cell's process ------------------------------------------------------


def cell_environment(cell: str) -> dict[str, str]:
    """The environment of a process of cell ``cell``: this one's, with that cell's name, database and broker."""
    target = get_cell(cell)
    env = dict(os.environ)
    env["PORTICO_CELL"] = target.name
    env["DATABASE_URL"] = target.database_url
    if target.broker_url:
        env["REDIS_URL"] = target.broker_url
    env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "core.settings"))
    return env


def cell_run(cell: str, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run ``operation`` in a process of cell ``cell`` (``python -m tenants.cellrun``); its result or its error."""
    completed = subprocess.run(
        [sys.executable, "-m", "tenants.cellrun"],
        input=json.dumps({"operation": operation, "arguments": arguments}),
        capture_output=True, text=True, env=cell_environment(cell), cwd=str(settings.BASE_DIR), timeout=600,
        check=False,
    )  # fmt: skip
    lines = completed.stdout.strip().splitlines()
    try:
        answer: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if completed.returncode == 0 and "result" in answer:
        result: dict[str, Any] = answer["result"]
        return result
    message = answer.get("error") or (completed.stderr.strip().splitlines() or ["no output"])[-1]
    if answer.get("kind") == "input":
        raise TenantInputError(message)
    raise TenantError(f"cell {cell}: {message}")


def run_operation(operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """What ``tenants.cellrun`` does in the cell's process."""
    if operation == "onboard":
        return asdict(_onboard_here(cell=this_cell().name, **arguments))
    if operation == "deliver":
        done = directory_deliver(this_cell().name)
        return {"applied": done.applied, "skipped": done.skipped}
    raise TenantInputError(f"unknown cell operation {operation!r}")
