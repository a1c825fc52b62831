"""What the tests stand on: the run's databases, the two firms, the one cast, real servers and helpers.

- ``bootstrap``: the pytest plugin that picks the run's PostgreSQL and this process's database.
- ``database``: the template built once per run and copied per process; URLs for subprocesses.
- ``firms``: firm A (acme) and firm B (globex), and test clients on their sites.
- ``cast``: firm A's people (one per role, clients, outside counsel, an outsider) and matters.
- ``servers``, ``clamd``, ``residency``: moto (S3, KMS), ClamAV's daemon, storage and region fixtures.
- ``billing``, ``casework``, ``uploads``: helpers that draft invoices, answer intake, make files.
- ``infra_servers``, ``celery_worker_settings``, ``error_worker_settings``: nginx and pgbouncer, the settings
  of the worker processes the tests start.
- ``personal_data``, ``error_views``, ``error_tasks``, ``sentry_capture``: the error-report tests' values,
  failing view and task, and the sentry-sdk transport and ingest server that capture what would be sent.
"""
