from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Firm domain"

    def ready(self) -> None:
        from django.conf import settings

        from core.allocator import keep_large_buffers
        from core.roles import sync_roles_after_migrate
        from core.startup import refuse_unsafe_production

        refuse_unsafe_production()  # the local master key in production, unless explicitly allowed

        keep_large_buffers(settings.PORTICO_MALLOC_KEEP_MIB)

        # After core's own permissions are created (auth's receiver runs first).
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="core_sync_roles")
