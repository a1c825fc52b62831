"""What a person or a program sees when something goes wrong: one error shape for the API.

``error_body(code=..., message=..., fields=None)`` is the body of every API
error, ``{"error": {"code", "message", "fields"}}``: DRF's exception handler
(``api.errors``) and the middleware that answer outside DRF views (an unknown
``/api/`` path, a server error, a suspended firm) all build it here.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

ErrorFields = dict[str, list[str]]


def error_body(*, code: str, message: str, fields: ErrorFields | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def api_error_response(*, status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message), status=status)
