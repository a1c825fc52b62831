"""The firm's currency moves from the trust settings to the firm's settings (issue 10 item 3).

Each schema's ``TrustSettings.currency`` is copied to its ``FirmSettings.currency``
(added by ``core/0006_firm_currency``), then the trust settings' column goes.
Historical models only; no live code is imported.
"""

from django.db import migrations


def carry_over(apps, schema_editor):  # type: ignore[no-untyped-def]
    trust_settings = apps.get_model("billing", "TrustSettings")
    firm_settings = apps.get_model("core", "FirmSettings")
    for row in trust_settings.objects.all():
        firm_settings.objects.update_or_create(id=1, defaults={"currency": row.currency})


def carry_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    trust_settings = apps.get_model("billing", "TrustSettings")
    firm_settings = apps.get_model("core", "FirmSettings")
    for row in firm_settings.objects.all():
        trust_settings.objects.update_or_create(id=1, defaults={"currency": row.currency})


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_closed_month"),
        ("core", "0006_firm_currency"),
    ]

    operations = [
        migrations.RunPython(carry_over, carry_back),
        migrations.RemoveField(model_name="trustsettings", name="currency"),
    ]
