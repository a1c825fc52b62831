"""Make the audit log append-only in the database, and create the chain head.

The guard function is created in each firm's own schema (it refers to nothing
outside its trigger's row), so a schema stamped or cloned from the template
carries function and triggers with it, and no firm depends on another schema.
DELETE is let through only for the retention prune, which anchors the pruned
prefix first and then sets ``portico.audit_prune_through`` for its transaction.
"""

from django.db import migrations

GENESIS = "0" * 64

GUARD = """
CREATE OR REPLACE FUNCTION audit_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.sequence <= coalesce(nullif(current_setting('portico.audit_prune_through', true), ''), '0')::bigint THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_guard();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_guard();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunSQL(GUARD, UNGUARD),
        migrations.RunSQL(
            f"INSERT INTO audit_auditchainhead (id, sequence, hash) VALUES (1, 0, '{GENESIS}') ON CONFLICT DO NOTHING",
            "DELETE FROM audit_auditchainhead",
        ),
    ]
