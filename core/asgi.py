"""The ASGI application; like core.wsgi, it refuses a pooler in transaction mode before serving."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
application = get_asgi_application()

from core.startup import refuse_transaction_pooling  # noqa: E402  (needs Django loaded)

refuse_transaction_pooling()
