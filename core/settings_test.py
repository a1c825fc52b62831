"""Test settings: the real settings, with a cheap password hasher and outbox email."""

from core.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# pytest-django runs with DEBUG off; tests use the local key provider on purpose.
PORTICO_ALLOW_LOCAL_KMS = True

# The suite's workers share one Redis and the firms' names: a firm-wide API budget would count
# every test's token requests together. Its own test sets a small one (tests/test_api_firm_rate.py).
PORTICO_API_FIRM_RATE = "1000000/min"

# A tenant app with every encrypted field type, for kms/ tests only (tests/kms_demo).
from core.settings import INSTALLED_APPS, TENANT_APPS  # noqa: E402

TENANT_APPS = [*TENANT_APPS, "tests.kms_demo"]
INSTALLED_APPS = [*INSTALLED_APPS, "tests.kms_demo"]
