"""Monthly debit and credit totals per account, kept by a statement-level trigger (see AccountMonth).

The trigger reads the batch of inserted lines from a transition table, so a
bulk insert (``bulk_create``, COPY) costs one grouped upsert, not one per
line. Rows are upserted in (account, month) order, so concurrent postings lock
them in the same order and cannot deadlock. Existing lines are added once here.
"""

import django.db.models.deletion
from django.db import migrations, models

MONTHLY = """
CREATE FUNCTION billing_account_month_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO %I.billing_accountmonth (account_id, month, debit_minor, credit_minor)'
        ' SELECT account_id, date_trunc(''month'', occurred_on)::date, sum(debit_minor), sum(credit_minor)'
        ' FROM added_lines GROUP BY 1, 2 ORDER BY 1, 2'
        ' ON CONFLICT (account_id, month) DO UPDATE SET'
        ' debit_minor = billing_accountmonth.debit_minor + EXCLUDED.debit_minor,'
        ' credit_minor = billing_accountmonth.credit_minor + EXCLUDED.credit_minor',
        TG_TABLE_SCHEMA);
    RETURN NULL;
END $$;

CREATE TRIGGER billing_journalline_monthly
    AFTER INSERT ON billing_journalline
    REFERENCING NEW TABLE AS added_lines
    FOR EACH STATEMENT EXECUTE FUNCTION billing_account_month_add();

INSERT INTO billing_accountmonth (account_id, month, debit_minor, credit_minor)
    SELECT account_id, date_trunc('month', occurred_on)::date, sum(debit_minor), sum(credit_minor)
    FROM billing_journalline GROUP BY 1, 2;
"""

DROP = """
DROP TRIGGER IF EXISTS billing_journalline_monthly ON billing_journalline;
DROP FUNCTION IF EXISTS billing_account_month_add();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_credit_refunds"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="The first day of the month.")),
                ("debit_minor", models.BigIntegerField(default=0)),
                ("credit_minor", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="statementline",
            name="matched_on",
            field=models.DateField(blank=True, help_text="The matched ledger line's date (for the report).", null=True),
        ),
        migrations.AddIndex(
            model_name="journalline",
            index=models.Index(fields=["occurred_on"], name="ledger_line_by_date"),
        ),
        migrations.AddField(
            model_name="accountmonth",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="months", to="billing.account"
            ),
        ),
        migrations.AddConstraint(
            model_name="accountmonth",
            constraint=models.UniqueConstraint(fields=("account", "month"), name="ledger_accountmonth_one_per_month"),
        ),
        migrations.RunSQL(MONTHLY, DROP),
    ]
