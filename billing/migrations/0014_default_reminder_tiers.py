"""The default reminder tiers (SPEC §8), in every firm's schema and the template new firms are stamped from.

Friendly email 7 days after the due date; a formal notice and a collections task
at 30; escalation to the partners at 60. A firm edits them afterwards. New firms
get them as well: a firm is stamped from the template schema (which this ran in)
or migrated from scratch (which runs this). Historical models only.
"""

from django.db import migrations

FRIENDLY_EN = (
    "Dear {client},\n\n"
    "This is a friendly reminder that invoice {invoice} for matter {matter} was due on {due_on}. "
    "The balance due is {balance}.\n\n"
    "If you have already paid, thank you, and please disregard this message.\n\n{firm}"
)
FRIENDLY_ES = (
    "Estimado/a {client}:\n\n"
    "Le recordamos amablemente que la factura {invoice} del asunto {matter} venció el {due_on}. "
    "El saldo pendiente es {balance}.\n\n"
    "Si ya ha realizado el pago, se lo agradecemos; por favor, ignore este mensaje.\n\n{firm}"
)
FORMAL_EN = (
    "Dear {client},\n\n"
    "Invoice {invoice} for matter {matter} has been overdue since {due_on}, {days_overdue} days ago. "
    "The balance due is {balance}. Please pay it now, or contact us to arrange payment.\n\n{firm}"
)
FORMAL_ES = (
    "Estimado/a {client}:\n\n"
    "La factura {invoice} del asunto {matter} está vencida desde el {due_on}, hace {days_overdue} días. "
    "El saldo pendiente es {balance}. Le rogamos que la pague ahora o que se comunique con nosotros "
    "para acordar el pago.\n\n{firm}"
)
PARTNER_EN = (
    "Invoice {invoice} for {client} (matter {matter}) is {days_overdue} days overdue with {balance} due. "
    "The earlier reminders have not brought a payment."
)
PARTNER_ES = (
    "La factura {invoice} de {client} (asunto {matter}) lleva {days_overdue} días vencida con {balance} pendiente. "
    "Los recordatorios anteriores no han traído un pago."
)

DEFAULT_TIERS = [
    {
        "name": "Friendly reminder",
        "offset_days": 7,
        "email_client": True,
        "subject_en": "Reminder: invoice {invoice} is due",
        "body_en": FRIENDLY_EN,
        "subject_es": "Recordatorio: la factura {invoice} está pendiente",
        "body_es": FRIENDLY_ES,
    },
    {
        "name": "Formal notice",
        "offset_days": 30,
        "email_client": True,
        "create_task": True,
        "subject_en": "Overdue notice: invoice {invoice}",
        "body_en": FORMAL_EN,
        "subject_es": "Aviso de factura vencida: {invoice}",
        "body_es": FORMAL_ES,
    },
    {
        "name": "Partner escalation",
        "offset_days": 60,
        "email_client": False,
        "escalate_to_partner": True,
        "subject_en": "Escalation: invoice {invoice} is {days_overdue} days overdue",
        "body_en": PARTNER_EN,
        "subject_es": "Escalamiento: la factura {invoice} lleva {days_overdue} días vencida",
        "body_es": PARTNER_ES,
    },
]


def create_defaults(apps, schema_editor):  # type: ignore[no-untyped-def]
    tier = apps.get_model("billing", "ReminderTier")
    if tier.objects.exists():
        return
    for fields in DEFAULT_TIERS:
        tier.objects.create(**fields)


class Migration(migrations.Migration):
    dependencies = [("billing", "0013_collections")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
