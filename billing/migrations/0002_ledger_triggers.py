"""The database's own guarantees for the ledger (see billing/ledger/models.py).

* ``billing_entry_balanced``: a constraint trigger, DEFERRABLE INITIALLY
  DEFERRED, that at commit refuses an entry whose debits and credits differ in
  any currency, or that has fewer than two lines.
* ``billing_posted_immutable``: any UPDATE or DELETE of an entry or a line is
  refused. (TRUNCATE and dropping a firm's schema are not row operations.)
"""

from django.db import migrations

BALANCED = """
CREATE FUNCTION billing_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_entry bigint;
    line_count integer;
    off record;
BEGIN
    IF TG_TABLE_NAME = 'billing_journalentry' THEN
        checked_entry := NEW.id;
    ELSE
        checked_entry := NEW.entry_id;
    END IF;
    -- Qualified by the trigger's own schema, so the check never depends on search_path.
    EXECUTE format('SELECT count(*) FROM %I.billing_journalline WHERE entry_id = $1', TG_TABLE_SCHEMA)
        INTO line_count USING checked_entry;
    IF line_count < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s); an entry needs at least two', checked_entry, line_count
            USING ERRCODE = 'check_violation';
    END IF;
    FOR off IN EXECUTE format(
        'SELECT currency, sum(debit_minor) AS debits, sum(credit_minor) AS credits FROM %I.billing_journalline'
        ' WHERE entry_id = $1 GROUP BY currency HAVING sum(debit_minor) <> sum(credit_minor)', TG_TABLE_SCHEMA)
        USING checked_entry
    LOOP
        RAISE EXCEPTION 'journal entry % does not balance in %: debits % <> credits %',
            checked_entry, off.currency, off.debits, off.credits
            USING ERRCODE = 'check_violation';
    END LOOP;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER billing_journalline_balanced
    AFTER INSERT ON billing_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_entry_balanced();

CREATE CONSTRAINT TRIGGER billing_journalentry_balanced
    AFTER INSERT ON billing_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_entry_balanced();

CREATE FUNCTION billing_posted_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'posted ledger records cannot be changed or deleted (%); post a correcting entry', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER billing_journalentry_immutable
    BEFORE UPDATE OR DELETE ON billing_journalentry
    FOR EACH ROW EXECUTE FUNCTION billing_posted_immutable();

CREATE TRIGGER billing_journalline_immutable
    BEFORE UPDATE OR DELETE ON billing_journalline
    FOR EACH ROW EXECUTE FUNCTION billing_posted_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_journalline_immutable ON billing_journalline;
DROP TRIGGER IF EXISTS billing_journalentry_immutable ON billing_journalentry;
DROP FUNCTION IF EXISTS billing_posted_immutable();
DROP TRIGGER IF EXISTS billing_journalentry_balanced ON billing_journalentry;
DROP TRIGGER IF EXISTS billing_journalline_balanced ON billing_journalline;
DROP FUNCTION IF EXISTS billing_entry_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_ledger")]

    operations = [migrations.RunSQL(BALANCED, DROP)]
