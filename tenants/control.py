"""The control plane's database: where the firm directory and its outbox are read and written.

With ``PORTICO_CONTROL_DATABASE_URL`` the control plane is a database of its own
(alias ``control``) holding only the directory tables; without it, it is the
cell's own database on the ``default`` connection (a single-cell deployment), so
a directory write commits in the same transaction as the firm's rows.
``ControlPlaneRouter`` (first in ``DATABASE_ROUTERS``) sends the directory models
there and keeps every other model out of the control database.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

CONTROL_ALIAS = "control"
# Models of the tenants app that live on the control plane (lower-case model names).
CONTROL_MODELS = frozenset({"firmdirectory", "directoryoutbox"})


def control_alias() -> str:
    """The database alias of the control plane: ``control`` when configured, else ``default``."""
    return CONTROL_ALIAS if CONTROL_ALIAS in connections.settings else "default"


def control_is_separate() -> bool:
    return control_alias() != "default"


def _is_control(app_label: str, model_name: str | None) -> bool:
    return app_label == "tenants" and model_name in CONTROL_MODELS


class ControlPlaneRouter:
    """Directory models to the control plane; nothing else into a separate control database."""

    def _route(self, model: type[Any]) -> str | None:
        meta = model._meta
        return control_alias() if _is_control(meta.app_label, meta.model_name) else None

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return self._route(model)

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return self._route(model)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if db == CONTROL_ALIAS:
            return _is_control(app_label, model_name)
        if _is_control(app_label, model_name) and control_is_separate():
            return False
        return None  # django-tenants' router decides (public schema only, as a shared app)
