"""Settings of the worker tests/test_collections_worker.py starts: the test worker's, with the reminder tasks
(the fan-out, each firm's firing, each send) routed to the test's own queue (``PORTICO_TEST_QUEUE``)."""

import os

from tests.support.celery_worker_settings import *  # noqa: F403

CELERY_TASK_ROUTES = {"billing.collections.tasks.*": {"queue": os.environ["PORTICO_TEST_QUEUE"]}}
