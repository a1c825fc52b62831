"""The firm's currency moves from the trust settings to the firm's settings with its value (issue 10 item 3).

``billing/0010_firm_currency_from_trust_settings`` is run on a schema of the
test's own, migrated only up to the migration before it, whose trust settings
say EUR; afterwards the firm's settings say EUR and the trust settings have no
currency column. Inside the test's transaction, so the schema goes with it.
"""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tenants.db import tenant_connection
from tests.support.firms import Firm

BEFORE = [("billing", "0009_closed_month"), ("core", "0006_firm_currency")]
AFTER = [("billing", "0010_firm_currency_from_trust_settings")]


def test_the_trust_settings_currency_is_carried_over_to_the_firm_settings(firm_a: Firm) -> None:
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migcurrency"')
    tenant_connection().set_schema("migcurrency")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        old.get_model("billing", "TrustSettings").objects.create(id=1, currency="EUR")
        old.get_model("core", "FirmSettings").objects.create(id=1)

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        new = executor.loader.project_state(AFTER).apps
        assert new.get_model("core", "FirmSettings").objects.get(id=1).currency == "EUR"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'migcurrency'"
                " AND table_name = 'billing_trustsettings' AND column_name = 'currency'"
            )
            assert cursor.fetchone() == (0,)
    finally:
        tenant_connection().set_schema_to_public()
