"""Cursor pagination of every API list, and the list filters validated into the one error shape.

``CursorPage``: a page is ``{"next", "previous", "results"}``; ``next`` and
``previous`` are URLs carrying an opaque ``cursor`` (signed, so a forged or
truncated one is a 400, never a query on a value the API did not give);
``limit`` (default 50, at most 200) sets the page size. Lists are ordered by
the primary key (``cursor_ordering`` on a view: ``"pk"`` or ``"-pk"``), which
is unique, so walking the pages sees every row once even while rows are added.

``filtered``: a list's query parameters validated by a serializer (a bad value
is a 400 naming the parameter); the view maps the valid ones onto its query.
A view sets ``pagination_class = CursorPage`` so the OpenAPI schema describes
the page and its ``cursor`` and ``limit`` parameters; ``paginated`` answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core import signing
from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

M = TypeVar("M", bound=Model)

SALT = "api.pagination.cursor"
BAD_CURSOR = "Not a cursor this list gave; start again without one."


class CursorPage(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    page_size_query_description = "How many results per page (default 50, at most 200)."
    cursor_query_description = "The page to read: the cursor in the previous page's next or previous URL."
    ordering = "pk"

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:  # as signing.dumps writes it
                parameter["schema"]["pattern"] = "^[A-Za-z0-9_.:-]+$"
            if parameter["name"] == self.page_size_query_param:  # more than the cap is read as the cap
                parameter["schema"]["minimum"] = 1
        return parameters

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: APIView) -> tuple[str, ...]:
        return (getattr(view, "cursor_ordering", self.ordering),)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({"limit": [f"A whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)

    def encode_cursor(self, cursor: Cursor) -> str:
        token = signing.dumps([cursor.offset, cursor.reverse, cursor.position], salt=SALT, compress=True)
        return str(replace_query_param(self.base_url or "", self.cursor_query_param, token))

    def decode_cursor(self, request: Request) -> Cursor | None:
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        try:
            offset, reverse, position = signing.loads(token, salt=SALT)
        except (signing.BadSignature, ValueError, TypeError) as exc:
            raise ValidationError({"cursor": [BAD_CURSOR]}) from exc
        if not isinstance(offset, int) or offset < 0 or not isinstance(reverse, bool):
            raise ValidationError({"cursor": [BAD_CURSOR]})
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=reverse, position=position)


def paginated(
    request: Request,
    view: APIView,
    queryset: QuerySet[M],
    serialize: Callable[[Sequence[M]], Any],
) -> Response:
    """One page of ``queryset`` (ordered by the view's ``cursor_ordering``), each row through ``serialize``."""
    pager = CursorPage()
    rows = pager.paginate_queryset(queryset, request, view=view) or []
    return pager.get_paginated_response(serialize(rows))


def filtered(request: Request, spec: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """The list filters given in the query string, validated by ``spec`` (a 400 naming each bad one)."""
    given = {name: value for name, value in request.query_params.items() if name in spec().fields}
    body = spec(data=given)
    body.is_valid(raise_exception=True)
    return {name: value for name, value in body.validated_data.items() if value not in (None, "")}
