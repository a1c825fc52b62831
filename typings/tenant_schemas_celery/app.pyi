# What Portico uses of tenant-schemas-celery (which ships no types), on celery-types' Celery.
from typing import Any

from celery import Celery, Task
from typing_extensions import TypeVar

_T = TypeVar("_T", bound=Task[Any, Any], default=Task[Any, Any])

class CeleryApp(Celery[_T]): ...
