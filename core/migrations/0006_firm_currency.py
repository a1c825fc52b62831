"""The firm's currency on the firm's own settings (issue 10 item 3).

Filled from the trust settings, where it used to live, by
``billing/migrations/0010_firm_currency_from_trust_settings.py``.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0005_matter_intake_id")]

    operations = [
        migrations.AddField(
            model_name="firmsettings",
            name="currency",
            field=models.CharField(
                default="USD",
                help_text="The firm's currency (ISO 4217): invoices, trust, thresholds.",
                max_length=3,
            ),
        ),
    ]
