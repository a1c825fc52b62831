# What Portico uses of tenant-schemas-celery (which ships no types), on celery-types' Celery.
from typing import Any

from celery import Celery, Task
from typing_extensions import TypeVar

_T = TypeVar("_T", bound=Task[Any, Any], default=Task[Any, Any])

class CeleryApp(Celery[_T]): ...

def get_schema_name_from_task(task: Task[Any, Any], kwargs: dict[str, Any]) -> str | None: ...
