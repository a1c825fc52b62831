"""The Celery app. Every task runs in the schema of the firm that sent it.

tenant-schemas-celery stamps the sender's schema into each message and
switches to it in the worker. A task that needs a firm and arrives without one
(sent from the public schema) fails with TaskWithoutTenant instead of quietly
running against the control plane; control-plane tasks say so with
``tenant_required = False``.
"""

from __future__ import annotations

import os
from typing import Any

from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")


class TaskWithoutTenant(RuntimeError):
    pass


class PorticoTask(TenantTask):
    abstract = True
    tenant_required = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from tenants.db import current_schema

        if self.tenant_required and current_schema() == "public":
            raise TaskWithoutTenant(f"{self.name} needs a firm but was sent without one")
        return super().__call__(*args, **kwargs)


class PorticoCelery(CeleryApp):
    task_cls = "core.celery:PorticoTask"


app = PorticoCelery("portico")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
