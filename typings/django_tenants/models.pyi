# The part of django-tenants' models that Portico builds on (django-tenants ships no types), so that
# Tenant and Domain are models to mypy. Keep in step with django_tenants/models.py.
from types import TracebackType
from typing import Any, ClassVar

from django.db import models
from django.http import HttpRequest

class TenantMixin(models.Model):
    auto_drop_schema: ClassVar[bool]
    auto_create_schema: ClassVar[bool]
    clone_mode: ClassVar[str]
    schema_name = models.CharField(max_length=63, unique=True)
    domain_url: str | None
    domain_subfolder: str | None

    class Meta:
        abstract = True

    def __enter__(self) -> None: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> None: ...
    def save(self, verbosity: int = 1, *args: Any, **kwargs: Any) -> None: ...
    # django-tenants puts force_drop before the arguments Model.delete takes.
    def delete(  # type: ignore[override]
        self, force_drop: bool = False, *args: Any, **kwargs: Any
    ) -> tuple[int, dict[str, int]]: ...
    def activate(self) -> None: ...
    @classmethod
    def deactivate(cls) -> None: ...
    def pre_drop(self) -> None: ...
    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool: ...
    def get_primary_domain(self) -> DomainMixin | None: ...
    def reverse(self, request: HttpRequest, view_name: str) -> str: ...

class DomainMixin(models.Model):
    domain = models.CharField(max_length=253, unique=True)
    tenant: Any  # a foreign key to settings.TENANT_MODEL; Domain's own field types it
    is_primary = models.BooleanField(default=True)

    class Meta:
        abstract = True
