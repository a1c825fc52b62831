"""More of the ledger's guarantees kept by the database (issue 18 item 3; see billing/ledger/models.py).

* ``billing_journalline_one_statement``: an entry's lines arrive in one INSERT
  (as ``journal_post`` writes them); a later INSERT naming an entry that already
  has lines is refused, so a posted entry cannot gain lines, balanced or not.
* ``billing_*_no_truncate``: the journal and its monthly totals cannot be
  truncated (0002 covers UPDATE and DELETE, which are row operations).
* ``billing_accountmonth_guard``: the monthly totals are written only by the
  ledger's own trigger (``billing_account_month_add``, one trigger level down);
  any direct INSERT, UPDATE or DELETE is refused.

Someone who owns the schema can still switch triggers off; ``portico ledger
verify`` then finds what they changed (totals recomputed from the lines, every
entry held against its audit record), and the money checks read the lines.
Depends only on the tables of 0001 and 0005.
"""

from django.db import migrations

GUARDS = """
CREATE FUNCTION billing_entry_lines_once() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    reopened bigint;
BEGIN
    EXECUTE format(
        'SELECT line.entry_id FROM %I.billing_journalline line'
        ' WHERE line.entry_id IN (SELECT entry_id FROM added_lines)'
        ' AND line.id NOT IN (SELECT id FROM added_lines) LIMIT 1', TG_TABLE_SCHEMA)
        INTO reopened;
    IF reopened IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % is already posted; lines cannot be added to it (post a new entry)', reopened
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER billing_journalline_one_statement
    AFTER INSERT ON billing_journalline
    REFERENCING NEW TABLE AS added_lines
    FOR EACH STATEMENT EXECUTE FUNCTION billing_entry_lines_once();

CREATE TRIGGER billing_journalentry_no_truncate
    BEFORE TRUNCATE ON billing_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION billing_posted_immutable();

CREATE TRIGGER billing_journalline_no_truncate
    BEFORE TRUNCATE ON billing_journalline
    FOR EACH STATEMENT EXECUTE FUNCTION billing_posted_immutable();

CREATE TRIGGER billing_accountmonth_no_truncate
    BEFORE TRUNCATE ON billing_accountmonth
    FOR EACH STATEMENT EXECUTE FUNCTION billing_posted_immutable();

CREATE FUNCTION billing_account_month_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Depth 1 is a statement someone sent; the ledger's own upsert runs inside the line trigger (depth 2).
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'monthly account totals are kept by the ledger from its lines; they cannot be written directly'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER billing_accountmonth_guard
    BEFORE INSERT OR UPDATE OR DELETE ON billing_accountmonth
    FOR EACH ROW EXECUTE FUNCTION billing_account_month_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_accountmonth_guard ON billing_accountmonth;
DROP FUNCTION IF EXISTS billing_account_month_guard();
DROP TRIGGER IF EXISTS billing_accountmonth_no_truncate ON billing_accountmonth;
DROP TRIGGER IF EXISTS billing_journalline_no_truncate ON billing_journalline;
DROP TRIGGER IF EXISTS billing_journalentry_no_truncate ON billing_journalentry;
DROP TRIGGER IF EXISTS billing_journalline_one_statement ON billing_journalline;
DROP FUNCTION IF EXISTS billing_entry_lines_once();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_account_constraint_without_in")]

    operations = [migrations.RunSQL(GUARDS, DROP)]
