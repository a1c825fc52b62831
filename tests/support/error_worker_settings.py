"""Settings of the worker that tests/test_error_reports.py starts: the test worker's, plus a task that fails."""

from tests.support.celery_worker_settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.support.error_tasks"]
