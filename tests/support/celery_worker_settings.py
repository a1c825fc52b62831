"""Settings of the Celery worker that tests/test_celery.py starts: the test settings, mail written to files.

The worker runs in another process, so the test reads what it sends from
``$PORTICO_VAR_DIR/mail`` rather than from Django's in-memory outbox.
"""

from core.settings_test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
