from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    label = "billing"
    verbose_name = "Billing and trust accounting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing import dashboard  # noqa: F401  (registers billing's panels on the staff home page)
        from billing.collections import tasks as collections_tasks  # noqa: F401  (registers the reminder tasks)
        from billing.fees.services import seed_after_migrate
        from billing.invoices import tasks  # noqa: F401  (registers the recurring-invoice tasks)
        from billing.invoices.automatic import on_matter_stage_completed
        from billing.stripe import plan_tasks  # noqa: F401  (registers the payment plan tasks)
        from billing.stripe import tasks as stripe_tasks  # noqa: F401  (registers the webhook task)
        from billing.trust import task_mirror
        from core.signals import matter_stage_completed

        post_migrate.connect(seed_after_migrate, sender=self, dispatch_uid="billing_seed_fee_templates")
        matter_stage_completed.connect(on_matter_stage_completed, dispatch_uid="billing_draft_on_stage")
        task_mirror.connect()
