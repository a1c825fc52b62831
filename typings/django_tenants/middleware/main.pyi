# What Portico builds on of django-tenants' host routing (django-tenants ships no types).
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

class TenantMainMiddleware(MiddlewareMixin):
    TENANT_NOT_FOUND_EXCEPTION: type[Exception]
    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str: ...
    def get_tenant(self, domain_model: Any, hostname: str) -> Any: ...
    def process_request(self, request: HttpRequest) -> HttpResponse | None: ...
