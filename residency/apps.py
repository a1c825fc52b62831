from django.apps import AppConfig


class ResidencyConfig(AppConfig):
    name = "residency"
    verbose_name = "Residency (firm's schema: stored objects)"
    default_auto_field = "django.db.models.BigAutoField"
