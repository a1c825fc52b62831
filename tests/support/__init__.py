"""What the tests stand on: the run's databases, the two firms, the one cast, real servers and helpers.

- ``bootstrap``: the pytest plugin that picks the run's PostgreSQL and this process's database.
- ``database``: the template built once per run and copied per process; URLs for subprocesses.
- ``firms``: firm A (acme) and firm B (globex), and test clients on their sites.
- ``cast``: firm A's people (one per role, clients, outside counsel, an outsider) and matters.
- ``servers``, ``clamd``, ``residency``: moto (S3, KMS), ClamAV's daemon, storage and region fixtures.
- ``billing``, ``casework``, ``uploads``: helpers that draft invoices, answer intake, make files.
"""
