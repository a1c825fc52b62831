"""System checks: refuse to run with DEBUG off on the local master key unless explicitly allowed (SPEC §10)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from core.env import env_choice
from residency.regions import registry


@checks.register(checks.Tags.security, deploy=False)
def local_master_key_not_in_production(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG or settings.PORTICO_ALLOW_LOCAL_KMS:
        return []
    try:
        local_regions = [region.code for region in registry().values() if region.keys.provider == "local"]
        platform_default = env_choice("PORTICO_KMS_PROVIDER", "local", ["local", "aws"])
        platform = env_choice("PORTICO_PLATFORM_KMS_PROVIDER", platform_default, ["local", "aws"])
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="kms.E002")]
    problems = []
    if local_regions:
        problems.append(f"regions {', '.join(local_regions)} use the local key provider")
    if platform == "local":
        problems.append("platform secrets are sealed by the local master key")
    if not problems:
        return []
    return [
        checks.Error(
            "; ".join(problems) + " while DEBUG is off",
            hint="Set PORTICO_KMS_PROVIDER=aws (or per region in PORTICO_REGIONS_FILE), "
            "or PORTICO_ALLOW_LOCAL_KMS=true to accept a master key held by the application.",
            id="kms.E001",
        )
    ]
