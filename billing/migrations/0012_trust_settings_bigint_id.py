"""TrustSettings (one row, id 1) keeps its id in a bigint like every other id in a firm's schema (issue 15 item 8)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0011_online_payments'),
    ]

    operations = [
        migrations.AlterField(
            model_name='trustsettings',
            name='id',
            field=models.PositiveBigIntegerField(default=1, editable=False, primary_key=True, serialize=False),
        ),
    ]
