"""The SYNTHETIC benchmark models, built from ``schema.py`` (see the package docstring)."""

from __future__ import annotations

from django.db import models

from bench.synthetic import schema


def _build(number: int) -> type[models.Model]:
    opts = schema.options(number)
    meta = type("Meta", (), {"app_label": schema.APP_LABEL, **opts})
    attrs: dict[str, object] = {"__module__": __name__, "Meta": meta}
    # The primary key comes from DEFAULT_AUTO_FIELD, exactly as in the migrations.
    attrs.update((name, field) for name, field in schema.fields(number) if name != "id")
    return type(schema.model_name(number), (models.Model,), attrs)


for _number in range(1, schema.model_count() + 1):
    globals()[schema.model_name(_number)] = _build(_number)
