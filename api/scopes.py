"""Which scope of an access token each API view needs.

Every API view names its area in ``scope_area`` (``matters``, ``documents``,
``billing``, ``trust``, ``access``), and a token reaches it with
``<area>:read`` for GET and HEAD and ``<area>:write`` for anything else (but
``webhooks:manage`` for every method on ``webhooks``); or
``ANY_SCOPE`` for what shows a token's holder only itself (``/me``, the
schema); or ``SESSION_ONLY`` for what no token may do whatever its scopes
(registering and revoking integrations: a leaked token must not mint itself
lasting credentials). A view that names nothing is closed to tokens (403) too:
forgetting is safe, and ``tests/test_api_tokens.py`` fails on it. The scopes and their
descriptions are ``OAUTH2_PROVIDER["SCOPES"]`` in the settings.
"""

from __future__ import annotations

AREAS = ("matters", "documents", "billing", "trust", "access", "webhooks")
# Areas with one scope for every method: managing webhooks is all or nothing.
ONE_SCOPE = {"webhooks": "webhooks:manage"}
ANY_SCOPE = "*"
SESSION_ONLY = "session only"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def declared_area(view: object) -> str | None:
    """The view's ``scope_area``, unwrapping DRF's function-view class."""
    area = getattr(view, "scope_area", None)
    return area if area in (ANY_SCOPE, SESSION_ONLY) or area in AREAS else None


def scope_needed(view: object, method: str) -> str | None:
    """The scope a token needs for ``method`` on ``view``: ``ANY_SCOPE``, ``<area>:<verb>``, or None (closed)."""
    area = declared_area(view)
    if area is None or area == SESSION_ONLY:
        return None
    if area == ANY_SCOPE:
        return area
    if area in ONE_SCOPE:
        return ONE_SCOPE[area]
    return f"{area}:{'read' if method.upper() in READ_METHODS else 'write'}"
