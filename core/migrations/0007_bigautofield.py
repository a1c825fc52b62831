"""Every id in a firm's schema a bigint (issue 15 item 8): the tables of the third-party apps too.

Portico's own models have used BigAutoField from the start (DEFAULT_AUTO_FIELD and each app's
``default_auto_field``), so makemigrations has nothing to alter for them. The tables of
django.contrib.auth and contenttypes, django-axes, django-guardian and django-otp come from
those apps' own migrations with 32-bit ids, and the foreign keys pointing at them (also from
Portico's tables: a user's groups, a matter's group permissions) with them. Their migrations
cannot be changed, so this widens the columns in the database: every primary- or foreign-key
column of the schema still smallint or integer, then every sequence still narrower than
bigint. Django's idea of those models is unchanged (AutoField); only the storage is wider.
It runs in each firm's schema and the template (core is a tenant app), in its current schema,
naming no schema. tests/test_citus_ready.py fails on any narrower id that appears later.
"""

from django.db import migrations

WIDEN = """
DO $$
DECLARE
    key_column record;
    narrow_sequence record;
BEGIN
    FOR key_column IN
        SELECT DISTINCT cl.relname AS table_name, att.attname AS column_name
        FROM pg_constraint con
        JOIN pg_class cl ON cl.oid = con.conrelid
        JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
        WHERE con.contype IN ('p', 'f')
          AND cl.relnamespace = current_schema()::regnamespace
          AND att.atttypid IN ('smallint'::regtype, 'integer'::regtype)
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE bigint', key_column.table_name, key_column.column_name);
    END LOOP;
    FOR narrow_sequence IN
        SELECT sequencename FROM pg_sequences
        WHERE schemaname = current_schema() AND data_type <> 'bigint'::regtype
    LOOP
        EXECUTE format('ALTER SEQUENCE %I AS bigint', narrow_sequence.sequencename);
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    # After the last migration of every app whose tables it widens.
    dependencies = [
        ("core", "0006_firm_currency"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("axes", "0010_accessattemptexpiration"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        ("otp_totp", "0003_add_timestamps"),
        ("sessions", "0001_initial"),
    ]

    # Narrowing back could fail on ids beyond 2^31; the widening is kept when migrating backwards.
    operations = [migrations.RunSQL(WIDEN, migrations.RunSQL.noop)]
