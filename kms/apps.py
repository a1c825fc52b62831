from django.apps import AppConfig


class KmsConfig(AppConfig):
    name = "kms"
    verbose_name = "Keys (control plane)"
    default_auto_field = "django.db.models.BigAutoField"
