from django.apps import AppConfig


class ResidencyConfig(AppConfig):
    name = "residency"
    verbose_name = "Residency (firm's schema: stored objects)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kms.providers import endpoint_lookup_register
        from residency import checks  # noqa: F401  (registers the system checks)
        from residency.regions import kms_endpoint

        # kms sits below residency and does not read the region registry: tell it each region's endpoint.
        endpoint_lookup_register(kms_endpoint)
