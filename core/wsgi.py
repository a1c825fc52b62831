"""The WSGI application (gunicorn core.wsgi, see infra/gunicorn.conf.py).

Each web process checks its database connection once before serving: behind a pooler
in transaction mode it refuses to start (core.startup).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
application = get_wsgi_application()

from core.startup import refuse_transaction_pooling  # noqa: E402  (needs Django loaded)

refuse_transaction_pooling()
