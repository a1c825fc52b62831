from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "core.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from core.audit import signals  # noqa: F401  (connects the auth signal receivers)
