"""Who may open a page of the staff workspace.

The order is fixed: signed in (else the sign-in page), then the object through
its accessor (404 when missing or not yours), then staff and role permission
(403), then the HTTP method (405). So "not yours" is always 404, and nothing
about an object leaks to someone who may not see it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed

from core.models import User


def signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User), "the view must be wrapped in login_required"
    return user


def require_staff(request: HttpRequest, *, permission: str | None = None) -> User:
    user = signed_in_user(request)
    if not user.is_staff:
        raise PermissionDenied("The staff workspace is for the firm's staff.")
    if permission is not None and not user.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")
    return user


def wrong_method(request: HttpRequest, *allowed: str) -> HttpResponseNotAllowed | None:
    """A 405 when the method is not allowed; call it after the access checks."""
    allowed_methods = {*allowed, "HEAD"} if "GET" in allowed else set(allowed)
    if request.method in allowed_methods:
        return None
    return HttpResponseNotAllowed(sorted(allowed))
