"""Who may call an API view: one staff permission, and the order in which an object's views decide.

* ``StaffPermission`` — the DRF permission class: the firm's active staff, and
  with ``required_permission`` on the view, staff whose role holds it.
  ``staff_user(request, permission)`` is the same rule inside a handler, for a
  method that needs more than the view's others (POST on a list anyone reads).
* ``ObjectView`` — the base of every view whose URL names an object: signed in
  (401/403), then the object through its accessor (``reach``: 404 for missing
  and not yours), then the permission classes (403). So "not yours" is 404
  whatever the method or role, exactly as in the web UI (``portal.guards``);
  on PATCH/PUT, then the ``If-Match`` precondition (``api.etags``: 412).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from api.etags import require_current
from api.idempotency import ApiView
from core.access import signed_in
from core.models import User


def staff_may(user: object, permission: str | None) -> bool:
    if not isinstance(user, User) or not signed_in(user) or not user.is_staff:
        return False
    return permission is None or user.has_perm(permission)


def staff_user(request: Request, permission: str | None = None) -> User:
    """The signed-in staff member, holding ``permission`` when one is named; PermissionDenied (403) otherwise."""
    user = request.user
    if not staff_may(user, permission):
        raise PermissionDenied("Your role does not allow this.")
    assert isinstance(user, User)
    return user


class StaffPermission(BasePermission):
    """The firm's staff; with the view's ``required_permission``, staff whose role holds it."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return staff_may(request.user, getattr(view, "required_permission", None))


class ObjectView(ApiView):
    """Signed in, then ``reach`` (the accessor: 404), then the permission classes (403)."""

    def reach(self, request: Request, **kwargs: Any) -> None:
        raise NotImplementedError

    def check_permissions(self, request: Request) -> None:
        if not request.user.is_authenticated:
            self.permission_denied(request)  # 401/403 before anything about the object is looked at
        self.reach(request, **self.kwargs)
        super().check_permissions(request)
        if request.method in ("PATCH", "PUT"):
            require_current(self, request)  # 412 on a stale If-Match, after the caller may change it at all


def signed_in_user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User), "the view requires a signed-in user (IsAuthenticated)"
    return user
