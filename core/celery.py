"""The Celery app. Every task runs in the schema of the firm that sent it.

tenant-schemas-celery stamps the sender's schema into each message and
switches to it in the worker. A task that needs a firm and arrives without one
(sent from the public schema) fails with TaskWithoutTenant instead of quietly
running against the control plane; control-plane tasks say so with
``tenant_required = False``. A task stamped with the template's schema
(``portico_template``, which never holds firm data) is refused the same way.

A signature (``task.s()``, ``.si()``, a step of a chain, a member of a group or
chord, a link) is pinned to the firm it was made in: the library stamps the
schema when a message is sent, and a chain's next step or a chord's callback is
sent by the worker, from whichever firm's task ran just before. Pinned, a
canvas whose steps were made in two firms runs each step in its own firm.
"""

from __future__ import annotations

import os
from typing import Any

from celery.canvas import Signature
from celery.signals import beat_init, task_prerun, worker_init
from tenant_schemas_celery.app import CeleryApp, get_schema_name_from_task
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")


class TaskWithoutTenant(RuntimeError):
    pass


class PorticoTask(TenantTask):
    abstract = True
    tenant_required = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from django.conf import settings

        from tenants.db import current_schema

        if self.tenant_required:
            schema = current_schema()
            if schema == "public":
                raise TaskWithoutTenant(f"{self.name} needs a firm but was sent without one")
            if schema == settings.TENANT_BASE_SCHEMA:
                raise TaskWithoutTenant(f"{self.name} needs a firm but was sent from the template schema {schema!r}")
        return super().__call__(*args, **kwargs)

    def signature(self, args: Any = None, *starargs: Any, **starkwargs: Any) -> Signature:
        """A signature pinned to the current schema (see the module docstring); ``.s()`` and ``.si()`` come here."""
        from tenants.db import current_schema

        sig = super().signature(args, *starargs, **starkwargs)
        headers = dict(sig.options.get("headers") or {})
        headers.setdefault("_schema_name", current_schema())
        sig.options["headers"] = headers
        return sig

    subtask = signature


# The library enters the task's firm by reading its tenant row (a public-schema query per task), then
# sets search_path on the task's first query. Portico enters it from the routing cache instead.
task_prerun.disconnect(dispatch_uid="tenant_schemas_switch_schema")


@task_prerun.connect(dispatch_uid="portico_switch_schema")
def _enter_the_tasks_firm(task: Any, **kwargs: Any) -> None:
    """tenant-schemas-celery's switch_schema, with the firm from ``tenants.routing``: one statement per task.

    The tenant is cached per worker process and checked against the routing version in the
    statement that sets ``search_path``, so a change to the firm reaches the next task.
    """
    from django_tenants.utils import get_public_schema_name

    from tenants.db import tenant_connection
    from tenants.routing import tenant_for_schema

    connection = tenant_connection()
    task._old_schema = (connection.schema_name, connection.include_public_schema)
    schema = get_schema_name_from_task(task, kwargs) or get_public_schema_name()
    if connection.schema_name == schema:
        return
    if schema == get_public_schema_name():
        connection.set_schema_to_public()
        return
    tenant_for_schema(schema)


def send_to_every_active_firm(task: Any) -> int:
    """Queue ``task`` once in each active firm, the firm's schema stamped on each message; how many firms.

    The body of every scheduled fan-out: beat runs in public, each firm's work runs as its own task.
    """
    from tenants.models import Tenant

    firms = list(Tenant.objects.filter(kind=Tenant.Kind.FIRM, status=Tenant.Status.ACTIVE))
    for firm in firms:
        with firm:  # stamps the firm's schema on the message
            task.delay()
    return len(firms)


class PorticoCelery(CeleryApp[PorticoTask]):
    task_cls = "core.celery:PorticoTask"


app = PorticoCelery("portico")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect(dispatch_uid="portico_refuse_transaction_pooling")
def _refuse_transaction_pooling(**kwargs: Any) -> None:
    """A worker behind a pooler in transaction mode would run tasks in whichever firm's session it got: stop."""
    from django.core.exceptions import ImproperlyConfigured

    from core.startup import refuse_transaction_pooling

    try:
        refuse_transaction_pooling()
    except ImproperlyConfigured as exc:
        # SystemExit, because Celery logs and ignores an Exception raised by a signal handler.
        raise SystemExit(f"error: {exc}") from None


@beat_init.connect(dispatch_uid="portico_one_scheduler")
def _one_scheduler(**kwargs: Any) -> None:
    """A second scheduler would send every scheduled job twice: the first one holds a lock, the others stop."""
    from django.core.exceptions import ImproperlyConfigured

    from core.startup import hold_scheduler_lock

    try:
        hold_scheduler_lock()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"error: {exc}") from None
