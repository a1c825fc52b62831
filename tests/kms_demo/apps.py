from django.apps import AppConfig


class KmsDemoConfig(AppConfig):
    name = "tests.kms_demo"
    label = "kms_demo"
    default_auto_field = "django.db.models.BigAutoField"
