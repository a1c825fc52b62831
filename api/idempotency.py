"""Idempotency keys on the API's POSTs (issue 14 item 2): a retried POST acts once.

A POST with an ``Idempotency-Key`` header claims the key for its caller (the
token, or the signed-in user) and endpoint by inserting an
``IdempotencyKey`` row in the firm's schema, committed before the view acts;
the unique constraint is the lock. When the view has answered, its status
and body are stored on the row (an answer of 500 or more releases the key,
so a retry can act, as does one that raises). Then, for 24 hours (``RETENTION``):

* the same key and the same body: the stored answer, with
  ``Idempotent-Replayed: true``, and nothing done again;
* the same key and another body: 422 in the one error shape;
* the same key while the first request is still being handled: 409.

``ApiView`` is the base of every API view; it runs this after authentication,
permissions and throttling (so a refused caller claims nothing).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.http.request import RawPostDataException
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
MAX_KEY = 255


class KeyInUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being handled; retry in a moment."
    default_code = "idempotency_key_in_use"


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with another body; use a new key for a new request."
    default_code = "idempotency_key_reused"


def _owner(request: Request) -> str:
    token = request.auth
    if token is not None and getattr(token, "pk", None) is not None:
        return f"token:{token.pk}"
    return f"user:{request.user.pk}"


def _request_hash(request: Request) -> str:
    """SHA-256 of the body; of a form (an upload: not read whole into memory), its fields and files' contents."""
    content_type = request.content_type or ""
    if not content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        try:
            return hashlib.sha256(request._request.body).hexdigest()
        except RawPostDataException:
            pass  # a form already read (the CSRF check)
    digest = hashlib.sha256()
    data = request.data
    fields = data.lists() if isinstance(data, QueryDict) else data.items() if isinstance(data, dict) else []
    for name, value in sorted((name, repr(value)) for name, value in fields if name not in request.FILES):
        digest.update(f"{name}={value}\n".encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(f"{name}:{upload.name}:{upload.size}\n".encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def claim(request: Request) -> IdempotencyKey | Response | None:
    """The row claimed for this POST, the stored answer to replay, or None (no key given)."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY:
        raise ValidationError({HEADER: [f"Give 1 to {MAX_KEY} characters."]})
    owner, endpoint, digest = _owner(request), request.path, _request_hash(request)
    IdempotencyKey.objects.filter(created__lt=timezone.now() - RETENTION).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(owner=owner, endpoint=endpoint, key=key, request_hash=digest)
    except IntegrityError:
        pass
    with transaction.atomic():
        held = IdempotencyKey.objects.select_for_update().get(owner=owner, endpoint=endpoint, key=key)
    if held.request_hash != digest:
        raise KeyReused()
    if held.status is None:
        raise KeyInUse()
    replay = Response(held.body, status=held.status)
    replay["Idempotent-Replayed"] = "true"
    return replay


def settle(row: IdempotencyKey, response: Response, *, redacts: tuple[str, ...] = ()) -> None:
    """Store the answer on the claimed row; an answer of 500 or more releases the key instead.

    ``redacts``: fields of the answer never stored (a secret shown once): a replay has them empty."""
    if response.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
        row.delete()
        return
    row.status = response.status_code
    row.body = json.loads(json.dumps(getattr(response, "data", None), cls=JSONEncoder))  # dates as sent
    if isinstance(row.body, dict):
        row.body.update({field: "" for field in redacts if field in row.body})
    row.save(update_fields=["status", "body"])


class ApiView(APIView):
    """The base of the API's views: idempotency keys on POST (above); ``idempotency_redacts`` names answer
    fields the key's row must not keep."""

    _claimed: IdempotencyKey | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "POST":
            return
        claimed = claim(request)
        if isinstance(claimed, Response):
            stored = claimed
            self.post = lambda *_args, **_kwargs: stored  # the handler dispatch calls next: the stored answer
        elif claimed is not None:
            self._claimed = claimed

    def handle_exception(self, exc: Exception) -> Response:
        try:
            return super().handle_exception(exc)
        except BaseException:  # a server error: DRF re-raises, finalize_response is not reached
            if self._claimed is not None:
                claimed, self._claimed = self._claimed, None
                claimed.delete()  # released, so a retry can act
            raise

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._claimed is not None:
            claimed, self._claimed = self._claimed, None
            settle(claimed, response, redacts=getattr(self, "idempotency_redacts", ()))
        return response
