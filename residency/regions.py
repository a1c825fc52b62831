"""The region registry: which regions Portico may place a firm in.

Defaults cover the four regions the product launched with. Operators can
replace the list with ``PORTICO_REGIONS`` (comma-separated codes) or with a JSON
file named by ``PORTICO_REGIONS_FILE`` holding ``{"code": {"name": ...}, ...}``.
Storage and key settings per region arrive with the residency issue; the
registry is the one place they will hang from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Region:
    code: str
    name: str


DEFAULT_REGIONS: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "eu-central-1": "Europe (Frankfurt)",
    "ca-central-1": "Canada (Central)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}


class UnknownRegion(ValueError):
    pass


@cache
def registry() -> dict[str, Region]:
    file_name = os.environ.get("PORTICO_REGIONS_FILE")
    if file_name:
        try:
            data = json.loads(Path(file_name).read_text())
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(f"PORTICO_REGIONS_FILE={file_name!r}: {exc}") from exc
        if not isinstance(data, dict) or not data:
            raise ImproperlyConfigured("PORTICO_REGIONS_FILE must hold a non-empty JSON object")
        return {code: Region(code, str(spec.get("name", code))) for code, spec in data.items()}
    codes = os.environ.get("PORTICO_REGIONS")
    if codes:
        chosen = [c.strip() for c in codes.split(",") if c.strip()]
        return {code: Region(code, DEFAULT_REGIONS.get(code, code)) for code in chosen}
    return {code: Region(code, name) for code, name in DEFAULT_REGIONS.items()}


def region_codes() -> list[str]:
    return list(registry())


def get_region(code: str) -> Region:
    try:
        return registry()[code]
    except KeyError:
        raise UnknownRegion(
            f"unknown region {code!r} (known: {', '.join(registry())})"
        ) from None
