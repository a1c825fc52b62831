# What Portico uses of tenant-schemas-celery (which ships no types), on celery-types' Task.
from typing import Any

from celery import Task

class TenantTask(Task[..., Any]): ...
