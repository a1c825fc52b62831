# The django-axes handler Portico subclasses (django-axes ships no types).
from typing import Any

from django.http import HttpRequest

class AxesDatabaseHandler:
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int: ...
