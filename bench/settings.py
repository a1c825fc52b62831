"""Settings for the benchmark: the test settings plus, optionally, SYNTHETIC tenant models.

``PORTICO_BENCH_SYNTHETIC_MODELS=N`` installs ``bench.synthetic`` as a tenant app
with N models whose migrations live in the package named by
``PORTICO_BENCH_SYNTHETIC_MIGRATIONS`` (written by ``bench.onboarding``).
"""

from core.env import env_int, env_str
from core.settings_test import *  # noqa: F403
from core.settings_test import INSTALLED_APPS, TENANT_APPS

BENCH_SYNTHETIC_MODELS = env_int("PORTICO_BENCH_SYNTHETIC_MODELS", 0, minimum=0)
if BENCH_SYNTHETIC_MODELS:
    TENANT_APPS = [*TENANT_APPS, "bench.synthetic"]
    INSTALLED_APPS = [*INSTALLED_APPS, "bench.synthetic"]
    MIGRATION_MODULES = {"synthetic": env_str("PORTICO_BENCH_SYNTHETIC_MIGRATIONS")}
