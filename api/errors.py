"""DRF's exception handler: every API error in one shape, ``{"error": {"code", "message", "fields"}}``.

Set as ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``. A service's Django
``ValidationError`` is a 400 (its field errors under ``fields``, nested fields
named with dots: ``client.email``, ``documents.0.type``), ``Http404`` a 404 and
Django's ``PermissionDenied`` a 403, like DRF's own exceptions; DRF's headers
(``WWW-Authenticate``, ``Retry-After``, ``Allow``) are kept. An exception that is
none of these is left to ``core.error_pages``, which answers 500 in the same shape.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import ErrorFields, error_body

NOT_FIELDS = {"non_field_errors", "__all__", "detail"}
INVALID = "Some fields are not valid; see fields."


class StripeUnavailable(exceptions.APIException):
    """Stripe could not be reached or refused the call: 502, and nothing was changed at Portico."""

    status_code = 502
    default_detail = "Stripe did not take the request; nothing was changed at Portico. Try again."
    default_code = "stripe_unavailable"


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    # Named like Serializer.fields; DRF's metaclass moves a declared field out of the attribute's way.
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every API error (for the OpenAPI schema)."""

    error = ErrorDetailSerializer()


def _flatten(detail: object, prefix: str = "") -> ErrorFields:
    if isinstance(detail, dict):
        found: ErrorFields = {}
        for key, value in detail.items():
            found.update(_flatten(value, f"{prefix}{key}."))
        return found
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        found = {}
        for index, item in enumerate(detail):
            found.update(_flatten(item, f"{prefix}{index}."))
        return found
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix.rstrip("."): messages} if messages else {}


def _from_django(error: DjangoValidationError) -> exceptions.ValidationError:
    detail = error.message_dict if hasattr(error, "error_dict") else error.messages
    return exceptions.ValidationError(detail)


def _message_and_fields(exc: exceptions.APIException) -> tuple[str, ErrorFields]:
    detail = exc.detail
    if isinstance(detail, dict):
        general = [str(message) for key in NOT_FIELDS for message in _as_list(detail.get(key))]
        fields = _flatten({key: value for key, value in detail.items() if key not in NOT_FIELDS})
        return (" ".join(general) or _summary(fields)), fields
    if isinstance(detail, list):
        return " ".join(str(message) for message in detail), {}
    return str(detail), {}


def _summary(fields: ErrorFields) -> str:
    """The message of a refusal that only names fields: each field with what is wrong with it."""
    if not fields:
        return INVALID
    return " ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _as_drf(exc: Exception) -> Exception:
    said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else None
    if isinstance(exc, DjangoValidationError):
        return _from_django(exc)
    if isinstance(exc, Http404):
        return exceptions.NotFound(said)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(said)
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_drf(exc)
    response = exception_handler(exc, context)  # DRF's status and headers (WWW-Authenticate, Retry-After)
    if response is None or not isinstance(exc, exceptions.APIException):
        return None
    message, fields = _message_and_fields(exc)
    code = exc.default_code if isinstance(exc, exceptions.ValidationError) else _code(exc)
    response.data = error_body(code=str(code), message=message, fields=fields)
    return response


def _code(exc: exceptions.APIException) -> str:
    detail = exc.detail
    return str(getattr(detail, "code", None) or exc.default_code)


def refused_response(error: DjangoValidationError) -> Response:
    """A service's refusal as the 400 the handler would give, for views that answer instead of raising."""
    exc = _from_django(error)
    message, fields = _message_and_fields(exc)
    return Response(error_body(code=str(exc.default_code), message=message, fields=fields), status=400)
