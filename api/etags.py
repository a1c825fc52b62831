"""ETags on the API's reads, and ``If-Match`` on its changes (issue 14 item 2).

``ApiETagMiddleware``: every successful GET (or HEAD) under ``/api/`` carries a
strong ``ETag``, a hash of the representation exactly as sent (so it differs
between callers who see different things, and changes with the object). A GET
whose ``If-None-Match`` names it is answered 304, with no body.

``require_current``: on PATCH or PUT of an object (``api.permissions.ObjectView``),
an ``If-Match`` that does not name the object's current ETag (the ETag its GET
would carry now) is refused with 412 in the one error shape: the caller's copy
is stale and it would overwrite someone else's change. ``If-Match: *`` and no
``If-Match`` at all go ahead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from rest_framework import status
from rest_framework.exceptions import APIException

if TYPE_CHECKING:  # rest_framework.views imports api.permissions while it defines APIView
    from rest_framework.request import Request
    from rest_framework.views import APIView

API_PREFIX = "/api/"
KEPT_ON_304 = ("Cache-Control", "Content-Location", "Date", "Expires", "Vary")


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "This object changed since you read it (If-Match names an older ETag); read it again."
    default_code = "precondition_failed"


def etag_of(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()[:40]}"'


def _named(header: str, *, weak: bool) -> set[str]:
    """The entity tags of an If-Match / If-None-Match header; ``weak``: as If-None-Match compares (``W/`` ignored)."""
    tags = {tag.strip() for tag in header.split(",") if tag.strip()}
    return {tag.removeprefix("W/") for tag in tags} if weak else {tag for tag in tags if not tag.startswith("W/")}


class ApiETagMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            request.method not in ("GET", "HEAD")
            or not request.path.startswith(API_PREFIX)
            or response.status_code != status.HTTP_200_OK
            or not isinstance(response, HttpResponse)  # a streamed download has no representation to hash here
        ):
            return response
        tag = etag_of(response.content)
        response["ETag"] = tag
        wanted = request.headers.get("If-None-Match")
        if wanted is not None and (wanted.strip() == "*" or tag in _named(wanted, weak=True)):
            not_modified = HttpResponseNotModified()
            not_modified["ETag"] = tag
            for header in KEPT_ON_304:
                if header in response:
                    not_modified[header] = response[header]
            return not_modified
        return response


def require_current(view: APIView, request: Request) -> None:
    """412 when the request's If-Match does not name the ETag the object's GET gives now."""
    wanted = request.headers.get("If-Match")
    read = getattr(view, "get", None)
    if wanted is None or wanted.strip() == "*" or read is None:
        return
    current = view.finalize_response(request, read(request, **view.kwargs))
    current.render()
    if etag_of(current.content) not in _named(wanted, weak=False):
        raise PreconditionFailed()
