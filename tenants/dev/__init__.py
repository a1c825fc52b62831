"""Portico on a developer's machine: `portico up` (``up``), embedded PostgreSQL (``embedded_db``), the demo (``demo``).

Above the control plane's services (it onboards the demo firm and migrates),
below the vendor CLI, which runs it (``portico up``). The embedded server is
also what every `portico` process joins when DATABASE_URL is unset
(``tenants.dev.process.setup_django``).
"""
